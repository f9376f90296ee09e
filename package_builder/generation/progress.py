"""What a model call shows while it runs. A 5-minute CORE_IMPLEMENTATION answer must not look like a hang.

On a terminal (stdout is a TTY and `CI` is not set), one live line per running call (rich's `Live`, shared by every
phase of the process: doit runs tasks as threads) with its elapsed time, the output tokens streamed so far and what
it waits for, redrawn in place. Elsewhere (CI, a pipe, a log file) plain lines: one per event, and while a call runs
long, a line every `model.progressEverySeconds` (default 30). rich is imported only on a terminal.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from package_builder.base.console import say

CHARS_PER_TOKEN = 3.5  # the pacer's offline estimate: good enough for "about N tokens so far"


class CallWatch:
    """One running model call: what the view shows for it."""

    def __init__(self, label: str, budget: int):
        self.label = label
        self.budget = budget
        self.started = time.monotonic()
        self.streamed_chars = 0
        self.streaming = False
        self.note = ""

    def streamed(self, text: str) -> None:
        self.streaming = True
        self.streamed_chars += len(text)

    @property
    def tokens(self) -> int:
        return round(self.streamed_chars / CHARS_PER_TOKEN)

    def line(self) -> str:
        elapsed = time.monotonic() - self.started
        parts = [f"{elapsed:.0f} s"]
        if self.streaming:
            parts.append(f"≈{self.tokens:,} of {self.budget:,} output tokens")
        if self.note:
            parts.append(self.note)
        return f"{self.label}  answering: {', '.join(parts)}"


class ProgressBoard:
    """Every call running in this process, shown live on a terminal or as periodic plain lines elsewhere."""

    def __init__(
        self, every_seconds: float = 30.0, live: bool | None = None, write: Callable[[str], None] | None = None
    ):
        self.every_seconds = every_seconds
        self.live = on_a_terminal() if live is None else live
        self.write = write or say
        self._calls: list[CallWatch] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    @contextmanager
    def watching(self, label: str, budget: int) -> Iterator[CallWatch]:
        watch = CallWatch(label, budget)
        with self._lock:
            self._calls.append(watch)
            if self._thread is None:
                self._wake.clear()
                self._thread = threading.Thread(target=self._run, name="package-builder-progress", daemon=True)
                self._thread.start()
        try:
            yield watch
        finally:
            with self._lock:
                self._calls.remove(watch)
                last, thread = not self._calls, self._thread
                if last:
                    self._wake.set()
            while last and thread is not None and thread.is_alive():  # the live lines go before the phase's result
                thread.join(timeout=0.1)
                with self._lock:
                    if self._calls:  # another call took the board over: its thread goes on
                        break

    def _running(self) -> list[str] | None:
        """The lines to show, or None (and the thread ends) when no call runs any more."""
        with self._lock:
            if not self._calls:
                self._thread = None
                return None
            self._wake.clear()  # set by a call that ended while another one started: not a reason to stop
            return [watch.line() for watch in self._calls]

    def _run(self) -> None:
        if self.live:
            self._run_live()
            return
        while True:
            self._wake.wait(self.every_seconds)
            lines = self._running()
            if lines is None:
                return
            for line in lines:
                self.write(line)

    def _run_live(self) -> None:
        from rich.console import Group
        from rich.errors import LiveError
        from rich.live import Live
        from rich.text import Text

        lines: list[str] | None = self._running()
        if lines is None:
            return
        try:
            display = Live(
                Group(*map(Text, lines)),
                refresh_per_second=4,
                transient=True,
                redirect_stdout=True,
                redirect_stderr=True,
            )
            display.start()
        except LiveError:  # another display is still closing: the next call starts a display of its own
            with self._lock:
                self._thread = None
            return
        try:
            while lines is not None:
                display.update(Group(*map(Text, lines)))
                self._wake.wait(0.25)
                lines = self._running()
        finally:
            display.stop()


def on_a_terminal() -> bool:
    return sys.stdout.isatty() and os.environ.get("CI", "").lower() not in ("1", "true", "yes")


_BOARD: ProgressBoard | None = None
_BOARD_LOCK = threading.Lock()


def board(every_seconds: float = 30.0) -> ProgressBoard:
    """The process's board (doit's task threads share it)."""
    global _BOARD
    with _BOARD_LOCK:
        if _BOARD is None:
            _BOARD = ProgressBoard(every_seconds)
        _BOARD.every_seconds = every_seconds
        return _BOARD
