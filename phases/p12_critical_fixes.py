"""CRITICAL_FIXES: Fixes the review's findings across code, tests and docs."""

from package_builder.generation.phase import EVERY_EARLIER_PHASE, PhaseSpec

from .checks import no_weakened_checks

PHASE = PhaseSpec(
    name="CRITICAL_FIXES",
    kind="model",
    description="Fix what the review found",
    max_tokens=5000,
    temperature=0.3,
    template="critical-fixes.md.j2",
    reads=EVERY_EARLIER_PHASE,
    write_allowlist=("src/**", "tests/**", "examples/**", "package.json", "README.md"),
    check=no_weakened_checks,
)
