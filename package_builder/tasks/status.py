"""`status`, the default task: one line per plan from the checkpoints and artifacts, so a bare `doit` starts no model
call, writes no git and publishes nothing."""

from __future__ import annotations

import json
import sys

from package_builder.base.console import say
from package_builder.base.errors import PackageBuilderError
from package_builder.generation.plan_files import discover_plans
from package_builder.tasks.project import LoadedProject
from package_builder.tasks.reporter import stop_writing_stdout

JSON = {
    "name": "as_json",
    "long": "json",
    "type": bool,
    "default": False,
    "help": "print the status as JSON, for scripts",
}


def show_status(project: LoadedProject, as_json: bool = False):
    """doit action: print the status lines, or their JSON, for every plan that can be read; then fail (a non-zero
    exit, for CI and scripts) when the config, the plans folder or a plan is broken, naming each problem, since
    nothing can be generated until it is fixed. A plan that failed to generate is a state, not a broken input."""
    from package_builder.generation.explain import VisibleInputs
    from package_builder.generation.plan_status import existing_branches, plan_status
    from package_builder.generation.state import GenerationState

    problems = [f"config: {project.config_error}"] if project.config_error else []
    broken = [f"the config ({project.paths.config})"] if project.config_error else []
    if project.workspace_problem:  # nothing can be generated there: say so now, not at the first `generate`
        problems.append(project.workspace_problem)
        broken.append("workspaceRoot")
    try:
        plan_paths = discover_plans(project.plans)
    except PackageBuilderError as exc:
        plan_paths, problems, broken = [], [*problems, str(exc)], [*broken, f"the plans folder ({project.plans})"]
    inputs_now = VisibleInputs(project.paths.prompts, project.config)
    sessions = GenerationState.newest_sessions(project.workspace) if project.workspace else {}
    branches = existing_branches(project.workspace) if sessions else None
    plans = [
        plan_status(project.workspace, path, project.phases_of, inputs_now, sessions, branches) for path in plan_paths
    ]
    plans = waiting_for_dependencies(plans, plan_paths)
    broken += [f"plan {plan.plan}" for plan in plans if plan.state == "invalid plan"]
    try:
        if as_json:
            say(json.dumps({"plans": [plan.as_json() for plan in plans], "problems": problems}, indent=2))
        else:
            for problem in problems:
                say(problem)
            if not plan_paths and not problems:
                say(f"no plans in {project.plans} (write <category>/<name>.md there)")
            for plan in plans:
                say(plan.line())
            say(
                f"run `{project.command} list` for the tasks, `{project.command} generate:<plan>` to generate one "
                "package"
            )
        sys.stdout.flush()
    except BrokenPipeError:  # `doit | head -1`: the reader has what it wanted
        stop_writing_stdout()
        return None
    if broken:
        from doit.exceptions import TaskFailed

        return TaskFailed(
            f"status: fix {', '.join(broken)} (the error is shown above), then run `{project.command}` again"
        )
    return None


def waiting_for_dependencies(plans: list, plan_paths: list) -> list:
    """A plan not started whose planned dependencies are not done says which it waits for: `doit generate` runs it
    only after them."""
    from dataclasses import replace

    from package_builder.generation.plan import parse_plan
    from package_builder.generation.suite import planned_dependencies

    parsed = []
    for path in plan_paths:
        try:
            parsed.append(parse_plan(path))
        except PackageBuilderError:
            continue
    state = {plan.plan: plan.state for plan in plans}
    needs = {spec.task_name: planned_dependencies(spec, parsed) for spec in parsed}
    return [
        replace(plan, reason="waits for " + ", ".join(f"{d} ({state.get(d, '?')})" for d in waiting))
        if plan.state == "not started" and (waiting := [d for d in needs.get(plan.plan, []) if state.get(d) != "done"])
        else plan
        for plan in plans
    ]


def status_task(project: LoadedProject) -> dict:
    """`doit status [--json]`: never up to date, and the default task."""
    return {"actions": [(show_status, [project])], "uptodate": [False], "verbosity": 2, "params": [JSON]}
