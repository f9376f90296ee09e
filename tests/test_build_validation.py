"""BUILD_VALIDATION runs the real toolchain (npm, tsc, vitest with coverage) on the generated package and asks the model
only to repair what really fails. Each test drives `doit` up to that phase with a scripted model answer."""

from __future__ import annotations

import json

import pytest

import phases
from conftest import example_answer
from messages_api import Text
from package_builder.generation.answer import parse_answer

pytestmark = pytest.mark.slow  # real npm toolchain, full generations

BUILD_VALIDATION = "generate:data-validator:13-build-validation"


def example_files(phase: str) -> dict[str, str]:
    return dict(parse_answer(example_answer(phase), phases.BY_NAME[phase]).files)


def answer(files: dict[str, str], deletes: tuple[str, ...] = ()) -> Text:
    blocks = "".join(f'<file path="{path}">\n{content}</file>\n' for path, content in files.items())
    return Text(blocks + "".join(f'<delete path="{path}"/>\n' for path in deletes) + "<summary>scripted</summary>\n")


def critical_fixes_with(path: str, content: str) -> Text:
    """The example's CRITICAL_FIXES answer, with one file added or replaced."""
    return answer({**example_files("CRITICAL_FIXES"), path: content})


def validation(project) -> dict:
    return json.loads((project.workspace / ".generation-state/data-validator/13-build-validation.json").read_text())


VALIDATE_TS = example_files("ERROR_HANDLING")["src/validate.ts"]
UTILS_TEST = example_files("TESTING")["tests/utils.test.ts"]
FAILING_UTILS_TEST = UTILS_TEST.replace(
    "expect(keyPath('a', 'b')).toBe('a.b');", "expect(keyPath('a', 'b')).toBe('a/b');"
)
MANIFEST = json.loads(example_files("CRITICAL_FIXES")["package.json"])


def test_the_example_goes_green_through_the_real_toolchain(project):
    result = project.doit(BUILD_VALIDATION, check=True)

    assert "checks green (install 0, type-check 0, build 0, tests 0)" in result.stdout
    assert project.api.hits_for("BUILD_VALIDATION") == []
    report = validation(project)["validation"]["attempts"][-1]
    assert report["green"] and all(value >= 90 for value in report["coverage"].values())
    assert [step["step"] for step in report["steps"]] == ["install", "type-check", "build", "tests"]
    written = (project.package_dir / "BUILD_VALIDATION.md").read_text()
    assert "**Green.**" in written and "`tsc --noEmit -p tsconfig.json` | 0" in written
    assert (project.package_dir / "dist" / "index.js").is_file()
    assert project.git("status", "--porcelain") == ""  # node_modules, dist and coverage stay out of git


def test_a_type_error_is_repaired_on_the_next_attempt(project):
    broken = VALIDATE_TS + "\nexport const broken: number = 'not a number';\n"
    project.api.script("CRITICAL_FIXES", critical_fixes_with("src/validate.ts", broken))
    project.api.script("BUILD_VALIDATION", answer({"src/validate.ts": VALIDATE_TS}))

    result = project.doit(BUILD_VALIDATION, check=True)

    repair = project.api.hits_for("BUILD_VALIDATION")
    assert len(repair) == 1 and "TS2322" in repair[0].user_text
    assert "green after 1 repair attempt(s)" in result.stdout
    assert "repair attempt 1 for @example/data-validator (type)" in project.git("log", "--format=%s")
    assert "broken" not in (project.package_dir / "src/validate.ts").read_text()


def test_a_dependency_that_does_not_exist_is_caught_before_install(project):
    invented = {**MANIFEST, "dependencies": {"@package-builder-test/no-such-package-xyz": "^1.0.0"}}
    project.api.script("CRITICAL_FIXES", critical_fixes_with("package.json", json.dumps(invented, indent=2) + "\n"))
    project.api.script("BUILD_VALIDATION", answer({"package.json": json.dumps(MANIFEST, indent=2) + "\n"}))

    project.doit(BUILD_VALIDATION, check=True)

    first = validation(project)["validation"]["attempts"][0]
    assert first["failure"] == "dependency" and first["steps"] == [], "nothing may be installed before the check"
    prompt = project.api.hits_for("BUILD_VALIDATION")[0].user_text
    assert "@package-builder-test/no-such-package-xyz (no such package" in prompt
    assert not (project.package_dir / "node_modules" / "@package-builder-test").exists()


def test_a_repair_that_deletes_a_test_is_refused(project):
    project.api.script("CRITICAL_FIXES", critical_fixes_with("tests/utils.test.ts", FAILING_UTILS_TEST))
    project.api.script(
        "BUILD_VALIDATION", answer({}, deletes=("tests/utils.test.ts",)), answer({"tests/utils.test.ts": UTILS_TEST})
    )

    result = project.doit(BUILD_VALIDATION, check=True)

    hits = project.api.hits_for("BUILD_VALIDATION")
    assert len(hits) == 2
    assert "tests/utils.test.ts: deleting tests is not a fix" in hits[1].user_text
    assert "green after 1 repair attempt(s)" in result.stdout
    assert (project.package_dir / "tests/utils.test.ts").read_text() == UTILS_TEST


def test_a_package_that_never_goes_green_ends_with_a_clear_report_and_resumes(project):
    project.write_config(buildValidation={"maxRepairAttempts": 1})
    project.api.script("CRITICAL_FIXES", critical_fixes_with("tests/utils.test.ts", FAILING_UTILS_TEST))
    project.api.script("BUILD_VALIDATION", answer({"src/validate.ts": VALIDATE_TS + "\n// no real fix\n"}))

    result = project.doit("generate:data-validator")

    assert result.returncode != 0
    assert "still red after 1 repair attempt(s): tests failed" in result.stdout
    assert "**Red:** tests failed" in (project.package_dir / "BUILD_VALIDATION.md").read_text()
    state = project.state()
    assert state["status"] == "failed" and state["failureRecovery"]["failedStep"] == 13
    assert project.api.hits_for("FINAL_POLISH") == []

    project.api.script("BUILD_VALIDATION", answer({"tests/utils.test.ts": UTILS_TEST}))
    project.doit("generate:data-validator", check=True)
    assert project.state()["status"] == "completed"
    assert "**Green.**" in (project.package_dir / "BUILD_VALIDATION.md").read_text()
    assert len(project.api.hits_for("PLANNING")) == 1


def test_install_scripts_of_a_generated_package_do_not_run(project):
    marker = "require('fs').writeFileSync('INSTALL_SCRIPT_RAN', '')"
    manifest = {
        **MANIFEST,
        "scripts": {**MANIFEST["scripts"], "preinstall": f'node -e "{marker}"', "postinstall": f'node -e "{marker}"'},
    }
    project.api.script("CRITICAL_FIXES", critical_fixes_with("package.json", json.dumps(manifest, indent=2) + "\n"))

    project.doit(BUILD_VALIDATION, check=True)

    assert validation(project)["validation"]["green"]
    assert not (project.package_dir / "INSTALL_SCRIPT_RAN").exists()


def test_an_unreachable_registry_stops_without_spending_model_calls(project):
    project.doit("generate:data-validator:12-critical-fixes", check=True)
    project.write_config(npmRegistry="http://127.0.0.1:9/")

    result = project.doit(BUILD_VALIDATION, npm_config_fetch_retries="0")

    assert result.returncode != 0
    assert "stopped on an environment problem, no model call spent: cannot reach http://127.0.0.1:9/" in result.stdout
    assert project.api.hits_for("BUILD_VALIDATION") == []
    assert validation(project)["validation"]["attempts"][-1]["failure"] == "environment"
    assert project.state()["failureRecovery"]["failedStep"] == 13


def test_a_repair_that_deletes_an_assertion_is_refused(project):
    failing_line = "expect(keyPath('a', 'b')).toBe('a/b');"
    project.api.script("CRITICAL_FIXES", critical_fixes_with("tests/utils.test.ts", FAILING_UTILS_TEST))
    project.api.script(
        "BUILD_VALIDATION",
        answer({"tests/utils.test.ts": FAILING_UTILS_TEST.replace(failing_line, "")}),
        answer({"tests/utils.test.ts": UTILS_TEST}),
    )

    result = project.doit(BUILD_VALIDATION, check=True)

    hits = project.api.hits_for("BUILD_VALIDATION")
    assert len(hits) == 2
    assert "assertions, " in hits[1].user_text and "deleting assertions is not a fix" in hits[1].user_text
    assert "green after 1 repair attempt(s)" in result.stdout
    assert (project.package_dir / "tests/utils.test.ts").read_text() == UTILS_TEST


def test_a_failure_kind_out_of_attempts_ends_the_repairs_without_a_model_call(project):
    project.write_config(buildValidation={"maxRepairAttempts": 3, "maxAttemptsPerFailure": {"type": 0}})
    type_error = "\nexport const n: number = '';\n"
    project.api.script("CRITICAL_FIXES", critical_fixes_with("src/validate.ts", VALIDATE_TS + type_error))

    result = project.doit(BUILD_VALIDATION)

    assert result.returncode != 0
    assert (
        "still red after 0 repair attempt(s) (buildValidation.maxAttemptsPerFailure allows 0 for type failures)"
        in result.stdout
    )
    assert project.api.hits_for("BUILD_VALIDATION") == []
    assert validation(project)["validation"]["attempts"][-1]["failure"] == "type"


def test_a_package_with_a_lint_config_is_linted_and_a_lint_failure_repaired(project):
    """The plan asked for linting, so FOUNDATION wrote an eslint config; a `var` slips into the code."""
    lint_tools = {"eslint": "9.39.1", "typescript-eslint": "8.46.4"}
    manifest = {
        **MANIFEST,
        "scripts": {**MANIFEST["scripts"], "lint": "eslint src"},
        "devDependencies": {**MANIFEST["devDependencies"], **lint_tools},
    }
    eslint_config = (
        'import tseslint from "typescript-eslint";\n\n'
        'export default tseslint.config({ files: ["src/**/*.ts"], '
        'extends: [tseslint.configs.base], rules: { "no-var": "error" } });\n'
    )
    package_json = json.dumps(manifest, indent=2) + "\n"
    project.api.script("FOUNDATION", answer({"package.json": package_json, "eslint.config.mjs": eslint_config}))
    with_var = VALIDATE_TS.replace("const result = validate(schema, value);", "var result = validate(schema, value);")
    assert with_var != VALIDATE_TS
    project.api.script(
        "CRITICAL_FIXES",
        answer({**example_files("CRITICAL_FIXES"), "package.json": package_json, "src/validate.ts": with_var}),
    )
    project.api.script("BUILD_VALIDATION", answer({"src/validate.ts": VALIDATE_TS}))

    result = project.doit(BUILD_VALIDATION, check=True)

    attempts = validation(project)["validation"]["attempts"]
    assert attempts[0]["failure"] == "lint" and "no-var" in attempts[0]["steps"][-1]["output"]
    assert "no-var" in project.api.hits_for("BUILD_VALIDATION")[0].user_text
    assert [step["step"] for step in attempts[-1]["steps"]] == ["install", "type-check", "lint", "build", "tests"]
    assert "green after 1 repair attempt(s)" in result.stdout


@pytest.mark.parametrize("manager", ["pnpm", "yarn"])
def test_a_package_in_a_pnpm_or_yarn_workspace_is_validated_with_that_manager(project, manager):
    package_manager = {"pnpm": "pnpm@9.15.0", "yarn": "yarn@1.22.22"}[manager]
    root = {"name": "monorepo", "private": True, "packageManager": package_manager}
    if manager == "pnpm":
        (project.workspace / "pnpm-workspace.yaml").write_text("packages:\n  - 'packages/**'\n")
    else:
        root["workspaces"] = ["packages/*/*"]
    (project.workspace / "package.json").write_text(json.dumps(root))
    (project.workspace / ".gitignore").write_text("node_modules/\n")
    project.git("add", "-A")
    project.git("-c", "user.name=Someone", "-c", "user.email=someone@example.test", "commit", "-qm", "workspace")

    project.doit(
        BUILD_VALIDATION,
        check=True,
        npm_config_store_dir=str(project.npm_cache / "pnpm-store"),
        YARN_CACHE_FOLDER=str(project.npm_cache / "yarn-cache"),
    )

    report = validation(project)["validation"]["attempts"][-1]
    assert report["green"], report
    assert [step["command"][0] for step in report["steps"] if step["step"] in ("install", "build")] == [manager] * 2
    assert project.git("status", "--porcelain") == "", "no lockfile written, nothing left in git's way"


def test_a_failing_test_that_mentions_the_network_is_repaired_not_blamed_on_the_machine(project):
    """A test named for network errors fails on the code, not on the network: the model is asked to repair it."""
    red = (
        "import { expect, it } from 'vitest';\n\n"
        "it('retries on network errors (ECONNRESET, socket hang up)', () => {\n  expect(1 + 1).toBe(3);\n});\n"
    )
    project.api.script("CRITICAL_FIXES", critical_fixes_with("tests/network.test.ts", red))
    project.api.script("BUILD_VALIDATION", answer({"tests/network.test.ts": red.replace("toBe(3)", "toBe(2)")}))

    result = project.doit(BUILD_VALIDATION, check=True)

    first = validation(project)["validation"]["attempts"][0]
    assert first["failure"] == "test", first
    assert len(project.api.hits_for("BUILD_VALIDATION")) == 1
    assert "green after 1 repair attempt(s)" in result.stdout
