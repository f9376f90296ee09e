"""A new user typing the tool's name starts nothing dangerous, and what goes wrong outside the tool (a git lock left
by a kill, a stranger's git lock, a corrupt artifact) is cleaned up or reported by path, never a traceback, and never
silently paid for again. Each story runs `doit` as a subprocess against a real git workspace and stops at PLANNING or
FOUNDATION, before any npm work. The fast tier keeps the bare `doit` and the half-done status; the 3-second
recovery stories run in the slow tier."""

from __future__ import annotations

import json
import os
import re
import signal
import time

import pytest

from test_generation import phase_commits

PLANNING = "generate:data-validator:01-planning"


def test_a_bare_doit_only_shows_status_and_starts_nothing(project):
    result = project.doit(check=True)

    assert "data-validator" in result.stdout and "0/15 phases done, not started" in result.stdout
    assert project.api.hits == [], "no model call"
    assert project.git("branch", "--format=%(refname:short)").split() == ["main"], "no git write"
    assert not (project.workspace / ".package-builder").exists(), "no build, test or publish ran"
    assert not list(project.workspace.glob(".generation-state/**/*.json")), "no checkpoint, no artifact"


@pytest.mark.slow
def test_status_after_a_failure_names_the_phase_and_the_reason(project):
    project.doit(PLANNING, check=True)
    (project.workspace / ".git" / "index.lock").write_text("")  # a git command of someone else's
    project.doit("generate:data-validator:02-foundation")

    status = project.doit(check=True).stdout
    assert re.search(
        r"1/15 phases done, failed at FOUNDATION, \$0\.\d{4}, [\d,]+ in / [\d,]+ out tokens "
        r"on feat/package-generation-\d+, updated 20\d\d-\d\d-\d\d \d\d:\d\d UTC: "
        r".*index\.lock",
        status,
    ), status

    (line,) = json.loads(project.doit("status", "--json", check=True).stdout)["plans"]
    assert line["state"] == "failed" and line["phase"] == "FOUNDATION" and line["phasesDone"] == 1
    assert "index.lock" in line["reason"] and line["costUsd"] > 0 and line["tokens"]["output"] > 0
    assert line["branch"].startswith("feat/package-generation-") and line["updated"].startswith("20")


def test_status_of_a_half_done_generation_names_the_next_phase(project):
    project.doit(PLANNING, check=True)

    (line,) = json.loads(project.doit("status", "--json", check=True).stdout)["plans"]

    where = (line["state"], line["phase"], line["phasesDone"], line["phaseCount"])
    assert where == ("in progress", "FOUNDATION", 1, 15)
    assert project.api.hits and len(project.api.hits) == 1, "status itself asked nothing"


@pytest.mark.slow
def test_a_stranger_git_lock_fails_the_phase_with_its_path_and_the_checkpoint_records_it(project):
    lock = project.workspace / ".git" / "index.lock"
    lock.write_text("")

    result = project.doit(PLANNING)

    assert result.returncode != 0
    assert f"the git lock file {lock} exists" in result.stdout and f"delete {lock}" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    failure = project.state()["failureRecovery"]
    assert failure["failedStep"] == 1 and str(lock) in failure["error"]
    assert project.api.hits == [], "the model is not asked before the workspace is ready"
    assert lock.exists(), "a lock the tool cannot prove its own is left alone"

    lock.unlink()
    project.doit(PLANNING, check=True)
    assert project.state()["failureRecovery"] is None


@pytest.mark.slow
def test_a_kill_during_git_add_is_cleaned_up_by_the_next_plain_rerun(project, tmp_path):
    started, hold = tmp_path / "git-add-started", tmp_path / "hold"
    hold.touch()
    # A real git clean filter that waits while `hold` exists: `git add` holds .git/index.lock meanwhile.
    project.git("config", "filter.hold.clean", f'sh -c "touch {started}; while [ -e {hold} ]; do sleep 0.1; done; cat"')
    (project.workspace / ".git" / "info" / "attributes").write_text("*.md filter=hold\n")

    process = project.popen(PLANNING)
    deadline = time.monotonic() + 120
    marker, lock = project.workspace / ".generation-state" / "git-step.json", project.workspace / ".git" / "index.lock"
    while not (started.exists() and marker.exists() and str(lock) in marker.read_text()):  # the run has named it
        assert time.monotonic() < deadline and process.poll() is None, "the run never reached git add"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    hold.unlink()
    lock = project.workspace / ".git" / "index.lock"
    assert lock.exists(), "git's own lock is left behind by the kill"

    result = project.doit(PLANNING, check=True)

    assert f"removed {lock}" in result.stdout
    assert not lock.exists()
    assert len(project.api.hits_for("PLANNING")) == 1, "the stored answer is committed, not asked for again"
    assert phase_commits(project, project.state()["branch"]) == ["01-planning"]


@pytest.mark.slow
def test_a_corrupt_artifact_is_moved_aside_and_reported_not_silently_paid_again(project):
    project.doit("generate:data-validator:02-foundation", check=True)
    folder = project.workspace / ".generation-state" / "data-validator"
    (folder / "01-planning.json").write_text('{"schema": 1, "phase": "PLAN')  # a torn write by another tool

    failed = project.doit("generate:data-validator:02-foundation")

    assert failed.returncode != 0
    assert f"{folder / '01-planning.json'}: is not valid JSON" in failed.stdout
    assert "moved aside to 01-planning.corrupt-" in failed.stdout
    assert len(list(folder.glob("01-planning.corrupt-*.json"))) == 1
    assert len(project.api.hits_for("PLANNING")) == 1, "reported, not re-paid behind the user's back"

    project.doit("generate:data-validator:02-foundation", check=True)
    assert len(project.api.hits_for("PLANNING")) == 2, "the next run asks again, as the message said"
    assert json.loads((folder / "01-planning.json").read_text())["status"] == "committed"


def test_a_tag_named_like_the_base_branch_does_not_rename_the_base(project):
    project.git("tag", "main")
    project.doit(PLANNING, check=True)
    assert project.state()["baseBranch"] == "main"
