"""MERGE: no model call. Checks the feature branch is complete and clean and records what is ready to merge.

It reads every earlier phase so that it runs again whenever any of them changed."""

from package_builder.generation.phase import EVERY_EARLIER_PHASE, PhaseSpec

PHASE = PhaseSpec(
    name="MERGE",
    kind="merge",
    description="Prepare the feature branch for merge",
    reads=EVERY_EARLIER_PHASE,
)
