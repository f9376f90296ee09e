"""Fast: plan files (package_builder/generation/plan.py) beyond what tests/test_plans_and_answers.py covers.

A user drops `<category>/<name>.md` plans into plans/packages/; each becomes a doit task whose package name, folder,
coverage target and dependencies come from the plan, or a PlanError says which file and what to add.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from package_builder.base.errors import PlanError
from package_builder.generation.plan import CATEGORIES, COVERAGE_TARGETS, Dependency, parse_plan
from package_builder.generation.plan_files import discover_plans

SHARED_PLANS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "plans"
needs_shared = pytest.mark.skipif(not SHARED_PLANS.is_dir(), reason="../shared is not beside this checkout")


def write_plan(root: Path, text: str, category: str = "core", name: str = "thing") -> Path:
    path = root / "plans" / "packages" / category / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def refused(path: Path) -> str:
    with pytest.raises(PlanError) as error:
        parse_plan(path)
    assert str(path) in str(error.value), "a plan error must name the plan file"
    return str(error.value)


# --- discovery -------------------------------------------------------------------------------------------------------


def test_discovery_finds_plans_one_folder_deep_sorted_and_ignores_the_rest(tmp_path):
    b = write_plan(tmp_path, "x", "utility", "b-plan")
    a = write_plan(tmp_path, "x", "core", "a-plan")
    root = tmp_path / "plans" / "packages"
    (root / "README.md").write_text("not a plan: not inside a category folder")
    (root / "core" / "notes.txt").write_text("not markdown")
    (root / "core" / "drafts").mkdir()
    (root / "core" / "drafts" / "later.md").write_text("two levels deep")
    assert discover_plans(root) == sorted([a, b])


def test_two_plans_with_one_name_in_different_categories_are_refused_naming_both(tmp_path):
    first = write_plan(tmp_path, "x", "core", "logger")
    second = write_plan(tmp_path, "x", "utility", "logger")
    with pytest.raises(PlanError) as error:
        discover_plans(tmp_path / "plans" / "packages")
    message = str(error.value)
    assert str(first) in message and str(second) in message and "task names must be unique" in message


def test_a_missing_plans_folder_means_no_plans_not_a_crash(tmp_path):
    assert discover_plans(tmp_path / "nowhere") == []


# --- names, categories, coverage -------------------------------------------------------------------------------------


@pytest.mark.parametrize("category", CATEGORIES)
def test_each_category_gets_its_own_coverage_target_and_package_folder(tmp_path, category):
    plan = parse_plan(write_plan(tmp_path, f"**Package:** `@acme/widget`\n**Type:** {category}\n", category, "widget"))
    assert plan.category == category
    assert plan.coverage_target == COVERAGE_TARGETS[category]
    assert plan.package_path == f"packages/{category}/widget"


def test_coverage_targets_are_the_documented_ones():
    assert COVERAGE_TARGETS == {"core": 90, "validator": 90, "service": 85, "utility": 85, "suite": 80, "ui": 80}


def test_a_plan_outside_a_category_folder_takes_its_type_line(tmp_path):
    plan = parse_plan(write_plan(tmp_path, "**Package:** `widget`\n**Type:** UI\n", "misc", "widget"))
    assert (plan.category, plan.coverage_target, plan.package_path) == ("ui", 80, "packages/ui/widget")


def test_a_plan_outside_a_category_folder_without_a_type_is_refused_with_the_fix(tmp_path):
    message = refused(write_plan(tmp_path, "**Package:** `widget`\n", "misc", "widget"))
    assert "no package type: add a line **Type:**" in message


def test_front_matter_category_and_coverage_set_the_target(tmp_path):
    plan = parse_plan(
        write_plan(tmp_path, "---\ncategory: service\ncoverage: 70\n---\n**Package:** `@acme/api`\n", "service", "api")
    )
    assert (plan.category, plan.coverage_target) == ("service", 70)


@pytest.mark.parametrize("value", ["true", "101", "-1", "'90'", "90.5"])
def test_a_coverage_that_is_not_a_whole_percentage_is_refused(tmp_path, value):
    message = refused(write_plan(tmp_path, f"---\ncoverage: {value}\n---\n**Package:** `@acme/thing`\n"))
    assert "'coverage' must be a whole number from 0 to 100" in message


@pytest.mark.parametrize("value", [0, 100])
def test_coverage_at_the_bounds_is_accepted(tmp_path, value):
    plan = parse_plan(write_plan(tmp_path, f"---\ncoverage: {value}\n---\n**Package:** `@acme/thing`\n"))
    assert plan.coverage_target == value


def test_the_package_name_can_come_from_the_heading_with_version_and_description_bullets(tmp_path):
    plan = parse_plan(write_plan(tmp_path, "# @acme/thing\n\n- Version: 2.3.4\n- Description: Does a thing well\n"))
    assert (plan.package_name, plan.version, plan.description) == ("@acme/thing", "2.3.4", "Does a thing well")
    assert plan.unscoped_name == "thing"


def test_the_package_line_wins_over_the_heading(tmp_path):
    plan = parse_plan(write_plan(tmp_path, "# @acme/heading\n\n**Package:** `@acme/line`\n"))
    assert plan.package_name == "@acme/line"


def test_defaults_when_the_plan_gives_no_version_or_description(tmp_path):
    plan = parse_plan(write_plan(tmp_path, "**Package:** `@acme/thing`\n"))
    assert (plan.version, plan.description, plan.dependencies) == ("0.1.0", "", ())


def test_the_description_falls_back_to_the_purpose_paragraph_joined_onto_one_line(tmp_path):
    plan = parse_plan(
        write_plan(
            tmp_path,
            "**Package:** `@acme/thing`\n\n## Purpose\n\n- a bullet first\n\n"
            "Validates\nthings  quickly.\n\n## Usage\n\nnot this\n",
        )
    )
    assert plan.description == "Validates things quickly."


def test_an_uppercase_file_name_is_refused_because_it_becomes_the_task_name(tmp_path):
    plan = write_plan(tmp_path, "**Package:** `@acme/x`\n", name="MyThing")
    assert "the file name must be lowercase" in refused(plan)


def test_a_package_name_longer_than_npm_allows_is_refused(tmp_path):
    name = "@acme/" + "a" * 210
    assert "is not a valid npm package name" in refused(write_plan(tmp_path, f"**Package:** `{name}`\n"))


def test_a_plan_that_is_not_utf8_is_refused_as_unreadable(tmp_path):
    path = write_plan(tmp_path, "")
    path.write_bytes(b"\xff\xfe**Package:** x")
    assert "cannot read plan" in refused(path)


def test_a_missing_plan_file_is_refused_as_unreadable(tmp_path):
    assert "cannot read plan" in refused(tmp_path / "plans" / "packages" / "core" / "gone.md")


@pytest.mark.parametrize("package_path", ["/abs/path", "packages/../../up", "packages//double", ".", "packages/x/"])
def test_a_front_matter_path_outside_or_unnormalised_is_refused(tmp_path, package_path):
    path = write_plan(tmp_path, f"---\npath: '{package_path}'\n---\n**Package:** `@acme/thing`\n")
    assert "must be a relative path inside the workspace" in refused(path)


def test_front_matter_that_is_a_list_is_refused(tmp_path):
    assert "front matter must be a mapping" in refused(write_plan(tmp_path, "---\n- package\n---\n"))


def test_the_body_the_prompts_show_excludes_front_matter(tmp_path):
    text = "---\ncoverage: 95\n---\n**Package:** `@acme/thing`\n\n## Overview\n\nHi.\n\n\n"
    plan = parse_plan(write_plan(tmp_path, text))
    assert plan.body == "**Package:** `@acme/thing`\n\n## Overview\n\nHi.\n"
    assert "coverage" not in plan.body


# --- dependencies ----------------------------------------------------------------------------------------------------


def test_dependency_subsections_stay_inside_the_dependencies_section(tmp_path):
    plan = parse_plan(
        write_plan(
            tmp_path,
            "**Package:** `@acme/thing`\n\n## Dependencies\n\n### Runtime\n"
            "- `zod`: schemas\n\n### Development\n- `@acme/test-kit` — fixtures\n\n"
            "## API\n\n- `@acme/not-a-dependency`: mentioned elsewhere\n",
        )
    )
    assert plan.dependencies == (Dependency("zod", "schemas"), Dependency("@acme/test-kit", "fixtures"))


def test_prose_bullets_in_the_dependencies_section_are_not_dependencies(tmp_path):
    plan = parse_plan(
        write_plan(
            tmp_path,
            "**Package:** `@acme/thing`\n\n## Dependencies\n\n"
            "- none at runtime\n- lodash: only if needed (no backticks: prose)\n"
            "- @acme/logger: scoped names count without backticks\n",
        )
    )
    assert plan.dependencies == (Dependency("@acme/logger", "scoped names count without backticks"),)


def test_a_dependencies_heading_with_more_words_still_counts(tmp_path):
    plan = parse_plan(write_plan(tmp_path, "**Package:** `@acme/thing`\n\n## Dependencies and peers\n\n- `react`\n"))
    assert plan.dependencies == (Dependency("react", ""),)


def test_front_matter_dependencies_take_names_and_purposes_and_replace_the_section(tmp_path):
    plan = parse_plan(
        write_plan(
            tmp_path,
            "---\ndependencies:\n  - zod\n  - {name: '@acme/log', purpose: logging}\n"
            "---\n**Package:** `@acme/thing`\n\n## Dependencies\n\n- `ignored-one`\n",
        )
    )
    assert plan.dependencies == (Dependency("zod", ""), Dependency("@acme/log", "logging"))


def test_empty_front_matter_dependencies_mean_none(tmp_path):
    plan = parse_plan(
        write_plan(tmp_path, "---\ndependencies:\n---\n**Package:** `@acme/thing`\n\n## Dependencies\n\n- `ignored`\n")
    )
    assert plan.dependencies == ()


@pytest.mark.parametrize(
    "front, message",
    [
        ("dependencies: zod", "'dependencies' must be a list"),
        ("dependencies: [Zod]", "dependency 'Zod' is not a valid npm package name"),
        ("dependencies: [5]", "dependency '' is not a valid npm package name"),
        ("dependencies: [{purpose: orphan}]", "dependency '' is not a valid npm package name"),
    ],
)
def test_bad_front_matter_dependencies_are_refused_naming_the_entry(tmp_path, front, message):
    assert message in refused(write_plan(tmp_path, f"---\n{front}\n---\n**Package:** `@acme/thing`\n"))


@pytest.mark.parametrize(
    "bullet, name",
    [
        ("- `@Acme/Logger`: logging", "@Acme/Logger"),
        ("- @Acme/Logger: scoped, no backticks", "@Acme/Logger"),
        ("- `lodash!`: utilities", "lodash!"),
        ("* **`zod@^3.22`** — schemas, with a version", "zod@^3.22"),
    ],
)
def test_an_invalid_name_in_the_dependencies_list_is_refused_naming_the_line_not_dropped(tmp_path, bullet, name):
    text = f"**Package:** `@acme/thing`\n\n## Overview\n\nHi.\n\n## Dependencies\n\n- `zod`: schemas\n{bullet}\n"
    path = write_plan(tmp_path, text)
    message = refused(path)
    assert f"{path}:10: dependency {name!r} is not a valid npm package name" in message
    assert "## Dependencies" in message


def test_the_line_number_of_a_bad_dependency_counts_the_front_matter(tmp_path):
    path = write_plan(tmp_path, "---\ncoverage: 95\n---\n**Package:** `@acme/thing`\n\n## Dependencies\n\n- `Bad`\n")
    assert f"{path}:8: dependency 'Bad'" in refused(path)


def test_bullets_inside_a_code_block_of_the_dependencies_section_declare_nothing(tmp_path):
    plan = parse_plan(
        write_plan(
            tmp_path,
            "**Package:** `@acme/thing`\n\n## Dependencies\n\n- `zod`\n\n```yaml\n- `Not/AName`: an example\n```\n",
        )
    )
    assert plan.dependencies == (Dependency("zod", ""),)


def test_a_bold_dependency_name_counts(tmp_path):
    plan = parse_plan(write_plan(tmp_path, "**Package:** `@acme/thing`\n\n## Dependencies\n\n- **`zod`**: schemas\n"))
    assert plan.dependencies == (Dependency("zod", "schemas"),)


# --- real plans written by others (../shared/fixtures/plans, read-only) ----------------------------------------------


@needs_shared
def test_the_real_logger_plan_gives_its_description_folder_and_default_version():
    plan = parse_plan(SHARED_PLANS / "logger.md")
    assert plan.task_name == "logger" and plan.unscoped_name == "logger"
    assert plan.package_path == "packages/utility/logger" and plan.version == "0.1.0"
    assert plan.description.startswith("A simple, typed logger utility for Node.js applications")
    assert "## API Design" in plan.body and plan.body.endswith("\n")


@needs_shared
def test_the_real_simple_package_plan_parses_once_it_sits_in_a_category_folder(tmp_path):
    target = tmp_path / "plans" / "packages" / "utility" / "simple-package.md"
    target.parent.mkdir(parents=True)
    shutil.copy(SHARED_PLANS / "simple-package.md", target)  # a copy in tmp, never in the project
    plan = parse_plan(target)
    assert plan.package_name == "@test/simple-package"  # only given as "- Name: ..."
    assert plan.description == "A simple test package for CLI integration testing"
    assert (plan.version, plan.category, plan.coverage_target) == ("0.1.0", "utility", 85)


@needs_shared
def test_the_real_plans_discover_as_two_tasks_when_put_in_category_folders(tmp_path):
    root = tmp_path / "plans" / "packages"
    for name, category in (("logger.md", "utility"), ("simple-package.md", "core")):
        (root / category).mkdir(parents=True, exist_ok=True)
        shutil.copy(SHARED_PLANS / name, root / category / name)
    assert [p.stem for p in discover_plans(root)] == ["simple-package", "logger"]  # sorted by path: core/ < utility/
