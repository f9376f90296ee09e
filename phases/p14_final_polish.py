"""FINAL_POLISH: A last pass on naming, docs and the changelog before merge."""

from package_builder.generation.phase import EVERY_EARLIER_PHASE, PhaseSpec

from .checks import no_weakened_checks

PHASE = PhaseSpec(
    name="FINAL_POLISH",
    kind="model",
    description="Final quality pass",
    max_tokens=3000,
    temperature=0.3,
    template="final-polish.md.j2",
    reads=EVERY_EARLIER_PHASE,
    write_allowlist=("README.md", "CHANGELOG.md", "docs/**", "src/**", "examples/**"),
    check=no_weakened_checks,
)
