"""Cross-process file locks (fcntl): released by the kernel when their holder dies, so a killed run never leaves one
held.

- `exclusive(path)`: one holder at a time (the workspace's git lock).
- `slot(directory, count)`: at most `count` holders at a time (phases running at once in one workspace), whatever
  engine, thread or process asks: `doit -n 4`, two terminals, a Temporal worker.
- `process_alive(pid)`, `process_identity(pid)`, `process_gone(identity)`: whether what a pid file, a checkpoint or a
  git-step marker names still runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from package_builder.base.errors import WorkspaceError

SLOT_POLL_SECONDS = 0.2


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Hold the lock file `path` for the duration of the block (waits for the current holder)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "w")
    except OSError as exc:
        raise WorkspaceError(f"cannot open the lock file {path}: {exc}") from None
    with handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def slot(directory: Path, count: int, on_wait=None) -> Iterator[int]:
    """Hold one of `count` slot files in `directory`; `on_wait()` is called once if every slot is taken."""
    waited = False
    while True:
        for index in range(count):
            descriptor = _open(directory / f"slot-{index}.lock")
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(descriptor)
                continue
            try:
                yield index
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
                os.close(descriptor)
            return
        if not waited and on_wait is not None:
            on_wait()
        waited = True
        time.sleep(SLOT_POLL_SECONDS)


def _open(path: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    except OSError as exc:
        raise WorkspaceError(f"cannot open the lock file {path}: {exc}") from None


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs on this machine (one we may not signal counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_identity(pid: int) -> str | None:
    """`host:pid:start` for a running process, None when there is none (a zombie has ended): unlike a bare pid, it
    does not match a later process that reuses the number, nor one on another machine sharing the workspace."""
    import socket

    if not process_alive(pid):
        return None
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # after the command (may hold spaces)
        if fields[0] == "Z":
            return None
        start = fields[19]  # field 22 of the whole line
    except (OSError, IndexError):
        start = "?"
    return f"{socket.gethostname()}:{pid}:{start}"


def process_gone(identity: str) -> bool:
    """Whether the process that `process_identity` named has ended. Only provable on its own machine: one on another
    host (or an identity that does not parse) is never called gone."""
    import socket

    parts = identity.rsplit(":", 2)
    if len(parts) != 3 or not parts[1].isdigit() or parts[0] != socket.gethostname():
        return False
    return process_identity(int(parts[1])) != identity
