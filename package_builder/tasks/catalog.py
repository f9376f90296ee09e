"""The tasks one project offers, as doit finds them in a dodo file: `DOIT_CONFIG` and a `task_<name>` creator each.

`dodo.py` (a checkout) and the `package-builder` command (an install, `command.py`) both load this one table, so
`doit list` and `package-builder list` can never offer different tasks.
"""

from __future__ import annotations

from package_builder.tasks.builds import WorkspaceTasks, publish_creator
from package_builder.tasks.generation import estimate_tasks, generation_tasks
from package_builder.tasks.project import LoadedProject
from package_builder.tasks.reporter import doit_config
from package_builder.tasks.status import status_task


def doit_namespace(project: LoadedProject) -> dict[str, object]:
    """`DOIT_CONFIG` and the task creators for `project`, keyed the way doit reads a dodo module's globals."""
    workspace = WorkspaceTasks(project)

    def task_status():
        """Where each plan's generation stands (the default task: no model call, no git write)."""
        return status_task(project)

    def task_generate():
        """Generate packages from plans/packages/<category>/<name>.md."""
        return generation_tasks(project)

    def task_estimate():
        """Estimate what generating a plan costs, per phase, before spending anything."""
        return estimate_tasks(project)

    def task_install():
        """Install the monorepo's dependencies (again only when a package.json or the lockfile changes)."""
        return workspace.install()

    def task_build():
        """Build workspace packages, dependencies first."""
        return workspace.steps("build")

    def task_test():
        """Test workspace packages (each after its build)."""
        return workspace.steps("test")

    return {
        "DOIT_CONFIG": doit_config(project),
        "task_status": task_status,
        "task_generate": task_generate,
        "task_estimate": task_estimate,
        "task_install": task_install,
        "task_build": task_build,
        "task_test": task_test,
        "task_publish": publish_creator(workspace),
    }
