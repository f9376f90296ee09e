"""Atomic JSON files: write to a temporary file beside the target, fsync, then rename over it.

A reader (or a process killed mid-write) sees either the old file or the new one, never half of one. Checkpoints and
artifacts (what a model call paid for) are also fsynced before the rename, so they survive a power cut; records that
are cheap to make again (build stamps, outcomes) skip that, as a crash costs at most one step restored again.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path


def write_json_atomic(path: Path, value: object, durable: bool = True) -> None:
    write_text_atomic(path, json.dumps(value, indent=2, ensure_ascii=False) + "\n", durable)


def write_record(path: Path, value: object) -> None:
    """A JSON record that can be made again (a stamp, an outcome): atomic, not fsynced."""
    write_json_atomic(path, value, durable=False)


def write_text_atomic(path: Path, text: str, durable: bool = True) -> None:
    """Write through a temporary file and a rename: a reader (or a kill) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> dict | None:
    """The JSON object in `path`, or None when the file is missing or not a JSON object."""
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None
