"""The tasks of each plan, wired from `graph`: each phase depends on its plan, its templates, its declaration, the
artifacts of the phases `graph.upstream` names, and `graph.rerun_key` (doit's `config_changed`).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from package_builder.base.errors import PackageBuilderError
from package_builder.base.paths import state_dir
from package_builder.generation.graph import rerun_key, upstream
from package_builder.generation.phase import PhaseSpec
from package_builder.generation.plan import parse_plan
from package_builder.generation.run_context import RunContext
from package_builder.generation.suite import generation_order, in_workspace, planned_dependencies
from package_builder.generation.templates import prompt_templates, template_sources
from package_builder.tasks.builds import CHECK_SIGNATURE
from package_builder.tasks.failure import fail
from package_builder.tasks.project import LoadedProject


def run_phase(
    run: RunContext, phases: tuple[PhaseSpec, ...], project_root: str, config_path: str, plan_path: str, phase_name: str
):
    """doit action: one phase of this doit command's run; a `PackageBuilderError` becomes a clean TaskFailed."""
    from package_builder.generation.runner import PhaseJob
    from package_builder.generation.runner import run_phase as run_one

    try:
        return run_one(PhaseJob(Path(project_root), Path(config_path), Path(plan_path), phase_name), phases, run)
    except PackageBuilderError as exc:
        return TaskFailed(str(exc))


def summarize(phases: tuple[PhaseSpec, ...], project_root: str, config_path: str, plan_path: str):
    """doit action: the closing line of one plan's generation."""
    from package_builder.generation.runner import PhaseJob
    from package_builder.generation.runner import summarize as summary

    try:
        return summary(PhaseJob(Path(project_root), Path(config_path), Path(plan_path), phases[-1].name), phases)
    except PackageBuilderError as exc:
        return TaskFailed(str(exc))


def plan_tasks(project: LoadedProject, plan_paths: list[Path]):
    """Each plan's group task, its phases and its summary, then the `generate` group: plans in the order they generate
    in (`suite.generation_order`), each plan's first phase waiting for the plans it depends on, so `doit
    generate:<plan>` brings those up to date first. The tasks of one doit command are one run: they share one
    `RunContext`, so `budget.maxUsdPerRun` counts every package it generates."""
    wiring: dict[int, tuple[dict, dict]] = {}  # per phase list: what its phases depend on, computed once
    run = RunContext()
    plans, names = [], []
    for plan_path in plan_paths:
        try:
            plans.append(parse_plan(plan_path))
        except PackageBuilderError as exc:
            names.append(f"generate:{plan_path.stem}")
            yield {
                "basename": f"generate:{plan_path.stem}",
                "doc": f"(invalid plan) {exc}",
                "actions": [(fail, [str(exc)])],
            }
    ordered, refused = generation_order(plans)
    plan_files = {plan.task_name: str(plan.plan_path) for plan in plans}
    for plan in ordered:
        name = plan.task_name
        names.append(f"generate:{name}")
        if name in refused:
            yield {
                "basename": f"generate:{name}",
                "doc": "(plans in a cycle) " + refused[name],
                "actions": [(fail, [refused[name]])],
            }
            continue
        phases = project.phases_of(plan)
        if id(phases) not in wiring:
            wiring[id(phases)] = _wiring(project, phases)
        waits_for = planned_dependencies(plan, plans)
        yield {
            "basename": f"generate:{name}",
            "name": None,
            "doc": f"generate {plan.package_name} ({plan.category}) into {plan.package_path}"
            + (" in one call (single-shot)" if len(phases) != len(project.phases) else "")
            + (f", after {', '.join(waits_for)}" if waits_for else ""),
        }
        siblings = SiblingApis(str(plan.plan_path), project.config) if plan.dependencies and project.config else None
        yield from _phase_tasks(
            project,
            run,
            phases,
            plan.plan_path,
            name,
            *wiring[id(phases)],
            [plan_files[d] for d in waits_for],
            siblings,
        )
    yield {"basename": "generate", "doc": "generate every planned package", "actions": None, "task_dep": names}


class SiblingApis:
    """doit `uptodate` of the model phases of a plan that names dependencies: False when a workspace dependency's
    public API (its exports and signatures, not its bodies, comments or prose: `dependency_api`) changed since the
    phase last ran, so doit runs it and the runner says `<name>'s API changed` before asking again. Nothing is read
    at load; a check reads the APIs once per plan and process, and each save reads them as they are then."""

    __signature__ = CHECK_SIGNATURE

    def __init__(self, plan_path: str, config):
        self.plan_path, self.config = plan_path, config
        self._digests: dict | None = None
        self._lock = threading.Lock()

    def configure_task(self, task) -> None:
        task.value_savers.append(self.save)

    def digests(self) -> dict:
        with self._lock:
            if self._digests is None:
                chars = self.config.turn_based_generation.dependency_api_chars
                try:
                    plan = in_workspace(parse_plan(Path(self.plan_path)), self.config.workspace_root, chars)
                except PackageBuilderError:
                    return {}  # the phase's own run reports the plan
                self._digests = {d.name: d.api.digest for d in plan.workspace_dependencies if d.api is not None}
            return self._digests

    def __call__(self, task, values) -> bool:
        return values.get("_sibling_apis", {}) == self.digests()

    def save(self) -> dict:
        with self._lock:
            self._digests = None  # a phase may have built a sibling: its declarations are the API from now on
        return {"_sibling_apis": self.digests()}


def _wiring(project: LoadedProject, phases: tuple) -> tuple[dict, dict]:
    """Per phase of a phase list: the files it depends on, and its config_changed key."""
    files = {phase.name: _phase_files(project, phase) for phase in phases}
    keys = (
        {phase.name: config_changed(rerun_key(project.config, phases, phase)) for phase in phases}
        if project.config
        else {}
    )
    return files, keys


def _phase_tasks(
    project: LoadedProject,
    run: RunContext,
    phases: tuple,
    plan_path: Path,
    name: str,
    phase_files: dict,
    settings: dict,
    dependency_plans: list[str],
    siblings: SiblingApis | None = None,
):
    """A plan's phases, each after the one before it; the first after the plans `dependency_plans` name (their
    files: an edit there may change what this package is told of them)."""
    workspace = project.workspace
    # Plain strings (the same ones `paths.artifact_path` gives): fifteen per plan, for every plan on every load.
    folder = os.path.join(state_dir(workspace), name) if workspace else ""
    artifacts = {p.name: os.path.join(folder, f"{p.slug}.json") for p in phases} if workspace else {}
    common = [phases, str(project.paths.root), str(project.paths.config), str(plan_path)]
    # A workspace generation cannot use is refused before any action writes into it (a checkpoint, summary.json);
    # the graph stays the same, only the action says why.
    unusable = project.config_error if project.config is None else project.workspace_problem
    previous = None
    for phase in phases:
        task = {
            "basename": f"generate:{name}",
            "name": phase.slug,
            "doc": f"phase {phase.number}/{len(phases)} {phase.name}: {phase.description}",
            "task_dep": [previous] if previous else [f"generate:{Path(d).stem}" for d in dependency_plans],
        }
        if project.config is not None:
            task.update(
                file_dep=[
                    str(plan_path),
                    *dependency_plans,
                    *phase_files[phase.name],
                    *sorted({artifacts[read] for read in upstream(phases, phase)}),
                ],
                targets=[artifacts[phase.name]],
                uptodate=[settings[phase.name], *([siblings] if siblings and phase.calls_model else [])],
                clean=True,
            )
        task["actions"] = [(fail, [unusable])] if unusable else [(run_phase, [run, *common, phase.name])]
        yield task
        previous = f"generate:{name}:{phase.slug}"
    yield {
        "basename": f"generate:{name}",
        "name": "summary",
        "doc": "print files, tokens, time and branch",
        "actions": [(fail, [unusable])] if unusable else [(summarize, common)],
        "task_dep": [previous],
        "uptodate": [False],
    }


def _phase_files(project: LoadedProject, phase) -> list[str]:
    """The phase's declaration and every template it renders (its prompt, the system prompt, rendered files)."""
    templates = prompt_templates(phase) if phase.calls_model else []
    return [
        str(project.paths.phases / phase.module_file),
        *(str(path) for template in templates for path in template_sources(project.paths.prompts, template)),
    ]
