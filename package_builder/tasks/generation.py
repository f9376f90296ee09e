"""`generate:<plan>` and `estimate:<plan>`: the creators doit calls on every load. They list the plans; the tasks of
each plan (`plan_tasks.py`) and the plan parser load only when there are plans, so a load that only builds, tests or
publishes pays nothing for generation.

The runner decides for itself whether a phase's work is done (its artifact, keyed by a digest of its inputs), so a
task doit runs again after a kill costs nothing; the tasks' dependencies only let doit skip the call entirely.
"""

from __future__ import annotations

from pathlib import Path

from doit.exceptions import TaskFailed

from package_builder.base.console import say
from package_builder.base.errors import PackageBuilderError, PlanError
from package_builder.generation.plan_files import discover_plans
from package_builder.tasks.failure import fail
from package_builder.tasks.project import LoadedProject


def estimate(project: LoadedProject, plan_path: str):
    """doit action: what generating the plan should cost, printed as a table; no model call, no key needed."""
    from package_builder.base.config import BuildConfig, load_config
    from package_builder.generation.estimate import estimate_plan, report
    from package_builder.generation.plan import parse_plan
    from package_builder.generation.suite import in_workspace

    try:
        config = (
            load_config(project.paths.config)
            if project.config is not None
            else BuildConfig.model_validate({"workspaceRoot": "."})
        )
        chars = config.turn_based_generation.dependency_api_chars
        plan = in_workspace(parse_plan(Path(plan_path)), config.workspace_root, chars)  # its siblings' APIs included
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
    """Every plan × every phase, plus one summary per plan and the `generate` group."""
    plan_paths, broken = _plans(project, "generate")
    if broken:
        yield broken
        return
    if plan_paths:
        from package_builder.tasks.plan_tasks import plan_tasks

        yield from plan_tasks(project, plan_paths)  # the `generate` group last, in the order plans generate in
        return
    yield {"basename": "generate", "doc": "generate every planned package", "actions": None, "task_dep": []}
