"""The work of a generation workflow, on whichever worker takes it: each activity calls the same core as the doit
task (`generation.runner`), so a phase run on Temporal and one run by `doit generate:<name>` write the same files,
commits and `.generation-state/` checkpoint, and reuse each other's stored answers.

Retries by error class: what the core already repaired and gave up on (a bad answer, red validation, a spent budget,
a bad plan or config) fails the workflow at once; what the environment did (the model API unreachable after the SDK's
own retries, a worker lost mid-phase, a full disk) Temporal tries again, on any worker. A retried phase never pays
twice: the core finds its stored answer by the digest of its inputs.
"""

from __future__ import annotations

import contextvars
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from package_builder.base.config import BuildConfig
from package_builder.base.errors import (
    ModelCallError,
    ModelRequestRefused,
    PackageBuilderError,
    PhaseFailed,
    PlanError,
)
from package_builder.generation.phase import PhaseSpec
from package_builder.generation.plan import parse_plan
from package_builder.generation.run_context import RunBudget, RunContext
from package_builder.temporal.checkout import Checkout
from package_builder.temporal.messages import GenerationRequest, PhaseOutcome, PhaseRequest, PlannedPhases
from package_builder.temporal.shared_workspace import SharedWorkspace


def shared_workspace(config: BuildConfig) -> SharedWorkspace | None:
    """The worker's clone of `temporal.workspaceRemote`, when the monorepo is shared that way."""
    remote = config.temporal.workspace_remote
    if remote is None:
        return None
    return SharedWorkspace(config.workspace_root, remote, config.git.author_name, config.git.author_email)


def plan_digest(plan_file: Path) -> str:
    return "sha256:" + hashlib.sha256(plan_file.read_bytes()).hexdigest()


class GenerationActivities:
    """The activities of one worker: its own checkout of package-builder (`root`: phases, prompts, config, plans) and
    the name it reports as the worker a phase ran on."""

    def __init__(self, root: Path, identity: str):
        self.root, self.identity = root, identity

    @activity.defn(name="plan_phases")
    def plan_phases(self, request: GenerationRequest) -> PlannedPhases:
        project, plan_file, phases = self._load(request)
        plan = parse_plan(plan_file)
        return PlannedPhases(plan.task_name, plan.package_name, [phase.name for phase in phases])

    @activity.defn(name="run_phase")
    def run_phase(self, request: PhaseRequest) -> PhaseOutcome:
        from package_builder.generation.runner import PhaseJob
        from package_builder.generation.runner import run_phase as run_one

        project, plan_file, phases = self._load(request.request)
        budget = RunBudget()
        budget.add(request.spent_usd)
        job = PhaseJob(project.paths.root, project.paths.config, plan_file, request.phase)
        shared = shared_workspace(project.config)
        with heartbeating(), failures_classified():
            plan = parse_plan(plan_file)
            # progress lines on the worker's terminal, as doit prints them; a paid answer to the remote at once
            run = RunContext(budget=budget, answer_stored=(lambda: shared.push_state(plan)) if shared else None)
            if shared is not None:
                with shared.locked():
                    shared.pull(plan)  # the phases other workers ran, and the branch they committed to
            done = run_one(job, phases, run)
            if shared is not None:
                with shared.locked():
                    shared.push(plan)
        return PhaseOutcome(
            phase=request.phase,
            worker=self.identity,
            commit=done.get("commit") or done.get("head"),
            reused=bool(done.get("reused")),
            skipped=bool(done.get("skipped")),
            input_tokens=int(done.get("inputTokens") or 0),
            output_tokens=int(done.get("outputTokens") or 0),
            cost_usd=float(done.get("costUsd") or 0.0),
        )

    @activity.defn(name="summarize")
    def summarize(self, request: GenerationRequest) -> dict:
        from package_builder.generation.runner import PhaseJob
        from package_builder.generation.runner import summarize as summary

        project, plan_file, phases = self._load(request)
        job = PhaseJob(project.paths.root, project.paths.config, plan_file, phases[-1].name)
        shared = shared_workspace(project.config)
        with failures_classified():
            if shared is not None:
                with shared.locked():
                    shared.pull(parse_plan(plan_file))  # the phases other workers ran: the summary counts them all
            return summary(job, phases)

    def _load(self, request: GenerationRequest) -> tuple[Checkout, Path, tuple[PhaseSpec, ...]]:
        """This worker's project, the plan file, and its phases; refuses a plan that is not the one submitted."""
        project = Checkout(self.root)
        with failures_classified():
            plan_file = project.plans / request.plan
            if not plan_file.is_file():
                raise PlanError(f"this worker ({self.identity}) has no plan {plan_file}: its checkout lacks it")
            if plan_digest(plan_file) != request.plan_digest:
                raise PlanError(
                    f"this worker's {plan_file} is not the plan submitted ({request.plan_digest[:19]}…): bring its "
                    "checkout up to date, or submit the plan again"
                )
            return project, plan_file, project.phases_of(plan_file)


@activity.defn(name="dependency_states")
async def dependency_states(workflow_ids: list[str]) -> dict[str, str]:
    """How the workflows a suite's plan waits for stand: `running`, `completed`, `failed`, `canceled`, `terminated`,
    `timed_out`, or `missing`."""
    client = activity.client()
    states = {}
    for workflow_id in workflow_ids:
        try:
            described = await client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            states[workflow_id] = "missing"
            continue
        states[workflow_id] = described.status.name.lower() if described.status else "missing"
    return states


def retried(exc: PackageBuilderError) -> bool:
    """Whether Temporal should try a failed phase again: only when the model API could not be reached (after the
    SDK's own retries); a request the API refused, and everything the core decided, fail the workflow."""
    cause = exc.__context__ if isinstance(exc, PhaseFailed) and exc.__context__ is not None else exc
    return isinstance(cause, ModelCallError) and not isinstance(cause, ModelRequestRefused)


@contextmanager
def failures_classified() -> Iterator[None]:
    """A `PackageBuilderError` becomes an ApplicationError carrying its message and class, retried or not by
    `retried`; any other exception (an OSError, a lost connection) stays as it is, and Temporal retries it."""
    try:
        yield
    except PackageBuilderError as exc:
        cause = exc.__context__ if isinstance(exc, PhaseFailed) and exc.__context__ is not None else exc
        raise ApplicationError(str(exc), type=type(cause).__name__, non_retryable=not retried(exc)) from None


@contextmanager
def heartbeating() -> Iterator[None]:
    """Heartbeat from a thread while the phase runs (a model call or an npm install can take minutes without a
    progress line), three times per heartbeat timeout, so a worker that dies is noticed at that timeout and the
    phase given to another, not at the phase's own timeout hours later."""
    timeout = activity.info().heartbeat_timeout
    every = timeout.total_seconds() / 3 if timeout else 10.0
    stop = threading.Event()
    context = contextvars.copy_context()  # the activity's context, which `activity.heartbeat` reads

    def beat() -> None:
        while not stop.wait(every):
            context.run(activity.heartbeat)

    thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
