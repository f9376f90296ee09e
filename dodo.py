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

from package_builder.tasks.catalog import doit_namespace
from package_builder.tasks.project import load_project

PROJECT = load_project(Path(__file__).resolve().parent)  # its phases: this checkout's phases/, imported when needed
# DOIT_CONFIG and task_status, task_generate, task_estimate, task_install, task_build, task_test, task_publish: one
# table (package_builder/tasks/catalog.py) that the installed `package-builder` command loads too.
globals().update(doit_namespace(PROJECT))
