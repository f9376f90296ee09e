"""MERGE: no model call. Checks the feature branch is complete and clean and records what is ready to merge.

It reads every earlier phase so that it runs again whenever any of them changed."""
from package_builder.phase import PhaseSpec

PHASE = PhaseSpec(
    number=15,
    name="MERGE",
    description="Prepare the feature branch for merge",
    max_tokens=0,
    temperature=0.0,
    template=None,
    reads=(
        "PLANNING", "FOUNDATION", "TYPES", "CORE_IMPLEMENTATION", "ENTRY_POINT", "UTILITIES", "ERROR_HANDLING",
        "TESTING", "DOCUMENTATION", "EXAMPLES", "INTEGRATION_REVIEW", "CRITICAL_FIXES", "BUILD_VALIDATION",
        "FINAL_POLISH",
    ),
)
