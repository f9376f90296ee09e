"""Plans in the seed's format (including real ones written by others) and the strict answer protocol."""

from __future__ import annotations

from pathlib import Path

import pytest

import phases
from package_builder.base.errors import ModelAnswerError, PlanError
from package_builder.generation.answer import parse_answer
from package_builder.generation.plan import parse_plan

SHARED_PLANS = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "plans"
TESTING = phases.BY_NAME["TESTING"]


def write_plan(tmp_path, text, category="core", name="thing"):
    path = tmp_path / "plans" / "packages" / category / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_bundled_plan_parses():
    example = Path(__file__).resolve().parents[1] / "examples/data-validator"
    plan = parse_plan(example / "plans/packages/core/data-validator.md")
    assert plan.package_name == "@example/data-validator" and plan.category == "core"
    assert plan.package_path == "packages/core/data-validator" and plan.coverage_target == 90


def test_seed_format_with_dependencies_section(tmp_path):
    plan = parse_plan(
        write_plan(
            tmp_path,
            "# @acme/thing\n\n**Package:** `@acme/thing`\n**Type:** core\n\n"
            "## Overview\n\nDoes things.\n\n## Dependencies\n\n"
            "- `@acme/logger`: logging\n- `zod` — schemas\n\n## Usage\n\n- `x`: y\n",
        )
    )
    assert [d.name for d in plan.dependencies] == ["@acme/logger", "zod"]
    assert plan.dependencies[0].purpose == "logging"
    assert plan.description == "Does things."


def test_front_matter_overrides_fields(tmp_path):
    plan = parse_plan(
        write_plan(
            tmp_path,
            "---\npackage: '@acme/other'\ncoverage: 95\npath: libs/other\n---\n"
            "**Package:** `@acme/thing`\n**Type:** core\n",
        )
    )
    assert (plan.package_name, plan.coverage_target, plan.package_path) == ("@acme/other", 95, "libs/other")


@pytest.mark.parametrize(
    "text, message",
    [
        ("# Thing\n", "no package name"),
        ("**Package:** `@acme/Thing`\n", "not a valid npm package name"),
        ("**Package:** `@acme/thing`\n**Type:** gadget\n", "'gadget' is not one of"),
        ("**Package:** `@acme/thing`\n**Type:** utility\n", "disagrees with the plan's folder 'core'"),
        ("---\npackage: [\n---\n", "front matter is not valid YAML"),
        ("---\ncolour: red\n---\n", "unknown front matter field 'colour'"),
        ("---\npath: ../../etc\n---\n**Package:** `@acme/thing`\n", "must be a relative path inside the workspace"),
    ],
)
def test_bad_plans_name_the_file_and_the_fix(tmp_path, text, message):
    path = write_plan(tmp_path, text)
    with pytest.raises(PlanError) as error:
        parse_plan(path)
    assert str(path) in str(error.value) and message in str(error.value)


@pytest.mark.skipif(not SHARED_PLANS.is_dir(), reason="../shared is not beside this checkout")
def test_real_plans_written_by_others_parse_or_are_refused_clearly():
    logger = parse_plan(SHARED_PLANS / "logger.md")
    assert (logger.package_name, logger.category, logger.coverage_target) == ("@test/logger", "utility", 85)
    assert logger.dependencies == ()
    with pytest.raises(PlanError, match=r"simple-package.md: no package type: add a line \*\*Type:\*\*"):
        parse_plan(SHARED_PLANS / "simple-package.md")


def test_answer_with_files_delete_and_summary():
    answer = parse_answer(
        'Here you go.\n<file path="tests/a.test.ts">\nline 1\n\nline 3\n</file>\n'
        '<delete path="tests/old.test.ts"/>\n<summary>\nTwo lines\nof summary\n</summary>\n',
        TESTING,
    )
    assert answer.files == {"tests/a.test.ts": "line 1\n\nline 3\n"}
    assert answer.deletes == ("tests/old.test.ts",)
    assert answer.summary == "Two lines\nof summary"


@pytest.mark.parametrize(
    "text, message",
    [
        ('<file path="tests/a.ts">\nx\n', "never closed"),
        ('<file path="tests/a.ts">\nx\n</file>\n<file path="tests/a.ts">\ny\n</file>\n', "more than one block"),
        ("<file path=tests/a.ts>\nx\n</file>\n", "malformed tag"),
        ('<file path="tests//a.ts">\nx\n</file>\n', "normalised"),
        ('<file path="./tests/a.ts">\nx\n</file>\n', "normalised"),
        ('<file path="tests/../../a.ts">\nx\n</file>\n', "normalised"),
        ('<file path="C:\\evil.ts">\nx\n</file>\n', "not a usable path"),
        ('<file path="src/a.ts">\nx\n</file>\n', "TESTING may only write tests/**"),
        ('<delete path="/etc/passwd"/>\n', "absolute"),
        ("", "has no <file"),
    ],
)
def test_malformed_answers_are_refused_with_the_reason(text, message):
    with pytest.raises(ModelAnswerError, match=message.replace("*", r"\*").replace("(", r"\(")):
        parse_answer(text, TESTING)


def test_phase_declarations_keep_reruns_exact():
    """A later phase that may write a path an earlier phase writes must read that phase, or a rerun of the earlier one
    would leave the later one's version stale on disk."""
    samples = [
        "src/index.ts",
        "src/core.ts",
        "src/types/index.ts",
        "src/utils/a.ts",
        "src/errors/a.ts",
        "tests/a.test.ts",
        "README.md",
        "docs/architecture.md",
        "docs/INTEGRATION_REVIEW.md",
        "examples/a.ts",
        "package.json",
        "CHANGELOG.md",
    ]
    for later in phases.PHASES:
        for earlier in phases.PHASES[: later.number - 1]:
            for path in samples:
                if later.may_write(path) and earlier.may_write(path):
                    assert earlier.name in later.reads, f"{later.name} may overwrite {path} from {earlier.name}"


def test_default_model_is_not_deprecated_by_the_installed_sdk():
    from anthropic._data.deprecated_models import DEPRECATED_MODELS

    from package_builder.base.config import DEFAULT_MODEL

    assert DEFAULT_MODEL not in DEPRECATED_MODELS


def test_the_checkout_lists_only_the_users_plans_and_plans_dir_points_elsewhere(project):
    repo = Path(__file__).resolve().parents[1]
    assert not list((repo / "plans" / "packages").glob("*/*.md")), "the example's plan lives with the example"
    (project.root / "plans" / "packages" / "core" / "data-validator.md").unlink()

    mine = project.doit("list", check=True).stdout
    assert "generate:" not in mine, mine

    project.write_config(plansDir=str(repo / "examples" / "data-validator" / "plans" / "packages"))
    assert "generate:data-validator" in project.doit("list", check=True).stdout
