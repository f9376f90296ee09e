"""What BUILD_VALIDATION says when it does not end green by itself: a phase turned off names the setting that turns
it off, and a stop on an environment problem says what was already paid for (and that the next run reuses it)."""

from __future__ import annotations

import json

import pytest

from test_build_validation import BUILD_VALIDATION, MANIFEST, VALIDATE_TS, answer, critical_fixes_with, validation


def test_build_validation_turned_off_names_build_validation_enabled(project):
    project.write_config(
        turnBasedGeneration={"phasesToExecute": ["PLANNING", "BUILD_VALIDATION"]}, buildValidation={"enabled": False}
    )

    result = project.doit(BUILD_VALIDATION, check=True)

    assert "BUILD_VALIDATION  skipped (buildValidation.enabled is false in the config)" in result.stdout, result.stdout
    assert "FOUNDATION  skipped (turnBasedGeneration.phasesToExecute does not list it in the config)" in result.stdout
    assert project.api.hits_for("BUILD_VALIDATION") == []


@pytest.mark.slow
def test_an_environment_stop_after_a_paid_repair_says_what_was_paid_and_the_rerun_reuses_it(project):
    broken = VALIDATE_TS + "\nexport const broken: number = 'not a number';\n"
    project.api.script("CRITICAL_FIXES", critical_fixes_with("src/validate.ts", broken))
    # The repair fixes the type error but adds a dependency from a tarball on a server that is down: the install
    # cannot reach it (ECONNREFUSED), a failure of the network that no further model call can fix.
    offline = "http://127.0.0.1:9/left-pad-1.3.0.tgz"
    missing = {**MANIFEST, "dependencies": {"left-pad": offline}}
    project.api.script(
        "BUILD_VALIDATION",
        answer({"src/validate.ts": VALIDATE_TS, "package.json": json.dumps(missing, indent=2) + "\n"}),
    )

    fail_fast = {"npm_config_fetch_retries": "0"}  # npm would retry the dead server for a minute: the same failure
    result = project.doit(BUILD_VALIDATION, **fail_fast)

    assert result.returncode != 0
    assert "stopped on an environment problem after 1 paid repair call" in result.stdout, result.stdout
    assert "no model call spent" not in result.stdout
    assert validation(project)["validation"]["attempts"][-1]["failure"] == "environment"

    again = project.doit(BUILD_VALIDATION, **fail_fast)

    assert again.returncode != 0 and "after 1 paid repair call" in again.stdout
    assert len(project.api.hits_for("BUILD_VALIDATION")) == 1, "the paid repair is reused, never asked again"
