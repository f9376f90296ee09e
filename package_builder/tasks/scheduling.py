"""Which ready task doit starts next: the ones a finished task has just unblocked, before the rest.

doit (0.36–0.37) keeps ready tasks in a first-in-first-out queue and puts a task whose dependencies have just finished
at its back, behind every independent task listed before it. With `-n 2` on `core ← math ← app` beside `colors` and
`dates`, `math` waited until `colors` and `dates` had built, so the longest chain finished last and a cold build took
~15% longer than Turborepo's. Putting the newly unblocked tasks at the front keeps a chain moving as soon as its link
is done; independent tasks fill the other slots. Only the order changes: what runs, and how many at once, do not.

This replaces one method of doit's dispatcher, so it checks the shape it expects first and changes nothing otherwise
(tests/unit/test_scheduling.py fails if a doit release moves it).
"""

from __future__ import annotations

from collections import deque

from doit.control import TaskDispatcher


def continue_chains_first() -> bool:
    """Install the order for this process (idempotent); False when doit's dispatcher is not what it expects."""
    original = TaskDispatcher.__dict__.get("_update_waiting")
    if original is None or getattr(original, "continues_chains", False):
        return original is not None

    def _update_waiting(self, processed):
        ready = getattr(self, "ready", None)
        if not isinstance(ready, deque):
            return original(self, processed)
        queued = len(ready)
        original(self, processed)
        unblocked = [ready.pop() for _ in range(len(ready) - queued)]  # appended at the back, taken last first
        ready.extendleft(unblocked)  # extendleft reverses them again: in front, in their own order

    _update_waiting.continues_chains = True  # type: ignore[attr-defined]  # a marker on our own wrapper, read back with getattr
    TaskDispatcher._update_waiting = _update_waiting
    return True
