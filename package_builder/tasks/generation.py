"""`generate:<plan>` and its phase tasks, wired from `graph`: each phase depends on its plan, its templates, its
declaration, the artifacts of the phases `graph.upstream` names, and `graph.rerun_key` (doit's `config_changed`).

The runner decides for itself whether a phase's work is done (its artifact, keyed by a digest of its inputs), so a
task doit runs again after a kill costs nothing; these dependencies only let doit skip the call entirely.
"""

from __future__ import annotations

import os
from pathlib import Path

from doit.exceptions import TaskFailed
from doit.tools import config_changed

from package_builder.base.console import say
from package_builder.base.errors import PackageBuilderError, PlanError
from package_builder.base.paths import state_dir
from package_builder.generation.graph import rerun_key, upstream
from package_builder.generation.phase import PhaseSpec
from package_builder.generation.plan import discover_plans, parse_plan
from package_builder.generation.run_context import RunContext
from package_builder.generation.templates import prompt_templates, template_sources
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


def fail(message: str):
    return TaskFailed(message)


def estimate(project: LoadedProject, plan_path: str):
    """doit action: what generating the plan should cost, printed as a table; no model call, no key needed."""
    from package_builder.base.config import BuildConfig, load_config
    from package_builder.generation.estimate import estimate_plan, report

    try:
        plan = parse_plan(Path(plan_path))
        config = (
            load_config(project.paths.config)
            if project.config is not None
            else BuildConfig.model_validate({"workspaceRoot": "."})
        )
        if project.config is None:
            say(f"(no usable config: {project.config_error.splitlines()[0]}; estimating with the defaults)")
        say(report(plan, estimate_plan(project.paths, config, project.paths.config, plan, project.phases_of(plan))))
    except PackageBuilderError as exc:
        return TaskFailed(str(exc))


def _plans(project: LoadedProject, basename: str) -> tuple[list[Path], dict | None]:
    """The plan files, or the task that reports why the plans folder cannot be read."""
    try:
        if project.plans_problem:
            raise PlanError(project.plans_problem)
        return discover_plans(project.plans), None
    except PackageBuilderError as exc:
        return [], {"basename": basename, "doc": "(plans folder has an error)", "actions": [(fail, [str(exc)])]}


def estimate_tasks(project: LoadedProject):
    """`estimate:<plan>` for every plan, and the `estimate` group."""
    plan_paths, broken = _plans(project, "estimate")
    if broken:
        yield broken
        return
    yield {"basename": "estimate", "name": None, "doc": "estimate what generating each plan costs (no model call)"}
    for plan_path in plan_paths:
        yield {
            "basename": "estimate",
            "name": plan_path.stem,
            "doc": f"estimate the cost of generate:{plan_path.stem}",
            "actions": [(estimate, [project, str(plan_path)])],
            "uptodate": [False],
            "verbosity": 2,
        }


def generation_tasks(project: LoadedProject):
    """Every plan × every phase, plus one summary per plan and the `generate` group. The tasks of one doit command
    are one run: they share one `RunContext`, so `budget.maxUsdPerRun` counts every package it generates."""
    plan_paths, broken = _plans(project, "generate")
    if broken:
        yield broken
        return
    wiring: dict[int, tuple[dict, dict]] = {}  # per phase list: what its phases depend on, computed once
    names = []
    run = RunContext()
    for plan_path in plan_paths:
        name = plan_path.stem
        names.append(f"generate:{name}")
        try:
            plan = parse_plan(plan_path)
        except PackageBuilderError as exc:
            yield {"basename": f"generate:{name}", "doc": f"(invalid plan) {exc}", "actions": [(fail, [str(exc)])]}
            continue
        phases = project.phases_of(plan)
        if id(phases) not in wiring:
            wiring[id(phases)] = _wiring(project, phases)
        yield {
            "basename": f"generate:{name}",
            "name": None,
            "doc": f"generate {plan.package_name} ({plan.category}) into {plan.package_path}"
            + (" in one call (single-shot)" if len(phases) != len(project.phases) else ""),
        }
        yield from _phase_tasks(project, run, phases, plan_path, name, *wiring[id(phases)])
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
):
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
            "task_dep": [previous] if previous else [],
        }
        if project.config is not None:
            task.update(
                file_dep=[
                    str(plan_path),
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
