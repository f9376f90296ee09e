"""Where a generated package's tools live depends on the monorepo around it: npm and yarn classic hoist them to the
root's node_modules/.bin, pnpm links them into the package's own, yarn berry's Plug'n'Play has none. The toolchain
finds them there, refuses a package the workspace would not install, and never leaves a lockfile changed."""

from __future__ import annotations

import json
import os

import pytest

from package_builder.base.commands import INSTALL_MARKER, NOT_FOUND, Toolchain, lockfiles_kept
from package_builder.base.layout import workspace_member
from package_builder.generation.validation import environment_failure, type_check_between_phases


def monorepo(tmp_path, workspaces=("packages/*/*",), manager: str | None = None):
    manifest = {"name": "root", "private": True, "workspaces": list(workspaces)}
    if manager:
        manifest["packageManager"] = manager
    (tmp_path / "package.json").write_text(json.dumps(manifest))
    package = tmp_path / "packages" / "core" / "thing"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@s/thing", "version": "0.1.0"}))
    return package


def fake_bin(folder, name: str, script: str = "echo ran $0 $@") -> None:
    path = folder / "node_modules" / ".bin" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)


def test_a_tool_hoisted_to_the_root_is_run_from_there_and_reported_relative_to_the_package(tmp_path):
    package = monorepo(tmp_path)
    fake_bin(tmp_path, "tsc")
    toolchain = Toolchain(package, tmp_path, "http://127.0.0.1:9/")

    result = toolchain.typecheck()

    assert result.ok and "ran ../../../node_modules/.bin/tsc --noEmit" in result.output
    assert result.command == ["tsc", "--noEmit", "-p", "tsconfig.json"], "reported as typed, whatever the layout"


def test_the_package_own_tool_wins_over_the_root_one_as_pnpm_links_it(tmp_path):
    package = monorepo(tmp_path)
    fake_bin(tmp_path, "vitest", "exit 9")
    fake_bin(package, "vitest", "exit 0")
    assert Toolchain(package, tmp_path, "http://127.0.0.1:9/").test().ok


def test_a_tool_no_folder_has_is_the_package_fault_not_the_machine(tmp_path):
    package = monorepo(tmp_path)
    result = Toolchain(package, tmp_path, "http://127.0.0.1:9/").typecheck()
    assert result.exit_code == NOT_FOUND and result.tool_missing
    assert not result.machine_failed and not environment_failure(result), "a repair can add the devDependency"
    assert "tsc is not installed" in result.output and "devDependencies" in result.output


def test_a_tool_above_the_workspace_root_is_not_used(tmp_path):
    fake_bin(tmp_path, "tsc")
    root = tmp_path / "monorepo"
    root.mkdir()
    package = monorepo(root)
    assert Toolchain(package, root, "http://127.0.0.1:9/").typecheck().tool_missing


@pytest.mark.parametrize(
    "globs, member",
    [
        (["packages/*/*"], True),
        (["packages/*"], False),
        (["packages/**"], True),
        (["packages/*/*", "!packages/core/thing"], False),
        (["!packages/core/thing", "packages/*/*"], False),
        (["./packages/core/*/"], True),
        (["packages/{core,shared}/*"], True),
        (["packages/[cs]*/*"], True),
        (["packages/{shared,apps}/*"], False),
    ],
)
def test_membership_follows_the_workspace_globs(tmp_path, globs, member):
    package = monorepo(tmp_path, globs)
    assert workspace_member(tmp_path, package) is member


def test_a_folder_outside_any_workspace_installs_on_its_own(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"name": "not-a-monorepo"}))
    assert workspace_member(tmp_path, tmp_path / "packages" / "x") is None


def test_a_package_the_workspace_does_not_list_is_refused_before_any_install(tmp_path):
    package = monorepo(tmp_path, ["packages/*"])
    result = Toolchain(package, tmp_path, "http://127.0.0.1:9/").install()
    assert not result.ok and result.machine_failed, "no model call can fix the user's workspace globs"
    assert "packages/core/thing is not a package of the workspace" in result.output
    assert "package.json `workspaces` (packages/*)" in result.output


def test_the_check_between_phases_of_an_unlisted_package_names_the_workspace_problem(tmp_path):
    package = monorepo(tmp_path, ["apps/*"])
    check = type_check_between_phases(Toolchain(package, tmp_path, "http://127.0.0.1:9/"))
    assert not check.ran and check.environment and "is not a package of the workspace" in check.problem


def test_lockfiles_are_put_back_byte_for_byte_and_new_ones_removed(tmp_path):
    package = monorepo(tmp_path)
    (tmp_path / "yarn.lock").write_bytes(b"# the user's lockfile\n")
    with lockfiles_kept(tmp_path, package):
        (tmp_path / "yarn.lock").write_text("rewritten by an install\n")
        (tmp_path / "package-lock.json").write_text("{}")
        (package / "pnpm-lock.yaml").write_text("lockfileVersion: 9\n")
    assert (tmp_path / "yarn.lock").read_bytes() == b"# the user's lockfile\n"
    assert not (tmp_path / "package-lock.json").exists() and not (package / "pnpm-lock.yaml").exists()


def test_lockfiles_are_put_back_when_the_check_fails(tmp_path):
    (tmp_path / "pnpm-lock.yaml").write_text("lockfileVersion: 9\n")
    with pytest.raises(RuntimeError), lockfiles_kept(tmp_path):
        os.remove(tmp_path / "pnpm-lock.yaml")
        raise RuntimeError("install crashed")
    assert (tmp_path / "pnpm-lock.yaml").read_text() == "lockfileVersion: 9\n"


def test_only_an_install_is_judged_by_network_words_in_its_output(tmp_path):
    package = monorepo(tmp_path)
    toolchain = Toolchain(package, tmp_path, "http://127.0.0.1:9/")
    failing_test = toolchain.run("tests", ["sh", "-c", "echo 'FAIL retries on network errors (ECONNRESET)'; exit 1"])
    failing_install = toolchain.run("install", ["sh", "-c", "echo 'npm ERR! network socket hang up'; exit 1"])
    assert not environment_failure(failing_test), "a red test is the code's to fix, whatever it is named"
    assert environment_failure(failing_install)


def test_the_next_phase_reads_the_type_check_as_typed_wherever_the_manager_put_tsc(tmp_path):
    """The stored check goes into the next phase's request: a plain folder and a monorepo must send the same one."""
    commands = []
    for root, hoisted in ((tmp_path / "plain", False), (tmp_path / "monorepo", True)):
        root.mkdir()
        package = monorepo(root)
        fake_bin(root if hoisted else package, "tsc")
        toolchain = Toolchain(package, root, "http://127.0.0.1:9/")
        (package / INSTALL_MARKER).parent.mkdir(exist_ok=True)
        (package / INSTALL_MARKER).write_text(toolchain._install_digest())  # installed: no npm in a unit test
        check = type_check_between_phases(toolchain)
        assert check.ran and check.exit_code == 0
        commands.append(check.to_json()["command"])
    assert commands == [["tsc", "--noEmit", "-p", "tsconfig.json"]] * 2


def test_pnpm_reads_its_yaml_even_when_package_json_declares_workspaces_too(tmp_path):
    package = monorepo(tmp_path, ["packages/*/*"], manager="pnpm@9.15.0")
    (tmp_path / "pnpm-workspace.yaml").write_text("packages:\n  - 'apps/*'\n")
    assert workspace_member(tmp_path, package) is False, "pnpm ignores package.json workspaces"


def test_a_dependency_on_a_package_of_the_same_workspace_is_not_looked_up_in_the_registry(tmp_path):
    """npm and yarn classic have no `workspace:` protocol: `"@s/strings": "^1.0.0"` is how a sibling is named there.
    The registry (here: nothing listens) is not asked about it, so it is never reported as missing."""
    package = monorepo(tmp_path)
    sibling = tmp_path / "packages" / "shared" / "strings"
    sibling.mkdir(parents=True)
    (sibling / "package.json").write_text(json.dumps({"name": "@s/strings", "version": "1.0.0"}))
    toolchain = Toolchain(package, tmp_path, "http://127.0.0.1:9/")
    assert toolchain.missing_dependencies({"dependencies": {"@s/strings": "^1.0.0"}}) == ([], "")


@pytest.mark.parametrize(
    "output",
    [
        "npm error code E503\n503 Service Unavailable - GET http://registry/x",
        "npm error code E401\nUnable to authenticate",
        "npm error code E403",
        "npm error code EINTEGRITY sha512 integrity checksum failed",
        "npm error code EPERM operation not permitted",
    ],
)
def test_a_registry_or_disk_failure_during_an_install_is_the_environments(tmp_path, output):
    package = monorepo(tmp_path)
    toolchain = Toolchain(package, tmp_path, "http://127.0.0.1:9/")
    result = toolchain.run("install", ["sh", "-c", f"echo '{output}'; exit 1"])
    assert environment_failure(result), "no paid repair can fix an outage or a refused token"
