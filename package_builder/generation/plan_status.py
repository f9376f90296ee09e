"""Where each plan's generation stands, read from the checkpoints and artifacts only: no model, no git, no network.

It is what a bare `doit` shows (the safe default task), so it must be cheap and must never start work.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, field
from pathlib import Path

from package_builder.base.digest import digest_of
from package_builder.base.errors import PackageBuilderError
from package_builder.generation.artifacts import COMMITTED, SKIPPED, ArtifactStore
from package_builder.generation.explain import changed_inputs
from package_builder.generation.phase import PhaseSpec
from package_builder.generation.plan import PlanSpec, parse_plan
from package_builder.generation.state import GenerationState


@dataclass(frozen=True)
class PlanStatus:
    """One line of the status view."""

    plan: str
    package: str
    phases_done: int
    phase_count: int
    state: str  # not started, running, in progress (half done), failed, done, out of date, invalid plan
    branch: str = ""
    reason: str = ""
    cost_usd: float = 0.0
    phase: str = ""  # the phase it is at: the failed or running one, the next one, or the last when done
    tokens: dict = field(default_factory=dict)  # input, output, cacheRead, cacheWrite, over every run
    updated: str = ""  # when its checkpoint was last written (ISO 8601, UTC)

    def line(self) -> str:
        spent = f", ${self.cost_usd:.4f}" if self.cost_usd else ""
        tokens = (
            f", {self.tokens.get('input', 0):,} in / {self.tokens.get('output', 0):,} out tokens"
            if self.tokens.get("output")
            else ""
        )
        where = f" on {self.branch}" if self.branch else ""
        when = f", updated {self.updated[:16].replace('T', ' ')} UTC" if self.updated else ""
        why = f": {self.reason}" if self.reason else ""
        return f"{self.plan:<24} {self.package:<32} {self.progress()}{spent}{tokens}{where}{when}{why}"

    def progress(self) -> str:
        """How far it got, then where it stands: `15/15 phases done, out of date from PLANNING`, `1/15 phases done,
        failed at FOUNDATION`, `1/15 phases done, in progress, next FOUNDATION`, `3/15 phases done, running TYPES`.
        The count is of finished phases and the phase is named by its relation to the state, so neither reads as
        the other."""
        if self.state == "invalid plan":
            return self.state
        done = f"{self.phases_done:>2}/{self.phase_count} phases done"
        where = {"out of date": " from", "failed": " at", "running": "", "in progress": ", next"}.get(self.state)
        if self.state == "done":
            return done
        if where is None or not self.phase:
            return f"{done}, {self.state}"
        return f"{done}, {self.state}{where} {self.phase}"

    def as_json(self) -> dict:
        """The same facts for scripts (`doit status --json`)."""
        return {
            "plan": self.plan,
            "package": self.package,
            "phasesDone": self.phases_done,
            "phaseCount": self.phase_count,
            "phase": self.phase,
            "state": self.state,
            "branch": self.branch,
            "reason": self.reason,
            "costUsd": round(self.cost_usd, 6),
            "tokens": self.tokens,
            "updated": self.updated,
        }


def plan_status(
    workspace_root: Path | None,
    plan_path: Path,
    phases_of: Callable[[PlanSpec], tuple[PhaseSpec, ...]],
    inputs_now: Callable[[PlanSpec, tuple, PhaseSpec], dict] | None = None,
    sessions: dict | None = None,
    branches: set[str] | None = None,
) -> PlanStatus:
    """One plan's line; `phases_of` gives the phases its mode generates it with, `inputs_now` what a finished
    phase's stored inputs are compared with (an edited plan or template, another model: "out of date"),
    `sessions` every plan's newest checkpoint (`GenerationState.newest_sessions`, read once for many plans),
    `branches` the workspace's branches (`existing_branches`): a branch the checkpoint names but git does not have
    (a run that failed before its first commit) is not shown."""
    try:
        plan = parse_plan(plan_path)
    except PackageBuilderError as exc:
        return PlanStatus(plan_path.stem, "?", 0, 0, "invalid plan", reason=str(exc).splitlines()[0])
    phases = phases_of(plan)
    if sessions is not None:
        state = sessions.get((plan.package_name, str(plan.plan_path)))
    else:
        state = GenerationState.find(workspace_root, plan) if workspace_root else None
    if state is None:
        return PlanStatus(
            plan.task_name, plan.package_name, 0, len(phases), "not started", phase=phases[0].name if phases else ""
        )
    assert workspace_root is not None  # a checkpoint was found, and checkpoints live in a workspace
    store = ArtifactStore(workspace_root, plan.task_name)
    failure = state.data.get("failureRecovery") or {}
    artifacts = {phase.name: facts for phase in phases if (facts := store.peek_facts(phase.slug)) is not None}
    finished = {name for name, (status, _) in artifacts.items() if status in (COMMITTED, SKIPPED)}
    done = len(finished)
    recorded = state.data.get("status")
    if recorded == "failed" and failure_superseded(failure, plan, phases, inputs_now):
        recorded = "completed" if done == len(phases) else "in-progress"  # what the artifacts say now
        failure = {}
    label = {"completed": "done", "failed": "failed"}.get(recorded, "running" if state.running else "in progress")
    reason = str(failure.get("error", "")).splitlines()[0][:400] if label == "failed" and failure else ""
    stale = (
        _stale_phases(plan, phases, artifacts, inputs_now) if inputs_now and label not in ("failed", "running") else []
    )
    if stale:
        label = "out of date"
        reasons = stale[0][1]
        more = f" (and {len(stale) - 1} more phase(s))" if len(stale) > 1 else ""
        reason = f"{', '.join(reasons)}{more}"
    at = (
        state.data.get("currentPhase")
        if label in ("failed", "running")
        else phases[-1].name
        if label == "done"
        else stale[0][0]
        if stale
        else next((p.name for p in phases if p.name not in finished), "")
    )
    branch = state.data.get("branch", "")
    if branches is not None and branch not in branches:
        branch = ""
    return PlanStatus(
        plan.task_name,
        plan.package_name,
        done,
        len(phases),
        label,
        branch,
        reason,
        state.cost_usd,
        phase=at or "",
        tokens=dict(state.data.get("tokens") or {}),
        updated=str(state.data.get("savedAt") or ""),
    )


def failure_fingerprint(visible_inputs: dict) -> str:
    """What a failed phase's checkpoint records of the inputs it failed with (its plan, templates and model
    settings, as `explain.VisibleInputs` gives them), so status can tell when they are no longer the inputs."""
    return digest_of(visible_inputs)


def failure_superseded(failure: dict, plan: PlanSpec, phases: tuple[PhaseSpec, ...], inputs_now) -> bool:
    """Whether a recorded failure no longer describes the plan: the phase failed with inputs that are not the ones
    now (the edited plan or template that failed was put back, or edited again). Status then shows what the
    artifacts say (done, in progress or out of date), not a failure the next run would not meet. A failure recorded
    without its inputs (an older checkpoint) stands."""
    recorded = failure.get("visibleInputs")
    phase = next((p for p in phases if p.name == failure.get("phase")), None)
    if not recorded or phase is None or inputs_now is None:
        return False
    return failure_fingerprint(inputs_now(plan, phases, phase)) != recorded


def existing_branches(workspace_root: Path | None) -> set[str] | None:
    """The workspace's local branches (one `git for-each-ref`, no write), or None when git cannot list them (then
    every recorded branch is shown as recorded)."""
    import subprocess

    if workspace_root is None:
        return None
    try:
        listed = subprocess.run(
            ["git", "for-each-ref", "--format=%(refname)", "refs/heads/"],
            cwd=workspace_root,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if listed.returncode != 0:
        return None
    return {ref.removeprefix("refs/heads/") for ref in listed.stdout.splitlines() if ref}


def _stale_phases(plan, phases, artifacts: dict, inputs_now) -> list[tuple[str, list[str]]]:
    """(phase, reasons) for each finished model phase whose plan, templates or settings changed since it ran."""
    stale = []
    for phase in phases:
        status, inputs = artifacts.get(phase.name, ("", {}))
        if status != COMMITTED or "templates" not in inputs:
            continue
        reasons = changed_inputs(inputs, inputs_now(plan, phases, phase))
        if reasons:
            stale.append((phase.name, reasons))
    return stale


def summary_table(statuses: list[PlanStatus], seconds: dict[str, float]) -> list[str]:
    """The closing table of a generation run: one row per plan of the run."""
    rows = [("plan", "phases", "state", "tokens in / out", "cost", "time", "branch")]
    for status in statuses:
        tokens = f"{status.tokens.get('input', 0):,} / {status.tokens.get('output', 0):,}" if status.tokens else "-"
        rows.append(
            (
                status.plan,
                f"{status.phases_done}/{status.phase_count}",
                status.state,
                tokens,
                f"${status.cost_usd:.4f}",
                f"{seconds.get(status.plan, 0.0):.1f} s",
                status.branch or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]


def write_generation_summary(
    workspace_root: Path, statuses: list[PlanStatus], seconds: dict[str, float], failed_in_run: Set[str] = frozenset()
) -> Path:
    """`.generation-state/summary.json` for CI: `{"ok", "failed", "plans": [status + seconds]}`. A plan failed when
    its checkpoint says so or when one of its tasks failed in this run (`failed_in_run`: a failure before its
    checkpoint was written, or one the checkpoint could not record)."""
    from package_builder.base.paths import state_dir
    from package_builder.base.storage import write_json_atomic

    failed = [
        status.plan for status in statuses if status.state in ("failed", "invalid plan") or status.plan in failed_in_run
    ]
    path = state_dir(workspace_root) / "summary.json"
    write_json_atomic(
        path,
        {
            "ok": not failed,
            "failed": failed,
            "plans": [{**status.as_json(), "seconds": round(seconds.get(status.plan, 0.0), 2)} for status in statuses],
        },
    )
    return path
