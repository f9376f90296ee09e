"""Bad input gets one clear error and loses nothing: hostile or broken model answers, API errors, a bad plan, a bad
config, a missing API key, a workspace that is not ready."""

from __future__ import annotations

import json
import shutil
import time

import pytest

import phases
from conftest import example_answer
from messages_api import ApiError, Text
from package_builder.generation.answer import parse_answer

GOOD = '<file path="docs/architecture.md">\n# Architecture\n</file>\n<summary>ok</summary>\n'
HOSTILE = {
    "parent-escape": ('<file path="../../escaped.txt">\npwned\n</file>\n', "must be a normalised relative path"),
    "absolute": ('<file path="/tmp/pb-absolute-escape.txt">\npwned\n</file>\n', "absolute paths are not allowed"),
    "not-allowed": (
        '<file path="src/index.ts">\nexport {};\n</file>\n',
        "PLANNING may only write docs/architecture.md",
    ),
    "duplicate": (GOOD + GOOD, "appears in more than one block"),
    "unterminated": ('<file path="docs/architecture.md">\n# Architecture\n', "is never closed"),
    "no-files": ("I would write an architecture document here.\n", "has no <file"),
    "git-dir": ('<file path=".git/config">\n[core]\n</file>\n', "may not write inside .git"),
}


# Every kind is refused at the answer level in tests/unit; through `doit`, one runs in the fast tier, all in the slow.
FAST_KINDS = ("parent-escape",)


@pytest.mark.parametrize(
    "kind", [kind if kind in FAST_KINDS else pytest.param(kind, marks=pytest.mark.slow) for kind in sorted(HOSTILE)]
)
def test_hostile_answer_is_refused_whole_and_a_rerun_resumes(project, kind, tmp_path):
    answer, message = HOSTILE[kind]
    project.write_config(model={"maxAnswerRepairs": 0})
    project.api.script("PLANNING", Text(answer))

    result = project.doit("generate:data-validator")

    assert result.returncode != 0
    assert message in result.stdout + result.stderr
    assert not (project.workspace.parent / "escaped.txt").exists()
    assert not (project.package_dir / "src").exists() and not (project.package_dir / "docs").exists()
    state = project.state()
    assert state["status"] == "failed" and state["failureRecovery"]["failedStep"] == 1
    assert message in state["failureRecovery"]["error"]

    project.doit("generate:data-validator:01-planning", check=True)
    state = project.state()
    assert state["failureRecovery"] is None and [s["phase"] for s in state["completedSteps"]] == ["PLANNING"]
    assert (project.package_dir / "docs" / "architecture.md").is_file()


def test_a_truncated_answer_is_continued_from_where_it_stopped_and_pays_only_for_the_rest(project):
    whole = example_answer("PLANNING")
    cut = whole.index("\n", len(whole) // 2) + 1
    prefill = whole[:cut].rstrip()  # the API refuses a prefill that ends in white space
    project.api.script("PLANNING", Text(whole[:cut], stop_reason="max_tokens"), Text(whole[len(prefill) :]))

    result = project.doit("generate:data-validator:01-planning", check=True)

    assert "answer cut off at 5000 tokens; continuing it (1/3)" in result.stdout
    first, second = project.api.hits_for("PLANNING")
    assert second.messages[:-1] == first.messages, "the same conversation, not a full re-ask"
    assert second.messages[-1] == {"role": "assistant", "content": prefill}
    artifact = json.loads((project.workspace / ".generation-state/data-validator/01-planning.json").read_text())
    assert [c["stopReason"] for c in artifact["calls"]] == ["max_tokens", "end_turn"]
    assert (project.package_dir / "docs/architecture.md").read_text() == parse_answer(
        whole, phases.BY_NAME["PLANNING"]
    ).files["docs/architecture.md"]


def test_a_model_that_refuses_prefills_is_asked_for_the_rest_in_a_turn_of_its_own(project):
    whole = example_answer("PLANNING")
    cut = whole.index("\n", len(whole) // 2) + 1
    project.api.refuse_prefill = True
    project.api.script("PLANNING", Text(whole[:cut], stop_reason="max_tokens"), Text(whole[cut:]))

    project.doit("generate:data-validator:01-planning", check=True)

    hits = project.api.hits_for("PLANNING")
    assert len(hits) == 3  # the answer, the refused prefill, the follow-up turn
    assert hits[2].messages[-2]["role"] == "assistant" and "Continue it exactly where it stopped" in hits[2].user_text
    assert (project.package_dir / "docs/architecture.md").read_text() == parse_answer(
        whole, phases.BY_NAME["PLANNING"]
    ).files["docs/architecture.md"]


def test_an_answer_still_cut_off_after_the_continuations_is_never_applied(project):
    project.write_config(model={"maxContinuations": 1, "maxAnswerRepairs": 0})
    project.api.script("PLANNING", Text(GOOD[:30], stop_reason="max_tokens"), Text("more", stop_reason="max_tokens"))
    result = project.doit("generate:data-validator:01-planning")
    assert result.returncode != 0
    assert "even after 1 continuation(s); nothing of it was applied" in result.stdout
    assert not (project.package_dir / "docs").exists()


def test_a_path_through_a_symlink_to_outside_is_refused(project, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    project.package_dir.mkdir(parents=True)
    (project.package_dir / "docs").symlink_to(outside)
    project.git("add", "packages")
    project.git("-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", "a symlink")

    result = project.doit("generate:data-validator:01-planning")

    assert result.returncode != 0
    assert "goes through a symlink" in result.stdout
    assert list(outside.iterdir()) == []


@pytest.mark.slow  # real waits: retry-after, backoff, the wait limit
def test_a_429_and_a_529_burst_are_waited_out_and_a_limit_that_never_lifts_fails_clearly(project):
    project.write_config(model={"maxRetries": 0})  # no SDK retries: the waiting is package-builder's own
    project.api.script(
        "PLANNING",
        ApiError(429, "rate_limit_error", "slow down", {"retry-after": "30"}),
        ApiError(529, "overloaded_error", "Overloaded", {}),
        ApiError(529, "overloaded_error", "Overloaded", {}),
    )
    started = time.monotonic()
    project.doit("generate:data-validator:01-planning", check=True)
    assert len(project.api.hits_for("PLANNING")) == 4
    assert time.monotonic() - started >= 30, "retry-after is honoured"

    project.write_config(model={"maxRetries": 0, "maxWaitSeconds": 2})
    project.api.script("FOUNDATION", *[ApiError(429, "rate_limit_error", "slow down", {"retry-after": "1"})] * 5)
    result = project.doit("generate:data-validator:02-foundation")
    assert result.returncode != 0
    assert "s (model.maxWaitSeconds) for the API's rate limit (429 slow down)" in result.stdout
    assert project.state()["failureRecovery"]["failedStep"] == 2

    project.api._queues.clear()
    project.write_config(model={"maxRetries": 0})
    project.doit("generate:data-validator:02-foundation", check=True)
    assert len(project.api.hits_for("PLANNING")) == 4, "nothing answered is asked again"


def test_a_plan_without_a_package_name_names_the_file_and_what_to_add(project):
    plan = project.root / "plans" / "packages" / "core" / "data-validator.md"
    plan.write_text("# Data validator\n\nSome words.\n")
    result = project.doit("generate:data-validator")
    assert result.returncode != 0
    assert "data-validator.md: no package name: add a line like **Package:**" in result.stdout
    assert project.api.hits == []


@pytest.mark.parametrize("bullet, name", [("- `@Acme/Logger`: logging", "@Acme/Logger")])  # more in tests/unit
def test_an_invalid_name_in_the_plans_dependencies_list_is_refused_before_any_model_call(project, bullet, name):
    plan = project.root / "plans" / "packages" / "core" / "data-validator.md"
    lines = plan.read_text().splitlines(keepends=True)
    line = lines.index("This package has no external dependencies.\n") + 1
    lines[line - 1] = bullet + "\n"
    plan.write_text("".join(lines))
    project.write_config(turnBasedGeneration={"phasesToExecute": ["PLANNING"]})  # without the fix: one paid call

    result = project.doit("generate:data-validator")

    assert result.returncode != 0
    assert f"data-validator.md:{line}: dependency {name!r} is not a valid npm package name" in result.stdout
    assert project.api.hits == []
    assert f"dependency {name!r} is not a valid npm package name" in project.doit().stdout, "status shows it too"


def test_a_cassette_miss_after_an_edited_plan_says_to_undo_it_or_record_with_a_key(project):
    from conftest import REPO

    cassette = REPO / "examples" / "data-validator" / "cassette.json"
    project.write_config(model={"provider": "replay", "cassette": str(cassette)})
    plan = project.root / "plans" / "packages" / "core" / "data-validator.md"
    plan.write_text(plan.read_text() + "\n## Notes\n\nAlso validate e-mail addresses.\n")

    result = project.doit("generate:data-validator:01-planning", ANTHROPIC_API_KEY=None)

    assert result.returncode != 0
    assert f"PLANNING: no answer in cassette {cassette}" in result.stdout
    assert "undo the edit (the plan, prompts/ or phases/)" in result.stdout
    assert f'set model.provider to "record" in {project.config_path} and export ANTHROPIC_API_KEY' in result.stdout
    assert "scripts/record-example-cassette" in result.stdout
    assert project.api.hits == []


@pytest.mark.parametrize(
    "config_text, message",
    [
        ("{not json", "not valid JSON"),
        (json.dumps({"workspaceRoot": ".", "model": {"provider": "openai"}}), "field model.provider"),
        (
            json.dumps({"workspaceRoot": ".", "maxConcurentBuilds": 2}),
            "field maxConcurentBuilds: unknown field; did you mean maxConcurrentBuilds?",
        ),
        (json.dumps({"model": {}}), "field workspaceRoot: Field required"),
        (
            json.dumps({"workspaceRoot": ".", "turnBasedGeneration": {"phasesToSkip": ["TESTS"]}}),
            "unknown phase 'TESTS'",
        ),
    ],
)
def test_a_bad_config_names_the_file_and_the_field(project, config_text, message):
    project.config_path.write_text(config_text)
    result = project.doit("generate:data-validator")
    assert result.returncode != 0
    assert "build-env.json" in result.stdout and message in result.stdout
    assert project.api.hits == []


def test_a_missing_api_key_is_one_clear_error_and_nothing_is_committed(project):
    result = project.doit("generate:data-validator", ANTHROPIC_API_KEY=None)
    assert result.returncode != 0
    assert "ANTHROPIC_API_KEY is not set" in result.stdout
    assert project.api.hits == []
    assert project.git("log", "--all", "--oneline").count("\n") == 1
    summary = json.loads((project.workspace / ".generation-state/summary.json").read_text())
    assert summary["ok"] is False and summary["failed"] == ["data-validator"]


def test_a_failure_before_any_checkpoint_still_fails_the_summary(project):
    shutil.rmtree(project.workspace / ".git")
    project.git("init", "--quiet", "--initial-branch=main")  # a repo with no commit yet: no branch to start from

    result = project.doit("generate:data-validator")

    assert result.returncode != 0
    summary = json.loads((project.workspace / ".generation-state/summary.json").read_text())
    assert summary["ok"] is False and summary["failed"] == ["data-validator"], result.stdout
    assert summary["plans"][0]["state"] == "failed" and "no commits yet" in summary["plans"][0]["reason"]


@pytest.mark.slow  # a doit-level story of 3 s: the fast tier keeps one per kind of harm
def test_changes_generation_did_not_make_are_never_overwritten(project):
    project.doit("generate:data-validator:02-foundation", check=True)
    manifest = project.package_dir / "package.json"
    manifest.write_text('{"name": "mine"}\n')
    project.api.script("TYPES", Text(example_answer("TYPES")))
    result = project.doit("generate:data-validator")
    assert result.returncode != 0
    assert "has changes generation did not make (package.json" in result.stdout
    assert manifest.read_text() == '{"name": "mine"}\n'


def test_a_workspace_that_is_not_a_git_repository_is_refused_and_nothing_is_written_into_it(project, tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("the user's own folder\n")
    project.write_config(workspaceRoot=str(plain))
    result = project.doit("generate:data-validator")
    assert result.returncode != 0
    assert f"workspaceRoot {plain} (in {project.config_path}) is not a git repository" in result.stdout
    assert "run `git init` there and make a first commit" in result.stdout
    assert project.api.hits == []
    status = project.doit()  # a bare `doit` says it too, before anyone tries to generate
    assert status.returncode != 0 and "is not a git repository" in status.stdout
    assert [path.name for path in plain.iterdir()] == ["notes.txt"], "no .generation-state/summary.json"


def test_a_workspace_root_that_does_not_exist_is_refused_and_not_created(project, tmp_path):
    missing = tmp_path / "typo" / "monorepo"
    project.write_config(workspaceRoot=str(missing))
    result = project.doit("generate:data-validator")
    assert result.returncode != 0
    assert f"workspaceRoot {missing} (in {project.config_path}) does not exist: create it" in result.stdout
    assert project.api.hits == []
    status = project.doit()
    assert status.returncode != 0 and f"workspaceRoot {missing}" in status.stdout and "does not exist" in status.stdout
    assert not (tmp_path / "typo").exists()


def test_a_config_with_an_unknown_field_fails_its_own_plans_never_the_checkouts(project):
    own = project.root / "team-plans"
    (own / "core").mkdir(parents=True)
    (project.root / "plans" / "packages" / "core" / "data-validator.md").rename(own / "core" / "mine.md")
    (project.root / "plans" / "packages" / "core" / "checkout-only.md").write_text("**Package:** `@x/checkout-only`\n")
    project.write_config(plansDir="../team-plans", maxConcurentBuilds=2)  # relative to configs/

    listed = project.doit("list").stdout
    assert "generate:mine" in listed and "checkout-only" not in listed, listed
    result = project.doit("generate:mine")
    assert result.returncode != 0
    assert "field maxConcurentBuilds: unknown field; did you mean maxConcurrentBuilds?" in result.stdout
    assert project.api.hits == []
    status = project.doit()
    assert "maxConcurentBuilds" in status.stdout and "checkout-only" not in status.stdout

    project.config_path.write_text('{"workspaceRoot": "..", "plansDir": 5}')  # which plans it means cannot be told
    status = project.doit()
    assert "field plansDir" in status.stdout and "checkout-only" not in status.stdout
    assert "Traceback" not in status.stdout + status.stderr


def test_build_test_and_publish_with_a_bad_config_fail_naming_the_field(project):
    project.config_path.write_text(json.dumps({"workspaceRoot": str(project.workspace), "maxConcurentBuilds": 2}))
    for step in ("build", "test", "publish", "install"):
        result = project.doit(step)
        assert result.returncode != 0, step
        assert "field maxConcurentBuilds" in result.stdout + result.stderr, step


def test_an_extra_file_package_builder_renders_itself_is_dropped_not_paid_for_again(project):
    extra = '<file path="tsconfig.json">\n{"compilerOptions": {"strict": false}}\n</file>\n'
    project.api.script("FOUNDATION", Text(extra + example_answer("FOUNDATION")))

    result = project.doit("generate:data-validator:02-foundation", check=True)

    assert len(project.api.hits_for("FOUNDATION")) == 1, "applied in one call"
    assert (
        "dropped 1 block(s) this phase does not write: 'tsconfig.json': package-builder renders it itself"
        in result.stdout
    )
    artifact = json.loads((project.workspace / ".generation-state/data-validator/02-foundation.json").read_text())
    assert artifact["dropped"] == ["'tsconfig.json': package-builder renders it itself"]
    assert '"strict": true' in (project.package_dir / "tsconfig.json").read_text(), "the rendered one, not the model's"
