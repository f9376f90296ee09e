"""`status`, the default task: one line per plan from the checkpoints and artifacts, so a bare `doit` starts no model
call, writes no git and publishes nothing."""
from __future__ import annotations

from ..errors import PackageBuilderError
from ..plan import discover_plans
from ..status import plan_status
from .project import LoadedProject


def show_status(project: LoadedProject):
    """doit action: print the status lines (never fails: a broken plan is a line of its own)."""
    if project.config_error:
        print(f"config: {project.config_error}")
    try:
        plan_paths = discover_plans(project.paths.plans)
    except PackageBuilderError as exc:
        print(exc)
        return
    if not plan_paths:
        print(f"no plans in {project.paths.plans} (write plans/packages/<category>/<name>.md)")
    for path in plan_paths:
        print(plan_status(project.workspace, path, project.phases_of).line())
    print("run `doit list` for the tasks, `doit generate:<plan>` to generate one package")


def status_task(project: LoadedProject) -> dict:
    return {"actions": [(show_status, [project])], "uptodate": [False], "verbosity": 2}
