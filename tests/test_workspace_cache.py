"""The monorepo's own declarations and the content-addressed cache, driven through `doit build test` on the real
npm fixture monorepo: an edit reverted is restored, not rebuilt; every rebuild says why; turbo.json's inputs,
outputs and same-package steps (generate) are honoured, and a team's Turborepo remote cache is shared."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from monorepo import build_log, names

pytestmark = pytest.mark.slow  # real npm toolchain


def commit(project, message: str) -> None:
    project.git("add", "-A")
    project.git("-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", message)


def summary(project) -> dict:
    return json.loads((project.workspace / ".package-builder/summary.json").read_text())["packages"]


def imported(module: str, importtime_log: str) -> bool:
    """Whether Python's `-X importtime` log (PYTHONPROFILEIMPORTTIME) shows `module` imported."""
    return re.search(rf"\|\s+{re.escape(module)}$", importtime_log, re.MULTILINE) is not None


def builds_started(project) -> list[str]:
    return sorted(name for event, name, _ in build_log(project.build_log) if event == "start")


def test_an_edit_reverted_is_restored_from_the_cache_not_rebuilt_and_every_rebuild_says_why(monorepo):
    core, math, app = names(monorepo, "core", "math", "app")
    source = monorepo.workspace / "packages/core/src/index.js"
    original = source.read_text()
    first = monorepo.doit("build", "test", check=True, PYTHONPROFILEIMPORTTIME="1")
    assert imported("pydantic", first.stderr), "the first run validates the config"
    built_before = (monorepo.workspace / "packages/app/dist/index.js").read_text()

    source.write_text(original.replace("'core'", "'CORE'"))
    edited = monorepo.doit("build", "test", BUILD_LOG=str(monorepo.build_log))
    assert edited.returncode != 0, "the fixture's tests expect 'core': the edit fails them"
    assert f"build {core}: packages/core/src/index.js changed" in edited.stdout
    assert f"build {math}: {core}'s build output changed" in edited.stdout
    assert builds_started(monorepo) == sorted([core, math]), "app's build reads math's output, which is the same"
    assert summary(monorepo)[app]["test"] == "failed", "app's test loads core's output too"

    monorepo.build_log.unlink()
    source.write_text(original)
    reverted = monorepo.doit(
        "build", "test", check=True, BUILD_LOG=str(monorepo.build_log), PYTHONPROFILEIMPORTTIME="1"
    )  # every import, on stderr

    assert builds_started(monorepo) == [], "nothing was built again"
    assert not imported("pydantic", reverted.stderr), "a restore reads the config's snapshot, not the validator"
    table = summary(monorepo)
    for name in (core, math):
        assert table[name]["build"].startswith("built (from the local cache"), reverted.stdout
    for name in (core, math, app):
        assert table[name]["test"].startswith("tested (from the local cache"), reverted.stdout
    assert table[app]["build"] == "up to date", "math's stamp after its restore is the one its real build wrote"
    assert (monorepo.workspace / "packages/app/dist/index.js").read_text() == built_before
    assert "✔ app builds its value" in reverted.stdout or "app builds its value" in reverted.stdout, (
        "a restored test shows the log it had"
    )


def test_the_cache_keeps_within_its_size_and_can_be_turned_off(monorepo):
    cache = monorepo.workspace / ".package-builder/cache"

    def build_from_scratch(**builds) -> list:
        monorepo.write_config(npmRegistry="http://127.0.0.1:9/", maxConcurrentBuilds=2, builds=builds)
        shutil.rmtree(cache, ignore_errors=True)
        monorepo.doit("clean", "build", check=True)
        monorepo.doit("build", check=True)
        return list(cache.rglob("*.tar.gz"))

    assert build_from_scratch(cache=False) == [] and not cache.exists()
    every = build_from_scratch()
    assert len(every) == 6
    limit = 2.5 * max(a.stat().st_size for a in every)

    bounded = build_from_scratch(cacheMaxMegabytes=limit / 1024 / 1024)

    assert 1 <= len(bounded) <= 2
    assert sum(a.stat().st_size for a in bounded) <= limit


TURBO = {
    "$schema": "https://turbo.build/schema.json",
    "tasks": {
        "generate": {"inputs": ["schema.json"]},
        "build": {
            "dependsOn": ["^build", "generate"],
            "inputs": ["$TURBO_DEFAULT$", "!**/*.md"],
            "outputs": ["dist/**"],
        },
        "test": {"dependsOn": ["build"], "inputs": ["test/**"]},
    },
}
GENERATE = (
    "node -e \"const s=require('./schema.json');"
    "require('fs').writeFileSync('src/generated.js','export const field = '+JSON.stringify(s.field)+';\\n')\""
)


def test_turbo_json_declares_inputs_outputs_and_a_generate_step_that_runs_before_the_build(monorepo):
    core, math = names(monorepo, "core", "math")
    folder = monorepo.workspace / "packages/core"
    (monorepo.workspace / "turbo.json").write_text("// the repo's own pipeline\n" + json.dumps(TURBO, indent=2))
    manifest = json.loads((folder / "package.json").read_text())
    manifest["scripts"]["generate"] = GENERATE
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    (folder / "schema.json").write_text(json.dumps({"field": "one"}))
    (folder / ".gitignore").write_text("src/generated.js\n")
    commit(monorepo, "turbo.json and a generate step")

    monorepo.doit("build", "test", check=True)
    assert 'export const field = "one"' in (folder / "dist/generated.js").read_text(), "generate ran before build"

    (folder / "NOTES.md").write_text("markdown is not an input of build (!**/*.md), nor of test (test/** only)\n")
    notes = monorepo.doit("build", "test", check=True, BUILD_LOG=str(monorepo.build_log))
    assert builds_started(monorepo) == [], notes.stdout
    assert summary(monorepo)[core] == {"build": "up to date", "test": "up to date"}

    (folder / "schema.json").write_text(json.dumps({"field": "two"}))
    schema = monorepo.doit("build", check=True, BUILD_LOG=str(monorepo.build_log))
    assert f"build {core}: packages/core/schema.json changed" in schema.stdout
    assert '"two"' in (folder / "dist/generated.js").read_text()
    assert f"build {math}: {core}'s build output changed" in schema.stdout


def test_a_broken_turbo_json_fails_every_build_naming_the_file_and_the_field(monorepo):
    (monorepo.workspace / "turbo.json").write_text(json.dumps({"tasks": {"build": {"outputs": "dist/**"}}}))

    result = monorepo.doit("build")

    assert result.returncode != 0
    assert "turbo.json tasks.build: field outputs must be a list of globs" in result.stdout + result.stderr


def test_a_repo_without_turbo_json_declares_its_steps_in_the_config(monorepo):
    colors = names(monorepo, "colors")[0]
    monorepo.write_config(
        npmRegistry="http://127.0.0.1:9/",
        maxConcurrentBuilds=2,
        packageBuilder={"tasks": {f"{colors}#test": {"dependsOn": ["build"], "inputs": ["test/**"]}}},
    )
    monorepo.doit("build", "test", check=True)

    (monorepo.workspace / "packages/colors/src/extra.js").write_text("export const unused = 1;\n")
    rerun = monorepo.doit("build", "test", check=True)
    table = summary(monorepo)
    assert table[colors]["build"].startswith("built"), rerun.stdout
    assert table[colors]["test"].startswith("tested"), "its own build changed its outputs, so test reruns"

    (monorepo.workspace / "packages/colors/README.md").write_text("# colors\n")
    readme = monorepo.doit("build", "test", check=True)
    assert summary(monorepo)[colors]["test"] == "up to date", readme.stdout


def test_a_teams_remote_cache_lets_a_second_clone_restore_instead_of_building(monorepo, remote_cache, tmp_path):
    remote = {"remoteCache": {"url": remote_cache.url, "team": "core-team"}}
    monorepo.write_config(npmRegistry="http://127.0.0.1:9/", maxConcurrentBuilds=2, builds=remote)
    monorepo.doit("build", "test", check=True, PACKAGE_BUILDER_REMOTE_CACHE_TOKEN=remote_cache.token)
    assert remote_cache.artifacts(), "the first clone uploaded its builds and tests"

    second = tmp_path / "second-clone"
    subprocess.run(["git", "clone", "-q", str(monorepo.workspace), str(second)], check=True)
    monorepo.workspace = second
    monorepo.write_config(npmRegistry="http://127.0.0.1:9/", maxConcurrentBuilds=2, builds=remote)
    restored = monorepo.doit(
        "build",
        "test",
        check=True,
        BUILD_LOG=str(monorepo.build_log),
        PACKAGE_BUILDER_REMOTE_CACHE_TOKEN=remote_cache.token,
    )

    assert builds_started(monorepo) == [], restored.stdout
    assert all(steps["build"].startswith("built (from the remote cache") for steps in summary(monorepo).values())
    assert remote_cache.token not in restored.stdout + restored.stderr


def test_a_remote_cache_that_refuses_the_token_is_asked_once_reported_once_and_never_fails_the_build(
    monorepo, remote_cache
):
    monorepo.write_config(
        npmRegistry="http://127.0.0.1:9/", maxConcurrentBuilds=2, builds={"remoteCache": {"url": remote_cache.url}}
    )

    result = monorepo.doit("build", check=True, PACKAGE_BUILDER_REMOTE_CACHE_TOKEN="not-the-token")

    reports = [line for line in result.stdout.splitlines() if line.startswith(f"remote cache {remote_cache.url}")]
    assert len(reports) == 1 and "401" in reports[0], result.stdout
    assert len(remote_cache.requests()) == 1, "six builds, one request: the refusal holds for the whole run"
    assert "not-the-token" not in result.stdout + result.stderr
    assert not remote_cache.artifacts()


def test_a_remote_cache_that_never_answers_costs_one_timeout_per_run_not_one_per_step(monorepo):
    from remote_cache import SilentRemote

    with SilentRemote() as remote:
        monorepo.write_config(
            npmRegistry="http://127.0.0.1:9/",
            maxConcurrentBuilds=2,
            builds={"remoteCache": {"url": remote.url, "timeoutSeconds": 1}},
        )

        result = monorepo.doit("build", "test", check=True, PACKAGE_BUILDER_REMOTE_CACHE_TOKEN="a-token")

        assert remote.connections == 1, "twelve steps, one wait for the remote"
    reports = [line for line in result.stdout.splitlines() if line.startswith(f"remote cache {remote.url}")]
    assert reports == [
        f"remote cache {remote.url}: no answer within 1 s (builds.remoteCache.timeoutSeconds); going on without it "
        "(builds.remoteCache)"
    ], result.stdout
