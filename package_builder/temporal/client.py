"""The command line's side of Temporal: start a worker, submit plans, show and cancel their workflows.

A workflow's id is `generate/<plan name>/<12 hex digits of the plan's digest and the monorepo's>`: the same plan
submitted twice while it runs attaches to the running workflow (nothing new starts); a failed or cancelled one starts
again under the same id and resumes from the phases it stored; an edited plan is a new workflow.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import signal
import socket
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, replace
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError
from temporalio.worker import Worker

from package_builder.base.config import BuildConfig
from package_builder.base.console import say
from package_builder.base.errors import ConfigError, PlanError
from package_builder.generation.plan import parse_plan
from package_builder.generation.plan_files import discover_plans
from package_builder.generation.state import GenerationState
from package_builder.generation.suite import generation_order, planned_dependencies
from package_builder.temporal.activities import (
    GenerationActivities,
    dependency_states,
    plan_digest,
    shared_workspace,
)
from package_builder.temporal.checkout import Checkout
from package_builder.temporal.messages import GenerationRequest
from package_builder.temporal.workflows import GeneratePackage

WORKFLOW_PREFIX = "generate/"


class TemporalProject:
    """The checkout a command runs in (its config's `temporal` section, its plans), and a connection to the cluster."""

    def __init__(self, root: Path):
        self.project = Checkout(root)
        self.config: BuildConfig = self.project.config

    async def connect(self) -> Client:
        settings = self.config.temporal
        try:
            return await Client.connect(settings.address, namespace=settings.namespace)
        except RuntimeError as exc:  # the SDK's "Failed client connect"
            raise ConfigError(
                f"cannot reach Temporal at {settings.address} (temporal.address in {self.project.paths.config}): {exc}"
            ) from None

    @property
    def workspace_key(self) -> str:
        """What names the monorepo the plans are generated into: its shared remote, else its folder."""
        return self.config.temporal.workspace_remote or str(self.config.workspace_root.resolve())

    def plan_files(self, names: list[str], every: bool) -> list[Path]:
        """The plans named (a path to a plan file, or a plan's name), or every plan with `--all`."""
        plans = self.project.plans
        found = discover_plans(plans)
        if every:
            return found
        by_name = {path.stem: path for path in found}
        chosen = []
        for name in names:
            path = Path(name)
            if path.suffix == ".md" and path.is_file():
                chosen.append(path.resolve())
            elif name in by_name:
                chosen.append(by_name[name])
            else:
                raise PlanError(f"{name}: no such plan file, and no plan of that name in {plans}")
        return chosen

    async def in_suite_order(self, chosen: list[Path], client: Client) -> list[GenerationRequest]:
        """The chosen plans' requests in generation order, each naming the workflows it waits for."""
        requested = {path.resolve(): self.request(path) for path in chosen}  # each parsed: a bad one is refused here
        plans = []
        for path in discover_plans(self.project.plans):
            try:
                plans.append(parse_plan(path))
            except PlanError:
                continue  # a plan nobody submitted, which no submitted plan can need: not ours to refuse
        ordered, refused = generation_order(plans)
        by_name = {plan.task_name: plan for plan in plans}
        names = {plan.task_name for plan in plans if plan.plan_path.resolve() in requested}
        result = []
        for plan in ordered:
            if plan.task_name not in names:
                continue
            if plan.task_name in refused:
                raise PlanError(refused[plan.task_name])
            after = []
            for dependency in planned_dependencies(plan, plans):
                after += await _dependency_waits(self, plan, by_name[dependency], names, client)
            result.append(replace(requested[plan.plan_path.resolve()], after=after))
        return result

    def request(self, plan_file: Path) -> GenerationRequest:
        plans = self.project.plans.resolve()
        try:
            relative = plan_file.resolve().relative_to(plans)
        except ValueError:
            raise PlanError(f"{plan_file}: not under the plans folder {plans}, where every worker looks") from None
        parse_plan(plan_file)  # a plan that cannot be generated is refused here, not on a worker
        return GenerationRequest(
            relative.as_posix(), plan_digest(plan_file), self.config.temporal.heartbeat_timeout_seconds
        )


async def _dependency_waits(target: TemporalProject, plan, dependency, chosen: set[str], client: Client) -> list[str]:
    """The workflow id `plan` waits for to have `dependency`'s package: none when it is generated already."""
    wid = workflow_id(target.request(dependency.plan_path), target.workspace_key)
    if dependency.task_name in chosen:
        return [wid]
    state = await _state(client, wid)
    if state in ("running", "completed"):
        return [wid] if state == "running" else []
    found = GenerationState.find(target.config.workspace_root, dependency)
    if found is not None and found.data.get("status") == "completed":
        return []  # generated by doit (or an earlier version of its plan): its code is in the monorepo
    raise PlanError(
        f"{plan.plan_path}: needs {dependency.package_name}, whose plan {dependency.task_name} is neither generated "
        f"nor submitted: submit it too (or --all)"
    )


def workflow_id(request: GenerationRequest, workspace: str) -> str:
    """Stable for one plan's content generated into one monorepo (`workspace`: its remote, or its folder), and
    different for any other: two monorepos on one cluster never share a workflow."""
    key = hashlib.sha256(f"{workspace}\n{request.plan_digest}".encode()).hexdigest()[:12]
    return f"{WORKFLOW_PREFIX}{Path(request.plan).stem}/{key}"


def default_identity() -> str:
    return f"{os.getpid()}@{socket.gethostname()}"


async def run_worker(root: Path, identity: str | None) -> None:
    """Poll the task queue until SIGINT or SIGTERM, then finish what runs and stop."""
    target = TemporalProject(root)
    client = await target.connect()
    name = identity or default_identity()
    shared = shared_workspace(target.config)
    if shared is not None:
        shared.ensure_clone()  # this worker's own clone of the monorepo, made the first time
    activities = GenerationActivities(root, name)
    slots = target.config.turn_based_generation.max_concurrent_phases  # as on one machine under doit
    queue = target.config.temporal.task_queue
    with ThreadPoolExecutor(max_workers=slots) as executor:
        worker = Worker(
            client,
            task_queue=queue,
            workflows=[GeneratePackage],
            activities=[activities.plan_phases, activities.run_phase, activities.summarize, dependency_states],
            activity_executor=executor,
            max_concurrent_activities=slots,
            identity=name,
        )
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        say(f"worker {name}: task queue {queue} at {target.config.temporal.address}, {slots} phase(s) at once")
        async with worker:
            await stop.wait()
        say(f"worker {name}: stopped")


async def submit(root: Path, names: list[str], every: bool, wait: bool) -> int:
    """Start one workflow per plan, in suite order: a plan whose planned dependencies are submitted with it, or are
    being generated, waits for their workflows; one that needs a plan neither generated nor submitted is refused."""
    target = TemporalProject(root)
    chosen = target.plan_files(names, every)
    if not chosen:
        raise PlanError(f"no plans to submit in {target.project.plans}")
    client = await target.connect()
    requests = await target.in_suite_order(chosen, client)
    queue = target.config.temporal.task_queue
    handles = []
    for request in requests:
        wid = workflow_id(request, target.workspace_key)
        running = await _is_running(client, wid)
        try:
            handle = await client.start_workflow(
                GeneratePackage.run,
                request,
                id=wid,
                task_queue=queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
                memo={"workspace": target.workspace_key},  # status and cancel show only this monorepo's
            )
        except WorkflowAlreadyStartedError:
            say(f"{request.plan}: already generated by workflow {wid} (edit the plan to generate it again)")
            continue
        say(f"{request.plan}: {'already running, attached to' if running else 'started'} workflow {wid}")
        handles.append((request, handle))
    if not wait:
        return 0
    failed = 0
    for request, handle in handles:
        try:
            progress = await handle.result()
            say(f"{request.plan}: {progress.status}, {progress.steps_done}/{progress.steps} phases")
        except Exception as exc:  # the workflow's failure, as Temporal reports it
            failed += 1
            say(f"{request.plan}: failed: {_cause(exc)}")
    return 1 if failed else 0


async def status(root: Path, as_json: bool) -> int:
    target = TemporalProject(root)
    client = await target.connect()
    rows = []
    async for execution in _generations(client, target.workspace_key):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        state = execution.status.name.lower() if execution.status else "unknown"
        row = {"workflowId": execution.id, "workflow": state}
        try:
            progress = await handle.query(GeneratePackage.progress, rpc_timeout=timedelta(seconds=5))
            row.update(asdict(progress))
        except Exception as exc:  # no worker answers queries right now (RPCError, a timeout)
            row["error"] = f"no worker answered: {_cause(exc)}"
        if execution.status == WorkflowExecutionStatus.RUNNING:
            pending = (await handle.describe()).raw_description.pending_activities
            if pending and pending[0].last_worker_identity:
                row["worker"] = pending[0].last_worker_identity
        rows.append(row)
    if as_json:
        say(json.dumps(rows, indent=2))
        return 0
    if not rows:
        say("no generation workflows")
        return 0
    for row in rows:
        say(
            f"{row.get('plan') or row['workflowId']}  {row['workflow']}  phase {row.get('phase') or '-'}  "
            f"{row.get('steps_done', 0)}/{row.get('steps', 0)} steps  tokens {row.get('input_tokens', 0)} in / "
            f"{row.get('output_tokens', 0)} out  ${row.get('cost_usd', 0.0):.4f}  worker {row.get('worker') or '-'}"
            + (f"  ({row['error']})" if row.get("error") else "")
        )
    return 0


async def cancel(root: Path, names: list[str]) -> int:
    target = TemporalProject(root)
    client = await target.connect()
    wanted = {Path(name).stem for name in names}
    cancelled = set()
    async for execution in _generations(client, target.workspace_key, 'AND ExecutionStatus="Running"'):
        plan = execution.id.removeprefix(WORKFLOW_PREFIX).split("/")[0]
        if plan in wanted:
            await client.get_workflow_handle(execution.id, run_id=execution.run_id).cancel()
            say(f"{plan}: cancel requested for workflow {execution.id}")
            cancelled.add(plan)
    for plan in sorted(wanted - cancelled):
        say(f"{plan}: no running workflow")
    return 0 if cancelled == wanted else 1


async def _generations(client: Client, workspace: str, condition: str = ""):
    """The generation workflows of one monorepo (the cluster may serve many), newest first."""
    async for execution in client.list_workflows(f'WorkflowType="GeneratePackage" {condition}'.strip()):
        if (await execution.memo()).get("workspace") == workspace:
            yield execution


async def _is_running(client: Client, wid: str) -> bool:
    return await _state(client, wid) == "running"


async def _state(client: Client, wid: str) -> str:
    """`running`, `completed`, `failed`... or `missing`: how the workflow of this id stands."""
    try:
        description = await client.get_workflow_handle(wid).describe()
    except RPCError:
        return "missing"
    return description.status.name.lower() if description.status else "missing"


def _cause(exc: BaseException) -> str:
    """The innermost message of a Temporal failure chain: the core's own words."""
    while getattr(exc, "cause", None) is not None:
        exc = exc.cause  # type: ignore[attr-defined]
    return str(getattr(exc, "message", None) or exc)
