"""The main job where users run it: the bundled example generated into a real monorepo (a root package.json with
npm or yarn `workspaces`, or a pnpm-workspace.yaml) whose lockfile is committed. npm and yarn hoist the package's
tools to the monorepo's root, pnpm links them into the package, yarn berry runs them through `yarn run`: the
type-check between phases and BUILD_VALIDATION must find them wherever the manager put them, install through the
workspace, and leave the user's lockfile exactly as it was."""

from __future__ import annotations

import json
import subprocess

import pytest

from monorepo import write_workspace_root

pytestmark = pytest.mark.slow  # real installs of the example's toolchain, full generations

BUILD_VALIDATION = "generate:data-validator:13-build-validation"
CODE_PHASES = ("03-types", "04-core-implementation", "05-entry-point", "06-utilities", "07-error-handling")
LOCKFILE = {"npm": "package-lock.json", "pnpm": "pnpm-lock.yaml", "yarn": "yarn.lock", "yarn-berry": "yarn.lock"}
# How each manager's users write their first lockfile, before the generated package exists.
LOCK_ONLY = {
    "npm": ["npm", "install", "--package-lock-only", "--no-audit", "--no-fund"],
    "pnpm": ["pnpm", "install", "--lockfile-only"],
    "yarn": ["yarn", "install", "--non-interactive"],
    "yarn-berry": ["yarn", "install", "--mode=skip-build", "--no-immutable"],  # CI=true makes berry immutable
}


def make_monorepo(project, manager: str) -> None:
    """The layout the README describes: packages/<category>/<name>, one shared package already there, all committed."""
    root = project.workspace
    write_workspace_root(root, manager, "packages/*/*", "the-monorepo")
    shared = root / "packages" / "shared" / "strings"
    shared.mkdir(parents=True)
    (shared / "package.json").write_text(json.dumps({"name": "@example/strings", "version": "1.0.0"}, indent=2) + "\n")
    (root / ".gitignore").write_text("node_modules/\n.yarn/\n.pnp.*\n")
    locked = subprocess.run(
        LOCK_ONLY[manager], cwd=root, env=project.env(**cache_env(project)), capture_output=True, text=True
    )
    assert locked.returncode == 0, f"{LOCK_ONLY[manager]}: {locked.stdout}{locked.stderr}"
    project.git("add", "-A")
    project.git("-c", "user.name=Someone", "-c", "user.email=someone@example.test", "commit", "-qm", "monorepo")


def cache_env(project) -> dict:
    return {
        "npm_config_store_dir": str(project.npm_cache / "pnpm-store"),
        "YARN_CACHE_FOLDER": str(project.npm_cache / "yarn-cache"),
        "YARN_GLOBAL_FOLDER": str(project.npm_cache / "yarn-berry"),
    }


def artifact(project, slug: str) -> dict:
    return json.loads((project.workspace / ".generation-state" / "data-validator" / f"{slug}.json").read_text())


@pytest.mark.parametrize("manager", ["npm", "pnpm", "yarn", "yarn-berry"])
def test_the_example_goes_green_inside_a_monorepo(project, manager):
    make_monorepo(project, manager)
    lockfile_before = (project.workspace / LOCKFILE[manager]).read_bytes()

    result = project.doit(BUILD_VALIDATION, check=True, timeout=900, **cache_env(project))

    for slug in CODE_PHASES:
        check = artifact(project, slug)["typeCheck"]
        assert check["ran"] and check["exitCode"] == 0, (slug, check)
    report = artifact(project, "13-build-validation")["validation"]["attempts"][-1]
    assert report["green"], report
    assert [step["step"] for step in report["steps"]] == ["install", "type-check", "build", "tests"]
    assert "checks green" in result.stdout
    assert project.api.hits_for("BUILD_VALIDATION") == [], "a green package needs no repair call"
    assert (project.workspace / LOCKFILE[manager]).read_bytes() == lockfile_before, "the user's lockfile is theirs"
    assert project.git("status", "--porcelain") == "", "no lockfile or other file written where git would see it"
