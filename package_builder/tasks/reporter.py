"""What a `doit` run prints and leaves behind: doit's console output (minus the `.  task` lines of generation tasks,
which print their own progress), a closing table of build/test/publish outcomes, and `summary.json` for CI."""
from __future__ import annotations

import time
from dataclasses import replace

from doit.exceptions import UnmetDependency
from doit.reporter import ConsoleReporter

from ..outcomes import STEP_NAMES, outcome_label, write_run_summary
from ..errors import PackageBuilderError
from ..plan import discover_plans
from .project import LoadedProject
from .scheduling import continue_chains_first
from .workspace import spread_dry_run


def doit_config(project: LoadedProject) -> dict:
    """DOIT_CONFIG: the sqlite3 backend in the project's own file, the reporter, and `maxConcurrentBuilds` as the
    default `-n`. Tasks run subprocesses (npm, git, the model over HTTP), so threads share one import of the core.
    Generation is bounded by `turnBasedGeneration.maxConcurrentPhases` inside the core, whatever `-n` says. A failure
    stops only what depends on it (`continue`): one package's failed generation or build leaves the others going.
    A task a finished one unblocks starts before independent ones (`scheduling`), so the longest chain is not last."""
    continue_chains_first()
    return {"backend": "sqlite3", "dep_file": ".package-builder.doit.db", "verbosity": 2, "continue": True,
            "reporter": reporter_for(project), "default_tasks": ["status"],
            "num_process": project.config.max_concurrent_builds if project.config else 1, "par_type": "thread"}


def reporter_for(project: LoadedProject) -> type:
    """A reporter class bound to the project whose outcomes it reads (doit wants a class, not an instance)."""
    workspace = project.workspace

    class Reporter(ConsoleReporter):
        def __init__(self, outstream, options):
            super().__init__(outstream, options)
            self.outcomes: dict[str, dict[str, str]] = {}
            self.generated: list[str] = []  # plans whose generation ran to its summary
            self.not_generated: dict[str, str] = {}  # plan → why its generation failed
            self.generation_seconds: dict[str, float] = {}  # plan → time its tasks ran in this run
            self.started: dict[str, float] = {}

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
            super().add_failure(task, fail)
            held = isinstance(fail, UnmetDependency)
            self._note(task, f"not run: {', '.join(str(fail.message).split())} failed" if held else "failed")
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
            if self.generation_seconds and workspace is not None:
                self._generation_summary()
            if self.not_generated:
                failed = "; ".join(f"{plan}: {why}" for plan, why in self.not_generated.items())
                done = f"; done: {', '.join(self.generated)}" if self.generated else ""
                self.write(f"generation: {len(self.not_generated)} of {len(self.not_generated) + len(self.generated)}"
                           f" package(s) failed ({failed}){done}\n")
            elif len(self.generated) > 1:
                self.write(f"generation: all {len(self.generated)} packages done ({', '.join(self.generated)})\n")
            if not self.outcomes:
                return
            rows = [("package", *STEP_NAMES)] + [
                (name, *(steps.get(step, "-") for step in STEP_NAMES)) for name, steps in self.outcomes.items()]
            widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
            for row in rows:
                self.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() + "\n")
            self.write(f"summary: {write_run_summary(workspace, self.outcomes)}\n")

        def _generation_summary(self):
            """A table of the plans this run generated, and `.generation-state/summary.json`."""
            from ..status import plan_status, summary_table, write_generation_summary

            try:
                paths = {path.stem: path for path in discover_plans(project.plans)}
            except PackageBuilderError:
                return  # the plans folder's own error is what the run already reported
            statuses = [plan_status(workspace, paths[plan], project.phases_of)
                        for plan in sorted(self.generation_seconds) if plan in paths]
            statuses = [replace(status, state="failed", reason=self.not_generated[status.plan])
                        if status.plan in self.not_generated and status.state != "failed" else status
                        for status in statuses]  # failed before its checkpoint could say so
            for line in summary_table(statuses, self.generation_seconds):
                self.write(line + "\n")
            path = write_generation_summary(workspace, statuses, self.generation_seconds, set(self.not_generated))
            self.write(f"summary: {path}\n")

    return Reporter
