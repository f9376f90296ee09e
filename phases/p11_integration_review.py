"""INTEGRATION_REVIEW: Reads everything written so far and writes a review: what is solid, what must be fixed."""

from package_builder.generation.phase import EVERY_EARLIER_PHASE, PhaseSpec

PHASE = PhaseSpec(
    name="INTEGRATION_REVIEW",
    kind="model",
    description="Review the package as a whole",
    max_tokens=4000,
    temperature=0.3,
    template="integration-review.md.j2",
    reads=EVERY_EARLIER_PHASE,
    write_allowlist=("docs/INTEGRATION_REVIEW.md",),
)
