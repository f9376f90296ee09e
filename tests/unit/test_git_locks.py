"""A git lock is removed only when our own marker names that very file and the run that took it is gone: a run killed
in `git add` is cleaned up after, while the user's own `git commit` waiting in its editor, a lock taken by a live run
or by another machine, and a marker of an older version are left alone and reported. Real git, real kills; no npm."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from package_builder.base.errors import WorkspaceError
from package_builder.generation.writer.git import GitRepo

REPO = Path(__file__).resolve().parents[2]


def git(root: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "user",
        "GIT_AUTHOR_EMAIL": "user@example.com",
        "GIT_COMMITTER_NAME": "user",
        "GIT_COMMITTER_EMAIL": "user@example.com",
        **kwargs.pop("env", {}),
    }
    return subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True, text=True, **kwargs)


@pytest.fixture
def workspace(tmp_path) -> Path:
    root = tmp_path / "workspace"
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main")
    (root / "README.md").write_text("hello\n")
    git(root, "add", "README.md")
    git(root, "commit", "--quiet", "-m", "first")
    return root


def marker_of(root: Path) -> Path:
    return root / ".generation-state" / "git-step.json"


def repo(root: Path) -> GitRepo:
    return GitRepo(root, marker_of(root), "package-builder", "pb@example.com")


def kill_during_git_add(root: Path, tmp_path: Path) -> Path:
    """A process of ours running `git add` is SIGKILLed, with its git, while git holds .git/index.lock; returns it."""
    hold = tmp_path / "hold"
    hold.touch()
    # A clean filter that waits while `hold` exists: `git add` holds .git/index.lock meanwhile.
    git(root, "config", "filter.hold.clean", f'sh -c "while [ -e {hold} ]; do sleep 0.05; done; cat"')
    (root / ".git" / "info" / "attributes").write_text("*.md filter=hold\n")
    (root / "notes.md").write_text("notes\n")
    script = (
        "import sys; from pathlib import Path; from package_builder.generation.writer.git import GitRepo\n"
        f"root = Path({str(root)!r})\n"
        "GitRepo(root, root / '.generation-state' / 'git-step.json', 'pb', 'pb@example.com').run('add', '-A')"
    )
    child = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, start_new_session=True)
    lock = root / ".git" / "index.lock"
    deadline = time.monotonic() + 30
    while str(lock) not in (marker_of(root).read_text() if marker_of(root).exists() else ""):
        assert time.monotonic() < deadline and child.poll() is None, "the marker never named git add's index.lock"
        time.sleep(0.02)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait(10)
    hold.unlink()
    (root / ".git" / "info" / "attributes").unlink()
    assert lock.exists(), "the kill leaves git's own lock behind"
    return lock


def wait_until_gone(identity: str) -> None:
    from package_builder.base.locks import process_gone

    deadline = time.monotonic() + 10
    while not process_gone(identity):  # the killed git is reaped by init, not by us
        assert time.monotonic() < deadline, f"{identity} is still running"
        time.sleep(0.02)


def test_the_lock_a_killed_run_took_in_git_add_is_removed_by_the_next_holder(workspace, tmp_path):
    lock = kill_during_git_add(workspace, tmp_path)
    marker = json.loads(marker_of(workspace).read_text())
    assert marker["command"] == "add" and list(marker["locks"]) == [str(lock)]
    wait_until_gone(marker["git"])

    assert repo(workspace).recover_interrupted_step() == ([lock], [])

    assert not lock.exists() and not marker_of(workspace).exists()
    repo(workspace).run("status")


def test_the_users_git_commit_waiting_in_its_editor_keeps_its_lock_after_a_killed_run(workspace, tmp_path):
    stale = kill_during_git_add(workspace, tmp_path)
    wait_until_gone(json.loads(marker_of(workspace).read_text())["git"])
    stale.unlink()  # the user deletes the lock the killed run left, as git tells them to…
    (workspace / "README.md").write_text("edited by the user\n")
    editing, done = tmp_path / "editing", tmp_path / "done"
    editor = f'sh -c "touch {editing}; while [ ! -e {done} ]; do sleep 0.05; done; echo user message > \\"\\$1\\"" --'
    commit = subprocess.Popen(
        ["git", "commit", "-a", "--quiet"],
        cwd=workspace,
        env={
            **os.environ,
            "GIT_EDITOR": editor,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "user",
            "GIT_AUTHOR_EMAIL": "user@example.com",
            "GIT_COMMITTER_NAME": "user",
            "GIT_COMMITTER_EMAIL": "u@example.com",
        },
    )
    try:
        deadline = time.monotonic() + 30
        while not editing.exists():  # …and commits, leaving the message editor open: git holds index.lock
            assert time.monotonic() < deadline and commit.poll() is None
            time.sleep(0.02)
        lock = workspace / ".git" / "index.lock"
        assert lock.exists()

        removed, kept = repo(workspace).recover_interrupted_step()

        assert (removed, kept) == ([], [lock]) and lock.exists(), "the user's lock is not the one the marker names"
        with pytest.raises(WorkspaceError) as failure:
            repo(workspace).run("checkout", "--quiet", "-b", "feat/x")
        assert f"the git lock file {lock} exists" in str(failure.value) and f"delete {lock}" in str(failure.value)
        assert lock.exists()
    finally:
        done.touch()
        assert commit.wait(30) == 0, "the user's commit ends well"
    assert git(workspace, "log", "-1", "--format=%s").stdout.strip() == "user message"


@pytest.mark.parametrize("writer", ["live", "another machine", "an older version"])
def test_a_marker_that_cannot_prove_its_run_is_gone_removes_nothing(workspace, writer):
    lock = workspace / ".git" / "index.lock"
    lock.write_text("")
    stat = lock.lstat()
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        from package_builder.base.locks import process_identity

        identity = [stat.st_dev, stat.st_ino, stat.st_mtime_ns, stat.st_size]
        marker = {
            "live": {"process": process_identity(sleeper.pid), "git": None, "locks": {str(lock): identity}},
            "another machine": {"process": "another-host:12:34", "git": None, "locks": {str(lock): identity}},
            "an older version": {"pid": 999999, "gitPid": None, "startedAt": time.time() - 3600},
        }[writer]
        marker_of(workspace).parent.mkdir(exist_ok=True)
        marker_of(workspace).write_text(json.dumps(marker))

        assert repo(workspace).recover_interrupted_step() == ([], [])
        assert lock.exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_lock_there_before_our_command_is_never_named_ours(workspace):
    lock = workspace / ".git" / "index.lock"
    lock.write_text("")  # someone else's git command

    with pytest.raises(WorkspaceError, match="index.lock exists"):
        repo(workspace).run("checkout", "--quiet", "-b", "feat/x")

    assert lock.exists() and not marker_of(workspace).exists()


def test_the_builds_read_only_git_commands_never_write_the_index(workspace):
    """A publish's check for uncommitted files and the build's file listing run outside the marker: they must never
    take .git/index.lock (a plain `git status` does, to refresh a stale index), which would fail the user's own git
    command meanwhile or, if killed, leave a lock nobody can prove whose."""
    from package_builder.builds.monorepo import versioned_files
    from package_builder.builds.publishing import _uncommitted_files

    index = workspace / ".git" / "index"
    for look in (lambda: _uncommitted_files(workspace, workspace), lambda: versioned_files(workspace)):
        before = index.stat()
        stale = before.st_mtime + 5  # the tracked file looks changed since the index last saw it
        os.utime(workspace / "README.md", (stale, stale))

        look()

        assert (index.stat().st_ino, index.stat().st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
