"""The action of a task that cannot do its work: doit's clean failure with the reason, and no traceback."""

from __future__ import annotations

from doit.exceptions import TaskFailed


def fail(message: str):
    return TaskFailed(message)
