"""Generation on Temporal: the same phases as the doit graph, each an activity calling the same core
(`generation.runner.run_phase`), one workflow per plan, workers on as many machines as the work needs.

`python -m package_builder.temporal worker | submit | status | cancel` (see `__main__`). An optional extra
(`pip install -e .[temporal]`): nothing here is imported by `dodo.py` or any doit task, and doit stays the default
engine. The parts: `messages` (what the workflow history holds: names, paths, commits, digests, usage; never model text
or files), `workflows` (deterministic: it only schedules), `activities` (the work), `client` (the command line's side).
"""
