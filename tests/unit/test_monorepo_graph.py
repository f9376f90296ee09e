"""Fast: the monorepo's package graph (package_builder/builds/monorepo.py), on tiny monorepos written into tmp_path.

A user points package-builder at an npm/yarn/pnpm monorepo: it must find exactly the workspace packages, build them
dependencies first, refuse cycles, duplicate and invalid names with a message naming them, and digest only the files
a build really reads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from package_builder.base.errors import ConfigError
from package_builder.base.layout import workspace_globs
from package_builder.builds.monorepo import (
    DEFAULT_OUTPUTS,
    WorkspacePackage,
    declared_outputs,
    dependency_order,
    discover_packages,
    is_npm_package_name,
    source_files,
)


def manifest(root: Path, folder: str, **fields) -> Path:
    directory = root / folder
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "package.json").write_text(json.dumps(fields))
    return directory


def npm_monorepo(root: Path, workspaces) -> Path:
    (root / "package.json").write_text(json.dumps({"name": "monorepo", "private": True, "workspaces": workspaces}))
    return root


def names(root: Path) -> list[str]:
    return [package.name for package in discover_packages(root)]


def package(name: str, *deps: str) -> WorkspacePackage:
    return WorkspacePackage(
        name=name, version="1.0.0", directory=Path("/nowhere") / name, private=False, workspace_dependencies=deps
    )


def config_error(call) -> str:
    with pytest.raises(ConfigError) as error:
        call()
    return str(error.value)


# --- finding packages ------------------------------------------------------------------------------------------------


def test_npm_workspaces_list_finds_the_packages_in_dependency_order(tmp_path):
    npm_monorepo(tmp_path, ["packages/*"])
    manifest(tmp_path, "packages/app", name="@s/app", version="2.0.0", dependencies={"@s/math": "^1", "left-pad": "1"})
    manifest(tmp_path, "packages/math", name="@s/math", devDependencies={"@s/core": "^1"})
    manifest(tmp_path, "packages/core", name="@s/core", private=True)
    found = discover_packages(tmp_path)
    assert [p.name for p in found] == ["@s/core", "@s/math", "@s/app"]
    app = found[-1]
    assert app.workspace_dependencies == ("@s/math",)  # left-pad is not a workspace package
    assert (app.version, app.directory, app.private) == ("2.0.0", tmp_path / "packages" / "app", False)
    assert found[0].private is True and found[1].version == "0.0.0"


def test_yarn_style_workspaces_object_is_understood(tmp_path):
    npm_monorepo(tmp_path, {"packages": ["libs/*", "apps/web"], "nohoist": ["**/react"]})
    manifest(tmp_path, "libs/ui", name="ui")
    manifest(tmp_path, "apps/web", name="web", dependencies={"ui": "*"})
    manifest(tmp_path, "apps/admin", name="admin")  # not listed
    assert names(tmp_path) == ["ui", "web"]


def test_pnpm_workspace_yaml_is_read_with_comments_and_quotes(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"name": "root", "private": True}))
    (tmp_path / "pnpm-workspace.yaml").write_text(
        "# the packages\npackages:\n  - 'packages/*'   # all of them\n  - \"tools/cli\"\n  - apps/*\n"
        "catalog:\n  react: ^18.0.0\n"
    )
    manifest(tmp_path, "packages/a", name="a")
    manifest(tmp_path, "tools/cli", name="cli")
    manifest(tmp_path, "apps/site", name="site")
    assert workspace_globs(tmp_path) == ["packages/*", "tools/cli", "apps/*"]
    assert names(tmp_path) == ["a", "cli", "site"]


def test_package_json_workspaces_win_over_pnpm_workspace_yaml(tmp_path):
    npm_monorepo(tmp_path, ["libs/*"])
    (tmp_path / "pnpm-workspace.yaml").write_text("packages:\n  - 'packages/*'\n")
    manifest(tmp_path, "libs/x", name="x")
    manifest(tmp_path, "packages/y", name="y")
    assert names(tmp_path) == ["x"]


def test_exclusions_with_a_bang_remove_packages(tmp_path):
    npm_monorepo(tmp_path, ["packages/*", "!packages/legacy"])
    manifest(tmp_path, "packages/new", name="new")
    manifest(tmp_path, "packages/legacy", name="legacy")
    assert names(tmp_path) == ["new"]


def test_pnpm_exclusions_remove_packages_too(tmp_path):
    (tmp_path / "pnpm-workspace.yaml").write_text("packages:\n  - 'packages/**'\n  - '!**/fixtures/**'\n")
    manifest(tmp_path, "packages/a", name="a")
    manifest(tmp_path, "packages/a/test/fixtures/pkg", name="fixture-pkg")
    assert names(tmp_path) == ["a"]


def test_folders_without_package_json_and_installed_modules_are_not_packages(tmp_path):
    npm_monorepo(tmp_path, ["packages/**"])
    manifest(tmp_path, "packages/real", name="real")
    (tmp_path / "packages" / "empty").mkdir()
    manifest(tmp_path, "packages/real/node_modules/dep", name="dep")
    assert names(tmp_path) == ["real"]


def test_a_root_without_workspaces_is_not_a_monorepo(tmp_path):
    (tmp_path / "package.json").write_text(json.dumps({"name": "single"}))
    assert workspace_globs(tmp_path) == [] and discover_packages(tmp_path) == []


def test_a_folder_without_package_json_has_no_packages(tmp_path):
    assert discover_packages(tmp_path) == []


def test_a_glob_listed_twice_finds_each_package_once(tmp_path):
    npm_monorepo(tmp_path, ["packages/*", "packages/a", "./packages/a/"])
    manifest(tmp_path, "packages/a", name="a")
    assert names(tmp_path) == ["a"]


@pytest.mark.parametrize("workspaces", ["packages/*", {"packages": "packages/*"}, [1, 2]])
def test_a_workspaces_field_of_the_wrong_shape_is_refused(tmp_path, workspaces):
    npm_monorepo(tmp_path, workspaces)
    assert "field workspaces must be a list of globs" in config_error(lambda: workspace_globs(tmp_path))


@pytest.mark.parametrize("pattern", ["../elsewhere/*", "/abs/*", "packages/../../up"])
def test_a_workspace_glob_leaving_the_monorepo_is_refused(tmp_path, pattern):
    npm_monorepo(tmp_path, [pattern])
    message = config_error(lambda: discover_packages(tmp_path))
    assert "must stay inside the monorepo" in message and repr(pattern.removeprefix("./")) in message


def test_a_symlink_out_of_the_monorepo_and_node_modules_are_never_packages_a_symlink_inside_and_a_dot_folder_are(
    tmp_path,
):
    (tmp_path / "repo").mkdir()
    root = npm_monorepo(tmp_path / "repo", ["packages/*", "tools/**"])
    manifest(root, "packages/real", name="real")
    manifest(root, "packages/.hidden", name="hidden")
    manifest(root, "vendored/inner", name="inner")
    (root / "packages" / "linked-inside").symlink_to(root / "vendored" / "inner")
    manifest(tmp_path, "elsewhere/outside", name="outside")
    (root / "packages" / "linked-outside").symlink_to(tmp_path / "elsewhere" / "outside")
    manifest(root, "tools/node_modules/dep", name="dep")
    manifest(root, "tools/deep/cli", name="cli")
    (root / "tools" / "escape").symlink_to(tmp_path / "elsewhere")  # `**` would reach outside through it

    found = {p.name: p.directory for p in discover_packages(root)}

    assert set(found) == {"real", "hidden", "inner", "cli"}
    assert found["inner"] == root / "packages" / "linked-inside"  # the folder as the glob named it


@pytest.mark.parametrize(
    "yaml, problem",
    [
        ("packages: ['packages/*']\n", "write `packages:` as a block list"),
        ("packages:\n  packages/*\n", "expected a list item"),
    ],
)
def test_a_pnpm_workspace_yaml_it_cannot_read_is_refused_not_taken_as_empty(tmp_path, yaml, problem):
    (tmp_path / "pnpm-workspace.yaml").write_text(yaml)
    assert problem in config_error(lambda: workspace_globs(tmp_path))


# --- names -----------------------------------------------------------------------------------------------------------


def test_two_packages_with_one_name_are_refused_naming_it(tmp_path):
    npm_monorepo(tmp_path, ["packages/*"])
    manifest(tmp_path, "packages/a", name="@s/same")
    manifest(tmp_path, "packages/b", name="@s/same")
    message = config_error(lambda: discover_packages(tmp_path))
    assert "two workspace packages share the name @s/same" in message and str(tmp_path) in message


@pytest.mark.parametrize(
    "bad",
    [
        {"name": "@s/UpperCase"},
        {"name": "has space"},
        {"name": ""},
        {"version": "1.0.0"},
        {"name": 42},
        {"name": "x" * 215},
    ],
)
def test_a_package_with_an_invalid_or_missing_name_is_refused_naming_its_manifest(tmp_path, bad):
    npm_monorepo(tmp_path, ["packages/*"])
    directory = manifest(tmp_path, "packages/bad", **bad)
    message = config_error(lambda: discover_packages(tmp_path))
    assert str(directory / "package.json") in message and "is not a valid npm package name" in message


def test_a_package_json_that_is_not_json_is_refused_naming_it(tmp_path):
    npm_monorepo(tmp_path, ["packages/*"])
    directory = manifest(tmp_path, "packages/bad", name="bad")
    (directory / "package.json").write_text("{ name: bad")
    assert f"{directory / 'package.json'}: not valid JSON" in config_error(lambda: discover_packages(tmp_path))


@pytest.mark.parametrize(
    "name, valid",
    [
        ("left-pad", True),
        ("@scope/pkg.name_x~y", True),
        ("a" * 214, True),
        ("a" * 215, False),
        ("Upper", False),
        (".hidden", False),
        ("_under", False),
        ("@scope/", False),
        ("@/pkg", False),
        ("a/b", False),
    ],
)
def test_npm_package_name_rules(name, valid):
    assert is_npm_package_name(name) is valid


# --- dependency order ------------------------------------------------------------------------------------------------


def test_dependencies_come_first_and_independent_packages_go_by_name():
    packages = {
        p.name: p
        for p in [
            package("app", "math", "strings"),
            package("math", "core"),
            package("core"),
            package("strings"),
            package("colors"),
            package("dates"),
        ]
    }
    order = dependency_order(packages)
    assert order == ["core", "math", "strings", "app", "colors", "dates"]
    for name, pkg in packages.items():
        assert all(order.index(dep) < order.index(name) for dep in pkg.workspace_dependencies)


def test_a_dependency_cycle_is_refused_naming_every_package_in_it():
    packages = {p.name: p for p in [package("a", "b"), package("b", "c"), package("c", "a"), package("d")]}
    message = config_error(lambda: dependency_order(packages))
    assert "workspace dependency cycle: a → b → c → a" in message and "d" not in message.split(":", 1)[1]


def test_a_cycle_found_from_the_side_names_only_the_cycle():
    packages = {p.name: p for p in [package("entry", "x"), package("x", "y"), package("y", "x")]}
    assert "workspace dependency cycle: x → y → x" in config_error(lambda: dependency_order(packages))


def test_a_cycle_through_optional_and_peer_dependencies_is_found_on_disk(tmp_path):
    npm_monorepo(tmp_path, ["packages/*"])
    manifest(tmp_path, "packages/a", name="a", peerDependencies={"b": "*"})
    manifest(tmp_path, "packages/b", name="b", optionalDependencies={"a": "*"})
    assert "workspace dependency cycle: a → b → a" in config_error(lambda: discover_packages(tmp_path))


def test_a_package_depending_on_itself_is_not_a_cycle(tmp_path):
    npm_monorepo(tmp_path, ["packages/*"])
    manifest(tmp_path, "packages/a", name="a", devDependencies={"a": "file:."})
    assert [p.workspace_dependencies for p in discover_packages(tmp_path)] == [()]


# --- outputs and sources ---------------------------------------------------------------------------------------------


def test_a_package_declaring_no_entry_points_builds_into_dist():
    assert declared_outputs({"name": "x", "scripts": {"build": "tsc"}}) == DEFAULT_OUTPUTS


def test_declared_outputs_collects_the_top_level_names_every_entry_point_uses():
    outputs = declared_outputs(
        {
            "main": "./lib/index.js",
            "types": "lib/index.d.ts",
            "bin": {"cli": "./bin/cli.js"},
            "exports": {
                ".": {"import": "./esm/index.js", "require": "./cjs/index.js"},
                "./package.json": "./package.json",
            },
            "files": ["dist/**", "*.md", "README.md"],
            "browser": "browser.js",
        }
    )
    assert outputs == ("README.md", "bin", "browser.js", "cjs", "dist", "esm", "lib")


def test_declared_outputs_ignores_parent_paths_and_globs():
    assert declared_outputs({"main": "../elsewhere/index.js", "files": ["*.js", "./"]}) == DEFAULT_OUTPUTS


def write_tree(directory: Path, files: list[str]) -> None:
    for name in files:
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(name)


def relative(package_: WorkspacePackage) -> list[str]:
    return [os.path.relpath(path, package_.directory) for path in source_files(package_)]


def test_source_files_skip_installed_modules_build_output_caches_and_tsbuildinfo(tmp_path):
    directory = tmp_path / "pkg"
    write_tree(
        directory,
        [
            "package.json",
            "src/index.ts",
            "src/nested/util.ts",
            "README.md",
            "tsconfig.json",
            "dist/index.js",
            "node_modules/dep/index.js",
            "coverage/lcov.info",
            ".turbo/log",
            ".cache/x",
            "tsconfig.tsbuildinfo",
            "src/node_modules/x.js",
        ],
    )
    built = WorkspacePackage(
        name="pkg", version="1.0.0", directory=directory, private=False, scripts={"build": "tsc"}, outputs=("dist",)
    )
    assert relative(built) == ["README.md", "package.json", "tsconfig.json", "src/index.ts", "src/nested/util.ts"]


def test_declared_outputs_are_not_sources_of_a_package_that_builds_them(tmp_path):
    directory = tmp_path / "pkg"
    write_tree(directory, ["package.json", "src/index.ts", "lib/index.js", "index.d.ts"])
    built = WorkspacePackage(
        name="pkg",
        version="1.0.0",
        directory=directory,
        private=False,
        scripts={"build": "tsc"},
        outputs=("index.d.ts", "lib"),
    )
    assert relative(built) == ["package.json", "src/index.ts"]


def test_without_a_build_script_the_shipped_files_are_the_sources(tmp_path):
    directory = tmp_path / "pkg"
    write_tree(directory, ["package.json", "lib/index.js", "index.d.ts"])
    plain = WorkspacePackage(
        name="pkg",
        version="1.0.0",
        directory=directory,
        private=False,
        scripts={"test": "node --test"},
        outputs=("index.d.ts", "lib"),
    )
    assert relative(plain) == ["index.d.ts", "package.json", "lib/index.js"]


def test_src_is_always_a_source_even_when_declared_as_an_output(tmp_path):
    directory = tmp_path / "pkg"
    write_tree(directory, ["package.json", "src/index.js"])
    ships_src = WorkspacePackage(
        name="pkg",
        version="1.0.0",
        directory=directory,
        private=False,
        scripts={"build": "node build.js"},
        outputs=("src",),
    )
    assert relative(ships_src) == ["package.json", "src/index.js"]


def test_a_source_folder_named_build_inside_src_is_still_a_build_input(tmp_path):
    directory = tmp_path / "pkg"
    write_tree(directory, ["package.json", "src/index.ts", "src/build/bundle.ts"])
    bundler = WorkspacePackage(
        name="pkg", version="1.0.0", directory=directory, private=False, scripts={"build": "tsc"}, outputs=("dist",)
    )
    assert "src/build/bundle.ts" in relative(bundler)


def test_npm_inits_placeholder_test_script_does_not_count_as_a_test_script():
    placeholder = WorkspacePackage(
        name="x",
        version="1",
        directory=Path("/x"),
        private=False,
        scripts={"test": 'echo "Error: no test specified" && exit 1', "build": "  "},
    )
    assert not placeholder.has_script("test") and not placeholder.has_script("build")
    assert not placeholder.has_script("lint")
    assert WorkspacePackage(
        name="x", version="1", directory=Path("/x"), private=False, scripts={"test": "vitest run"}
    ).has_script("test")


def test_a_scoped_name_becomes_a_safe_file_name():
    assert package("@scope/name").safe_name == "@scope+name"


def test_in_a_git_work_tree_only_files_git_tracks_or_would_track_are_build_inputs(tmp_path):
    import subprocess

    from package_builder.builds.monorepo import versioned_files

    directory = tmp_path / "pkg"
    write_tree(directory, ["package.json", "src/index.ts", "src/new.ts", ".tmp-package-1.json", "logs/run.log"])
    (tmp_path / ".gitignore").write_text(".tmp-package-*.json\nlogs/\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", ".gitignore", "pkg/package.json", "pkg/src/index.ts"], cwd=tmp_path, check=True)
    package_ = WorkspacePackage(name="pkg", version="1.0.0", directory=directory, private=False)

    inputs = sorted(os.path.relpath(p, directory) for p in source_files(package_, versioned_files(tmp_path)))

    assert inputs == ["package.json", "src/index.ts", "src/new.ts"], "tracked, and untracked but not ignored"
    assert versioned_files(tmp_path / "pkg" / "src" / "nowhere") is None


def test_git_refusing_the_monorepo_is_an_error_naming_gits_words_not_a_silent_no_git(tmp_path, monkeypatch):
    """Outside git, every file is an input (None); git there but refusing (a CI checkout owned by another user:
    GIT_TEST_ASSUME_DIFFERENT_OWNER makes git >= 2.35.2 say so) or failing must stop the build, not pass for it."""
    import subprocess

    from package_builder.builds.monorepo import GitRefused, versioned_files

    outside = tmp_path / "outside"
    outside.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))  # whatever holds tmp_path, never found from here
    assert versioned_files(outside) is None
    repository = tmp_path / "repo"
    repository.mkdir()
    subprocess.run(["git", "init", "-q"], cwd=repository, check=True)

    monkeypatch.setenv("GIT_TEST_ASSUME_DIFFERENT_OWNER", "1")
    with pytest.raises(GitRefused, match="dubious ownership") as refused:
        versioned_files(repository)
    assert f"git config --global --add safe.directory {repository}" in str(refused.value)

    monkeypatch.delenv("GIT_TEST_ASSUME_DIFFERENT_OWNER")
    (repository / ".git" / "index").write_bytes(b"DIRC not an index")
    with pytest.raises(GitRefused, match=r"exit 128\): fatal: .*index file"):
        versioned_files(repository)
