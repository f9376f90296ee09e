"""What a `doit` run prints and leaves behind: doit's console output (minus the `.  task` lines of generation tasks,
which print their own progress), a closing table of build/test/publish outcomes, and `summary.json` for CI."""

from __future__ import annotations

import functools
import os
import shutil
import sys
import time
from dataclasses import replace

from doit.exceptions import UnmetDependency
from doit.reporter import ConsoleReporter

from package_builder.base.errors import PackageBuilderError
from package_builder.builds.outcomes import STEP_NAMES, outcome_label, outcome_table, write_run_summary
from package_builder.generation.plan_files import discover_plans
from package_builder.tasks.builds import spread_dry_run
from package_builder.tasks.project import LoadedProject
from package_builder.tasks.scheduling import continue_chains_first


def doit_config(project: LoadedProject) -> dict:
    """DOIT_CONFIG: the sqlite3 backend in the project's own file, the reporter, and `maxConcurrentBuilds` as the
    default `-n`. Tasks run subprocesses (npm, git, the model over HTTP), so threads share one import of the core.
    Generation is bounded by `turnBasedGeneration.maxConcurrentPhases` inside the core, whatever `-n` says. A failure
    stops only what depends on it (`continue`): one package's failed generation or build leaves the others going.
    A task a finished one unblocks starts before independent ones (`scheduling`), so the longest chain is not last."""
    continue_chains_first()
    explain_unknown_tasks(project)
    exit_quietly_on_a_closed_pipe()
    return {
        "backend": "sqlite3",
        "dep_file": ".package-builder.doit.db",
        "verbosity": 2,
        "continue": True,
        "reporter": reporter_for(project),
        "default_tasks": ["status"],
        "num_process": project.config.max_concurrent_builds if project.config else 1,
        "par_type": "thread",
    }


def explain_unknown_tasks(project: LoadedProject) -> bool:
    """Make doit's `Invalid parameter: "test:@scope/name"` say what is wrong: no such package in the workspace (and
    which ones it has), no such plan in the plans folder (and which ones there are). doit raises it while selecting
    the tasks asked for, before the reporter exists, so this wraps that one method of doit's TaskControl (as
    `scheduling` wraps its dispatcher); any other unknown name keeps doit's own message. Idempotent; the newest
    load's project answers. False when doit's TaskControl is not the shape it expects."""
    from doit.control import TaskControl
    from doit.exceptions import InvalidCommand

    current = TaskControl.__dict__.get("_filter_tasks")
    if current is None:
        return False
    original = getattr(current, "explains_unknown_tasks", current)

    def _filter_tasks(self, task_selection):
        try:
            return original(self, task_selection)
        except InvalidCommand as exc:
            message = unknown_task(project, exc.not_found, self.tasks) if exc.not_found else None
            if message is None:
                raise
            raise InvalidCommand(message) from None

    _filter_tasks.explains_unknown_tasks = original  # type: ignore[attr-defined]  # a marker on our own wrapper, read back with getattr
    TaskControl._filter_tasks = _filter_tasks
    return True


def unknown_task(project: LoadedProject, name: str, tasks: dict) -> str | None:
    """What to tell a user who asked for task `name` that the load did not create, or None for doit's own words."""
    kind, _, rest = str(name).partition(":")
    if not rest:
        return None
    if kind in STEP_NAMES or kind == "install":
        group = tasks.get(kind)
        doc = (group.doc or "") if group is not None else ""
        if doc.startswith("("):  # the workspace (or config) has an error, or no packages: that is the story
            return f"no task {name}: {doc}; `doit {kind}` says why"
        known = sorted(task[len(kind) + 1 :] for task in tasks if task.startswith(f"{kind}:"))
        where = f"the workspace {project.workspace}" + (
            f" (workspaceRoot in {project.paths.config})" if project.workspace else ""
        )
        has = f"its packages: {', '.join(known)}" if known else "it has none"
        return (
            f"no package {rest} in {where}, so no task {name}; {has} (`doit list --all` lists every task; a "
            'package is found through the "workspaces" of the root package.json or pnpm-workspace.yaml)'
        )
    if kind in ("generate", "estimate"):
        plan, _, phase = rest.partition(":")
        if f"{kind}:{plan}" in tasks and phase:
            phases = sorted(task.split(":")[2] for task in tasks if task.startswith(f"{kind}:{plan}:"))
            return f"no task {name}: {kind}:{plan} has {', '.join(phases)} (`doit list --all` lists every task)"
        plans = sorted({task.split(":")[1] for task in tasks if task.startswith(f"{kind}:")})
        has = f"the plans there: {', '.join(plans)}" if plans else "there are none"
        return (
            f"no plan {plan} in {project.plans}, so no task {name}: a plan is <category>/{plan}.md there; {has}"
            " (`doit list` lists them)"
        )
    return None


def exit_quietly_on_a_closed_pipe() -> bool:
    """`doit list | head`: once the reader has gone, `doit list` stops writing and exits 0 instead of printing a
    BrokenPipeError traceback. doit builds the command before loading this file, so its `_execute` is wrapped (as
    `explain_unknown_tasks` wraps task selection); `status` handles its own (tasks/status.py). Idempotent."""
    from doit.cmd_list import List

    current = List.__dict__.get("_execute")
    if current is None or getattr(current, "quiet_on_a_closed_pipe", False):
        return current is not None

    @functools.wraps(current)  # doit passes `_execute` the options its signature names
    def _execute(self, *args, **kwargs):
        try:
            result = current(self, *args, **kwargs)
            self.outstream.flush()
            return result
        except BrokenPipeError:
            stop_writing_stdout()
            return 0

    _execute.quiet_on_a_closed_pipe = True  # type: ignore[attr-defined]  # a marker on our own wrapper, read back with getattr
    List._execute = _execute
    return True


def stop_writing_stdout() -> None:
    """The reader of our stdout has gone (`doit list | head`): point stdout at /dev/null, so what is still buffered
    and written goes nowhere instead of raising BrokenPipeError again at exit (Python's documented remedy)."""
    try:
        target = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's capture): nothing buffered will reach a closed pipe
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, target)
    os.close(devnull)


def reporter_for(project: LoadedProject) -> type:
    """A reporter class bound to the project whose outcomes it reads (doit wants a class, not an instance)."""
    workspace = project.workspace

    class Reporter(ConsoleReporter):
        def __init__(self, outstream, options) -> None:
            super().__init__(outstream, options)
            self.outcomes: dict[str, dict[str, str]] = {}
            self.reasons: dict[str, dict[str, str]] = {}  # package → step → why it failed
            self.generated: list[str] = []  # plans whose generation ran to its summary
            self.not_generated: dict[str, str] = {}  # plan → why its generation failed
            self.generation_seconds: dict[str, float] = {}  # plan → time its tasks ran in this run
            self.started: dict[str, float] = {}
            self.held_back: dict[str, set[str]] = {}  # task not run → the failed tasks it waited for

        def initialize(self, tasks, selected_tasks):
            super().initialize(tasks, selected_tasks)
            spread_dry_run(tasks)

        def execute_task(self, task):
            self.started[task.name] = time.monotonic()
            if not task.name.startswith(("generate:", "status")):
                super().execute_task(task)

        def add_success(self, task):
            super().add_success(task)
            self._note(task, None)
            if task.name.startswith("generate:") and task.name.endswith(":summary"):
                self.generated.append(task.name.split(":")[1])

        def add_failure(self, task, fail):
            held = isinstance(fail, UnmetDependency)
            if held:  # one line per cause at the end, not doit's stanza per task held back
                waited = str(fail.message).split()
                # What failed first, not a task it waited for that was itself held back (doit names those).
                roots = {root for name in waited for root in self.held_back.get(name, {name})}
                self.held_back[task.name] = roots
                self._note(task, f"not run: {', '.join(sorted(roots))} failed")
            else:
                super().add_failure(task, fail)
                self._note(task, "failed")
                step, _, package = task.name.partition(":")
                if step in STEP_NAMES and package:
                    reason = getattr(fail, "reason", "") or str(fail.message or "").strip().split("\n", 1)[0]
                    self.reasons.setdefault(package, {})[step] = reason[:300]
            if task.name.startswith("generate:") and not isinstance(fail, UnmetDependency):
                plan = task.name.split(":")[1]
                reason = str(fail.message or "failed").strip().splitlines()[0].removeprefix(f"[{plan}] ")
                self.not_generated.setdefault(plan, reason[:300])

        def skip_uptodate(self, task):
            super().skip_uptodate(task)
            self._note(task, "up to date")

        def _note(self, task, status):
            step, _, package = task.name.partition(":")
            if step == "generate" and package:
                plan = package.split(":")[0]
                ran = time.monotonic() - self.started.pop(task.name, time.monotonic())
                self.generation_seconds[plan] = self.generation_seconds.get(plan, 0.0) + ran
            if step in STEP_NAMES and package and workspace is not None:
                self.outcomes.setdefault(package, {})[step] = status or outcome_label(workspace, step, package)

        def complete_run(self):
            super().complete_run()
            for line in held_back_lines(self.held_back):
                self.write(line + "\n")
            if self.generation_seconds and workspace is not None and not project.workspace_problem:
                self._generation_summary()
            if self.not_generated:
                failed = "; ".join(f"{plan}: {why}" for plan, why in self.not_generated.items())
                done = f"; done: {', '.join(self.generated)}" if self.generated else ""
                self.write(
                    f"generation: {len(self.not_generated)} of {len(self.not_generated) + len(self.generated)}"
                    f" package(s) failed ({failed}){done}\n"
                )
            elif len(self.generated) > 1:
                self.write(f"generation: all {len(self.generated)} packages done ({', '.join(self.generated)})\n")
            if not self.outcomes:
                return
            for line in outcome_table(self.outcomes, self.reasons, shutil.get_terminal_size().columns):
                self.write(line + "\n")
            self.write(f"summary: {write_run_summary(workspace, self.outcomes, self.reasons)}\n")

        def _generation_summary(self):
            """A table of the plans this run generated, and `.generation-state/summary.json`."""
            from package_builder.generation.plan_status import (
                existing_branches,
                plan_status,
                summary_table,
                write_generation_summary,
            )

            try:
                paths = {path.stem: path for path in discover_plans(project.plans)}
            except PackageBuilderError:
                return  # the plans folder's own error is what the run already reported
            branches = existing_branches(workspace)  # a run that failed before its first commit made none
            statuses = [
                plan_status(workspace, paths[plan], project.phases_of, branches=branches)
                for plan in sorted(self.generation_seconds)
                if plan in paths
            ]
            statuses = [
                replace(status, state="failed", reason=self.not_generated[status.plan])
                if status.plan in self.not_generated and status.state != "failed"
                else status
                for status in statuses
            ]  # failed before its checkpoint could say so
            for line in summary_table(statuses, self.generation_seconds):
                self.write(line + "\n")
            path = write_generation_summary(workspace, statuses, self.generation_seconds, set(self.not_generated))
            self.write(f"summary: {path}\n")

    return Reporter


def held_back_lines(held_back: dict[str, set[str]]) -> list[str]:
    """One line per failure that held tasks back: `[data-validator] not run: 14 later phase(s) and its summary,
    because generate:data-validator:01-planning failed`, or `not run: test:@s/b, publish:@s/b, because build:@s/b
    failed`. Group tasks (`generate`, `generate:<plan>`) are not counted: they only gather the others."""
    by_cause: dict[tuple[str, ...], list[str]] = {}
    for name, failed in held_back.items():
        by_cause.setdefault(tuple(sorted(failed)), []).append(name)
    lines = []
    for roots, names in by_cause.items():
        generation = [name.split(":") for name in names if name.startswith("generate:") and name.count(":") == 2]
        plans = {plan for _, plan, _ in generation}
        phases = [step for _, _, step in generation if step != "summary"]
        summary = " and the summary" if len(phases) < len(generation) else ""
        others = [name for name in names if not name.startswith("generate:") and ":" in name]
        parts = ([f"{len(phases)} later phase(s){summary}"] if phases else []) + others
        if not parts:
            continue
        prefix = f"[{', '.join(sorted(plans))}] " if plans else ""
        lines.append(f"{prefix}not run: {', '.join(parts)}, because {', '.join(roots)} failed")
    return lines
