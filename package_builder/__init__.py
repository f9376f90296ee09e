"""package-builder core: plan → prompt → model answer → validated artifact → workspace, commit, checkpoint.

Only `package_builder.tasks` imports doit: the engine that schedules phases (doit's task creators today, a Temporal
worker later) reads `graph`, calls `runner.run_phase` and reads artifacts; nothing else knows which engine runs.
"""
