"""The user's story of `doit generate:<name>`: a full run, a rerun that costs nothing, a kill and a resume, an edit that
reruns only what depends on it. `doit` runs as a subprocess against a workspace git repo; the real anthropic SDK talks
to a Messages API server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import PHASES, TEST_API_KEY, example_answer
from messages_api import Hold, Text

pytestmark = pytest.mark.slow  # real npm toolchain, full generations

COMMITTING_PHASES = PHASES[:-1]
# BUILD_VALIDATION asks the model only to repair a red package; the example is green.
MODEL_PHASES = [phase for phase in COMMITTING_PHASES if phase != "BUILD_VALIDATION"]


def phase_commits(project, branch: str) -> list[str]:
    """The `Phase:` trailer of every commit on the feature branch, oldest first."""
    log = project.git("log", "--reverse", "--format=%B%x00", f"main..{branch}")
    return [m.group(1) for body in log.split("\0") if (m := re.search(r"^Phase: (\S+)$", body, re.M))]


def test_full_run_writes_fifteen_phases_with_commits_and_checkpoint(project):
    result = project.doit("generate:data-validator", check=True)

    for number, name in enumerate(PHASES, start=1):
        assert f"phase {number:02d}/15 {name}" in result.stdout
    assert "15/15 phases done" in result.stdout
    assert project.api.phases_called() == MODEL_PHASES

    state = project.state()
    assert state["currentPhase"] == "MERGE" and state["currentStepNumber"] == 15
    assert state["status"] == "completed" and state["failureRecovery"] is None
    assert [s["stepNumber"] for s in state["completedSteps"]] == list(range(1, 16))
    assert all(s["commit"] for s in state["completedSteps"][:14])
    assert state["tokens"]["input"] > 0 and state["tokens"]["output"] > 0
    assert re.fullmatch(r"feat/package-generation-\d{13}", state["branch"])
    if shutil.which("jq"):
        jq = subprocess.run(
            [
                "jq",
                ".currentPhase, .currentStepNumber",
                str(project.workspace / ".generation-state" / f"{state['sessionId']}.json"),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        assert jq.stdout.split() == ['"MERGE"', "15"]

    assert project.git("branch", "--show-current").strip() == state["branch"]
    assert phase_commits(project, state["branch"]) == [
        f"{n:02d}-{p.lower().replace('_', '-')}" for n, p in enumerate(COMMITTING_PHASES, start=1)
    ]
    authors = set(project.git("log", "--format=%an <%ae>", f"main..{state['branch']}").splitlines())
    assert authors == {"package-builder <package-builder@localhost>"}
    touched = set(project.git("diff", "--name-only", f"main..{state['branch']}").splitlines())
    assert touched and all(path.startswith("packages/core/data-validator/") for path in touched)
    assert project.git("status", "--porcelain") == ""

    for path in [
        "package.json",
        "tsconfig.json",
        "vitest.config.ts",
        "src/index.ts",
        "README.md",
        "docs/architecture.md",
        "docs/INTEGRATION_REVIEW.md",
        "CHANGELOG.md",
    ]:
        assert (project.package_dir / path).is_file(), path
    assert "90" in (project.package_dir / "vitest.config.ts").read_text()  # core coverage bar, rendered by code
    assert any(project.package_dir.glob("tests/*.test.ts"))
    artifact = json.loads((project.workspace / ".generation-state" / "data-validator" / "08-testing.json").read_text())
    assert artifact["status"] == "committed" and artifact["usage"]["outputTokens"] > 0
    assert set(artifact["inputs"]["upstream"]) == set(PHASES[: PHASES.index("TESTING")])  # every phase before it

    pull_request = (project.workspace / ".generation-state/data-validator/PR.md").read_text()
    assert pull_request.startswith("# Add @example/data-validator 0.1.0\n")
    assert f"Branch `{state['branch']}` into `main`: 14 commit(s)" in pull_request
    assert "- `src/index.ts`" in pull_request and "**Green** after 1 attempt(s)." in pull_request
    assert len(re.findall(r"^\| \d+ \| [A-Z_]+ \|", pull_request, re.M)) == 14, "a row per phase before MERGE"
    assert re.search(r"^\$\d+\.\d{4} in all \([\d,]+ input", pull_request, re.M)

    stored = [p.read_text() for p in (project.workspace / ".generation-state").rglob("*.json")]
    history = project.git("log", "-p", "--all")
    assert not any(TEST_API_KEY in text for text in [result.stdout, result.stderr, *stored, history])

    again = project.doit("generate:data-validator", check=True)
    assert len(project.api.hits) == len(MODEL_PHASES), "a rerun with nothing changed must not call the model"
    assert "15/15 phases done" in again.stdout


def test_kill_during_a_model_call_then_rerun_resumes_without_paying_twice(project):
    project.api.script("CORE_IMPLEMENTATION", Hold(then=Text(example_answer("CORE_IMPLEMENTATION"))))
    process = project.popen("generate:data-validator")
    assert project.api.held.wait(120), "the run never reached CORE_IMPLEMENTATION"
    (running,) = json.loads(project.doit("status", "--json", check=True).stdout)["plans"]
    assert (running["state"], running["phase"], running["phasesDone"]) == ("running", "CORE_IMPLEMENTATION", 3)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(30)
    project.api.release()
    (killed,) = json.loads(project.doit("status", "--json", check=True).stdout)["plans"]
    assert (killed["state"], killed["phase"]) == ("in progress", "CORE_IMPLEMENTATION"), "its process is gone"

    state = project.state()
    assert state["currentPhase"] == "CORE_IMPLEMENTATION" and state["currentStepNumber"] == 4
    assert [s["phase"] for s in state["completedSteps"]] == MODEL_PHASES[:3]

    project.doit("generate:data-validator", check=True)
    calls = project.api.phases_called()
    assert calls.count("PLANNING") == calls.count("FOUNDATION") == calls.count("TYPES") == 1
    assert calls.count("CORE_IMPLEMENTATION") == 2  # the killed call and the one that finished
    state = project.state()
    assert state["status"] == "completed" and state["currentStepNumber"] == 15
    commits = phase_commits(project, state["branch"])
    assert len(commits) == len(set(commits)) == len(COMMITTING_PHASES)


def test_editing_a_template_reruns_only_the_phases_that_depend_on_it(project):
    project.doit("generate:data-validator", check=True)
    before = len(project.api.hits)

    template = project.root / "prompts" / "testing.md.j2"
    template.write_text(template.read_text() + "\nPrefer table-driven tests.\n")
    status = project.doit("status", check=True).stdout
    assert re.search(
        r"15/15 phases done, out of date from TESTING, .*: template prompts/testing\.md\.j2 changed$", status, re.M
    ), status
    first = project.doit("generate:data-validator", check=True)
    assert project.api.phases_called()[before:] == ["TESTING"], "same answer → nothing downstream changes"
    assert re.search(r"TESTING +runs again: template prompts/testing\.md\.j2 changed", first.stdout), first.stdout
    # CRITICAL_FIXES rewrote a test file after TESTING: rerunning TESTING must not bring back the older version.
    assert "leave cause unset" in (project.package_dir / "tests/errors.test.ts").read_text()
    assert project.git("status", "--porcelain") == ""

    before = len(project.api.hits)
    template.write_text(template.read_text() + "\nName each test after the behaviour it checks.\n")
    changed = example_answer("TESTING").replace("</file>", "// one more line\n</file>", 1)
    project.api.script("TESTING", Text(changed))
    second = project.doit("generate:data-validator", check=True)
    assert project.api.phases_called()[before:] == ["TESTING", "INTEGRATION_REVIEW", "CRITICAL_FIXES", "FINAL_POLISH"]
    assert re.search(r"INTEGRATION_REVIEW +runs again: TESTING's output changed", second.stdout), second.stdout
    state = project.state()
    assert state["status"] == "completed"
    assert phase_commits(project, state["branch"]).count("08-testing") == 2


def test_doit_list_shows_one_task_per_plan_and_every_phase_with_all(project):
    listing = project.doit("list", check=True).stdout
    assert re.search(r"^generate:data-validator\s+generate @example/data-validator \(core\)", listing, re.M)
    assert "01-planning" not in listing
    full = project.doit("list", "--all", check=True).stdout
    for number, name in enumerate(PHASES, start=1):
        assert f"generate:data-validator:{number:02d}-{name.lower().replace('_', '-')}" in full


def test_two_packages_generate_at_once_on_their_own_branches(project):
    plan = project.root / "plans" / "packages" / "core" / "data-validator.md"
    (plan.parent / "number-validator.md").write_text(
        plan.read_text().replace("@example/data-validator", "@example/number-validator")
    )
    project.api.default = lambda request: Text(
        example_answer(request.phase).replace(
            "@example/data-validator", re.search(r"npm package `([^`]+)`", request.system).group(1)
        )
    )

    project.write_config(turnBasedGeneration={"maxConcurrentPhases": 2})
    project.doit("-n", "2", "generate", check=True)

    sessions = [json.loads(p.read_text()) for p in (project.workspace / ".generation-state").glob("gen-*.json")]
    assert sorted(s["packageName"] for s in sessions) == ["@example/data-validator", "@example/number-validator"]
    assert all(s["status"] == "completed" and s["baseBranch"] == "main" for s in sessions)
    assert sessions[0]["branch"] != sessions[1]["branch"]
    for session in sessions:
        assert len(phase_commits(project, session["branch"])) == len(COMMITTING_PHASES)
        touched = set(project.git("diff", "--name-only", f"main..{session['branch']}").splitlines())
        assert all(path.startswith(session["packagePath"] + "/") for path in touched)
    assert len(project.api.hits) == 2 * len(MODEL_PHASES)


def test_the_bundled_example_replays_with_no_api_key_and_no_server(project):
    from conftest import REPO

    project.write_config(model={"provider": "replay", "cassette": str(REPO / "examples/data-validator/cassette.json")})
    result = project.doit(
        "generate:data-validator", check=True, ANTHROPIC_API_KEY=None, ANTHROPIC_BASE_URL="http://127.0.0.1:9"
    )
    assert "15/15 phases done" in result.stdout
    assert project.api.hits == []
    assert project.state()["status"] == "completed"


def test_record_then_replay_needs_no_server_and_a_miss_names_the_phase(project, tmp_path):
    cassette = tmp_path / "recorded.json"
    project.write_config(model={"provider": "record", "cassette": str(cassette)})
    project.doit("generate:data-validator", check=True)
    recorded = json.loads(cassette.read_text())["interactions"]
    assert [entry["phase"] for entry in recorded] == MODEL_PHASES

    project.git("checkout", "-q", "main")
    project.git("branch", "-qD", project.state()["branch"])
    shutil.rmtree(project.workspace / ".generation-state")
    shutil.rmtree(project.package_dir)  # build outputs (dist/, node_modules/) are only ignored on the feature branch
    (project.root / ".package-builder.doit.db").unlink()
    project.write_config(model={"provider": "replay", "cassette": str(cassette)})
    replayed = project.doit(
        "generate:data-validator", check=True, ANTHROPIC_API_KEY=None, ANTHROPIC_BASE_URL="http://127.0.0.1:9"
    )
    assert "15/15 phases done" in replayed.stdout
    assert len(project.api.hits) == len(MODEL_PHASES)

    template = project.root / "prompts" / "examples.md.j2"
    template.write_text(template.read_text() + "\nShow error handling.\n")
    missed = project.doit("generate:data-validator", ANTHROPIC_API_KEY=None)
    assert missed.returncode != 0
    assert "EXAMPLES: no answer in cassette" in missed.stdout
    assert "it has answers for this phase, but for other requests" in missed.stdout


def test_one_package_failing_stops_only_that_package_and_the_closing_line_names_both(project):
    plan = project.root / "plans" / "packages" / "core" / "data-validator.md"
    (plan.parent / "number-validator.md").write_text(
        plan.read_text().replace("@example/data-validator", "@example/number-validator")
    )

    def answer(request):
        package = re.search(r"npm package `([^`]+)`", request.system).group(1)
        if package == "@example/number-validator" and request.phase == "PLANNING":
            return Text('<file path="../../escaped.md">\nx\n</file>\n')
        return Text(example_answer(request.phase).replace("@example/data-validator", package))

    project.api.default = answer
    project.write_config(model={"maxAnswerRepairs": 0}, buildValidation={"enabled": False})

    result = project.doit("generate")

    assert result.returncode != 0
    assert re.search(
        r"^generation: 1 of 2 package\(s\) failed \(number-validator: phase 01/15 PLANNING failed: "
        r".*escaped.md.*\); done: data-validator$",
        result.stdout,
        re.M,
    ), result.stdout
    sessions = {
        json.loads(p.read_text())["packageName"]: json.loads(p.read_text())
        for p in (project.workspace / ".generation-state").glob("gen-*.json")
    }
    assert sessions["@example/data-validator"]["status"] == "completed"
    assert sessions["@example/number-validator"]["status"] == "failed"
    table = {
        line.split()[0]: line.split()[1:3]
        for line in result.stdout.splitlines()
        if line.startswith(("data-validator ", "number-validator "))
    }
    assert table == {"data-validator": ["15/15", "done"], "number-validator": ["0/15", "failed"]}, result.stdout
    summary = json.loads((project.workspace / ".generation-state/summary.json").read_text())
    assert summary["ok"] is False and summary["failed"] == ["number-validator"]
    plans = {plan["plan"]: plan for plan in summary["plans"]}
    assert plans["data-validator"]["costUsd"] > 0 and plans["data-validator"]["seconds"] > 0
    assert plans["data-validator"]["branch"].startswith("feat/package-generation-")
    assert "escaped.md" in plans["number-validator"]["reason"]


def test_status_shows_a_done_a_failed_a_half_done_and_an_out_of_date_plan_in_text_and_json(project):
    plans = project.root / "plans" / "packages" / "core"
    example = (plans / "data-validator.md").read_text()
    for name in ("broken-validator", "half-validator", "stale-validator"):
        (plans / f"{name}.md").write_text(example.replace("@example/data-validator", f"@example/{name}"))
    project.api.default = lambda request: Text(
        example_answer(request.phase).replace(
            "@example/data-validator", re.search(r"npm package `([^`]+)`", request.system).group(1)
        )
    )
    project.doit("generate:data-validator", check=True)
    project.doit(
        "generate:half-validator:01-planning",
        "generate:stale-validator:01-planning",
        "generate:broken-validator:01-planning",
        check=True,
    )
    (project.workspace / ".git" / "index.lock").write_text("")  # someone else's git command
    project.doit("generate:broken-validator:02-foundation")
    (project.workspace / ".git" / "index.lock").unlink()
    stale = plans / "stale-validator.md"
    stale.write_text(stale.read_text() + "\n- Also accept ISO dates.\n")
    calls = len(project.api.hits)

    text = project.doit("status", check=True).stdout
    listed = {plan["plan"]: plan for plan in json.loads(project.doit("status", "--json", check=True).stdout)["plans"]}

    lines = {line.split()[0]: line for line in text.splitlines() if "@example/" in line}
    assert re.search(
        r"15/15 phases done, \$\d+\.\d{4}, [\d,]+ in / [\d,]+ out tokens on feat/", lines["data-validator"]
    )
    assert re.search(r"1/15 phases done, failed at FOUNDATION, .*index\.lock", lines["broken-validator"])
    assert re.search(r"1/15 phases done, in progress, next FOUNDATION", lines["half-validator"])
    assert re.search(r"1/15 phases done, out of date from PLANNING, .*: the plan changed$", lines["stale-validator"])
    assert {name: (plan["state"], plan["phasesDone"], plan["phase"]) for name, plan in listed.items()} == {
        "data-validator": ("done", 15, "MERGE"),
        "broken-validator": ("failed", 1, "FOUNDATION"),
        "half-validator": ("in progress", 1, "FOUNDATION"),
        "stale-validator": ("out of date", 1, "PLANNING"),
    }
    assert listed["stale-validator"]["reason"] == "the plan changed"
    assert listed["data-validator"]["costUsd"] > listed["half-validator"]["costUsd"] > 0
    assert len(project.api.hits) == calls, "status asks the model nothing"

    rerun = project.doit("generate:stale-validator:01-planning", check=True)
    assert re.search(r"PLANNING +runs again: the plan changed", rerun.stdout), rerun.stdout


def test_on_merge_merge_merges_a_green_branch_into_its_base_with_a_merge_commit(project):
    project.write_config(git={"onMerge": "merge"})

    result = project.doit("generate:data-validator", check=True)

    state = project.state()
    assert re.search(rf"merged {state['branch']} into main \(commit [0-9a-f]{{10}}\)", result.stdout), result.stdout
    assert project.git("branch", "--show-current").strip() == "main"
    parents = project.git("log", "-1", "--format=%P", "main").split()
    assert len(parents) == 2 and parents[1] == state["mergeReady"]["head"], "--no-ff: a merge commit"
    assert project.git("log", "-1", "--format=%s", "main").strip() == "Add @example/data-validator 0.1.0"
    assert (project.workspace / "packages/core/data-validator/src/index.ts").is_file()
    assert state["mergeReady"]["mergeCommit"] == project.git("rev-parse", "main").strip()


def test_on_merge_merge_of_a_package_never_validated_is_refused_saying_why_and_the_branch_stays(project):
    project.write_config(git={"onMerge": "merge"}, buildValidation={"enabled": False})

    result = project.doit("generate:data-validator")

    assert result.returncode != 0
    assert "MERGE: not merged (git.onMerge is merge): the package was not validated" in result.stdout, result.stdout
    assert "PythonAction Error" not in result.stdout + result.stderr, "the refusal itself, not a crash recording it"
    assert project.git("branch", "--show-current").strip() == project.state()["branch"]


def test_on_merge_merge_is_refused_when_the_base_moved_and_nothing_is_changed(project):
    project.write_config(git={"onMerge": "merge"})
    project.doit("generate:data-validator:14-final-polish", check=True)
    branch = project.state()["branch"]
    project.git("checkout", "-q", "main")
    (project.workspace / "NOTES.md").write_text("someone else's work\n")
    project.git("add", "NOTES.md")
    project.git("-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", "meanwhile on main")
    main_before = project.git("rev-parse", "main").strip()

    result = project.doit("generate:data-validator")

    assert result.returncode != 0
    assert re.search(r"not merged \(git\.onMerge is merge\): main has moved since the branch was made", result.stdout)
    assert project.git("rev-parse", "main").strip() == main_before, "main untouched"
    assert (project.workspace / ".generation-state/data-validator/PR.md").is_file(), "the work can go through review"
    assert project.state()["status"] == "failed"
    assert branch in project.git("branch", "--format=%(refname:short)").split()


def test_on_merge_merge_checks_the_branch_head_and_refuses_a_red_one(project):
    project.write_config(git={"onMerge": "merge"})
    broken = example_answer("FINAL_POLISH").replace(
        "<summary>", '<file path="src/late.ts">\nexport const late: number = "not a number";\n</file>\n<summary>', 1
    )
    project.api.script("FINAL_POLISH", Text(broken))

    result = project.doit("generate:data-validator")

    assert result.returncode != 0
    assert re.search(r"not merged \(git\.onMerge is merge\): the branch head is not green \(type: ", result.stdout), (
        result.stdout
    )
    assert project.git("log", "--format=%s", "main").split("\n")[:1] == ["initial"], "main untouched"
    assert (project.workspace / ".generation-state/data-validator/PR.md").is_file()
