"""A content-addressed cache of workspace steps: a build's outputs and log (or a test's log) stored under the digest
of everything the step read, and restored instead of running it again (an edit reverted costs a restore, not a
build). Local archives live in `.package-builder/cache/`, bounded by `builds.cacheMaxMegabytes` (least recently used
out first); an optional remote cache (remote_cache.py) shares them with a team. A cache that fails never fails a
step: it is only slower.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Set
from dataclasses import dataclass, field
from pathlib import Path
from stat import S_ISREG

from package_builder.base.paths import builds_dir

META = ".package-builder-step.json"  # the archive member that holds the log and the original run's time
_PENDING: dict[str, threading.Thread] = {}  # key → the thread still storing it (see `store_later`)


@dataclass(frozen=True)
class CachedStep:
    """A step restored from the cache: what it printed and how long it took when it really ran."""

    log: str
    seconds: float
    source: str  # "local" or "remote"
    files: dict[str, str]  # package-relative path → sha256 hex of the file now in place
    restored: dict[str, str] = field(default_factory=dict)  # what it wrote: path → "missing" or "changed" before


class StepCache:
    def __init__(
        self,
        workspace_root: Path,
        max_megabytes: float,
        remote=None,  # builds.remoteCache, if any
        say: Callable[[str], None] = print,
    ):
        self.folder = builds_dir(workspace_root) / "cache"
        self.max_bytes = int(max_megabytes * 1024 * 1024)
        self.remote = None
        if remote:
            from package_builder.builds.remote_cache import RemoteCache  # HTTP, only for the teams that have one

            self.remote = RemoteCache(remote, say)
        self.say = say

    def archive(self, key: str) -> Path:
        digest = key.removeprefix("sha256:")
        return self.folder / digest[:2] / f"{digest}.tar.gz"

    def restore(
        self, key: str, package_dir: Path, current_outputs: list[str], protected: Set[str] = frozenset()
    ) -> CachedStep | None:
        """Put the cached outputs of `key` in place of `current_outputs`; None when nothing is cached. An archive
        that would write a `protected` path (package-relative: the files git tracks) is refused whole."""
        pending = _PENDING.get(key)
        if pending is not None:
            pending.join()  # this process is still storing it
        path, source = self.archive(key), "local"
        if not path.exists():
            data = self.remote.get(key) if self.remote else None
            if data is None:
                return None
            try:
                self._write(path, data)
            except OSError as exc:
                self.say(f"cache: cannot keep what the remote cache sent ({exc}); running the step instead")
                return None
            self._evict()
            source = "remote"
        try:
            archive = tarfile.open(path, "r:gz")
        except (OSError, tarfile.TarError, EOFError, zlib.error) as exc:
            self._unreadable(path, exc)
            return None
        with archive:
            try:
                members = archive.getmembers()
                meta_file = archive.extractfile(archive.getmember(META))
                if meta_file is None:
                    raise ValueError(f"its {META} is not a file")
                meta = json.loads(meta_file.read())
                digests = (meta.get("files") or {}) if isinstance(meta, dict) else None
                if not isinstance(digests, dict):
                    raise ValueError(f"its {META} is not a JSON object with the files' digests")
                files = [m for m in members if m.name != META]
                if not all(m.isfile() and _inside(m.name) for m in files):
                    raise ValueError("an entry is not a plain file inside the package")
                clash = sorted(m.name for m in files if os.path.normpath(m.name) in protected)
                if clash:
                    raise ValueError(f"it would overwrite {clash[0]}, which git tracks")
            except (OSError, ValueError, KeyError, tarfile.TarError, EOFError, zlib.error) as exc:
                self._unreadable(path, exc)
                return None
            base = str(package_dir)
            stored = {os.path.join(base, os.path.normpath(m.name)) for m in files}
            stale = [output for output in current_outputs if output not in stored]  # left by another build
            way_out = leaves_package(package_dir, [*stale, *stored])
            if way_out:
                self.say(
                    f"cache: not restoring into {package_dir}: {way_out}, outside the package, where a restore "
                    "writes and deletes nothing; running the step instead (the archive is kept: make it a folder of "
                    "the package to restore from the cache)"
                )
                return None
            try:
                for output in stale:
                    _remove(output)
                before = {m.name: _digest_of(os.path.join(base, m.name)) for m in files}
                changed = [m for m in files if before[m.name] != digests.get(m.name, "?")]
                restored = {
                    m.name: "changed" if os.path.lexists(os.path.join(base, m.name)) else "missing" for m in changed
                }
                for member in changed:
                    _remove(os.path.join(base, member.name))  # replaced, never written through
                archive.extractall(package_dir, members=changed, filter="data")  # an unchanged file stays as it is
                # what is in place now: a file left alone matched its stored digest; one written is read back (an
                # archive's word is not taken for what it wrote, and an older archive stored no digests at all)
                written = {m.name for m in changed}
                in_place = {
                    m.name: _written_digest(os.path.join(base, m.name)) if m.name in written else digests[m.name]
                    for m in files
                }
            except OSError as exc:  # the package's folder refused a write: the archive is not at fault
                self.say(f"cache: cannot restore {path.name} into {package_dir} ({exc}); running the step instead")
                return None
            except (tarfile.TarError, EOFError, zlib.error) as exc:
                self._unreadable(path, exc)
                return None
        os.utime(path)  # recently used: evicted last
        return CachedStep(str(meta.get("log", "")), float(meta.get("seconds", 0.0)), source, in_place, restored)

    def _unreadable(self, path: Path, exc: BaseException) -> None:
        """An archive that cannot be read, or holds what a restore must not write, is removed: it never will be."""
        self.say(f"cache: {path.name} is unreadable ({exc}); running the step instead")
        path.unlink(missing_ok=True)

    def store_later(
        self, key: str, package_dir: Path, contents: dict[str, tuple[bytes, os.stat_result]], log: str, seconds: float
    ) -> None:
        """`store` in a thread of its own, off the build's critical path: its dependents start while it packs. The
        interpreter waits for it at exit (not a daemon); a kill only costs the entry. `contents`: what `contents_of`
        read from the outputs when the step ended. A store it refuses says so now, from the step's own thread."""
        if not self._may_store(package_dir, list(contents)):
            return
        thread = threading.Thread(
            target=self.store,
            args=(key, package_dir, list(contents), log, seconds, contents),
            name=f"cache-store-{key[-8:]}",
        )
        _PENDING[key] = thread
        thread.start()

    def store(
        self,
        key: str,
        package_dir: Path,
        outputs: list[str],
        log: str,
        seconds: float,
        contents: dict[str, tuple[bytes, os.stat_result]] | None = None,
    ) -> None:
        """Keep what a step that passed wrote (plain files only, as read now or given in `contents`); a failure to
        keep it costs a rerun next time, never the step. Outputs reached through a symlink that leaves the package
        are not kept: a restore would refuse to write them there."""
        try:
            if contents is None and not self._may_store(package_dir, outputs):
                return
            if contents is None:
                contents = contents_of(outputs)
            buffer, digests = io.BytesIO(), {}
            with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1, format=tarfile.GNU_FORMAT) as archive:
                for output, (content, stat) in contents.items():  # speed over size: level 1, and no pax headers
                    name = os.path.relpath(output, package_dir)
                    info = tarfile.TarInfo(name)
                    info.size, info.mtime, info.mode = len(content), int(stat.st_mtime), stat.st_mode & 0o777
                    archive.addfile(info, io.BytesIO(content))
                    digests[name] = hashlib.sha256(content).hexdigest()
                meta = json.dumps({"log": log[-20000:], "seconds": seconds, "files": digests}).encode()
                info = tarfile.TarInfo(META)
                info.size, info.mtime = len(meta), int(time.time())
                archive.addfile(info, io.BytesIO(meta))
            data = buffer.getvalue()
            self._write(self.archive(key), data)
            self._evict()
        except (OSError, tarfile.TarError) as exc:
            self.say(f"cache: could not store this step ({exc}); it will run again next time")
            return
        finally:
            _PENDING.pop(key, None)
        if self.remote:
            self.remote.put(key, data, seconds)

    def _may_store(self, package_dir: Path, outputs: list[str]) -> bool:
        """Whether `outputs` all stay inside the package: what a symlink takes out of it a restore would refuse to
        write, so it is not kept either."""
        way_out = leaves_package(package_dir, outputs)
        if way_out:
            self.say(
                f"cache: not storing this step of {package_dir}: {way_out}, outside the package, where a restore "
                "writes nothing; it will run again next time (make it a folder of the package to cache it)"
            )
        return way_out is None

    def _write(self, path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)

    def _evict(self) -> None:
        archives = []
        for path in self.folder.glob("*/*.tar.gz"):
            try:
                stat = path.stat()
            except OSError:
                continue
            archives.append((stat.st_mtime, stat.st_size, path))
        total = sum(size for _, size, _ in archives)
        for _, size, path in sorted(archives):
            if total <= self.max_bytes:
                break
            path.unlink(missing_ok=True)
            total -= size


def contents_of(paths: list[str]) -> dict[str, tuple[bytes, os.stat_result]]:
    """The plain files among `paths` (never what a symlink points to), read now with their stat."""
    found = {}
    for path in paths:
        try:
            stat = os.lstat(path)
            if S_ISREG(stat.st_mode):
                with open(path, "rb") as handle:
                    found[path] = handle.read(), stat
        except OSError:
            continue
    return found


def leaves_package(package_dir: Path, paths: Iterable[str]) -> str | None:
    """How one of `paths` (absolute, under `package_dir` as written) leaves the package once the symlinks of its
    folders are followed (`dist is a symlink to /elsewhere`); None when every one stays inside. Folders only: a
    restore replaces a symlinked file itself (unlink, then write), never what it points to."""
    base, real_base = str(package_dir), os.path.realpath(package_dir)
    seen = set()
    for path in paths:
        folder = os.path.dirname(path)
        if folder in seen:
            continue
        seen.add(folder)
        if not _within(os.path.realpath(folder), real_base):
            current = base
            for part in os.path.relpath(folder, base).split(os.sep):
                current = os.path.join(current, part)
                if os.path.islink(current) and not _within(os.path.realpath(current), real_base):
                    return f"{os.path.relpath(current, base)} is a symlink to {os.path.realpath(current)}"
            return f"{os.path.relpath(folder, base)} resolves to {os.path.realpath(folder)}"
    return None


def _within(real_path: str, real_base: str) -> bool:
    return real_path == real_base or real_path.startswith(real_base + os.sep)


def _digest_of(path: str) -> str | None:
    """sha256 hex of the plain file at `path`; None when there is none (or a symlink)."""
    try:
        if not S_ISREG(os.lstat(path).st_mode):
            return None
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()
    except OSError:
        return None


def _written_digest(path: str) -> str:
    """The digest of a file just extracted; an archive whose file cannot be read back is as good as unreadable."""
    digest = _digest_of(path)
    if digest is None:
        raise OSError(f"{path} cannot be read back after it was restored")
    return digest


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _inside(name: str) -> bool:
    parts = [part for part in name.split("/") if part not in ("", ".")]
    return bool(parts) and not name.startswith("/") and ".." not in parts
