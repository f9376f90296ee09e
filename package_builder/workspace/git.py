"""git in the user's monorepo, through one helper: every git command's failure becomes a `WorkspaceError` carrying
git's own message, so it reaches the user as one line and the checkpoint records it.

A kill during a git command leaves git's lock files (`.git/index.lock`…) behind, and git refuses to run until someone
removes them (even `git status` may take the index lock). Before each command, a marker
(`.generation-state/git-step.json`) records the step and when it started; it is removed when the command ends. All our git commands run under the workspace lock,
so a marker found by the next holder of that lock belongs to a run that died mid-command, and the git locks created
since it started are ours to remove. Any other lock is reported with its path and what to do.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from pathlib import Path

from ..errors import WorkspaceError

_LOCK_EXISTS = re.compile(r"Unable to create '([^']+\.lock)': File exists")
_GIT_LOCKS = ("index.lock", "HEAD.lock", "ORIG_HEAD.lock", "config.lock", "packed-refs.lock")
# A git lock whose mtime is this much older than the marker was not taken by the marked step.
_CLOCK_SLACK_SECONDS = 2.0


class GitRepo:
    """The workspace's repository (found by GitPython) and its git commands, failures turned into `WorkspaceError`."""

    def __init__(self, root: Path, marker: Path, author_name: str, author_email: str):
        import git  # GitPython: deferred so that `doit list` does not import it

        self.root = root
        self.marker = marker
        try:
            self.repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise WorkspaceError(f"workspaceRoot {root} is not a git repository: run `git init` there and make a "
                                 "first commit") from None
        if Path(self.repo.working_tree_dir).resolve() != root.resolve():
            raise WorkspaceError(f"workspaceRoot {root} must be the top of its git repository "
                                 f"({self.repo.working_tree_dir})")
        self.git_dir = Path(self.repo.git_dir)
        self._env = {"GIT_AUTHOR_NAME": author_name, "GIT_AUTHOR_EMAIL": author_email,
                     "GIT_COMMITTER_NAME": author_name, "GIT_COMMITTER_EMAIL": author_email}

    def run(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> tuple[int, str]:
        """`git <args>` → (exit code, stdout), bracketed by the marker; an exit code outside `ok_codes` raises
        `WorkspaceError` with git's message."""
        env = {**os.environ, **self._env, "LANGUAGE": "C", "LC_ALL": "C"}
        try:
            self._mark(None)
            process = subprocess.Popen(["git", *args], cwd=self.root, env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                       errors="replace")
        except FileNotFoundError:
            self.marker.unlink(missing_ok=True)
            raise WorkspaceError("git is not installed or not on PATH") from None
        except OSError as exc:
            raise WorkspaceError(f"cannot run git in {self.root}: {exc}") from None
        try:
            self._mark(process.pid)
            out, err = process.communicate()
        finally:
            if process.poll() is not None:  # a git still running (we are being interrupted) keeps its marker
                self.marker.unlink(missing_ok=True)
        if process.returncode not in ok_codes:
            raise WorkspaceError(self._explain(args, process.returncode, err or out))
        return process.returncode, out.removesuffix("\n")

    def _mark(self, git_pid: int | None) -> None:
        """Record that a git command is running (its pid once started), before it can take a git lock."""
        try:
            self.marker.parent.mkdir(parents=True, exist_ok=True)
            self.marker.write_text(json.dumps({"pid": os.getpid(), "gitPid": git_pid, "startedAt": time.time()}))
        except OSError as exc:
            raise WorkspaceError(f"cannot write {self.marker}: {exc}") from None

    def _explain(self, args: tuple[str, ...], status: int, message: str) -> str:
        lock = _LOCK_EXISTS.search(message)
        if lock:
            return (f"git {args[0]} in {self.root} failed: the git lock file {lock.group(1)} exists (another git "
                    f"command is running there, or one was killed and did not clean up). If no git command is "
                    f"running in {self.root}, delete {lock.group(1)} and run again")
        lines = [line.strip() for line in message.strip().splitlines() if line.strip()]
        first = next((line for line in lines if line.startswith(("fatal:", "error:"))), lines[0] if lines else
                     "(no message)")
        return f"git {' '.join(args[:2])} in {self.root} failed (exit {status}): {first.strip()[:400]}"

    def recover_interrupted_step(self) -> list[Path]:
        """Remove the git locks left by a marked command that died (call with the workspace lock held); returns them.
        While that git process itself is still running (its parent was killed, it was not), nothing is removed."""
        try:
            marker = json.loads(self.marker.read_text())
            started, git_pid = float(marker["startedAt"]), marker.get("gitPid")
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError):
            self.marker.unlink(missing_ok=True)
            return []
        if isinstance(git_pid, int) and _running(git_pid):
            raise WorkspaceError(f"a git command of a run that was killed is still running (pid {git_pid}) in "
                                 f"{self.root}: wait for it to end, then run again")
        removed = []
        try:
            for lock in self._lock_files():
                if lock.stat().st_mtime >= started - _CLOCK_SLACK_SECONDS:
                    lock.unlink()
                    removed.append(lock)
            self.marker.unlink(missing_ok=True)
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise WorkspaceError(f"cannot remove a git lock left by a killed run in {self.git_dir}: {exc}") from None
        return removed

    def _lock_files(self) -> list[Path]:
        found = [self.git_dir / name for name in _GIT_LOCKS if (self.git_dir / name).exists()]
        refs = self.git_dir / "refs"
        if refs.is_dir():
            found.extend(refs.rglob("*.lock"))
        return found


def _running(pid: int) -> bool:
    """Whether `pid` is a live git process (a zombie, or a pid reused by another program, is not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[:1] != ["Z"] and os.path.basename(command) == b"git"
