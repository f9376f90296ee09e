"""The README's promise, driven through `doit`: a git lock the tool cannot prove its own is reported with its path and
left alone. A run killed in `git add` leaves a marker behind; the user cleans up by hand and commits, with the
message editor open (git holds .git/index.lock meanwhile); the next run must not take that lock for its own."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

PLANNING = "generate:data-validator:01-planning"


def kill_during_git_add(project, tmp_path):
    """Run PLANNING with a git clean filter that holds `git add` (and .git/index.lock), and SIGKILL the run there."""
    started, hold = tmp_path / "git-add-started", tmp_path / "hold"
    hold.touch()
    project.git("config", "filter.hold.clean", f'sh -c "touch {started}; while [ -e {hold} ]; do sleep 0.1; done; cat"')
    (project.workspace / ".git" / "info" / "attributes").write_text("*.md filter=hold\n")
    marker = project.workspace / ".generation-state" / "git-step.json"
    lock = project.workspace / ".git" / "index.lock"
    process = project.popen(PLANNING)
    deadline = time.monotonic() + 120
    while not (started.exists() and marker.exists() and str(lock) in marker.read_text()):
        assert time.monotonic() < deadline and process.poll() is None, "the run never reached git add"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    hold.unlink()
    assert lock.exists() and marker.exists(), "the kill leaves git's lock and our marker behind"
    return lock


@pytest.mark.slow
def test_the_users_git_commit_in_its_editor_is_not_taken_for_a_killed_runs_lock(project, tmp_path):
    lock = kill_during_git_add(project, tmp_path)
    lock.unlink()  # the user removes the leftover lock by hand…
    (project.workspace / "README.md").write_text("# a monorepo, edited\n")
    editing, done = tmp_path / "editing", tmp_path / "done"
    editor = f'sh -c "touch {editing}; while [ ! -e {done} ]; do sleep 0.05; done; echo by hand > \\"\\$1\\"" --'
    commit = subprocess.Popen(
        ["git", "-c", "user.name=Someone", "-c", "user.email=someone@example.test", "commit", "-a", "--quiet"],
        cwd=project.workspace,
        env=project.env(GIT_EDITOR=editor),
    )
    try:
        deadline = time.monotonic() + 30
        while not editing.exists():  # …and commits: git holds .git/index.lock while the editor is open
            assert time.monotonic() < deadline and commit.poll() is None
            time.sleep(0.05)

        result = project.doit(PLANNING)

        assert result.returncode != 0
        assert f"the git lock file {lock} exists" in result.stdout and f"delete {lock}" in result.stdout
        assert f"left {lock} alone" in result.stdout and f"removed {lock}" not in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
        assert lock.exists(), "the user's lock is still there"
    finally:
        done.touch()
        assert commit.wait(30) == 0, "the user's commit ends well"
    assert project.git("log", "-1", "--format=%s").strip() == "by hand"

    project.doit(PLANNING, check=True)
    assert len(project.api.hits_for("PLANNING")) == 1, "the stored answer is committed, not asked for again"
