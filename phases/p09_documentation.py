"""DOCUMENTATION: Documents the public API the entry point exports."""

from package_builder.generation.phase import PhaseSpec

PHASE = PhaseSpec(
    name="DOCUMENTATION",
    kind="model",
    description="Write the README and docs",
    max_tokens=3000,
    temperature=0.4,
    template="documentation.md.j2",
    reads=(
        "PLANNING",
        "FOUNDATION",
        "TYPES",
        "ENTRY_POINT",
        "ERROR_HANDLING",
    ),
    write_allowlist=("README.md", "docs/**"),
)
