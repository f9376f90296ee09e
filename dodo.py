"""doit task graph: plans × phases, and build/test/publish per workspace package. doit only schedules;
`package_builder` does the work; `package_builder.tasks` holds the creators.

    status                            the default (a bare `doit`): where each plan's generation stands
    generate                          every plan, each phase after the one before it
    └── generate:<plan>               one package: its 15 phases in order, then a summary
        ├── generate:<plan>:01-planning      target .generation-state/<plan>/01-planning.json
        ├── ...                              file_dep: plan, templates, phase module, upstream artifacts
        └── generate:<plan>:summary          uptodate: config_changed(graph.rerun_key)
    estimate:<plan>                   what generating a plan should cost (no model call, no key)
    install                           the monorepo's dependencies (again only when a manifest or lockfile changes)
    build:<npm name>  test:<npm name>  publish:<npm name>     dependencies first, maxConcurrentBuilds at once
Load time stays light (stdlib, doit, the config's validated snapshot): pydantic, the SDK, Jinja2, GitPython load later.
"""
from pathlib import Path

from package_builder.tasks.generation import estimate_tasks, generation_tasks
from package_builder.tasks.project import load_project
from package_builder.tasks.reporter import doit_config
from package_builder.tasks.status import status_task
from package_builder.tasks.workspace import WorkspaceTasks, publish_creator
from phases import PHASES, SINGLE_SHOT_PHASES

PROJECT = load_project(Path(__file__).resolve().parent, PHASES, SINGLE_SHOT_PHASES)
DOIT_CONFIG = doit_config(PROJECT)
WORKSPACE = WorkspaceTasks(PROJECT)


def task_status():
    """Where each plan's generation stands (the default task: no model call, no git write)."""
    return status_task(PROJECT)


def task_generate():
    """Generate packages from plans/packages/<category>/<name>.md."""
    return generation_tasks(PROJECT)


def task_estimate():
    """Estimate what generating a plan costs, per phase, before spending anything."""
    return estimate_tasks(PROJECT)


def task_install():
    """Install the monorepo's dependencies (again only when a package.json or the lockfile changes)."""
    return WORKSPACE.install()


def task_build():
    """Build workspace packages, dependencies first."""
    return WORKSPACE.steps("build")


def task_test():
    """Test workspace packages (each after its build)."""
    return WORKSPACE.steps("test")


task_publish = publish_creator(WORKSPACE)
