"""Where each plan's generation stands, read from the checkpoints and artifacts only: no model, no git, no network.

It is what a bare `doit` shows (the safe default task), so it must be cheap and must never start work.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .artifacts import COMMITTED, SKIPPED, ArtifactStore
from .errors import PackageBuilderError
from .phase import PhaseSpec
from .plan import PlanSpec, parse_plan
from .state import GenerationState


@dataclass(frozen=True)
class PlanStatus:
    """One line of the status view."""

    plan: str
    package: str
    phases_done: int
    phase_count: int
    state: str  # not started, in progress, failed, done, invalid plan
    branch: str = ""
    reason: str = ""
    cost_usd: float = 0.0

    def line(self) -> str:
        spent = f", ${self.cost_usd:.4f}" if self.cost_usd else ""
        where = f" on {self.branch}" if self.branch else ""
        why = f": {self.reason}" if self.reason else ""
        return (f"{self.plan:<24} {self.package:<32} {self.phases_done:>2}/{self.phase_count} "
                f"{self.state}{spent}{where}{why}")


def plan_status(workspace_root: Path | None, plan_path: Path,
                phases_of: Callable[[PlanSpec], tuple[PhaseSpec, ...]]) -> PlanStatus:
    """One plan's line; `phases_of` gives the phases its mode generates it with."""
    try:
        plan = parse_plan(plan_path)
    except PackageBuilderError as exc:
        return PlanStatus(plan_path.stem, "?", 0, 0, "invalid plan", reason=str(exc).splitlines()[0])
    phases = phases_of(plan)
    state = GenerationState.find(workspace_root, plan) if workspace_root else None
    if state is None:
        return PlanStatus(plan.task_name, plan.package_name, 0, len(phases), "not started")
    store = ArtifactStore(workspace_root, plan.task_name)
    done = sum(1 for phase in phases
               if (a := store.peek(phase.slug)) is not None and a.status in (COMMITTED, SKIPPED))
    failure = state.data.get("failureRecovery") or {}
    label = {"completed": "done", "failed": "failed"}.get(state.data.get("status"), "in progress")
    reason = str(failure.get("error", "")).splitlines()[0][:200] if label == "failed" and failure else ""
    return PlanStatus(plan.task_name, plan.package_name, done, len(phases), label, state.data.get("branch", ""), reason,
                      state.cost_usd)
