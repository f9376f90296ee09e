"""FINAL_POLISH: A last pass on naming, docs and the changelog before merge."""
from package_builder.phase import PhaseSpec

PHASE = PhaseSpec(
    number=14,
    name="FINAL_POLISH",
    description="Final quality pass",
    max_tokens=3000,
    temperature=0.3,
    template="final-polish.md.j2",
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
        "INTEGRATION_REVIEW",
        "CRITICAL_FIXES",
        "BUILD_VALIDATION",
    ),
    write_allowlist=("README.md", "CHANGELOG.md", "docs/**", "src/**", "examples/**"),
)
