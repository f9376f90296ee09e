"""BUILD_VALIDATION: Checks the package builds and its tests pass, and fixes what does not."""
from package_builder.phase import EVERY_EARLIER_PHASE, PhaseSpec

PHASE = PhaseSpec(
    number=13,
    name="BUILD_VALIDATION",
    description="Validate build and tests",
    max_tokens=4000,
    temperature=0.3,
    template="build-validation.md.j2",
    reads=EVERY_EARLIER_PHASE,
    write_allowlist=("src/**", "tests/**", "package.json", "BUILD_VALIDATION.md"),
)
