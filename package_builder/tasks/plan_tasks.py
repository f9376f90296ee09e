"""The tasks of each plan, wired from `graph`: each phase depends on its plan, its templates, its declaration, the
artifacts of the phases `graph.upstream` names, and `graph.rerun_key` (doit's `config_changed`).
"""

from __future__ import annotations

import os
from pathlib import Path

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from package_builder.base.errors import PackageBuilderError
from package_builder.base.paths import state_dir
from package_builder.generation.graph import rerun_key, upstream
from package_builder.generation.phase import PhaseSpec
from package_builder.generation.plan import parse_plan
from package_builder.generation.run_context import RunContext
from package_builder.generation.suite import generation_order, planned_dependencies
from package_builder.generation.templates import prompt_templates, template_sources
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
        yield from _phase_tasks(
            project, run, phases, plan.plan_path, name, *wiring[id(phases)], [plan_files[d] for d in waits_for]
        )
    yield {"basename": "generate", "doc": "generate every planned package", "actions": None, "task_dep": names}


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
                uptodate=[settings[phase.name]],
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
