"""One run of the tool: its id, what it has spent, and where its progress lines go.

A run is what one engine invocation asks for: one `doit` command (made once where its tasks are built, so every phase
task of that command shares it), or one Temporal workflow, many of which run in one worker process. Nothing about a run
is process-global, so two runs in one process never share a spend (`budget.maxUsdPerRun`). Standard library only:
the doit task loader makes one and `doit list` must stay fast.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from package_builder.base.console import say

Progress = Callable[[str], None]


def print_line(line: str) -> None:
    """The progress sink of a command-line run: each line at once (doit captures nothing of it)."""
    say(line)


class RunBudget:
    """What one run has spent in USD, added to by its phases from any thread (`doit -n 4 -P thread`)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._spent = 0.0

    @property
    def spent(self) -> float:
        with self._lock:
            return self._spent

    def add(self, usd: float) -> None:
        with self._lock:
            self._spent += usd

    def __getstate__(self) -> dict:
        """A lock cannot be pickled: doit may pickle a task's arguments into a worker process (`doit -n 4`), which
        then counts its own calls, as each process always has."""
        return {"spent": self.spent}

    def __setstate__(self, state: dict) -> None:
        self._lock = threading.Lock()
        self._spent = state["spent"]


@dataclass(frozen=True)
class RunContext:
    """What every phase of one run shares; made once per run and passed down to the budget that checks each call."""

    # 12 random hex digits, as uuid4's would be, without importing uuid (and platform) into every `doit` load
    run_id: str = field(default_factory=lambda: os.urandom(6).hex())
    budget: RunBudget = field(default_factory=RunBudget)
    progress: Progress = print_line
    # Called when a phase stored an answer it paid for, before applying and committing it: an engine whose workers
    # share the workspace through a remote (Temporal) sends it there, so a worker dying now costs no second call.
    answer_stored: Callable[[], None] | None = None
