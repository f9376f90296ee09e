"""UTILITIES: Factors shared helpers out of the core into src/utils/."""

from package_builder.generation.phase import PhaseSpec

PHASE = PhaseSpec(
    name="UTILITIES",
    kind="model",
    description="Generate utility functions",
    max_tokens=4000,
    temperature=0.3,
    template="utilities.md.j2",
    reads=("PLANNING", "TYPES", "CORE_IMPLEMENTATION"),
    write_allowlist=("src/utils/**",),
    type_checks=True,
)
