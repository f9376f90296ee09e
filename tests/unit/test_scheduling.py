"""doit's dispatcher, as package-builder runs it: a task that a finished one unblocks starts before independent tasks
queued earlier, so the longest chain is not left for last (package_builder/tasks/scheduling.py)."""

from __future__ import annotations

import threading
import time

from doit.cmd_base import ModuleTaskLoader
from doit.doit_cmd import DoitMain

from package_builder.tasks.scheduling import continue_chains_first


def test_the_next_link_of_a_chain_starts_before_independent_tasks_queued_earlier(tmp_path):
    assert continue_chains_first() and continue_chains_first(), "installed, and installing twice changes nothing"
    started: list[str] = []
    lock = threading.Lock()

    def work(name: str, seconds: float):
        with lock:
            started.append(name)
        time.sleep(seconds)

    def task_build():
        # core ← math, beside three independent packages; two at a time, in doit's own order
        for name, seconds, deps in [
            ("core", 0.2, []),
            ("math", 0.05, ["build:core"]),
            ("strings", 0.6, []),
            ("colors", 0.3, []),
            ("dates", 0.3, []),
            ("fonts", 0.3, []),
        ]:
            yield {"name": name, "actions": [(work, [name, seconds])], "task_dep": deps, "verbosity": 0}

    loader = ModuleTaskLoader(
        {"task_build": task_build, "DOIT_CONFIG": {"backend": "json", "dep_file": str(tmp_path / "doit.json")}}
    )
    assert DoitMain(loader).run(["-n", "2", "-P", "thread", "build"]) == 0

    # doit alone: core, strings, colors, dates, math. The first two start together, so their threads may log in any
    # order; what matters is that math, unblocked by core, comes before every independent task queued before it.
    assert set(started[:2]) == {"core", "strings"} and started[2] == "math", started
    assert sorted(started) == ["colors", "core", "dates", "fonts", "math", "strings"]
