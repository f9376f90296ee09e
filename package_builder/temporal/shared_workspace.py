"""The monorepo as a git remote (`temporal.workspaceRemote`), so any worker can take a package over at its next phase.

Each worker keeps its own clone (its config's `workspaceRoot`, cloned from the remote when missing). Before a phase
it brings the plan's feature branch and stored phases in from the remote; after the phase it pushes both in one
atomic push: the branch, and the plan's `.generation-state/` files (checkpoint, phase artifacts, PR.md) as a commit on
a ref of their own, `refs/package-builder/<plan>`, never on the feature branch. A phase that died before its push
left nothing on the remote: the next worker runs it again, and the core's stored answers and the commit's
`Inputs-Digest` trailer keep that from paying or committing twice where the same clone retries it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from package_builder.base.console import say
from package_builder.base.errors import WorkspaceError
from package_builder.base.paths import state_dir
from package_builder.generation.plan import PlanSpec
from package_builder.generation.state import GenerationState
from package_builder.generation.writer import Workspace

REMOTE = "package-builder-remote"  # the clone's name for the shared remote (leaves the user's `origin` alone)


def state_ref(plan: PlanSpec) -> str:
    return f"refs/package-builder/{plan.task_name}"


class SharedWorkspace:
    def __init__(self, root: Path, remote: str, author_name: str, author_email: str):
        self.root, self.remote = root, remote
        self.identity = ["-c", f"user.name={author_name}", "-c", f"user.email={author_email}"]
        self._said = ""  # what the last git command wrote to stderr

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """The lock every git step of generation in this clone holds (`Workspace.locked`): a pull or push never
        runs beside another plan's phase writing the same working tree."""
        with Workspace(self.root, "package-builder", "package-builder@localhost", notice=say).locked():
            yield

    def ensure_clone(self) -> None:
        """Clone the remote into `root` the first time; name the remote in the clone either way."""
        if not (self.root / ".git").exists():
            if self.root.exists() and any(self.root.iterdir()):
                raise WorkspaceError(
                    f"workspaceRoot {self.root} is not a git clone and not empty: point it at a clone of "
                    f"{self.remote} (temporal.workspaceRemote), or at a folder to clone it into"
                )
            self.root.parent.mkdir(parents=True, exist_ok=True)
            _run(["git", "clone", "--quiet", "--origin", REMOTE, self.remote, str(self.root)], self.root.parent)
            return
        if REMOTE not in (self._git("remote") or "").split():
            self._git("remote", "add", REMOTE, self.remote)

    def pull(self, plan: PlanSpec) -> None:
        """Bring the plan's stored phases and feature branch in from the remote, unless this clone is ahead (it
        committed a phase whose push did not happen: the retry pushes it)."""
        self._git("fetch", "--quiet", REMOTE, f"+refs/heads/*:refs/remotes/{REMOTE}/*")
        for base in self._bases():
            self._fast_forward(base)
        ref = state_ref(plan)
        if self._try("fetch", "--quiet", REMOTE, f"+{ref}:{ref}") is None:
            return  # nobody pushed a phase of this plan yet
        branch = self._branch_in(ref)
        if branch and self._local_is_ahead(branch):
            return
        self._restore_state(ref)
        if branch and self._exists(f"refs/remotes/{REMOTE}/{branch}"):
            if self._current() == branch:
                self._git("reset", "--quiet", "--hard", f"refs/remotes/{REMOTE}/{branch}")
            else:
                self._git("update-ref", f"refs/heads/{branch}", f"refs/remotes/{REMOTE}/{branch}")

    def push(self, plan: PlanSpec) -> None:
        """Push the feature branch (and its base, which MERGE may have moved) with the plan's state, atomically."""
        state = GenerationState.find(self.root, plan)
        if state is None:
            return
        refs = [f"{self._state_commit(plan, state)}:{state_ref(plan)}"]
        for branch in (state.branch, *self._bases()):
            if branch and self._exists(f"refs/heads/{branch}"):
                refs.append(f"refs/heads/{branch}:refs/heads/{branch}")
        self._git("push", "--quiet", "--atomic", "--force", REMOTE, *refs)

    def push_state(self, plan: PlanSpec) -> None:
        """Push only the plan's state, mid-phase: an answer paid for and not committed yet reaches the remote, so
        the worker that takes the phase over after this one dies applies it instead of asking again. Touches no
        working tree, index or branch, so it needs no workspace lock."""
        state = GenerationState.find(self.root, plan)
        if state is not None:
            self._git("push", "--quiet", "--force", REMOTE, f"{self._state_commit(plan, state)}:{state_ref(plan)}")

    def _bases(self) -> list[str]:
        """The remote's default branch, which generations branch from and MERGE merges into."""
        head = self._try("symbolic-ref", "--quiet", f"refs/remotes/{REMOTE}/HEAD")
        return [head.strip().removeprefix(f"refs/remotes/{REMOTE}/")] if head else ["main"]

    def _fast_forward(self, branch: str) -> None:
        remote = f"refs/remotes/{REMOTE}/{branch}"
        if not self._exists(remote):
            return
        if self._current() == branch:
            self._try("merge", "--quiet", "--ff-only", remote)
        else:
            self._try("fetch", "--quiet", ".", f"{remote}:refs/heads/{branch}")  # fast-forward only

    def _local_is_ahead(self, branch: str) -> bool:
        local, remote = f"refs/heads/{branch}", f"refs/remotes/{REMOTE}/{branch}"
        if not self._exists(local) or not self._exists(remote):
            return self._exists(local)
        if self._git("rev-parse", local) == self._git("rev-parse", remote):
            return False
        return self._try("merge-base", "--is-ancestor", remote, local) is not None

    def _branch_in(self, ref: str) -> str | None:
        """The feature branch the plan's checkpoint in `ref` names."""
        for name in self._git("ls-tree", "--name-only", ref).split():
            if name.startswith("gen-") and name.endswith(".json"):
                return json.loads(self._git("cat-file", "blob", f"{ref}:{name}")).get("branch")
        return None

    def _restore_state(self, ref: str) -> None:
        """The remote's files of this plan over the clone's; a file only the clone has (an answer stored by a phase
        that died before its commit) stays, since its digest still says what it answers."""
        directory = state_dir(self.root)
        for line in self._git("ls-tree", "-r", "--format=%(objectname) %(path)", ref).splitlines():
            blob, name = line.split(" ", 1)
            content = subprocess.run(
                ["git", "cat-file", "blob", blob], cwd=self.root, capture_output=True, check=True
            ).stdout
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.pulled")
            temporary.write_bytes(content)
            os.replace(temporary, target)

    def _state_commit(self, plan: PlanSpec, state: GenerationState) -> str:
        """A commit of the plan's checkpoint and `.generation-state/<plan>/`, built in a private index."""
        directory = state_dir(self.root)
        files = [state.path, *sorted(p for p in (directory / plan.task_name).rglob("*") if p.is_file())]
        with tempfile.TemporaryDirectory() as scratch:
            env = {**os.environ, "GIT_INDEX_FILE": os.path.join(scratch, "index")}
            for path in files:
                blob = self._git("hash-object", "-w", str(path)).strip()
                relative = path.relative_to(directory).as_posix()
                _run(["git", "update-index", "--add", "--cacheinfo", f"100644,{blob},{relative}"], self.root, env)
            tree = _run(["git", "write-tree"], self.root, env).strip()
        message = f"package-builder state of {plan.task_name}: {state.data.get('currentPhase')}"
        return self._git(*self.identity, "commit-tree", tree, "-m", message).strip()

    def _exists(self, ref: str) -> bool:
        return self._try("rev-parse", "--verify", "--quiet", ref) is not None

    def _current(self) -> str:
        return (self._try("symbolic-ref", "--quiet", "--short", "HEAD") or "").strip()

    def _git(self, *args: str) -> str:
        """git's output; a failure is a WorkspaceError naming the command and what git said."""
        found = self._try(*args)
        if found is None:
            raise WorkspaceError(f"git {' '.join(args[:3])} in {self.root} failed: {self._said.strip()[:500]}")
        return found

    def _try(self, *args: str) -> str | None:
        """git's output, or None when it fails (a ref that is not there)."""
        done = subprocess.run(["git", *args], cwd=self.root, capture_output=True, text=True)
        self._said = done.stderr
        return done.stdout if done.returncode == 0 else None


def _run(command: list[str], cwd: Path, env: dict | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise WorkspaceError(f"{' '.join(command[:3])} failed: {done.stderr.strip()[:500]}")
    return done.stdout
