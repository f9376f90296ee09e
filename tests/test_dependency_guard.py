"""The dependency guard in a real monorepo with the real registry (Verdaccio, where no package of the monorepo is
published, as in a user's monorepo): a sibling written with a range its manager links passes without a registry
request, a hallucinated `@acme/nonexistent` is refused, and a sibling whose range misses its version is refused with
the range to write. The real install then agrees: what the guard refuses fails, what it says to write links."""

from __future__ import annotations

import json
import subprocess

import pytest

from conftest import TOOLS_BIN
from monorepo import LINKS_WITH_WORKSPACE_PROTOCOL, write_monorepo
from package_builder.base.commands import StepResult, Toolchain

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
