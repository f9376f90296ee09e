"""`doit build test` and `doit publish` on a real npm-workspaces monorepo, with a real registry (Verdaccio) on
127.0.0.1: dependency order, the concurrency bound, skipping what has not changed, publishing once, and a token
that never shows."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from monorepo import PACKAGES, build_log, most_at_once, names, write_monorepo

pytestmark = pytest.mark.slow  # real npm toolchain, full generations


def test_doit_list_shows_a_build_test_and_publish_task_per_package(monorepo):
    listed = monorepo.doit("list", "--all", check=True).stdout

    for name in names(monorepo, "core", "math", "app"):
        assert f"build:{name}" in listed and f"test:{name}" in listed and f"publish:{name}" in listed


def test_build_and_test_run_in_dependency_order_two_at_a_time(monorepo):
    result = monorepo.doit("build", "test", check=True, BUILD_LOG=str(monorepo.build_log))

    events = build_log(monorepo.build_log)
    when = {(event, name): ms for event, name, ms in events}
    core, math, app, strings, dates = names(monorepo, "core", "math", "app", "strings", "dates")
    assert when[("start", math)] >= when[("end", core)]
    assert when[("start", app)] >= max(when[("end", math)], when[("end", strings)])
    assert when[("start", math)] < when[("start", dates)], "the chain core ← math ← app goes on before the rest"
    assert most_at_once(events) == 2, "maxConcurrentBuilds is 2: never more, and independent packages overlap"
    table = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.startswith("@")}
    assert table == {name: ["built", "tested", "-"] for name in names(monorepo, *PACKAGES)}
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert summary["ok"] and summary["packages"][app] == {"build": "built", "test": "tested"}
    assert monorepo.git("status", "--porcelain") == "", "stamps and outputs stay out of git"


def test_dash_n_overrides_the_configured_concurrency(monorepo):
    monorepo.doit("-n", "1", "build", check=True, BUILD_LOG=str(monorepo.build_log))

    assert most_at_once(build_log(monorepo.build_log)) == 1


def test_an_unchanged_package_is_skipped_and_a_changed_one_rebuilt_with_its_dependents(monorepo):
    monorepo.doit("build", "test", check=True)

    again = monorepo.doit("build", "test", check=True, BUILD_LOG=str(monorepo.build_log))
    assert build_log(monorepo.build_log) == []
    assert "up to date" in again.stdout

    source = monorepo.workspace / "packages/math/src/index.js"
    source.write_text(source.read_text().replace("'math'", "'math2'"))
    (monorepo.workspace / "packages/math/test/index.test.js").write_text(
        (monorepo.workspace / "packages/math/test/index.test.js").read_text().replace("'mathcore'", "'math2core'")
    )
    (monorepo.workspace / "packages/app/test/index.test.js").write_text(
        (monorepo.workspace / "packages/app/test/index.test.js").read_text().replace("appmathcore", "appmath2core")
    )
    monorepo.doit("build", "test", check=True, BUILD_LOG=str(monorepo.build_log))

    rebuilt = sorted({name for event, name, _ in build_log(monorepo.build_log) if event == "start"})
    assert rebuilt == sorted(names(monorepo, "math", "app"))


def test_a_failing_test_fails_the_run_names_the_package_and_stops_its_dependents(monorepo):
    test_file = monorepo.workspace / "packages/math/test/index.test.js"
    test_file.write_text(test_file.read_text().replace("'mathcore'", "'wrong'"))

    result = monorepo.doit("--continue", "build", "test")

    math, app = names(monorepo, "math", "app")
    assert result.returncode != 0
    assert f"test of {math} failed" in result.stdout + result.stderr
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert not summary["ok"] and math in summary["failed"]
    assert summary["packages"][math]["test"] == "failed"
    assert summary["packages"][names(monorepo, "core")[0]]["test"] == "tested"


def test_publish_puts_every_package_in_the_registry_and_publishing_again_skips(monorepo, npm_registry):
    token = npm_registry.add_user("publisher")

    first = monorepo.doit("publish", NPM_TOKEN=token)
    assert first.returncode == 0, first.stdout + first.stderr

    for name in names(monorepo, *("core", "strings", "dates", "colors", "math", "app")):
        view = subprocess.run(
            ["npm", "view", name, "version", "--registry", npm_registry.url],
            capture_output=True,
            text=True,
            env=monorepo.env(),
        )
        assert view.stdout.strip() == "1.0.0", (name, view.stderr)
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert summary["packages"][names(monorepo, "app")[0]]["publish"] == "published (1.0.0 with tag latest)"

    second = monorepo.doit("publish", NPM_TOKEN=token)
    assert second.returncode == 0
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert all(steps["publish"].startswith("skipped (1.0.0 is already in") for steps in summary["packages"].values())


def test_a_dry_run_publishes_nothing(monorepo, npm_registry):
    token = npm_registry.add_user("dry-runner")

    result = monorepo.doit("publish", "--dry-run", NPM_TOKEN=token, check=True)

    assert "dry run: would publish 1.0.0" in result.stdout
    assert npm_registry.versions(names(monorepo, "core")[0]) == []
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    detail = summary["packages"][names(monorepo, "core")[0]]["publish"]
    assert re.search(r"would publish 1\.0\.0 with tag latest: \d+ file\(s\), [\d.]+ k?B: .*dist/index\.js", detail), (
        detail
    )
    assert detail.endswith("; the token is accepted)")


def test_a_dry_run_of_one_package_is_a_dry_run_of_the_dependencies_it_pulls_in(monorepo, npm_registry):
    token = npm_registry.add_user("dry-one")
    app = names(monorepo, "app")[0]

    result = monorepo.doit(f"publish:{app}", "--dry-run", NPM_TOKEN=token, check=True)

    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    pulled = [name for name, steps in summary["packages"].items() if "publish" in steps]
    assert sorted(pulled) == sorted(names(monorepo, "core", "math", "strings", "app")), result.stdout
    assert all(summary["packages"][name]["publish"].startswith("skipped (dry run") for name in pulled)
    assert all(npm_registry.versions(name) == [] for name in pulled)


def test_a_wrong_token_fails_clearly_names_the_package_and_never_shows(monorepo, npm_registry):
    wrong = "wrong-token-" + "x" * 40

    result = monorepo.doit("publish", NPM_TOKEN=wrong)

    output = result.stdout + result.stderr
    assert result.returncode != 0
    assert "failed (exit 1) (the registry refused the token: npm whoami)" in output, "checked before publishing"
    assert any(
        f"publish of {name}@1.0.0 to {npm_registry.url} failed" in output
        for name in names(monorepo, "core", "strings", "dates", "colors")
    )
    assert wrong not in output
    assert npm_registry.versions(names(monorepo, "core")[0]) == []


def test_the_token_appears_in_no_output_log_or_file(monorepo, npm_registry):
    token = npm_registry.add_user("careful")
    monorepo.write_config(npmRegistry=npm_registry.url, maxConcurrentBuilds=2, npmToken=token)

    result = monorepo.doit("publish", check=True)

    assert token not in result.stdout + result.stderr
    config = monorepo.config_path.resolve()
    for folder in (monorepo.root, monorepo.workspace, monorepo.home):
        for path in folder.rglob("*"):
            if path.is_file() and path.resolve() != config and "node_modules" not in path.parts:
                assert token.encode() not in path.read_bytes(), f"the token leaked into {path}"
    assert token not in monorepo.git("log", "--all", "-p")


def test_publishing_requires_a_clean_working_directory(monorepo, npm_registry):
    token = npm_registry.add_user("tidy")
    (monorepo.workspace / "packages/core/NOTES.md").write_text("uncommitted\n")

    result = monorepo.doit("publish", NPM_TOKEN=token)

    assert result.returncode != 0
    assert f"publish of {names(monorepo, 'core')[0]}: " in result.stdout
    assert "has uncommitted changes (packages/core/NOTES.md)" in result.stdout


@pytest.mark.parametrize(
    "manager, installed_marker",
    [
        ("pnpm", "node_modules/.pnpm"),
        ("yarn", "node_modules/.yarn-integrity"),
        ("yarn-berry", "node_modules/.yarn-state.yml"),
    ],
)
def test_pnpm_and_yarn_workspaces_are_built_and_tested_with_their_own_manager(project, manager, installed_marker):
    scope = write_monorepo(project.workspace, manager=manager)
    project.write_config(maxConcurrentBuilds=2)

    result = project.doit("build", "test", check=True)

    assert (project.workspace / installed_marker).exists(), f"{manager} installed the workspace"
    table = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines() if line.startswith("@")}
    assert table == {f"{scope}/{short}": ["built", "tested", "-"] for short in PACKAGES}
    assert not (project.workspace / "package-lock.json").exists()


@pytest.mark.parametrize("manager", ["pnpm", "yarn-berry"])
def test_pnpm_and_yarn_berry_packages_go_out_with_their_workspace_ranges_rewritten(project, npm_registry, manager):
    scope = write_monorepo(project.workspace, manager=manager)
    project.git("add", "-A")
    project.git("-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", f"a {manager} monorepo")
    project.write_config(npmRegistry=npm_registry.url, maxConcurrentBuilds=2)
    token = npm_registry.add_user(f"ranges-{manager}")
    app = f"{scope}/app"

    dry = project.doit("publish", "--dry-run", NPM_TOKEN=token, check=True, timeout=600)
    assert "would publish 1.0.0" in dry.stdout and "dist/index.js" in dry.stdout
    assert npm_registry.versions(app) == []

    project.doit("publish", NPM_TOKEN=token, check=True, timeout=600)

    published = npm_registry.manifest(app, "1.0.0")
    assert published["dependencies"] == {f"{scope}/math": "^1.0.0", f"{scope}/strings": "^1.0.0"}
    again = project.doit("publish", NPM_TOKEN=token, check=True, timeout=600)
    summary = json.loads((project.workspace / ".package-builder/summary.json").read_text())
    assert all(steps["publish"].startswith("skipped (1.0.0 is already in") for steps in summary["packages"].values()), (
        again.stdout
    )
    assert token not in dry.stdout + again.stdout


def test_packages_are_found_from_pnpm_workspace_yaml_too(project):
    (project.workspace / "pnpm-workspace.yaml").write_text("packages:\n  - 'libs/*'\n  - '!libs/skip'\n")
    for name in ("one", "skip"):
        (project.workspace / "libs" / name).mkdir(parents=True)
        (project.workspace / "libs" / name / "package.json").write_text(json.dumps({"name": f"@p/{name}"}))

    listed = project.doit("list", "--all", check=True).stdout

    assert "build:@p/one" in listed and "@p/skip" not in listed


def test_a_dependency_cycle_is_an_error_that_names_it(monorepo):
    core = monorepo.workspace / "packages/core/package.json"
    manifest = json.loads(core.read_text())
    manifest["dependencies"] = {f"{monorepo.scope}/app": "^1.0.0"}
    core.write_text(json.dumps(manifest))

    result = monorepo.doit("build")

    assert result.returncode != 0
    assert "workspace dependency cycle:" in result.stdout + result.stderr
    assert f"{monorepo.scope}/core" in result.stdout + result.stderr


def test_a_dependency_without_a_build_step_still_reruns_its_dependents_tests(monorepo):
    """core ships its sources (no build, main in src/): a change there is a change of what math loads at runtime."""
    core_manifest = monorepo.workspace / "packages/core/package.json"
    manifest = json.loads(core_manifest.read_text())
    manifest.update(main="src/index.js", files=["src"], scripts={"test": "node --test test/"})
    core_manifest.write_text(json.dumps(manifest))
    core_test = monorepo.workspace / "packages/core/test/index.test.js"
    core_test.write_text(core_test.read_text().replace("../dist/", "../src/"))
    monorepo.doit("build", "test", check=True)

    (monorepo.workspace / "packages/core/src/index.js").write_text("export const value = 'CORE';\n")
    core_test.write_text(core_test.read_text().replace("'core'", "'CORE'"))
    result = monorepo.doit("--continue", "build", "test")

    math = names(monorepo, "math")[0]
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert summary["packages"][math]["test"] == "failed", "math's test ran again and sees the new core"
    assert f"test of {math} failed" in result.stdout + result.stderr


def test_a_userconfig_left_by_a_killed_run_is_removed_by_the_next(monorepo, npm_registry, tmp_path):
    import tempfile

    stale = Path(tempfile.gettempdir()) / "package-builder-npm-999999-killed"
    stale.mkdir(exist_ok=True)
    (stale / "npmrc").write_text("//registry/:_authToken=left-behind\n")

    monorepo.doit("publish", "--dry-run", NPM_TOKEN=npm_registry.add_user("sweeper"), check=True)

    assert not stale.exists()


def test_a_hung_test_suite_is_ended_at_its_own_limit_with_progress_and_the_setting_named(monorepo, npm_registry):
    dates = names(monorepo, "dates")[0]
    manifest_path = monorepo.workspace / "packages/dates/package.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["scripts"]["test"] = "node -e \"console.log('waiting forever'); setTimeout(() => {}, 600000)\""
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    monorepo.write_config(npmRegistry=npm_registry.url, maxConcurrentBuilds=2, builds={"packageTimeouts": {dates: 4}})

    result = monorepo.doit("test", timeout=600)

    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"timed out after 4 s (builds.packageTimeouts['{dates}'])" in output
    assert "still running after 2 s (limit 4 s" in output
    assert "waiting forever" in output and "b'" not in output
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert summary["packages"][dates]["test"] == "failed"
    assert summary["packages"][names(monorepo, "app")[0]]["test"] == "tested", "the others go on"


def test_a_hung_test_under_a_2_s_limit_says_it_timed_out_in_the_first_line_of_its_failure(monorepo, npm_registry):
    dates = names(monorepo, "dates")[0]
    manifest_path = monorepo.workspace / "packages/dates/package.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["scripts"]["test"] = (  # more output than a failure shows: its last lines
        "node -e \"for (let i = 0; i < 200; i++) console.log('checking ' + i); setTimeout(() => {}, 600000)\""
    )
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    monorepo.doit("build", check=True)  # under the default limit
    others = {name: 300 for name in names(monorepo, *PACKAGES) if name != dates}  # a loaded machine is slow
    monorepo.write_config(
        npmRegistry=npm_registry.url,
        maxConcurrentBuilds=2,
        builds={"commandTimeoutSeconds": 2, "packageTimeouts": others},
    )

    result = monorepo.doit("test", timeout=600)

    assert result.returncode != 0
    lines = result.stdout.splitlines()
    assert f"TaskFailed - taskid:test:{dates}" in lines, result.stdout
    block = lines.index(f"TaskFailed - taskid:test:{dates}")
    assert lines[block + 1].startswith(f"test of {dates} timed out after 2 s (builds.commandTimeoutSeconds) in "), (
        result.stdout
    )
    assert "checking 199" in result.stdout
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert summary["failed"] == [dates]
    assert summary["packages"][dates]["reason"] == "timed out after 2 s (builds.commandTimeoutSeconds)"
    assert "failed: timed out after 2 s" in table(result.stdout)[dates]


def test_what_depends_on_a_failed_build_is_held_back_naming_what_failed_first_in_one_line_and_the_rest_goes_on(
    monorepo,
):
    core, math, app, dates = names(monorepo, "core", "math", "app", "dates")
    (monorepo.workspace / "packages/core/package.json").write_text(
        (monorepo.workspace / "packages/core/package.json")
        .read_text()
        .replace('"build": "node ../../tools/build.mjs"', '"build": "node -e process.exit(2)"')
    )

    result = monorepo.doit("build", "test", COLUMNS="100")

    assert result.returncode != 0
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert summary["packages"][core]["build"] == "failed"
    assert summary["packages"][core]["reason"] == "exit 2"
    assert summary["packages"][math]["build"] == f"not run: build:{core} failed"
    assert summary["packages"][app]["build"] == f"not run: build:{core} failed", "not math's build, itself held back"
    assert summary["packages"][app]["test"] == f"not run: build:{core} failed"
    assert summary["packages"][dates]["test"] == "tested", "independent packages go on"
    assert summary["failed"] == [core], "only what ran and failed"
    assert summary["not_run"] == sorted([math, app])
    output = result.stdout + result.stderr
    assert "UnmetDependency" not in output, "doit's stanza per task held back is folded"
    held = [line for line in output.splitlines() if line.startswith("not run:")]
    assert held == [
        f"not run: build:{math}, build:{app}, test:{core}, test:{math}, test:{app}, because build:{core} failed"
    ]
    assert "already current" not in output, "an install with nothing to do says nothing"
    rows = table(result.stdout)
    assert rows[core].startswith("failed: exit 2")
    assert all(len(line) <= 100 for line in result.stdout.splitlines()[-len(rows) - 2 : -1]), "rows fit the terminal"


def table(stdout: str) -> dict[str, str]:
    """The closing table's rows, package → the rest of its row."""
    lines = stdout.splitlines()
    start = max(i for i, line in enumerate(lines) if line.startswith("package "))
    return {line.split()[0]: line.split(None, 1)[1] for line in lines[start + 1 :] if line.startswith("@")}


def test_a_version_bump_or_a_script_edit_does_not_reinstall_but_a_new_dependency_does_and_says_why(monorepo):
    first = monorepo.doit("build", check=True)
    assert first.stdout.count("install: npm install (no node_modules yet)") == 1, first.stdout
    installed = monorepo.workspace / "node_modules" / ".package-lock.json"
    before = installed.stat().st_mtime_ns
    manifest_path = monorepo.workspace / "packages/colors/package.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["version"], manifest["scripts"]["lint"] = "1.1.0", "node -e 0"
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")

    bumped = monorepo.doit("install", check=True)

    assert "install: already current" in bumped.stdout
    assert installed.stat().st_mtime_ns == before, "npm did not run"

    manifest["dependencies"] = {names(monorepo, "core")[0]: "^1.0.0"}
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    added = monorepo.doit("build", check=True)
    assert "already current" not in added.stdout
    assert "install: npm install (packages/colors/package.json changed)" in added.stdout
    again = monorepo.doit("build", "test", check=True)
    assert "install:" not in again.stdout, "nothing to install: not a word, let alone one per build"


def test_a_package_the_registry_refuses_fails_alone_with_its_reason_private_ones_are_skipped_and_a_rerun_publishes(
    monorepo, npm_registry
):
    token = npm_registry.add_user("partial")
    core, math, app, strings, dates, colors = names(monorepo, "core", "math", "app", "strings", "dates", "colors")
    example = f"{monorepo.scope}/example"
    (monorepo.workspace / "packages/example").mkdir()  # a private package (docs, examples) on top of the chain
    (monorepo.workspace / "packages/example/package.json").write_text(
        json.dumps({"name": example, "version": "1.0.0", "private": True, "dependencies": {app: "^1.0.0"}})
    )
    manifest_path = monorepo.workspace / "packages/colors/package.json"
    manifest_path.write_text(json.dumps({**json.loads(manifest_path.read_text()), "private": True}, indent=2))
    big = monorepo.workspace / "packages/core/src/big.bin"
    big.write_bytes(os.urandom(12 * 1024 * 1024))  # over the registry's 10 MB body limit: it answers 413
    monorepo.git("add", "-A")
    monorepo.git("-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", "a big asset")

    first = monorepo.doit("publish", NPM_TOKEN=token, COLUMNS="120", timeout=600)

    assert first.returncode != 0
    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert summary["failed"] == [core], "exactly what ran and failed: not what it held back, not private packages"
    assert summary["packages"][core]["publish"] == "failed"
    assert "413 Payload Too Large" in summary["packages"][core]["reason"]
    assert "failed: npm publish: 413 Payload Too Large" in table(first.stdout)[core]
    assert summary["packages"][math]["publish"] == f"not run: publish:{core} failed"
    assert summary["packages"][app]["publish"] == f"not run: publish:{core} failed", "what failed first"
    assert summary["not_run"] == sorted([math, app])
    private = {summary["packages"][name]["publish"] for name in (example, colors)}
    assert private == {"skipped (private package)"}, "a private package is skipped, whatever its dependencies did"
    assert all(summary["packages"][name]["publish"].startswith("published") for name in (strings, dates))
    assert npm_registry.versions(core) == [] and npm_registry.versions(app) == []
    assert "UnmetDependency" not in first.stdout + first.stderr
    held = [line for line in first.stdout.splitlines() if line.startswith("not run:")]
    assert held == [f"not run: publish:{math}, publish:{app}, because publish:{core} failed"]

    big.unlink()
    (monorepo.workspace / "packages/core/dist/big.bin").unlink()  # the fixture's build copies, it does not clean
    monorepo.git("add", "-A")
    monorepo.git("-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", "no big asset")
    second = monorepo.doit("publish", NPM_TOKEN=token, check=True, timeout=600)

    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    published = [summary["packages"][name]["publish"] for name in (core, math, app)]
    assert all(outcome.startswith("published") for outcome in published), second.stdout
    assert all(
        summary["packages"][name]["publish"].startswith("skipped (1.0.0 is already in") for name in (strings, dates)
    ), "published exactly once"
    assert summary == {**summary, "ok": True, "failed": [], "not_run": []}


def test_files_a_test_leaves_in_ignored_paths_are_not_inputs_and_do_not_block_publishing(monorepo, npm_registry):
    colors = names(monorepo, "colors")[0]
    manifest_path = monorepo.workspace / "packages/colors/package.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["scripts"]["test"] = (
        "node -e \"require('fs').writeFileSync('.tmp-package-' + Date.now() + '.json', '{}')\" && node --test test/"
    )
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    gitignore = monorepo.workspace / ".gitignore"
    gitignore.write_text(gitignore.read_text() + ".tmp-package-*.json\n")
    monorepo.git("add", "-A")
    monorepo.git("-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", "a test that leaves files")

    monorepo.doit("build", "test", check=True)
    again = monorepo.doit("test", check=True)

    summary = json.loads((monorepo.workspace / ".package-builder/summary.json").read_text())
    assert summary["packages"][colors]["test"] == "up to date", again.stdout
    assert list((monorepo.workspace / "packages/colors").glob(".tmp-package-*.json"))
    token = npm_registry.add_user("leftovers")
    monorepo.doit(f"publish:{colors}", NPM_TOKEN=token, check=True)
    assert npm_registry.versions(colors) == ["1.0.0"]


@pytest.mark.parametrize("refusal", ["dubious ownership", "corrupt index"])
def test_git_refusing_the_monorepo_stops_the_build_with_gits_message_and_what_to_do(monorepo, refusal):
    """git's "dubious ownership" refusal (a CI checkout owned by another user; GIT_TEST_ASSUME_DIFFERENT_OWNER makes
    git >= 2.35.2 act so) or a corrupt index must not pass for "no git": ignored files would become inputs."""
    env = {}
    if refusal == "dubious ownership":
        env["GIT_TEST_ASSUME_DIFFERENT_OWNER"] = "1"
        said = "detected dubious ownership in repository"
    else:
        (monorepo.workspace / ".git/index").write_bytes(b"DIRC not an index at all")
        said = "index file"

    listed = monorepo.doit("list", **env)
    built = monorepo.doit("build", "test", **env)

    assert "git failed to list the files of the monorepo" in listed.stdout, listed.stdout + listed.stderr
    assert built.returncode != 0, built.stdout
    output = built.stdout + built.stderr
    assert said in output and "git failed to list the files of the monorepo" in output, output
    if refusal == "dubious ownership":
        assert "git config --global --add safe.directory" in output, output
    assert not (monorepo.workspace / "packages/core/dist").exists(), "nothing was built"
