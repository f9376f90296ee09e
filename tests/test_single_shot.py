"""Single-shot mode for small packages: the whole package in one model call, then the same real BUILD_VALIDATION,
commits and checkpoint. Chosen per plan (front matter `mode: single-shot`) or for all (`turnBasedGeneration.enabled:
false`). The answer here is the bundled example's package, written out in one answer, as a model would."""

from __future__ import annotations

import pytest

import phases
from conftest import example_answer
from messages_api import Text
from package_builder.generation.answer import parse_answer
from test_generation import phase_commits


def whole_package_answer() -> str:
    files: dict[str, str] = {}
    for phase in phases.PHASES:
        if phase.calls_model and not phase.runs_checks:
            files.update(parse_answer(example_answer(phase.name), phase).files)
    blocks = "".join(f'<file path="{path}">\n{content}</file>\n' for path, content in files.items())
    return blocks + "<summary>The whole package in one answer.</summary>\n"


def test_turning_turn_based_generation_off_makes_every_plan_single_shot(project):
    project.write_config(turnBasedGeneration={"enabled": False})
    listing = project.doit("list", "--all", check=True).stdout
    assert "generate:data-validator:01-single-shot" in listing
    assert "generate:data-validator:02-build-validation" in listing and "03-merge" in listing
    assert "01-planning" not in listing


@pytest.mark.slow  # the real toolchain validates the package
def test_a_single_shot_plan_goes_green_in_one_call_with_one_commit_each_for_generation_and_validation(project):
    plan = project.root / "plans" / "packages" / "core" / "data-validator.md"
    plan.write_text("---\nmode: single-shot\n---\n" + plan.read_text())
    project.api.script("SINGLE_SHOT", Text(whole_package_answer()))

    result = project.doit("generate:data-validator", check=True)

    assert project.api.phases_called() == ["SINGLE_SHOT"]
    assert "phase 02/03 BUILD_VALIDATION  checks green" in result.stdout
    assert "3/3 phases done" in result.stdout
    state = project.state()
    assert state["status"] == "completed" and state["currentStepNumber"] == 3
    assert phase_commits(project, state["branch"]) == ["01-single-shot", "02-build-validation"]
    assert (project.package_dir / "tsconfig.json").is_file(), "rendered by package-builder, as in FOUNDATION"
