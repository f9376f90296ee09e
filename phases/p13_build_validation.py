"""BUILD_VALIDATION: runs the real toolchain (dependency guard, install, type-check, build, tests with coverage) on
the package and asks the model only to repair what fails; BUILD_VALIDATION.md is rendered from the real outcome."""

from package_builder.generation.phase import EVERY_EARLIER_PHASE, PhaseSpec

from .checks import no_weakened_checks

PHASE = PhaseSpec(
    name="BUILD_VALIDATION",
    kind="checks",
    description="Validate build and tests",
    max_tokens=4000,
    temperature=0.3,
    template="build-validation.md.j2",
    reads=EVERY_EARLIER_PHASE,
    write_allowlist=("src/**", "tests/**", "package.json"),
    rendered_files={"BUILD_VALIDATION.md": "files/BUILD_VALIDATION.md.j2"},
    check=no_weakened_checks,
)
