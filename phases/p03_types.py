"""TYPES: Writes the type contract every later code phase builds on."""

from package_builder.generation.phase import PhaseSpec

PHASE = PhaseSpec(
    name="TYPES",
    kind="model",
    description="Generate type definitions",
    max_tokens=4000,
    temperature=0.2,
    template="types.md.j2",
    reads=("PLANNING", "FOUNDATION"),
    write_allowlist=("src/types/**",),
    type_checks=True,
)
