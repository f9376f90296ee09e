"""The dependency guard in a real monorepo with the real registry (Verdaccio, where no package of the monorepo is
published, as in a user's monorepo): a sibling written with a range its manager links passes without a registry
request, a hallucinated `@acme/nonexistent` is refused, and a sibling whose range misses its version is refused with
the range to write. The real install then agrees: what the guard refuses fails, what it says to write links. And
where the user met it: BUILD_VALIDATION's repair request says the sibling is the workspace's, never the registry's."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import TOOLS_BIN
from monorepo import LINKS_WITH_WORKSPACE_PROTOCOL, write_monorepo
from package_builder.base.commands import StepResult, Toolchain
from test_build_validation import BUILD_VALIDATION, MANIFEST, answer, critical_fixes_with, validation
from test_generation_in_monorepos import cache_env, make_monorepo

pytestmark = pytest.mark.slow  # the real registry and real installs

INSTALL = {
    "npm": ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts"],
    "pnpm": ["pnpm", "install", "--ignore-scripts", "--config.fetch-retries=0"],
}


class ObservedToolchain(Toolchain):
    """The real toolchain, with every command it runs written down: what it asked the registry is in `commands`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.commands: list[list[str]] = []

    def run(self, step: str, command: list[str]) -> StepResult:
        self.commands.append(command)
        return super().run(step, command)


def install(root, manager: str, registry: str, tmp_path) -> subprocess.CompletedProcess:
    env = {
        "PATH": f"{TOOLS_BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "npm_config_registry": registry,
        "npm_config_cache": str(tmp_path / "npm-cache"),
        "npm_config_store_dir": str(tmp_path / "pnpm-store"),
        "npm_config_fetch_retries": "0",
        "CI": "true",
    }
    return subprocess.run(INSTALL[manager], cwd=root, env=env, capture_output=True, text=True, timeout=300)


def set_dependencies(package, dependencies: dict[str, str]) -> None:
    manifest = json.loads((package / "package.json").read_text())
    (package / "package.json").write_text(json.dumps({**manifest, "dependencies": dependencies}, indent=2))


@pytest.mark.parametrize("manager", ["npm", "pnpm"])
def test_siblings_pass_without_the_registry_and_hallucinations_are_refused(tmp_path, npm_registry, manager):
    root = tmp_path / "monorepo"
    root.mkdir()
    scope = write_monorepo(root, manager)
    app = root / "packages" / "app"
    core, strings = f"{scope}/core", f"{scope}/strings"
    linked = "workspace:^" if manager in LINKS_WITH_WORKSPACE_PROTOCOL else "^1.0.0"
    toolchain = ObservedToolchain(app, root, npm_registry.url)

    missing, environment = toolchain.missing_dependencies(
        {"dependencies": {core: linked, strings: "^2.0.0", "@acme/nonexistent": "^1.0.0"}}
    )
    hallucinated, _ = toolchain.missing_dependencies({"dependencies": {"@acme/nonexistent": "workspace:^"}})

    assert environment == ""
    assert toolchain.commands == [["npm", "view", "@acme/nonexistent@^1.0.0", "version", "--json"]], (
        "the registry is asked about the unknown name only, never about a sibling"
    )
    write = "workspace:^" if manager == "pnpm" else "^1.0.0"
    assert [(item.name, item.where, str(item)) for item in missing] == [
        (strings, "workspace", f"`{strings}@^2.0.0`: the workspace's {strings} is 1.0.0; write {write}"),
        ("@acme/nonexistent", "registry", f"@acme/nonexistent (no such package in {npm_registry.url})"),
    ]
    assert [(item.name, item.where) for item in hallucinated] == [("@acme/nonexistent", "workspace")]
    assert "no package of the workspace is named so" in str(hallucinated[0])

    set_dependencies(app, {core: linked, strings: "^2.0.0"})
    refused = install(root, manager, npm_registry.url, tmp_path)
    assert refused.returncode != 0, "the range the guard refused does send the manager to the registry"
    set_dependencies(app, {core: linked, strings: write})
    assert toolchain.missing_dependencies(json.loads((app / "package.json").read_text())) == ([], "")
    installed = install(root, manager, npm_registry.url, tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    resolved = subprocess.run(
        ["node", "-p", f"require('fs').realpathSync(require.resolve('{strings}/package.json'))"],
        cwd=app,
        capture_output=True,
        text=True,
    )
    assert resolved.stdout.strip() == str((root / "packages" / "strings" / "package.json").resolve()), (
        "the app reaches the workspace's own strings, linked, not a download"
    )


def with_dependencies(dependencies: dict[str, str]) -> str:
    """The example's package.json with these dependencies added, as a file's content."""
    manifest = {**MANIFEST, "dependencies": {**MANIFEST.get("dependencies", {}), **dependencies}}
    return json.dumps(manifest, indent=2) + "\n"


@pytest.mark.parametrize("manager", ["npm", "pnpm"])
def test_the_repair_request_says_a_sibling_is_the_workspaces_and_its_range_goes_green(project, manager):
    """The example in a monorepo that has @example/strings 1.0.0: CRITICAL_FIXES writes a range that misses it and a
    `workspace:` name the workspace lacks; the repair writes the range the guard asked for, and the real toolchain
    installs the package with its sibling linked."""
    make_monorepo(project, manager)
    linked = "workspace:^" if manager == "pnpm" else "^1.0.0"
    wrong = with_dependencies({"@example/strings": "^2.0.0", "@acme/nonexistent": "workspace:^"})
    project.api.script("CRITICAL_FIXES", critical_fixes_with("package.json", wrong))
    project.api.script("BUILD_VALIDATION", answer({"package.json": with_dependencies({"@example/strings": linked})}))

    project.doit(BUILD_VALIDATION, check=True, timeout=900, **cache_env(project))

    attempts = validation(project)["validation"]["attempts"]
    assert attempts[0]["failure"] == "dependency" and attempts[0]["steps"] == [], "nothing installed before the guard"
    problem = attempts[0]["problem"]
    assert problem.startswith("these dependencies are not in the workspace as written"), problem
    assert f"`@example/strings@^2.0.0`: the workspace's @example/strings is 1.0.0; write {linked}" in problem
    assert "`@acme/nonexistent`: no package of the workspace is named so" in problem
    assert "not in the registry" not in problem, "a sibling is not looked for on the registry"
    assert problem in project.api.hits_for("BUILD_VALIDATION")[0].user_text
    assert attempts[-1]["green"], attempts[-1]
    assert "@example/data-validator" not in problem, "the package is not offered as its own dependency"
