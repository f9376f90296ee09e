"""The lockfile as each package's input, driven through `doit build test` on the real pnpm and npm fixture
monorepos with the real test registry: a dependency the user adds to one package (`pnpm add`, `npm install -w`)
rebuilds that package only (its dependents too when its outputs change), and the why-line names the lockfile."""

from __future__ import annotations

import json
import subprocess

import pytest

from monorepo import PACKAGES, build_log, names, write_monorepo

pytestmark = pytest.mark.slow  # real npm/pnpm toolchain and registry

LOCKFILE = {"pnpm": "pnpm-lock.yaml", "npm": "package-lock.json"}


def run(project, *command: str, cwd=None) -> None:
    done = subprocess.run(command, cwd=cwd or project.workspace, env=project.env(), capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"


def publish_small_package(project, npm_registry, name: str) -> None:
    """`name@1.0.0` in the test registry, published with npm as its author would."""
    folder = project.root.parent / "tiny-package"
    folder.mkdir()
    (folder / "package.json").write_text(json.dumps({"name": name, "version": "1.0.0", "main": "index.js"}))
    (folder / "index.js").write_text("module.exports = 'tiny';\n")
    token = npm_registry.add_user(f"author-{project.root.parent.name[-8:].lower().replace('_', '-')}")
    (folder / ".npmrc").write_text(
        f"registry={npm_registry.url}\n{npm_registry.url.removeprefix('http:')}:_authToken={token}\n"
    )
    run(project, "npm", "publish", "--userconfig", str(folder / ".npmrc"), cwd=folder)


@pytest.mark.parametrize("manager", ["pnpm", "npm"])
def test_a_dependency_added_to_one_package_rebuilds_that_package_only_and_says_why(
    project, npm_registry, tmp_path, manager
):
    scope = write_monorepo(project.workspace, manager=manager)
    project.scope = scope
    (project.workspace / ".npmrc").write_text(f"registry={npm_registry.url}\n")
    run(project, manager, "install")  # the user's committed lockfile
    project.git("add", "-A")
    project.git("-c", "user.name=U", "-c", "user.email=u@example.test", "commit", "-qm", f"a {manager} monorepo")
    project.write_config(npmRegistry=npm_registry.url, maxConcurrentBuilds=2)
    tiny = f"{scope}/tiny"
    publish_small_package(project, npm_registry, tiny)
    project.doit("build", "test", check=True, timeout=600)
    math, app = names(project, "math", "app")

    if manager == "pnpm":
        run(project, "pnpm", "add", f"{tiny}@^1.0.0", "--filter", math)
    else:
        run(project, "npm", "install", f"{tiny}@^1.0.0", "-w", "packages/math", "--no-audit", "--no-fund")
    log = tmp_path / "again.log"
    again = project.doit("build", "test", check=True, timeout=600, BUILD_LOG=str(log))

    assert sorted({name for event, name, _ in build_log(log) if event == "start"}) == [math], again.stdout
    why = next(line for line in again.stdout.splitlines() if line.startswith(f"build {math}: "))
    assert f"its resolved dependencies changed ({LOCKFILE[manager]})" in why, why
    assert f"root file {LOCKFILE[manager]}" not in again.stdout
    installed = [project.workspace / "packages/math/node_modules" / tiny, project.workspace / "node_modules" / tiny]
    assert any(path.exists() for path in installed), "the build installed it first"
    summary = json.loads((project.workspace / ".package-builder/summary.json").read_text())["packages"]
    assert summary[math]["build"] == "built"
    assert summary[app] == {"build": "up to date", "test": "up to date"}, "math's outputs are the same"
    others = [name for name in names(project, *PACKAGES) if name not in (math, app)]
    assert all(summary[name] == {"build": "up to date", "test": "up to date"} for name in others), summary
