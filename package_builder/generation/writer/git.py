"""git in the user's monorepo, through one helper: every git command's failure becomes a `WorkspaceError` carrying
git's own message, so it reaches the user as one line and the checkpoint records it.

A kill during a git command leaves git's lock files (`.git/index.lock`…) behind, and git refuses to run until someone
removes them (even `git status` may take the index lock). So each command is bracketed by a marker
(`.generation-state/git-step.json`) naming our process and the git process (`host:pid:start`, see `locks`), and, as
they appear while the command runs, the git locks it took, each by its identity (device, inode, mtime, size); the
marker is removed when the command ends. A lock is ours to remove only when a marker names that very file and the
processes the marker names are gone. A lock that was there before our command started, one taken after our run died
(the user's own `git commit` waiting in its editor), or one taken in the instant before the marker could name it is
never removed: git's failure reports it with its path and what to do.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from pathlib import Path

from package_builder.base.errors import WorkspaceError
from package_builder.base.locks import process_gone, process_identity
from package_builder.base.storage import read_json, write_record

_LOCK_EXISTS = re.compile(r"Unable to create '([^']+\.lock)': File exists")
_GIT_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "MERGE_HEAD.lock", "config.lock", "packed-refs.lock")
# How often a running git command's new locks are looked for: soon after it starts, then every 0.1 s.
_FIRST_LOOK_SECONDS, _LOOK_EVERY_SECONDS = 0.005, 0.1

LockIdentity = tuple[int, int, int, int]


class GitRepo:
    """The workspace's repository (found by GitPython) and its git commands, failures turned into `WorkspaceError`."""

    def __init__(self, root: Path, marker: Path, author_name: str, author_email: str):
        import git  # GitPython: deferred so that `doit list` does not import it

        self.root = root
        self.marker = marker
        try:
            self.repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise WorkspaceError(
                f"workspaceRoot {root} is not a git repository: run `git init` there and make a first commit"
            ) from None
        if self.repo.working_tree_dir is None:
            raise WorkspaceError(
                f"workspaceRoot {root} is a bare git repository: point workspaceRoot at a clone with a working tree"
            )
        if Path(self.repo.working_tree_dir).resolve() != root.resolve():
            raise WorkspaceError(
                f"workspaceRoot {root} must be the top of its git repository ({self.repo.working_tree_dir})"
            )
        self.git_dir = Path(self.repo.git_dir)
        self._env = {
            "GIT_AUTHOR_NAME": author_name,
            "GIT_AUTHOR_EMAIL": author_email,
            "GIT_COMMITTER_NAME": author_name,
            "GIT_COMMITTER_EMAIL": author_email,
        }

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> tuple[int, str]:
        """`git <args>` → (exit code, stdout), bracketed by the marker; an exit code outside `ok_codes` raises
        `WorkspaceError` with git's message."""
        env = {**os.environ, **self._env, "LANGUAGE": "C", "LC_ALL": "C"}
        before = self._lock_identities()  # someone else's: never named as ours, even if our git fails on them
        try:
            self._mark(args, None, {})
            process = subprocess.Popen(
                ["git", *args],
                cwd=self.root,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
            )
        except FileNotFoundError:
            self.marker.unlink(missing_ok=True)
            raise WorkspaceError("git is not installed or not on PATH") from None
        except OSError as exc:
            self.marker.unlink(missing_ok=True)
            raise WorkspaceError(f"cannot run git in {self.root}: {exc}") from None
        try:
            out, err = self._wait(process, args, before)
        finally:
            if process.poll() is not None:  # a git still running (we are being interrupted) keeps its marker
                self.marker.unlink(missing_ok=True)
        if process.returncode not in ok_codes:
            raise WorkspaceError(self._explain(args, process.returncode, err or out))
        return process.returncode, out.removesuffix("\n")

    def _wait(
        self, process: subprocess.Popen, args: tuple[str, ...], before: dict[Path, LockIdentity]
    ) -> tuple[str, str]:
        """Wait for git, naming in the marker each lock it takes while it runs (a lock whose identity differs from
        what was there before it started), so that a kill at any later moment leaves a marker that proves them
        ours. Most commands end before the first look."""
        git = process_identity(process.pid)
        self._mark(args, git, {})
        taken: dict[Path, LockIdentity] = {}
        wait = _FIRST_LOOK_SECONDS
        while True:
            try:
                return process.communicate(timeout=wait)
            except subprocess.TimeoutExpired:
                pass  # retrying communicate() loses no output
            now = {path: identity for path, identity in self._lock_identities().items() if before.get(path) != identity}
            if now != taken:
                taken = now
                self._mark(args, git, taken)
            wait = min(wait * 2, _LOOK_EVERY_SECONDS)

    def _mark(self, args: tuple[str, ...], git: str | None, locks: dict[Path, LockIdentity]) -> None:
        """Record that a git command is running: our process, git's (once started), the locks it has taken."""
        try:
            write_record(
                self.marker,
                {
                    "process": process_identity(os.getpid()),
                    "git": git,
                    "command": args[0],
                    "startedAt": time.time(),
                    "locks": {str(path): list(identity) for path, identity in locks.items()},
                },
            )
        except OSError as exc:
            raise WorkspaceError(f"cannot write {self.marker}: {exc}") from None

    def _explain(self, args: tuple[str, ...], status: int, message: str) -> str:
        lock = _LOCK_EXISTS.search(message)
        if lock:
            return (
                f"git {args[0]} in {self.root} failed: the git lock file {lock.group(1)} exists (another git "
                f"command is running there, or one was killed and did not clean up). If no git command is "
                f"running in {self.root}, delete {lock.group(1)} and run again"
            )
        lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
        first = next(
            (line for line in lines if line.startswith(("fatal:", "error:"))), lines[0] if lines else "(no message)"
        )
        return f"git {' '.join(args[:2])} in {self.root} failed (exit {status}): {first.strip()[:400]}"

    def recover_interrupted_step(self) -> tuple[list[Path], list[Path]]:
        """After a run that died in a git command (call with the workspace lock held): remove the git locks its marker
        names, when each is still that very file and the processes the marker names are gone. Returns (removed,
        left alone: a file at a named path that is not the one our run left)."""
        if not self.marker.exists():
            return [], []
        marker = read_json(self.marker)
        writer = marker.get("process") if marker else None
        git = marker.get("git") if marker else None
        if isinstance(writer, str) and writer != process_identity(os.getpid()) and not process_gone(writer):
            return [], []  # its run lives (or is on another machine): nothing here is provably ours to remove
        if isinstance(git, str) and not process_gone(git):
            raise WorkspaceError(
                f"a git command of a run that was killed is still running (host:pid:start {git}) "
                f"in {self.root}: wait for it to end, then run again"
            )
        named = marker.get("locks") if marker else None
        removed, kept = [], []
        try:
            for path, identity in named.items() if isinstance(named, dict) and isinstance(writer, str) else ():
                lock = Path(path)
                if lock.parent != self.git_dir and self.git_dir not in lock.parents:
                    continue  # a marker only ever names locks of this repository
                current = _identity(lock)
                if current is None:
                    continue
                if list(current) == identity:
                    lock.unlink()
                    removed.append(lock)
                else:
                    kept.append(lock)
            self.marker.unlink(missing_ok=True)
        except OSError as exc:
            raise WorkspaceError(f"cannot remove a git lock left by a killed run in {self.git_dir}: {exc}") from None
        return removed, kept

    def _lock_identities(self) -> dict[Path, LockIdentity]:
        """The git locks there now (the repository's own, and those of its branches), by identity."""
        found = [self.git_dir / name for name in _GIT_LOCKS]
        heads = self.git_dir / "refs" / "heads"
        if heads.is_dir():
            found.extend(heads.rglob("*.lock"))
        return {path: identity for path in found if (identity := _identity(path)) is not None}


def _identity(path: Path) -> LockIdentity | None:
    """What tells this file from another later created at the same path (inode numbers are reused; mtime in ns and
    size are not, together)."""
    try:
        stat = path.lstat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size
