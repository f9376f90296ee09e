"""The type contract between phases: after each code-writing phase (TYPES … ERROR_HANDLING) package-builder runs a
cheap `tsc --noEmit` and the next phase's prompt carries its errors. The result is part of that phase's inputs, so
a rerun or a resume reuses exactly what was asked."""

from __future__ import annotations

import json

import pytest

import phases
from conftest import example_answer
from messages_api import Text
from package_builder.generation.answer import parse_answer

pytestmark = pytest.mark.slow  # real npm toolchain, full generations

ENTRY_POINT = "generate:data-validator:05-entry-point"
BROKEN = "export const broken: number = 'not a number';\n"


def core_answer_with_a_type_error() -> Text:
    files = parse_answer(example_answer("CORE_IMPLEMENTATION"), phases.BY_NAME["CORE_IMPLEMENTATION"]).files
    blocks = "".join(f'<file path="{path}">\n{content}</file>\n' for path, content in files.items())
    return Text(blocks + f'<file path="src/broken.ts">\n{BROKEN}</file>\n<summary>core, with a slip</summary>\n')


def artifact(project, slug: str) -> dict:
    return json.loads((project.workspace / f".generation-state/data-validator/{slug}.json").read_text())


def test_a_type_error_left_by_one_phase_is_in_the_next_phases_prompt(project):
    project.api.script("CORE_IMPLEMENTATION", core_answer_with_a_type_error())

    result = project.doit(ENTRY_POINT, check=True)

    assert "phase 03/15 TYPES  type-check clean" in result.stdout
    assert "phase 04/15 CORE_IMPLEMENTATION  type-check: 1 error(s), passed to the next phase" in result.stdout
    prompt = project.api.hits_for("ENTRY_POINT")[0].user_text
    assert "src/broken.ts" in prompt and "TS2322" in prompt
    assert "passes with no errors" in project.api.hits_for("CORE_IMPLEMENTATION")[0].user_text
    assert artifact(project, "04-core-implementation")["typeCheck"]["exitCode"] != 0
    assert artifact(project, "05-entry-point")["inputs"]["typeCheck"]


def test_a_kill_between_a_phase_and_its_type_check_resumes_exactly(project):
    project.api.script("CORE_IMPLEMENTATION", core_answer_with_a_type_error())
    project.doit(ENTRY_POINT, check=True)
    entry_before = artifact(project, "05-entry-point")
    core_path = project.workspace / ".generation-state/data-validator/04-core-implementation.json"
    core = json.loads(core_path.read_text())
    core.pop("typeCheck")  # as if killed after CORE_IMPLEMENTATION's commit, before its type-check
    core_path.write_text(json.dumps(core))

    result = project.doit(ENTRY_POINT, check=True)

    assert "CORE_IMPLEMENTATION  type-check: 1 error(s)" in result.stdout
    assert "ENTRY_POINT  reused: inputs unchanged, no model call" in result.stdout
    assert len(project.api.hits_for("ENTRY_POINT")) == len(project.api.hits_for("CORE_IMPLEMENTATION")) == 1
    assert artifact(project, "05-entry-point")["inputsDigest"] == entry_before["inputsDigest"]


def test_fixing_the_error_upstream_reruns_the_next_phase_with_a_clean_type_check(project):
    project.api.script("CORE_IMPLEMENTATION", core_answer_with_a_type_error())
    project.doit(ENTRY_POINT, check=True)
    plan = project.root / "plans/packages/core/data-validator.md"
    plan.write_text(plan.read_text() + "\nNo stray exports.\n")  # every phase runs again; CORE answers cleanly now

    result = project.doit(ENTRY_POINT, check=True)

    assert "CORE_IMPLEMENTATION  type-check clean" in result.stdout
    assert not (project.package_dir / "src/broken.ts").exists(), "a file the phase no longer writes is removed"
    prompts = project.api.hits_for("ENTRY_POINT")
    assert len(prompts) == 2 and "passes with no errors" in prompts[-1].user_text


def test_a_registry_outage_during_the_check_stops_and_a_rerun_goes_on_without_a_new_model_call(project):
    project.write_config(npmRegistry="http://127.0.0.1:9/")

    failed = project.doit("generate:data-validator:03-types", npm_config_fetch_retries="0")

    assert failed.returncode != 0
    assert "TYPES: the type-check after this phase stopped on an environment problem" in failed.stdout
    assert "typeCheck" not in artifact(project, "03-types") or artifact(project, "03-types")["typeCheck"] is None

    project.write_config()
    project.doit("generate:data-validator:04-core-implementation", check=True)

    assert len(project.api.hits_for("TYPES")) == 1
    assert artifact(project, "03-types")["typeCheck"]["exitCode"] == 0
