"""package-builder core: plan → prompt → model answer → validated artifact → workspace, commit, checkpoint.

Nothing in this package imports doit: the engine that schedules phases (doit's `dodo.py` today, a Temporal worker
later) only calls `run_phase` and reads artifacts.
"""
