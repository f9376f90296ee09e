"""`status`, the default task: one line per plan from the checkpoints and artifacts, so a bare `doit` starts no model
call, writes no git and publishes nothing."""
from __future__ import annotations

import json

from ..errors import PackageBuilderError
from ..plan import discover_plans
from .project import LoadedProject


JSON = {"name": "as_json", "long": "json", "type": bool, "default": False,
        "help": "print the status as JSON, for scripts"}


def show_status(project: LoadedProject, as_json: bool = False):
    """doit action: print the status lines, or their JSON (never fails: a broken plan is a line of its own)."""
    from ..explain import VisibleInputs
    from ..state import GenerationState
    from ..status import plan_status

    problems = [f"config: {project.config_error}"] if project.config_error else []
    try:
        plan_paths = discover_plans(project.plans)
    except PackageBuilderError as exc:
        plan_paths, problems = [], [*problems, str(exc)]
    inputs_now = VisibleInputs(project.paths.prompts, project.config)
    sessions = GenerationState.newest_sessions(project.workspace) if project.workspace else {}
    plans = [plan_status(project.workspace, path, project.phases_of, inputs_now, sessions) for path in plan_paths]
    if as_json:
        print(json.dumps({"plans": [plan.as_json() for plan in plans], "problems": problems}, indent=2))
        return
    for problem in problems:
        print(problem)
    if not plan_paths and not problems:
        print(f"no plans in {project.plans} (write <category>/<name>.md there)")
    for plan in plans:
        print(plan.line())
    print("run `doit list` for the tasks, `doit generate:<plan>` to generate one package")


def status_task(project: LoadedProject) -> dict:
    """`doit status [--json]`: never up to date, and the default task."""
    return {"actions": [(show_status, [project])], "uptodate": [False], "verbosity": 2, "params": [JSON]}
