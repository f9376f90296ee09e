"""The generation workflow: deterministic code that only schedules. It asks a worker for the plan's phases (the same
list the doit graph runs, from `graph.phases_for`), runs each as an activity, and keeps what `status` shows. Nothing
here reads a file, the clock or the network; every effect is an activity's."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from package_builder.temporal.messages import (
        GenerationRequest,
        PhaseOutcome,
        PhaseRequest,
        PlannedPhases,
        Progress,
    )

# An environment failure (the API unreachable, a worker lost) is tried again for about an hour, on any worker; what the
# core decided is never retried (activities.retried).
ENVIRONMENT_RETRIES = RetryPolicy(
    initial_interval=timedelta(seconds=5),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=10,
)
# A phase may wait on rate limits and run npm for a long time; a dead worker is noticed by its missing heartbeats
# (temporal.heartbeatTimeoutSeconds).
PHASE_TIMEOUT = timedelta(hours=3)


@workflow.defn(name="GeneratePackage")
class GeneratePackage:
    def __init__(self) -> None:
        self._progress = Progress(plan="")

    @workflow.run
    async def run(self, request: GenerationRequest) -> Progress:
        self._progress = Progress(plan=request.plan)
        try:
            await self._wait_for_dependencies(request)
            planned: PlannedPhases = await workflow.execute_activity(
                "plan_phases",
                request,
                result_type=PlannedPhases,
                start_to_close_timeout=timedelta(minutes=2),
                retry_policy=ENVIRONMENT_RETRIES,
            )
            self._progress.task_name, self._progress.steps = planned.task_name, len(planned.phases)
            self._progress.status = "running"
            for phase in planned.phases:
                self._progress.phase = phase
                done: PhaseOutcome = await workflow.execute_activity(
                    "run_phase",
                    PhaseRequest(request, phase, self._progress.cost_usd),
                    result_type=PhaseOutcome,
                    start_to_close_timeout=PHASE_TIMEOUT,
                    heartbeat_timeout=timedelta(seconds=request.heartbeat_timeout_seconds),
                    retry_policy=ENVIRONMENT_RETRIES,
                )
                self._record(done)
            await workflow.execute_activity(
                "summarize", request, start_to_close_timeout=timedelta(minutes=2), retry_policy=ENVIRONMENT_RETRIES
            )
        except ActivityError as exc:
            if is_cancelled_exception(exc):  # `cancel`: the workflow ends cancelled, not failed
                self._progress.status = "cancelled"
                raise
            self._progress.status = "failed"
            self._progress.error = _message(exc)
            raise ApplicationError(f"{request.plan}: {self._progress.error}", non_retryable=True) from exc
        self._progress.status = "completed"
        return self._progress

    async def _wait_for_dependencies(self, request: GenerationRequest) -> None:
        """A suite's plan starts once the workflows of the plans it depends on completed (their code and API are
        what it builds on); it fails, naming them, when one of them stopped otherwise."""
        pause = 2.0
        while request.after:
            states: dict[str, str] = await workflow.execute_activity(
                "dependency_states",
                list(request.after),
                result_type=dict[str, str],
                start_to_close_timeout=timedelta(minutes=1),
                retry_policy=ENVIRONMENT_RETRIES,
            )
            stopped = {_plan_of(wid): state for wid, state in states.items() if state not in ("running", "completed")}
            if stopped:
                named = ", ".join(f"{plan} ({state})" for plan, state in sorted(stopped.items()))
                self._progress.status = "failed"
                self._progress.error = f"needs {named} first: submit it again, then this plan"
                raise ApplicationError(f"{request.plan}: {self._progress.error}", non_retryable=True)
            waiting = sorted(_plan_of(wid) for wid, state in states.items() if state == "running")
            if not waiting:
                return
            self._progress.status, self._progress.phase = "waiting", f"waits for {', '.join(waiting)}"
            await workflow.sleep(timedelta(seconds=pause))
            pause = min(pause * 2, 60.0)  # a suite may wait hours: a check a minute, not thousands in its history

    @workflow.query
    def progress(self) -> Progress:
        return self._progress

    def _record(self, done: PhaseOutcome) -> None:
        progress = self._progress
        progress.steps_done += 1
        progress.worker = done.worker
        if done.commit:
            progress.commits.append(done.commit)
        progress.input_tokens += done.input_tokens  # a phase reused from an earlier run reports none
        progress.output_tokens += done.output_tokens
        progress.cost_usd += done.cost_usd


def _plan_of(workflow_id: str) -> str:
    return workflow_id.split("/")[1] if workflow_id.count("/") >= 2 else workflow_id


def _message(exc: ActivityError) -> str:
    """The core's own message (which names the phase, file or setting at fault), not Temporal's wrapping of it."""
    cause = exc.cause
    return str(cause.message if isinstance(cause, ApplicationError) else cause or exc)
