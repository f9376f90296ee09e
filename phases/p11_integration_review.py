"""INTEGRATION_REVIEW: Reads everything written so far and writes a review: what is solid, what must be fixed."""
from package_builder.phase import PhaseSpec

PHASE = PhaseSpec(
    number=11,
    name="INTEGRATION_REVIEW",
    description="Review the package as a whole",
    max_tokens=4000,
    temperature=0.3,
    template="integration-review.md.j2",
    reads=(
        "PLANNING",
        "FOUNDATION",
        "TYPES",
        "CORE_IMPLEMENTATION",
        "ENTRY_POINT",
        "UTILITIES",
        "ERROR_HANDLING",
        "TESTING",
        "DOCUMENTATION",
        "EXAMPLES",
    ),
    write_allowlist=("docs/INTEGRATION_REVIEW.md",),
)
