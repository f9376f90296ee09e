"""doit's side of package-builder: task creators, the reporter and the run's settings. The only modules that import
doit; `dodo.py` lists them, the core (`package_builder.*`) never sees them.

- `catalog`: the table of tasks (`DOIT_CONFIG`, `task_status`, `task_generate`...) that `dodo.py` and `command` load.
- `command`: the installed `package-builder` command's doit side: `DoitMain` over `catalog`, for a `--config`.
- `status`: the default task (a bare `doit`): where each plan's generation stands, nothing started.
- `project`: the checkout, its plans and its config, read once per `doit` load through the pydantic model.
- `generation`: `generate:<plan>:<NN-phase>` tasks from `graph` (what each phase depends on).
- `workspace`: `install`, `build:`, `test:`, `publish:` for the monorepo's packages.
- `reporter`: doit's console output, the closing table and `summary.json`; `DOIT_CONFIG`.
"""
