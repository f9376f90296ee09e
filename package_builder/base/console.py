"""Lines for the user from inside doit's tasks, written safely from any thread.

doit runs tasks as threads (`-n 2 -P thread`) and swaps `sys.stdout` for a capture object around every action, so
another task's capture may be freed while a `print` in this thread is writing to it: `print` holds no reference of
its own to `sys.stdout` (CPython issue 130163), and the run segfaults (exit -11). `say` takes its own reference
first; the object it writes to then lives until the write is done.
"""

from __future__ import annotations

import sys


def say(line: str) -> None:
    """Write `line` and a newline to the current stdout, and flush: never `print` from a task's code."""
    stream = sys.stdout  # our own reference: see the module's docstring
    stream.write(f"{line}\n")
    stream.flush()
