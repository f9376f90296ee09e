"""EXAMPLES: Writes runnable, type-checked examples of the documented API."""

from package_builder.generation.phase import PhaseSpec

PHASE = PhaseSpec(
    name="EXAMPLES",
    kind="model",
    description="Create usage examples",
    max_tokens=4000,
    temperature=0.4,
    template="examples.md.j2",
    reads=(
        "FOUNDATION",
        "TYPES",
        "ENTRY_POINT",
        "ERROR_HANDLING",
        "DOCUMENTATION",
    ),
    write_allowlist=("examples/**",),
)
