"""The dependency guard before an install: a dependency on a package of the monorepo (or of another plan) is checked
against the workspace (its range must be one the workspace's manager links, admitting the sibling's version), never
the registry; a `workspace:` name the workspace does not have is a hallucination and is refused. The registry here is
an address where nothing listens: any lookup would come back as an environment error, so `environment == ""` says
that no registry request was made."""

from __future__ import annotations

import json

import pytest

from monorepo import write_workspace_root
from package_builder.base.commands import Toolchain
from package_builder.generation.validation import type_check_between_phases, validate_package

NOWHERE = "http://127.0.0.1:9/"


def workspace(tmp_path, manager: str, siblings: dict[str, str | None] | None = None):
    """A monorepo of `manager` with packages/<name> for each sibling (name → version), and the package being
    generated at packages/thing; returns its folder."""
    write_workspace_root(tmp_path, manager, "packages/*", "the-monorepo")
    for name, version in {"@acme/logger": "1.3.0", **(siblings or {})}.items():
        folder = tmp_path / "packages" / name.split("/")[-1]
        folder.mkdir(parents=True)
        manifest = {"name": name} if version is None else {"name": name, "version": version}
        (folder / "package.json").write_text(json.dumps(manifest))
    package = tmp_path / "packages" / "thing"
    package.mkdir(parents=True)
    (package / "package.json").write_text(json.dumps({"name": "@acme/thing", "version": "0.1.0"}))
    return package


def guard(package, dependencies: dict[str, str], **kwargs) -> tuple[list[str], str]:
    missing, environment = Toolchain(package, package.parents[1], NOWHERE).missing_dependencies(
        {"name": "@acme/thing", "dependencies": dependencies}, **kwargs
    )
    assert all(item.where == "workspace" for item in missing), "a sibling's finding is never the registry's"
    return [str(item) for item in missing], environment


@pytest.mark.parametrize("spec", ["^1.0.0", "1.x", ">=1 <2", "*", "1.0.0 - 1.5.0", "^0.1.0 || ^1.0.0", "~1.3", "x"])
@pytest.mark.parametrize("manager", ["npm", "yarn", "yarn-berry"])
def test_a_sibling_whose_plain_range_admits_its_version_passes_without_asking_the_registry(tmp_path, manager, spec):
    package = workspace(tmp_path, manager)
    assert guard(package, {"@acme/logger": spec}) == ([], "")


@pytest.mark.parametrize(
    "manager, write", [("npm", "^1.3.0"), ("yarn", "^1.3.0"), ("yarn-berry", "workspace:^"), ("pnpm", "workspace:^")]
)
@pytest.mark.parametrize("spec", ["^2.0.0", "~1.2.0", "1.0.0 - 1.2.9", "<1"])
def test_a_sibling_whose_range_misses_its_version_is_refused_with_the_range_to_write(tmp_path, manager, write, spec):
    package = workspace(tmp_path, manager)
    assert guard(package, {"@acme/logger": spec}) == (
        [f"`@acme/logger@{spec}`: the workspace's @acme/logger is 1.3.0; write {write}"],
        "",
    )


@pytest.mark.parametrize("spec", ["workspace:^", "workspace:*", "workspace:~", "workspace:^1.0.0", "workspace:1.x"])
@pytest.mark.parametrize("manager", ["pnpm", "yarn-berry"])
def test_pnpm_and_yarn_berry_link_a_sibling_through_the_workspace_protocol(tmp_path, manager, spec):
    package = workspace(tmp_path, manager)
    assert guard(package, {"@acme/logger": spec}) == ([], "")


@pytest.mark.parametrize("manager", ["pnpm", "yarn-berry"])
def test_a_workspace_range_that_misses_the_sibling_version_is_refused(tmp_path, manager):
    package = workspace(tmp_path, manager)
    assert guard(package, {"@acme/logger": "workspace:^2.0.0"}) == (
        ["`@acme/logger@workspace:^2.0.0`: the workspace's @acme/logger is 1.3.0; write workspace:^"],
        "",
    )


@pytest.mark.parametrize("manager, label", [("npm", "npm"), ("yarn", "yarn classic")])
def test_npm_and_yarn_classic_are_told_to_write_a_version_range_instead_of_workspace(tmp_path, manager, label):
    """npm fails a `workspace:` range with EUNSUPPORTEDPROTOCOL, a message that does not say what to write."""
    package = workspace(tmp_path, manager)
    assert guard(package, {"@acme/logger": "workspace:^"}) == (
        [
            f"`@acme/logger@workspace:^`: {label} does not understand `workspace:` (EUNSUPPORTEDPROTOCOL); "
            f"write ^1.3.0, {label} links a workspace package by its version range"
        ],
        "",
    )


def test_pnpm_fetches_a_plain_range_of_a_sibling_from_the_registry_unless_told_to_link_it(tmp_path):
    """pnpm 9 turned `link-workspace-packages` off: `^1.0.0` of an unpublished sibling is a registry 404."""
    package = workspace(tmp_path, "pnpm")
    missing, _ = guard(package, {"@acme/logger": "^1.0.0"})
    assert missing == [
        "`@acme/logger@^1.0.0`: pnpm fetches a plain range from the registry even for a package of its workspace "
        "(link-workspace-packages is off); write workspace:^"
    ]
    (tmp_path / ".npmrc").write_text("link-workspace-packages=true\n")
    assert guard(package, {"@acme/logger": "^1.0.0"}) == ([], "")


@pytest.mark.parametrize("manager", ["npm", "pnpm", "yarn-berry"])
@pytest.mark.parametrize("spec", ["workspace:^", "workspace:*"])
def test_a_workspace_dependency_the_workspace_does_not_have_is_a_hallucination(tmp_path, manager, spec):
    package = workspace(tmp_path, manager)
    assert guard(package, {"@acme/nonexistent": spec}) == (
        [
            "`@acme/nonexistent`: no package of the workspace is named so (workspace: links only the workspace's own "
            "packages: @acme/logger); name one of them, or a package of the registry with a version "
            "range"
        ],
        "",
    )


def test_a_file_spec_to_a_folder_of_the_workspace_must_hold_that_package(tmp_path):
    package = workspace(tmp_path, "npm")
    (tmp_path / "vendor" / "left-pad").mkdir(parents=True)
    (tmp_path / "vendor" / "left-pad" / "package.json").write_text(json.dumps({"name": "left-pad"}))
    missing, environment = guard(
        package,
        {
            "left-pad": "file:../../vendor/left-pad",  # a vendored package the workspace globs do not list: real
            "@acme/ghost": "file:../ghost",
            "@acme/impostor": "link:../../vendor/left-pad",
            "@acme/elsewhere": "file:../../../outside",  # outside the workspace: the install judges it, as before
            "@acme/logger": "file:../logger",
        },
    )
    assert environment == ""
    assert missing == [
        "`@acme/ghost@file:../ghost`: no package of the workspace is named so (../ghost holds no package.json; the "
        "workspace's own packages: @acme/logger)",
        "`@acme/impostor@link:../../vendor/left-pad`: no package of the workspace is named so (../../vendor/left-pad "
        "holds left-pad; the workspace's own packages: @acme/logger)",
    ]


@pytest.mark.parametrize("manager, ok, wrong", [("npm", "^0.2.0", "^0.1.0"), ("pnpm", "workspace:^", "^0.3.0")])
def test_a_planned_sibling_not_on_disk_yet_counts_as_the_workspaces(tmp_path, manager, ok, wrong):
    """Another plan will generate @acme/events at 0.2.1: a dependent generated first must not be told it is missing."""
    package = workspace(tmp_path, manager)
    planned = {"@acme/events": "0.2.1"}
    assert guard(package, {"@acme/events": ok}, planned=planned) == ([], "")
    missing, _ = guard(package, {"@acme/events": wrong}, planned=planned)
    assert missing and missing[0].startswith(f"`@acme/events@{wrong}`: the workspace's @acme/events is 0.2.1")
    toolchain = Toolchain(package, tmp_path, NOWHERE, planned=planned)  # as the suite's wiring passes it
    assert toolchain.missing_dependencies({"dependencies": {"@acme/events": ok}}) == ([], "")


def test_caret_ranges_of_a_zero_major_sibling_follow_npm(tmp_path):
    package = workspace(tmp_path, "npm", {"@acme/events": "0.3.1"})
    assert guard(package, {"@acme/events": "^0.3.0"}) == ([], "")
    missing, _ = guard(package, {"@acme/events": "^0.2.0"})
    assert missing == ["`@acme/events@^0.2.0`: the workspace's @acme/events is 0.3.1; write ^0.3.1"]


def test_a_dist_tag_for_a_sibling_would_be_fetched_from_the_registry(tmp_path):
    package = workspace(tmp_path, "npm")
    missing, _ = guard(package, {"@acme/logger": "latest"})
    assert missing == [
        "`@acme/logger@latest`: 'latest' is not a version range, so it is fetched from the registry; write ^1.3.0"
    ]


def test_a_sibling_without_a_version_can_only_be_linked_through_workspace_or_star(tmp_path):
    package = workspace(tmp_path, "npm", {"@acme/unversioned": None})
    missing, _ = guard(package, {"@acme/unversioned": "^1.0.0"})
    assert missing == ["`@acme/unversioned@^1.0.0`: the workspace's @acme/unversioned has no `version`; write *"]
    assert guard(package, {"@acme/unversioned": "*"}) == ([], "")


def test_build_validation_says_a_sibling_finding_is_the_workspaces_not_the_registrys(tmp_path):
    """Told "not in the registry" about a real sibling, a model deleted the dependency: the problem names the kind."""
    package = workspace(tmp_path, "npm")
    manifest = {"name": "@acme/thing", "version": "0.1.0", "dependencies": {"@acme/nonexistent": "workspace:^"}}
    (package / "package.json").write_text(json.dumps(manifest))
    toolchain = Toolchain(package, tmp_path, NOWHERE)

    report = validate_package(toolchain, coverage_target=90)
    check = type_check_between_phases(toolchain)

    assert report.failure == "dependency" and report.steps == [], "nothing is installed before the guard passes"
    for problem in (report.problem, check.problem):
        assert problem.startswith("these dependencies are not in the workspace as written (a package of this ")
        assert "`@acme/nonexistent`: no package of the workspace is named so" in problem
        assert "registry:" not in problem
    assert not check.ran and not check.environment
