"""TESTING: Writes tests against everything the code phases produced, aiming at the category's coverage target."""

from package_builder.generation.phase import PhaseSpec

PHASE = PhaseSpec(
    name="TESTING",
    kind="model",
    description="Generate the test suite",
    max_tokens=6000,
    temperature=0.3,
    template="testing.md.j2",
    reads=(
        "PLANNING",
        "FOUNDATION",
        "TYPES",
        "CORE_IMPLEMENTATION",
        "ENTRY_POINT",
        "UTILITIES",
        "ERROR_HANDLING",
    ),
    write_allowlist=("tests/**",),
)
