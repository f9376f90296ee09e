"""A step's outputs, driven through `doit build test` on the npm and pnpm fixture monorepos: outputs deleted or
edited by hand are restored from the cache (not rebuilt) and the run says so; turbo.json's `cache: false` makes a step
run every time and keeps nothing; and a restore never writes or deletes through an output folder that is a symlink
out of the package."""

from __future__ import annotations

import json
import shutil

import pytest

from monorepo import build_log, write_monorepo

pytestmark = pytest.mark.slow  # real npm and pnpm toolchains


@pytest.fixture(params=["npm", "pnpm"])
def workspace(request, project, tmp_path):
    """The fixture monorepo with `request.param`'s workspaces, committed, built with two at a time."""
    project.scope = write_monorepo(project.workspace, manager=request.param)
    project.manager = request.param
    commit(project, f"a {request.param} monorepo")
    project.write_config(npmRegistry="http://127.0.0.1:9/", maxConcurrentBuilds=2)
    project.build_log = tmp_path / "build-log.txt"
    return project


def commit(project, message: str) -> None:
    project.git("add", "-A")
    project.git("-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", message)


def run(project, *steps: str):
    """`doit <steps>` with a fresh BUILD_LOG, so `builds_started` tells what this run really built."""
    project.build_log.unlink(missing_ok=True)
    return project.doit(*steps, check=True, BUILD_LOG=str(project.build_log), timeout=600)


def builds_started(project) -> list[str]:
    return sorted(name.rsplit("/", 1)[-1] for event, name, _ in build_log(project.build_log) if event == "start")


def table(project) -> dict:
    return json.loads((project.workspace / ".package-builder/summary.json").read_text())["packages"]


def archives(project) -> set:
    return set((project.workspace / ".package-builder/cache").rglob("*.tar.gz"))


def test_a_deleted_or_corrupted_output_is_restored_from_the_cache_not_rebuilt(workspace):
    core, math = f"{workspace.scope}/core", f"{workspace.scope}/math"
    run(workspace, "build", "test")
    built = {short: (workspace.workspace / f"packages/{short}/dist/index.js").read_text() for short in ("core", "math")}

    shutil.rmtree(workspace.workspace / "packages/core/dist")
    deleted = run(workspace, "build", "test")

    assert builds_started(workspace) == [], deleted.stdout
    assert (workspace.workspace / "packages/core/dist/index.js").read_text() == built["core"]
    assert f"build {core}: dist/index.js missing" in deleted.stdout
    assert table(workspace)[core]["build"] == "built (restored 1 missing output from the local cache)"
    assert table(workspace)[math] == {"build": "up to date", "test": "up to date"}, "core's outputs are as they were"

    (workspace.workspace / "packages/math/dist/index.js").write_text("export const value = 'corrupted';\n")
    corrupted = run(workspace, "build", "test")

    assert builds_started(workspace) == [], corrupted.stdout
    assert (workspace.workspace / "packages/math/dist/index.js").read_text() == built["math"]
    assert f"build {math}: dist/index.js changed" in corrupted.stdout
    assert table(workspace)[math]["build"] == "built (restored 1 changed output from the local cache)"

    again = run(workspace, "build", "test")
    assert all(steps == {"build": "up to date", "test": "up to date"} for steps in table(workspace).values()), (
        again.stdout
    )


def test_with_the_cache_off_a_deleted_output_is_built_again_and_the_run_says_why(monorepo):
    core = f"{monorepo.scope}/core"
    monorepo.write_config(npmRegistry="http://127.0.0.1:9/", maxConcurrentBuilds=2, builds={"cache": False})
    run(monorepo, "build")

    (monorepo.workspace / "packages/core/dist/index.js").unlink()
    rebuilt = run(monorepo, "build")

    assert builds_started(monorepo) == ["core"]
    assert f"build {core}: dist/index.js missing" in rebuilt.stdout
    assert (monorepo.workspace / "packages/core/dist/index.js").exists()


def with_turbo_json(project, tasks: dict) -> None:
    (project.workspace / "turbo.json").write_text(json.dumps({"tasks": tasks}, indent=2))
    commit(project, "turbo.json")


def test_a_test_declared_cache_false_runs_every_time_and_is_never_stored(workspace):
    with_turbo_json(
        workspace,
        {"build": {"dependsOn": ["^build"], "outputs": ["dist/**"]}, "test": {"dependsOn": ["build"], "cache": False}},
    )
    run(workspace, "build", "test")
    stored = archives(workspace)

    again = run(workspace, "build", "test")

    assert all(steps == {"build": "up to date", "test": "tested"} for steps in table(workspace).values()), again.stdout
    assert f"test {workspace.scope}/core: it runs every time (cache: false in" in again.stdout
    assert len(stored) == 6 and archives(workspace) == stored, "the six builds only: no test is kept"


def test_a_build_declared_cache_false_runs_every_time_and_same_outputs_leave_its_dependents_up_to_date(monorepo):
    with_turbo_json(
        monorepo,
        {"build": {"dependsOn": ["^build"], "outputs": ["dist/**"], "cache": False}, "test": {"dependsOn": ["build"]}},
    )
    run(monorepo, "build", "test")

    again = run(monorepo, "build", "test")

    assert builds_started(monorepo) == sorted(["core", "strings", "dates", "colors", "math", "app"]), again.stdout
    assert all(steps == {"build": "built", "test": "up to date"} for steps in table(monorepo).values()), again.stdout
    assert len(archives(monorepo)) == 6, "the six tests only: no build is kept"


FILE_BY_FILE = """import { appendFileSync, copyFileSync, mkdirSync, readdirSync } from 'node:fs';
const log = process.env.BUILD_LOG;
if (log) appendFileSync(log, `start core ${Date.now()}\\n`);
mkdirSync('dist', { recursive: true });
for (const name of readdirSync('src')) copyFileSync(`src/${name}`, `dist/${name}`);
if (log) appendFileSync(log, `end core ${Date.now()}\\n`);
"""


def test_a_restore_writes_and_deletes_nothing_through_an_output_folder_symlinked_out_of_the_package(
    workspace, tmp_path
):
    """The reported case: `dist` made a link to a folder elsewhere, then an edit and its revert. The revert's
    restore used to delete `outside/a.js` and throw the good archive away."""
    core = f"{workspace.scope}/core"
    folder = workspace.workspace / "packages/core"
    (folder / "build.mjs").write_text(FILE_BY_FILE)  # node's cpSync will not copy a folder onto a link
    manifest = json.loads((folder / "package.json").read_text())
    manifest["scripts"]["build"] = "node build.mjs"
    (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
    commit(workspace, "core builds file by file")
    run(workspace, "build", "test")
    stored = archives(workspace)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.js").write_text("// not core's: kept\n")
    shutil.rmtree(folder / "dist")
    (folder / "dist").symlink_to(outside)
    source = folder / "src/index.js"
    original = source.read_text()

    source.write_text(original + "// an edit\n")
    edited = run(workspace, "build")

    source.write_text(original)
    reverted = run(workspace, "build", "test")

    assert (outside / "a.js").read_text() == "// not core's: kept\n"
    assert f"cache: not restoring into {folder}: dist is a symlink to {outside}" in reverted.stdout
    assert stored <= archives(workspace), "the archive of the revert's build is kept"
    assert "core" in builds_started(workspace), "run instead of restored"
    assert f"dist is a symlink to {outside}" in edited.stdout, "the edit's build is not stored: it could not go back"
    assert table(workspace)[core]["build"] == "built"
