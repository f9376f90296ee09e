"""Each package's share of the lockfile (builds/lockfile_slices.py), read from small real lockfiles that npm, pnpm 9
and 8, yarn classic and yarn berry wrote against the test registry (committed under lockfiles/, made by
lockfiles/generate.py): a dependency added to one package, or a change deep in one package's tree, changes that
package's slice only; the root's own dependencies change every one; and the doit check behind it stays cheap."""

from __future__ import annotations

import inspect
import shutil
from pathlib import Path

import pytest

from package_builder.builds import lockfile_slices as slicing
from package_builder.builds.lockfile_slices import LockfileWatch, lockfile_path, lockfile_slices, package_slices
from package_builder.builds.monorepo import discover_packages
from package_builder.builds.step_inputs import why_again
from package_builder.tasks.builds import ResolvedDependencies

FIXTURES = Path(__file__).parent / "lockfiles"
MANAGERS = ["npm", "pnpm", "pnpm8", "yarn", "yarn-berry"]


def slices_of(fixture: str) -> dict[str, dict]:
    root = FIXTURES / fixture
    path = lockfile_path(root)
    assert path is not None, f"{root} has its manager's lockfile"
    return package_slices(root, path, path.read_bytes(), discover_packages(root))


def changed(before: dict[str, dict], after: dict[str, dict]) -> list[str]:
    return sorted(name for name in after if after[name] != before[name])


@pytest.mark.parametrize("manager", MANAGERS)
def test_a_dependency_added_to_one_package_changes_that_packages_slice_only(manager):
    assert changed(slices_of(f"{manager}-before"), slices_of(f"{manager}-added")) == ["@ws/c"]


@pytest.mark.parametrize("manager", MANAGERS)
def test_a_new_version_deep_in_one_packages_tree_changes_that_packages_slice_only(manager):
    before, after = slices_of(f"{manager}-before"), slices_of(f"{manager}-transitive")

    assert changed(before, after) == ["@ws/a"], "@ws/a → @fx/mid → @fx/leaf 1.0.1; @ws/b keeps @fx/leaf 2.0.0"
    assert any(ident.startswith("@fx/leaf@") and ident.endswith("1.0.1") for ident in after["@ws/a"]["packages"])


@pytest.mark.parametrize("manager", MANAGERS)
def test_a_root_dev_dependency_changes_every_packages_slice(manager):
    assert changed(slices_of(f"{manager}-transitive"), slices_of(f"{manager}-rootdep")) == ["@ws/a", "@ws/b", "@ws/c"]


@pytest.mark.parametrize("manager", MANAGERS)
def test_a_workspace_sibling_is_not_followed_through_the_lockfile(manager):
    assert slices_of(f"{manager}-before")["@ws/c"] == {}, "@ws/c needs only @ws/a, whose build stamp is its input"


def test_npm_resolves_a_nested_entry_before_the_hoisted_one_as_node_does():
    slices = slices_of("npm-before")  # node_modules/@fx/leaf is 2.0.0; node_modules/@fx/mid/node_modules/@fx/leaf 1.0.0

    assert slices["@ws/a"]["packages"]["@fx/mid@1.0.0"]["dependencies"] == {"@fx/leaf": "@fx/leaf@1.0.0"}
    assert slices["@ws/b"]["dependencies"] == {"@fx/leaf": "@fx/leaf@2.0.0"}
    assert "@fx/leaf@2.0.0" not in slices["@ws/a"]["packages"]


def copy_fixture(tmp_path: Path, fixture: str) -> Path:
    root = tmp_path / "workspace"
    shutil.copytree(FIXTURES / fixture, root)
    (root / ".package-builder").mkdir()
    return root


def put_lockfile(root: Path, fixture: str) -> None:
    path = lockfile_path(FIXTURES / fixture)
    assert path is not None
    (root / path.name).write_bytes(path.read_bytes())


def test_the_doit_check_reads_only_the_lockfiles_stat_until_it_changes_then_flags_only_the_changed_package(
    tmp_path, monkeypatch
):
    root = copy_fixture(tmp_path, "pnpm-before")
    packages = discover_packages(root)
    checks = {name: ResolvedDependencies(LockfileWatch(root, packages), name) for name in ("@ws/a", "@ws/b", "@ws/c")}
    stored = {name: check.save() for name, check in checks.items()}  # what doit keeps after each success
    parsed = []
    monkeypatch.setattr(slicing, "_graph", lambda *args: parsed.append(args) or pytest.fail("parsed"))

    assert all(check(None, stored[name]) for name, check in checks.items())
    lock = root / "pnpm-lock.yaml"
    lock.write_bytes(lock.read_bytes())  # touched (a checkout): hashed, not parsed
    assert all(check(None, stored[name]) for name, check in checks.items())
    assert parsed == []

    monkeypatch.undo()
    put_lockfile(root, "pnpm-added")  # `pnpm add tiny --filter @ws/c`
    assert {name: check(None, stored[name]) for name, check in checks.items()} == {
        "@ws/a": True,
        "@ws/b": True,
        "@ws/c": False,
    }
    assert checks["@ws/a"](None, {}) is False, "never checked before: runs"


def test_doit_finds_the_checks_task_and_values_parameters_without_inspecting_the_object():
    check = ResolvedDependencies(LockfileWatch(FIXTURES / "npm-before", []), "@ws/a")

    assert list(inspect.signature(check).parameters) == ["task", "values"]
    assert inspect.signature(check) is ResolvedDependencies.__signature__, "the 5 µs path, not inspect's 55 µs one"


def test_slices_are_computed_once_and_kept_for_the_next_process(tmp_path, monkeypatch):
    root = copy_fixture(tmp_path, "yarn-before")
    packages = discover_packages(root)
    first = lockfile_slices(root, packages)
    monkeypatch.setattr(slicing, "_computed", {})  # a new process
    monkeypatch.setattr(slicing, "_graph", lambda *args: pytest.fail("parsed again"))

    assert lockfile_slices(root, packages) == first
    assert first.lockfile == "yarn.lock" and first.digests["@ws/c"] is None and first.digests["@ws/a"]


def test_an_unreadable_lockfile_is_whole_in_every_slice_and_said_once(tmp_path):
    root = copy_fixture(tmp_path, "pnpm-before")
    (root / "pnpm-lock.yaml").write_text("lockfileVersion: 5.4\nimporters: {}\n")
    packages = discover_packages(root)
    said: list[str] = []

    slices = lockfile_slices(root, packages, say=said.append)
    lockfile_slices(root, packages, say=said.append)

    assert len(said) == 1 and "pnpm-lock.yaml" in said[0] and "whole lockfile is an input of every package" in said[0]
    assert "5.4" in said[0], "says what it could not read"
    assert len(set(slices.digests.values())) == 1 and None not in slices.digests.values()


def test_a_workspace_without_a_lockfile_has_empty_slices(tmp_path):
    root = copy_fixture(tmp_path, "npm-before")
    (root / "package-lock.json").unlink()

    slices = lockfile_slices(root, discover_packages(root))

    assert slices.lockfile == "" and set(slices.digests.values()) == {None}


def test_the_why_line_names_the_lockfile_when_a_packages_resolved_dependencies_change():
    before = {"package": "@ws/c", "resolved": {}}
    after = {"package": "@ws/c", "resolved": {"pnpm-lock.yaml": "sha256:1"}}

    assert why_again(before, after) == "its resolved dependencies changed (pnpm-lock.yaml)"
