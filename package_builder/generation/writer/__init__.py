"""The user's monorepo as generation sees it: one lock, the feature branch, the package's files, and commits.

Every git step of a phase runs under the workspace lock (`.generation-state/git.lock`), so two packages' phases can
call the model at once (`turnBasedGeneration.maxConcurrentPhases`) while their checkouts and commits stay in order;
the first holder of the lock after a killed run cleans up the git locks that run provably left (see `git`). Only the
package's own paths are ever staged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

from package_builder.base.errors import WorkspaceError
from package_builder.base.locks import exclusive
from package_builder.base.paths import state_dir
from package_builder.generation.plan import PlanSpec
from package_builder.generation.state import GenerationState
from package_builder.generation.writer.files import apply_files
from package_builder.generation.writer.git import GitRepo


class Workspace:
    """A git working tree that generation writes one package into."""

    def __init__(self, root: Path, author_name: str, author_email: str, notice: Callable[[str], None] = print):
        if not root.is_dir():
            raise WorkspaceError(f"workspaceRoot {root} does not exist")
        self.root = root
        self.notice = notice
        self._depth = 0  # nested `locked()` blocks of this instance (one thread's phase) take the file lock once
        self.git = GitRepo(root, state_dir(root) / "git-step.json", author_name, author_email)
        self._prepare_state_dir()

    def _prepare_state_dir(self) -> None:
        """`.generation-state/` ignores itself, so it is never committed and no tracked file is touched."""
        directory = state_dir(self.root)
        directory.mkdir(exist_ok=True)
        ignore = directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n", encoding="utf-8")

    @contextlib.contextmanager
    def locked(self) -> Iterator[Workspace]:
        """Serialise the git steps of concurrent generations in this workspace; clean up after a killed one. Every
        git command runs inside it (the methods below take it themselves), which is what lets the next holder trust
        the marker of an interrupted command."""
        if self._depth:
            self._depth += 1
            try:
                yield self
            finally:
                self._depth -= 1
            return
        with exclusive(state_dir(self.root) / "git.lock"):
            self._depth = 1
            try:
                removed, kept = self.git.recover_interrupted_step()
                for lock in removed:
                    self.notice(f"[package-builder] removed {lock}: a run was killed during a git command")
                for lock in kept:
                    self.notice(
                        f"[package-builder] left {lock} alone: a run was killed during a git command, but "
                        "this lock was taken since (another git command may be running)"
                    )
                yield self
            finally:
                self._depth = 0

    def _git(self, *args: str, ok_codes: tuple[int, ...] = (0,)) -> tuple[int, str]:
        with self.locked():
            return self.git.run(*args, ok_codes=ok_codes)

    @contextlib.contextmanager
    def on_branch(self, state: GenerationState) -> Iterator[Workspace]:
        """Hold the lock with the generation's feature branch checked out (created from its base the first time)."""
        with self.locked():
            self.checkout_branch(state.branch, state.base_branch or self.current_branch())
            yield self

    def open_state(self, plan: PlanSpec, branch_prefix: str) -> GenerationState:
        """The plan's checkpoint: its newest session, or a new one based on the branch checked out now, or stacked on
        the feature branch of a planned dependency that is not merged yet (its code must be there to build on)."""
        with self.locked():
            found = GenerationState.find(self.root, plan)
            if found is not None:
                return found
            return GenerationState.open(
                self.root, plan, self.current_branch(), branch_prefix, stacked_on=self.unmerged_dependency(plan)
            )

    def unmerged_dependency(self, plan: PlanSpec) -> dict | None:
        """The planned dependency whose feature branch a new generation of `plan` builds on (`package`, `branch`):
        the one not merged into its base yet that holds every other unmerged one; None when all are merged."""
        sessions = GenerationState.newest_sessions(self.root)
        unmerged = []
        for dependency in plan.workspace_dependencies:
            state = sessions.get((dependency.name, dependency.plan_path)) if dependency.plan_path else None
            if state is None or not state.base_branch or not self.has_branch(state.branch):
                continue
            if not self.is_merged(state.branch, state.base_branch):
                unmerged.append({"package": dependency.name, "branch": state.branch})
        for candidate in unmerged:
            if all(self.is_merged(other["branch"], candidate["branch"]) for other in unmerged):
                return candidate
        if unmerged:
            named = ", ".join(f"{u['package']} ({u['branch']})" for u in unmerged)
            raise WorkspaceError(
                f"{plan.package_name} needs the code of {named}, generated on branches that are not merged and do not "
                "contain each other: merge them into their base first (or set git.onMerge to merge, which merges "
                "each package when it is done), then run again"
            )
        return None

    def has_branch(self, branch: str) -> bool:
        return self._git("show-ref", "--verify", "--quiet", f"refs/heads/{branch}", ok_codes=(0, 1))[0] == 0

    def current_branch(self) -> str:
        if self._git("rev-parse", "--verify", "--quiet", "HEAD", ok_codes=(0, 1))[0] != 0:
            raise WorkspaceError(f"workspace {self.root} has no commits yet: make a first commit, then run again")
        status, ref = self._git("symbolic-ref", "--quiet", "HEAD", ok_codes=(0, 1))
        if status != 0:
            raise WorkspaceError(f"workspace {self.root} is on a detached HEAD: check out a branch, then run again")
        return ref.strip().removeprefix("refs/heads/")  # not --short: a tag of the same name would make it heads/x

    def checkout_branch(self, branch: str, base: str) -> None:
        """Check out `branch`, creating it from `base` the first time."""
        if self.current_branch() == branch:
            return
        self._git(
            "checkout", "--quiet", *([branch] if self.has_branch(branch) else ["-b", branch, f"refs/heads/{base}"])
        )

    def changed_paths(self, package_path: str) -> list[str]:
        """Package-relative paths under `package_path` that differ from HEAD (untracked files included)."""
        output = self._git("status", "--porcelain", "-z", "--untracked-files=all", "--", package_path)[1]
        prefix = package_path.rstrip("/") + "/"
        return [
            path[len(prefix) :] if path.startswith(prefix) else path
            for entry in output.split("\0")
            if len(entry) > 3
            for path in [entry[3:]]
        ]

    def apply(self, package_path: str, files: dict[str, str], deletes: list[str]) -> None:
        """Write and delete inside the package only (see `files.apply_files`)."""
        apply_files(self.root, package_path, files, deletes)

    def commit(self, package_path: str, message: str) -> str | None:
        """Stage only the package's paths and commit; None when nothing changed (no empty commits)."""
        self._git("add", "--all", "--", package_path)
        if not self._git("diff", "--cached", "--name-only", "--", package_path)[1].strip():
            return None
        self._git("commit", "--no-verify", "--quiet", "-m", message, "--", package_path)
        return self.head_sha()

    def head_trailers(self) -> dict[str, str]:
        """Trailers of the HEAD commit (`Phase`, `Inputs-Digest`): tells a commit made just before a kill."""
        status, message = self._git("log", "-1", "--format=%B", ok_codes=(0, 128))
        trailers = {}
        for line in message.splitlines() if status == 0 else []:
            key, sep, value = line.partition(": ")
            if sep and key in ("Phase", "Inputs-Digest", "Package"):
                trailers[key] = value.strip()
        return trailers

    def head_sha(self) -> str:
        return self._git("rev-parse", "HEAD")[1].strip()

    def contains(self, branch: str, commit: str) -> bool:
        """Whether `commit` is on `branch` (a reset or rewritten branch means the phase must be applied again)."""
        return self._git("merge-base", "--is-ancestor", commit, branch, ok_codes=(0, 1, 128))[0] == 0

    def base_moved(self, base: str, branch: str) -> str | None:
        """The base's new head when `base` has commits that `branch` lacks (it moved under the branch), else None."""
        head = self.branch_head(base)
        fork = self._git("merge-base", f"refs/heads/{base}", f"refs/heads/{branch}")[1].strip()
        return head if head != fork else None

    def branch_head(self, branch: str) -> str:
        return self._git("rev-parse", f"refs/heads/{branch}")[1].strip()

    def is_merged(self, branch: str, base: str) -> bool:
        return (
            self._git("merge-base", "--is-ancestor", f"refs/heads/{branch}", f"refs/heads/{base}", ok_codes=(0, 1))[0]
            == 0
        )

    def merge_into(self, base: str, branch: str, message: str) -> str:
        """Merge `branch` into `base` with a merge commit (`--no-ff`; never a force), leaving `base` checked out."""
        with self.locked():
            self._git("checkout", "--quiet", base)
            self._git("merge", "--no-ff", "--no-verify", "--quiet", "-m", message, f"refs/heads/{branch}")
            return self.head_sha()

    def commits_between(self, base: str, branch: str) -> int:
        return int(self._git("rev-list", "--count", f"{base}..{branch}")[1].strip())
