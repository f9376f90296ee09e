"""The user's monorepo: the feature branch, writing a phase's files inside the package, and committing them.

Every git operation of a phase runs under one lock file, so `doit -n 2 generate` can call the model for two packages
at once while their commits stay in order. Only the package's own paths are ever staged.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
from pathlib import Path

from .errors import ModelAnswerError, WorkspaceError
from .paths import state_dir


class Workspace:
    """A git working tree that generation writes one package into."""

    def __init__(self, root: Path, author_name: str, author_email: str):
        import git  # GitPython: deferred so that `doit list` does not import it

        self._git = git
        self.root = root
        if not root.is_dir():
            raise WorkspaceError(f"workspaceRoot {root} does not exist")
        try:
            self.repo = git.Repo(root)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise WorkspaceError(f"workspaceRoot {root} is not a git repository: run `git init` there and make a first commit") from None
        if Path(self.repo.working_tree_dir).resolve() != root.resolve():
            raise WorkspaceError(f"workspaceRoot {root} must be the top of its git repository ({self.repo.working_tree_dir})")
        self._env = {"GIT_AUTHOR_NAME": author_name, "GIT_AUTHOR_EMAIL": author_email,
                     "GIT_COMMITTER_NAME": author_name, "GIT_COMMITTER_EMAIL": author_email}
        self._prepare_state_dir()

    def _prepare_state_dir(self) -> None:
        """`.generation-state/` ignores itself, so it is never committed and no tracked file is touched."""
        directory = state_dir(self.root)
        directory.mkdir(exist_ok=True)
        ignore = directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")

    @contextlib.contextmanager
    def locked(self):
        """Serialise git operations of concurrent generations in this workspace."""
        with open(state_dir(self.root) / "git.lock", "w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield self
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def current_branch(self) -> str:
        if not self.repo.head.is_valid():
            raise WorkspaceError(f"workspace {self.root} has no commits yet: make a first commit, then run again")
        if self.repo.head.is_detached:
            raise WorkspaceError(f"workspace {self.root} is on a detached HEAD: check out a branch, then run again")
        return self.repo.active_branch.name

    def checkout_branch(self, branch: str, base: str) -> None:
        """Check out `branch`, creating it from `base` the first time."""
        if not self.repo.head.is_valid():
            raise WorkspaceError(f"workspace {self.root} has no commits yet: make a first commit, then run again")
        if not self.repo.head.is_detached and self.repo.active_branch.name == branch:
            return
        try:
            if branch in self.repo.heads:
                self.repo.git.checkout(branch)
            else:
                self.repo.git.checkout("-b", branch, base)
        except self._git.GitCommandError as exc:
            raise WorkspaceError(f"cannot check out branch {branch} in {self.root}: {exc.stderr.strip()}") from None

    def changed_paths(self, package_path: str) -> list[str]:
        """Package-relative paths under `package_path` that differ from HEAD (untracked files included)."""
        output = self.repo.git.status("--porcelain", "-z", "--untracked-files=all", "--", package_path)
        changed = []
        for entry in output.split("\0"):
            if len(entry) > 3:
                path = entry[3:]
                prefix = package_path.rstrip("/") + "/"
                changed.append(path[len(prefix):] if path.startswith(prefix) else path)
        return changed

    def apply(self, package_path: str, files: dict[str, str], deletes: list[str]) -> None:
        """Write and delete inside the package only; every path is checked before the first byte is written."""
        package_dir = self._package_dir(package_path)
        targets = {path: self._inside(package_dir, path) for path in [*files, *deletes]}
        try:
            for path, content in files.items():
                target = targets[path]
                if target.is_file() and target.read_text(encoding="utf-8", errors="replace") == content:
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
                try:
                    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                        handle.write(content)
                    os.replace(tmp, target)
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
            for path in deletes:
                if targets[path].is_dir():
                    raise ModelAnswerError(f"{path!r} is a directory: only files can be deleted")
                targets[path].unlink(missing_ok=True)
        except OSError as exc:  # disk full, permissions: the rerun finishes the apply once the cause is fixed
            raise WorkspaceError(f"cannot write in {package_dir}: {exc}") from None

    def _package_dir(self, package_path: str) -> Path:
        package_dir = self.root / package_path
        root = self.root.resolve()
        current = self.root
        for part in Path(package_path).parts:
            current = current / part
            if current.is_symlink():
                raise ModelAnswerError(f"package directory {package_path} goes through a symlink ({current}); refusing to write")
        if not package_dir.resolve().is_relative_to(root):
            raise ModelAnswerError(f"package directory {package_path} resolves outside the workspace")
        return package_dir

    @staticmethod
    def _inside(package_dir: Path, path: str) -> Path:
        """The target file, refusing any path whose existing components include a symlink."""
        current = package_dir
        for part in Path(path).parts:
            current = current / part
            if current.is_symlink():
                raise ModelAnswerError(f"{path!r}: goes through a symlink ({current.relative_to(package_dir)}); refusing to write")
        if not current.resolve().is_relative_to(package_dir.resolve()):
            raise ModelAnswerError(f"{path!r}: resolves outside the package directory")
        return current

    def commit(self, package_path: str, message: str) -> str | None:
        """Stage only the package's paths and commit; None when nothing changed (no empty commits)."""
        self.repo.git.add("--all", "--", package_path)
        if not self.repo.git.diff("--cached", "--name-only", "--", package_path).strip():
            return None
        self.repo.git.commit("--no-verify", "--quiet", "-m", message, "--", package_path, env=self._env)
        return self.repo.head.commit.hexsha

    def head_trailers(self) -> dict[str, str]:
        """Trailers of the HEAD commit (`Phase`, `Inputs-Digest`): tells a commit made just before a kill."""
        if not self.repo.head.is_valid():
            return {}
        trailers = {}
        for line in self.repo.head.commit.message.splitlines():
            key, sep, value = line.partition(": ")
            if sep and key in ("Phase", "Inputs-Digest", "Package"):
                trailers[key] = value.strip()
        return trailers

    def head_sha(self) -> str:
        return self.repo.head.commit.hexsha

    def contains(self, branch: str, commit: str) -> bool:
        """Whether `commit` is on `branch` (a reset or rewritten branch means the phase must be applied again)."""
        try:
            self.repo.git.merge_base("--is-ancestor", commit, branch)
            return True
        except self._git.GitCommandError:
            return False

    def commits_between(self, base: str, branch: str) -> int:
        try:
            return int(self.repo.git.rev_list("--count", f"{base}..{branch}"))
        except self._git.GitCommandError:
            return 0
