"""What a newcomer meets on the `doit` command line, trying every command the README shows: a workspace with nothing
to build, a package or plan that does not exist, the status line, the closing line of a replayed run, `doit list |
head`, the README's rerun story with the replay provider, a broken config under a bare `doit`, and a run with no API
key. Each story runs `doit` as a subprocess against a real git workspace; none reaches npm (only PLANNING calls the
model, the other phases are skipped by `turnBasedGeneration.phasesToExecute`, BUILD_VALIDATION is off). The stories
that run a generation are in the slow tier; the status line and the model time also have fast unit tests."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from package_builder.generation.artifacts import ModelCall
from package_builder.generation.plan_status import PlanStatus
from package_builder.generation.runner import model_time

ONLY_PLANNING = {"phasesToExecute": ["PLANNING"]}  # PLANNING calls the model; every other phase is skipped
NO_CHECKS = {"enabled": False}


def write_packages(workspace, *names: str) -> None:
    """An npm-workspaces monorepo root with one folder per package (no install: nothing here runs npm)."""
    (workspace / "package.json").write_text(json.dumps({"name": "root", "private": True, "workspaces": ["packages/*"]}))
    for name in names:
        folder = workspace / "packages" / name.split("/")[-1]
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0"}))


def test_build_test_and_publish_on_a_workspace_without_packages_fail_saying_where_packages_are_looked_for(project):
    for args in (("build", "test"), ("publish", "--dry-run"), ("install",)):
        result = project.doit(*args)

        assert result.returncode != 0, (args, "asked to build, found nothing: CI must not pass")
        assert f"nothing to {args[0]}: no workspace packages in {project.workspace}" in result.stdout, result.stdout
        assert str(project.config_path) in result.stdout, "names the config whose workspaceRoot it read"
        assert '"workspaces"' in result.stdout and "pnpm-workspace.yaml" in result.stdout, result.stdout


def test_workspace_globs_that_match_nothing_are_named_when_there_is_nothing_to_build(project):
    (project.workspace / "package.json").write_text(json.dumps({"name": "root", "workspaces": ["libs/*"]}))

    result = project.doit("build")

    assert result.returncode != 0
    assert (
        f'the "workspaces" of {project.workspace / "package.json"} (libs/*) match no folder with a package.json'
        in result.stdout
    ), result.stdout


def test_testing_a_package_the_workspace_does_not_have_names_it_the_workspace_and_the_packages_it_has(project):
    write_packages(project.workspace, "@acme/logger", "@acme/config")

    result = project.doit("test:@example/data-validator")

    assert result.returncode != 0
    assert "Invalid parameter" not in result.stderr, result.stderr
    assert f"no package @example/data-validator in the workspace {project.workspace}" in result.stderr
    assert "its packages: @acme/config, @acme/logger" in result.stderr and "doit list --all" in result.stderr


def test_a_package_asked_for_in_a_workspace_without_packages_points_at_why(project):
    result = project.doit("build:@example/data-validator")

    assert result.returncode != 0
    assert f"no task build:@example/data-validator: (no workspace packages in {project.workspace})" in result.stderr
    assert "`doit build` says why" in result.stderr


def test_generating_a_plan_that_does_not_exist_lists_the_plans_there_are(project):
    result = project.doit("generate:data-validater")

    assert result.returncode != 0
    assert f"no plan data-validater in {project.root / 'plans' / 'packages'}" in result.stderr, result.stderr
    assert "the plans there: data-validator" in result.stderr


def test_a_typo_that_is_no_task_of_ours_keeps_doits_own_message(project):
    result = project.doit("frobnicate")

    assert result.returncode != 0 and 'Invalid parameter: "frobnicate"' in result.stderr


@pytest.mark.slow  # a generation, replayed or through the test API (no npm)
def test_the_status_line_puts_the_phases_done_apart_from_the_phase_that_is_stale(project):
    project.doit("generate:data-validator:01-planning", check=True)
    assert re.search(r"1/15 phases done, in progress, next FOUNDATION,", project.doit(check=True).stdout)

    plan = project.root / "plans" / "packages" / "core" / "data-validator.md"
    plan.write_text(plan.read_text() + "\n- Also accept ISO dates.\n")

    status = project.doit(check=True).stdout
    assert re.search(
        r"@example/data-validator +1/15 phases done, out of date from PLANNING, .*: the plan changed$",
        status,
        re.MULTILINE,
    ), status


def test_status_lines_read_as_phases_done_then_where_the_plan_stands():
    def line(state: str, done: int, phase: str = "") -> str:
        return PlanStatus("p", "@s/p", done, 15, state, phase=phase).progress()

    assert line("out of date", 15, "PLANNING") == "15/15 phases done, out of date from PLANNING"
    assert line("failed", 3, "CORE_IMPLEMENTATION") == " 3/15 phases done, failed at CORE_IMPLEMENTATION"
    assert line("running", 3, "CORE_IMPLEMENTATION") == " 3/15 phases done, running CORE_IMPLEMENTATION"
    assert line("in progress", 1, "FOUNDATION") == " 1/15 phases done, in progress, next FOUNDATION"
    assert line("not started", 0, "PLANNING") == " 0/15 phases done, not started"
    assert line("done", 15, "MERGE") == "15/15 phases done"
    assert PlanStatus("p", "?", 0, 0, "invalid plan", reason="bad").line().endswith(" invalid plan: bad")


def record_then_replay(project, tmp_path):
    """Generate the example once recording PLANNING's answer into a cassette (the real SDK against the test API),
    then point the config at that cassette with the replay provider, in a fresh workspace: the README's example."""
    cassette = tmp_path / "cassette.json"
    project.write_config(
        model={"provider": "record", "cassette": str(cassette)},
        turnBasedGeneration=ONLY_PLANNING,
        buildValidation=NO_CHECKS,
    )
    recorded = project.doit("generate:data-validator", check=True)
    workspace = tmp_path / "replayed-workspace"
    workspace.mkdir()
    for args in (("init", "-q", "-b", "main"), ("commit", "-q", "--allow-empty", "-m", "initial")):
        subprocess.run(["git", "-c", "user.name=a", "-c", "user.email=a@b.test", *args], cwd=workspace, check=True)
    project.workspace = workspace
    project.write_config(
        model={"provider": "replay", "cassette": str(cassette)},
        turnBasedGeneration=ONLY_PLANNING,
        buildValidation=NO_CHECKS,
    )
    return recorded


@pytest.mark.slow  # a generation, replayed or through the test API (no npm)
def test_the_closing_line_of_a_replayed_run_says_replayed_and_a_real_run_its_model_time(project, tmp_path):
    recorded = record_then_replay(project, tmp_path)
    assert re.search(r"phases done, .* model time \d+\.\d s, branch feat/", recorded.stdout), recorded.stdout

    replayed = project.doit("generate:data-validator", check=True)

    assert "model time: replayed (no call went to a model)" in replayed.stdout, replayed.stdout
    assert "model time 0.0 s" not in replayed.stdout


def test_model_time_counts_real_calls_and_never_shows_a_false_zero():
    def call(seconds: float) -> ModelCall:
        return ModelCall(
            attempt=1,
            request_digest="sha256:x",
            stop_reason="end_turn",
            input_tokens=1,
            output_tokens=1,
            seconds=seconds,
        )

    assert model_time([call(1.25), call(2.0)]) == "model time 3.2 s"
    assert model_time([call(1.25), call(0.0), call(0.0)]) == "model time 1.2 s (+ 2 call(s) replayed)"
    assert model_time([call(0.0)]) == "model time: replayed (no call went to a model)"
    assert model_time([]) == "no model call"


@pytest.mark.slow  # a generation, replayed or through the test API (no npm)
def test_an_edited_plan_that_misses_the_cassette_fails_once_and_status_recovers_when_the_edit_is_undone(
    project, tmp_path
):
    record_then_replay(project, tmp_path)
    project.doit("generate:data-validator", check=True)
    plan = project.root / "plans" / "packages" / "core" / "data-validator.md"
    original = plan.read_text()
    plan.write_text(original + "\n- Also accept ISO dates.\n")

    edited = project.doit("generate:data-validator")

    assert edited.returncode != 0
    output = edited.stdout + edited.stderr
    assert "UnmetDependency" not in output, output
    assert output.count("taskid:") == 1, "one failure, PLANNING's"
    assert re.search(
        r"^\[data-validator\] not run: 14 later phase\(s\) and the summary, because "
        r"generate:data-validator:01-planning failed$",
        edited.stdout,
        re.MULTILINE,
    ), edited.stdout
    assert len(output.splitlines()) < 15, output
    (line,) = json.loads(project.doit("status", "--json", check=True).stdout)["plans"]
    assert (line["state"], line["phase"]) == ("failed", "PLANNING")

    plan.write_text(original)

    (line,) = json.loads(project.doit("status", "--json", check=True).stdout)["plans"]
    assert (line["state"], line["phasesDone"], line["reason"]) == ("done", 15, ""), line
    assert re.search(r"@example/data-validator +15/15 phases done, ", project.doit(check=True).stdout)


def test_a_bare_doit_on_a_broken_config_prints_the_problem_and_exits_non_zero(project):
    project.config_path.write_text(json.dumps({"workspaceRoot": str(project.workspace), "maxConcurentBuilds": 2}))

    result = project.doit()

    assert result.returncode != 0
    assert "field maxConcurentBuilds" in result.stdout
    assert f"status: fix the config ({project.config_path})" in result.stdout


def test_a_bare_doit_with_an_invalid_plan_shows_the_others_and_exits_non_zero(project):
    (project.root / "plans" / "packages" / "core" / "broken-validator.md").write_text("# no package line\n")

    result = project.doit()

    assert result.returncode != 0
    assert re.search(r"^broken-validator +\? +invalid plan: ", result.stdout, re.MULTILINE), result.stdout
    assert re.search(
        r"^data-validator +@example/data-validator +0/15 phases done, not started", result.stdout, re.MULTILINE
    )
    assert "status: fix plan broken-validator" in result.stdout


def test_a_run_without_an_api_key_names_no_branch_it_never_created(project):
    result = project.doit("generate:data-validator", ANTHROPIC_API_KEY=None)

    assert result.returncode != 0
    assert project.git("branch", "--format=%(refname:short)").split() == ["main"], "no branch was made"
    (row,) = [line for line in result.stdout.splitlines() if line.startswith("data-validator ")]
    assert row.split()[-1] == "-" and "feat/" not in row, result.stdout
    (line,) = json.loads(project.doit("status", "--json", check=True).stdout)["plans"]
    assert line["state"] == "failed" and line["branch"] == ""
    assert " on feat/" not in project.doit(check=True).stdout
    summary = json.loads((project.workspace / ".generation-state" / "summary.json").read_text())
    assert summary["plans"][0]["branch"] == ""


def test_doit_list_into_a_pipe_closed_after_one_line_exits_quietly(project):
    plans = project.root / "plans" / "packages" / "core"
    example = (plans / "data-validator.md").read_text()
    for number in range(60):  # `doit list --all` then writes more than a pipe holds (64 KiB): it meets the close
        (plans / f"validator-{number}.md").write_text(
            example.replace("@example/data-validator", f"@example/validator-{number}")
        )
    process = subprocess.Popen(
        [sys.executable, "-m", "doit", "list", "--all"],
        cwd=project.root,
        env=project.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    first = process.stdout.readline()
    process.stdout.close()
    errors = process.stderr.read().decode()
    code = process.wait(timeout=60)

    assert first.startswith(b"build")
    assert "Traceback" not in errors and "BrokenPipeError" not in errors, errors
    assert code == 0
