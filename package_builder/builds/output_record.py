"""What a step's outputs were when it last ran or was restored: each file's stat and digest, in
`.package-builder/outputs/<step>/<package>.json`. doit's only target is the step's stamp, so without this record a
`rm -rf dist` left the step "up to date" and dist/ missing.

doit's `uptodate` (`outputs_intact`) compares the outputs by stat only: a no-op `doit build test` must not hash every
output on every run. A file is hashed again only when its stat changed (and, if its content is the same, its new stat
is recorded, so a `touch` costs one hash, once), or when it was written so close to the record that its stat cannot be
trusted. That is git's own rule for its index ("racily clean" entries): the stat compared is git's (size, mtime,
ctime, inode), and an entry whose mtime is not older than the record itself is compared by content, so an edit within
the file system's timestamp granularity right after a build is still seen. What git cannot see, this cannot either:
an edit that keeps the size and puts back both timestamps (ctime can only be set by changing the clock).

Stdlib only: doit calls `outputs_intact` for every build and test task of a run.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from pathlib import Path

from package_builder.base.storage import write_record


def file_state(stat: os.stat_result, digest: str) -> list:
    """One output as the record keeps it: git's stat fields and the `sha256:<hex>` of its content."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, digest]


def record_outputs(path: Path, package_dir: Path, files: Mapping[str, tuple[str, os.stat_result | None]]) -> None:
    """Record the outputs a step left in place: package-relative name → (digest, its stat when that content was
    read; None to stat it now). A stat taken before the read errs safe: a later write makes it differ."""
    entries = {}
    for name, (digest, stat) in files.items():
        if stat is None:
            try:
                stat = os.lstat(os.path.join(package_dir, name))
            except OSError:
                continue  # gone already: the next check says it is missing
        entries[name] = file_state(stat, digest)
    write_record(path, {"files": entries})


def outputs_intact(record: str, package_dir: str) -> bool:
    """doit's `uptodate` for a build or test: False when the step has no record of its outputs (it never ran since
    they were recorded) or one of them is missing or changed; the step then runs, and restores them from the cache."""
    changes = output_changes(record, package_dir, stop_at_first=True)
    return changes is not None and not changes


def output_changes(record: str, package_dir: str, stop_at_first: bool = False) -> list[tuple[str, str]] | None:
    """`(name, "missing" | "changed")` for each recorded output not in place as recorded, package-relative and
    sorted; None when there is no readable record. Files whose stat changed but whose content did not are recorded
    again with their new stat."""
    try:
        recorded_ns, text = _read(record)
        files = json.loads(text)["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(files, dict):
        return None
    changes: list[tuple[str, str]] = []
    refreshed = False
    for name in sorted(files) if not stop_at_first else files:
        state = files[name]
        path = f"{package_dir}{os.sep}{name}"  # what os.path.join gives for a relative name, at a third of its cost
        try:
            stat = os.lstat(path)
        except OSError:
            changes.append((name, "missing"))
            if stop_at_first:
                break
            continue
        try:
            size, mtime_ns, ctime_ns, inode, digest = state
        except (TypeError, ValueError):
            return None  # not a record this version wrote: the step runs, and writes one
        if (
            stat.st_mtime_ns == mtime_ns
            and stat.st_size == size
            and stat.st_ctime_ns == ctime_ns
            and stat.st_ino == inode
            and mtime_ns < recorded_ns
        ):
            continue  # the usual case: stat alone, no read, no list built (doit asks this of every step)
        if _digest_of(path) == digest:
            files[name], refreshed = file_state(stat, digest), True  # same content: touched, or too new to trust
            continue
        changes.append((name, "changed"))
        if stop_at_first:
            break
    if refreshed and not changes:
        write_record(Path(record), {"files": files})  # this record's newer mtime makes the stat trusted next time
    return changes


def describe_changes(changes: list[tuple[str, str]]) -> str:
    """`dist/index.js missing, dist/a.js changed`, the first three, for the line that says why a step runs."""
    said = [f"{name} {state}" for name, state in changes[:3]]
    if len(changes) > 3:
        said.append(f"and {len(changes) - 3} more")
    return ", ".join(said)


def _read(path: str) -> tuple[int, bytes]:
    """(mtime_ns, content) of a record: through the os module, not a file object, which costs twice as much."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        stat = os.fstat(descriptor)
        content = os.read(descriptor, stat.st_size + 1)  # a regular file: a short read is its end
        if len(content) > stat.st_size:  # it grew since the stat: read on to its end
            chunks = [content]
            while chunk := os.read(descriptor, 1 << 16):
                chunks.append(chunk)
            content = b"".join(chunks)
        return stat.st_mtime_ns, content
    finally:
        os.close(descriptor)


def _digest_of(path: str) -> str | None:
    try:
        with open(path, "rb") as handle:
            return "sha256:" + hashlib.file_digest(handle, "sha256").hexdigest()
    except OSError:
        return None
