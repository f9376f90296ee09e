"""A BUILD_VALIDATION repair is paid for once: killed while the checks after a paid repair run (minutes of install,
tsc and tests in real life), the rerun goes on from the saved answer instead of asking the model again. Real
toolchain, `doit` as a subprocess killed with SIGKILL, the test Messages API counting the requests."""

from __future__ import annotations

import json
import os
import signal
import time

import pytest

from test_build_validation import BUILD_VALIDATION, VALIDATE_TS, answer, critical_fixes_with, validation

pytestmark = pytest.mark.slow


def test_a_kill_during_the_check_after_a_paid_repair_does_not_pay_for_it_again(project):
    broken = VALIDATE_TS + "\nexport const broken: number = 'not a number';\n"
    project.api.script("CRITICAL_FIXES", critical_fixes_with("src/validate.ts", broken))
    project.api.script("BUILD_VALIDATION", answer({"src/validate.ts": VALIDATE_TS}))
    project.doit("generate:data-validator:12-critical-fixes", check=True)

    process = project.popen(BUILD_VALIDATION)
    deadline = time.monotonic() + 600
    while not project.api.hits_for("BUILD_VALIDATION"):
        assert time.monotonic() < deadline and process.poll() is None, "BUILD_VALIDATION never asked for a repair"
        time.sleep(0.1)
    while "repair attempt 1" not in project.git("log", "--format=%s"):  # committed: the next check starts now
        assert time.monotonic() < deadline and process.poll() is None, "the repair was never committed"
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    killed = validation(project)
    assert killed["status"] == "answered" and "green" not in killed["validation"], "killed before the check ended"
    assert [repair["failure"] for repair in killed["validation"]["repairs"]] == ["type"]

    result = project.doit(BUILD_VALIDATION, check=True)

    assert len(project.api.hits_for("BUILD_VALIDATION")) == 1, "one repair request in all: the answer was reused"
    assert "goes on after 1 repair attempt(s) an earlier run paid for" in result.stdout
    assert "green after 1 repair attempt(s)" in result.stdout
    done = validation(project)
    assert done["status"] == "committed" and done["validation"]["green"]
    assert len(done["calls"]) == 1 and project.state()["costUsd"] > 0
    assert "broken" not in (project.package_dir / "src/validate.ts").read_text()
    assert project.git("status", "--porcelain", "--", "packages").strip() == "", "every repair is committed"
    assert json.loads((project.workspace / ".generation-state/data-validator/13-build-validation.json").read_text())[
        "commit"
    ]
