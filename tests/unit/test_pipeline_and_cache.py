"""What a workspace step reads and writes (turbo.json, the config's packageBuilder section) and the local cache
that stores its outputs: globs as Turborepo reads them, clear errors naming the file and field, archives that
cannot write outside the package, and a size bound."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from package_builder.base.errors import ConfigError
from package_builder.builds.cache import StepCache
from package_builder.builds.pipeline import StepDefinition, load_pipeline, select_inputs

FILES = ["/p/src/a.ts", "/p/src/a.test.ts", "/p/README.md", "/p/docs/x.md", "/p/dist/a.js", "/p/schema.json"]


@pytest.mark.parametrize(
    "inputs, outputs, expected",
    [
        (None, None, FILES),
        (("$TURBO_DEFAULT$", "!**/*.md"), ("dist/**",), ["/p/src/a.ts", "/p/src/a.test.ts", "/p/schema.json"]),
        (("src/**", "!src/**/*.test.ts"), None, ["/p/src/a.ts"]),
        (("*.md",), None, ["/p/README.md"]),  # relative to the package, anchored: docs/x.md is not *.md
    ],
)
def test_inputs_are_turborepos_globs_relative_to_the_package(inputs, outputs, expected):
    chosen = select_inputs(Path("/p"), FILES, StepDefinition("build", inputs=inputs), outputs)
    assert chosen == sorted(expected)


def test_turbo_json_with_comments_and_the_config_over_it(tmp_path):
    (tmp_path / "turbo.json").write_text(
        '{\n  // ours\n  "tasks": {"build": {"outputs": ["lib/**"],},\n'
        '  "test": {"dependsOn": ["build", "generate"]}}\n}'
    )
    pipeline = load_pipeline(tmp_path, {"@a/x#build": {"outputs": ["out/**"], "dependsOn": []}})

    assert pipeline.definition("@a/y", "build").outputs == ("lib/**",)
    assert pipeline.definition("@a/x", "build").outputs == ("out/**",)
    assert pipeline.definition("@a/x", "build").depends_on == ()
    assert pipeline.definition("@a/y", "test").prerequisites == ("generate",)
    assert pipeline.definition("@a/y", "lint").depends_on == ()


@pytest.mark.parametrize(
    "tasks, message",
    [
        ({"build": {"outputs": "dist/**"}}, "turbo.json tasks.build: field outputs must be a list of globs"),
        ({"build": {"inputs": ["../shared/**"]}}, "turbo.json tasks.build: field inputs: '../shared/**' must stay"),
        ({"build": {"dependsOn": ["other#build"]}}, "field dependsOn: 'other#build' is not supported"),
        ({"build": []}, "turbo.json tasks.build: must be an object"),
    ],
)
def test_a_bad_declaration_names_the_file_the_task_and_the_field(tmp_path, tasks, message):
    (tmp_path / "turbo.json").write_text(json.dumps({"tasks": tasks}))
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("*", r"\*").replace(".", r"\.")):
        load_pipeline(tmp_path, None)


def package_with(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "package"
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    return package


def test_a_restore_replaces_the_outputs_with_the_stored_ones(tmp_path):
    package = package_with(tmp_path, {"dist/a.js": "one", "dist/b.js": "b"})
    cache = StepCache(tmp_path / "ws", 10, say=lambda line: None)
    cache.store("sha256:aa11", package, [str(package / "dist/a.js"), str(package / "dist/b.js")], "built", 2.5)
    (package / "dist/a.js").write_text("two")
    (package / "dist/stale.js").write_text("left by another build")

    restored = cache.restore("sha256:aa11", package, [str(package / "dist/a.js"), str(package / "dist/stale.js")])

    assert restored.log == "built" and restored.seconds == 2.5 and restored.source == "local"
    assert restored.files == {
        "dist/a.js": hashlib.sha256(b"one").hexdigest(),
        "dist/b.js": hashlib.sha256(b"b").hexdigest(),
    }  # what is in place now
    assert (package / "dist/a.js").read_text() == "one" and not (package / "dist/stale.js").exists()
    assert cache.restore("sha256:bb22", package, []) is None


def hand_made_archive(cache: StepCache, key: str, entries: dict[str, bytes]) -> Path:
    """An archive in the cache that package-builder did not write: an older version's, or a hostile remote's."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    path = cache.archive(key)
    path.parent.mkdir(parents=True)
    path.write_bytes(buffer.getvalue())
    return path


def test_what_a_restore_reports_in_place_is_read_from_what_it_wrote_not_taken_from_the_archive(tmp_path):
    """An archive from an older version stores no digests, and one from a remote may not match what it holds: the
    build stamp (which dependents read) is made from the files as they now are."""
    package = package_with(tmp_path, {"dist/a.js": "edited", "dist/b.js": "b"})
    cache = StepCache(tmp_path / "ws", 10, say=lambda line: None)
    hand_made_archive(
        cache,
        "sha256:ff66",
        {"dist/a.js": b"one", "dist/b.js": b"b", ".package-builder-step.json": b'{"log": "", "seconds": 1}'},
    )  # no "files"

    restored = cache.restore("sha256:ff66", package, [str(package / "dist/a.js"), str(package / "dist/b.js")])

    assert restored.files == {
        "dist/a.js": hashlib.sha256(b"one").hexdigest(),
        "dist/b.js": hashlib.sha256(b"b").hexdigest(),
    }
    assert (package / "dist/a.js").read_text() == "one"


def test_an_archive_that_would_write_outside_the_package_is_refused_and_removed(tmp_path):
    package = package_with(tmp_path, {"dist/a.js": "one"})
    lines = []
    cache = StepCache(tmp_path / "ws", 10, say=lines.append)
    path = hand_made_archive(
        cache, "sha256:cc33", {"../escaped.js": b"x", ".package-builder-step.json": b'{"log": ""}'}
    )

    assert cache.restore("sha256:cc33", package, [str(package / "dist/a.js")]) is None

    assert not (tmp_path / "escaped.js").exists() and (package / "dist/a.js").read_text() == "one"
    assert not path.exists() and "unreadable" in lines[0]


def test_the_least_recently_used_archives_go_first_when_the_cache_is_full(tmp_path):
    package = package_with(tmp_path, {"dist/a.js": "x" * 2000})
    probe = StepCache(tmp_path / "probe", 10, say=lambda line: None)
    probe.store("sha256:00", package, [str(package / "dist/a.js")], "", 1)
    size = probe.archive("sha256:00").stat().st_size
    cache = StepCache(tmp_path / "ws", 2.5 * size / 1024 / 1024, say=lambda line: None)
    for number, key in enumerate(("sha256:01", "sha256:02")):
        cache.store(key, package, [str(package / "dist/a.js")], "", 1)
        os.utime(cache.archive(key), (1000 + number, 1000 + number))
    cache.restore("sha256:01", package, [])  # used again: now the most recent

    cache.store("sha256:03", package, [str(package / "dist/a.js")], "", 1)

    assert cache.archive("sha256:01").exists() and cache.archive("sha256:03").exists()
    assert not cache.archive("sha256:02").exists()


def test_files_git_tracks_are_sources_even_in_an_output_folder_and_never_restored_over(tmp_path):
    """A package whose `files` and `bin` name its own sources: an edit to them rebuilds, a restore leaves them be."""
    import subprocess

    from package_builder.base.config import BuildConfig
    from package_builder.builds.steps import build_package

    package = tmp_path / "packages" / "cli"
    (package / "src").mkdir(parents=True)
    (package / "bin").mkdir()
    (tmp_path / "package.json").write_text(json.dumps({"name": "root", "private": True, "workspaces": ["packages/*"]}))
    (tmp_path / ".gitignore").write_text("node_modules/\ndist/\n.package-builder/\n")
    (package / "package.json").write_text(
        json.dumps(
            {
                "name": "@t/cli",
                "version": "1.0.0",
                "files": ["src", "dist"],
                "bin": "./bin/cli.js",
                "scripts": {
                    "build": "node -e \"require('fs').mkdirSync('dist',{recursive:true});"
                    "require('fs').copyFileSync('src/index.js','dist/index.js')\""
                },
            }
        )
    )
    (package / "src/index.js").write_text("one\n")
    (package / "bin/cli.js").write_text("#!/usr/bin/env node\n")
    (tmp_path / "node_modules").mkdir()  # an install already done: nothing to fetch
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "-A"], cwd=tmp_path, check=True)
    config = BuildConfig(workspace_root=tmp_path, npm_registry="http://127.0.0.1:9/")
    (tmp_path / ".package-builder").mkdir()
    (tmp_path / ".package-builder/install.json").write_text("{}")

    build_package(config, "@t/cli")
    (package / "src/index.js").write_text("two\n")
    build_package(config, "@t/cli")
    (package / "src/index.js").write_text("one\n")
    build_package(config, "@t/cli")  # the first build's key again: restored from the cache

    assert (package / "src/index.js").read_text() == "one\n" and (package / "dist/index.js").read_text() == "one\n"
    (package / "src/index.js").write_text("three, not committed\n")
    build_package(config, "@t/cli")
    assert (package / "src/index.js").read_text() == "three, not committed\n", "an edit is an input, never undone"
    assert (package / "dist/index.js").read_text() == "three, not committed\n"


def test_an_archive_that_would_overwrite_a_tracked_file_is_refused(tmp_path):
    package = package_with(tmp_path, {"src/a.js": "mine", "dist/a.js": "built"})
    lines = []
    cache = StepCache(tmp_path / "ws", 10, say=lines.append)
    cache.store("sha256:dd44", package, [str(package / "src/a.js"), str(package / "dist/a.js")], "", 1)
    (package / "src/a.js").write_text("edited")

    assert cache.restore("sha256:dd44", package, [str(package / "dist/a.js")], protected={"src/a.js"}) is None
    assert (package / "src/a.js").read_text() == "edited" and "which git tracks" in lines[0]


def test_braces_cache_false_and_env_from_turbo_json(tmp_path, monkeypatch):
    (tmp_path / "turbo.json").write_text(
        json.dumps(
            {
                "globalEnv": ["CI_*"],
                "tasks": {"build": {"inputs": ["src/**/*.{ts,tsx}"], "env": ["API_URL"]}, "test": {"cache": False}},
            }
        )
    )
    pipeline = load_pipeline(tmp_path, None)
    build = pipeline.definition("@a/x", "build")

    assert build.inputs == ("src/**/*.ts", "src/**/*.tsx")
    assert select_inputs(Path("/p"), ["/p/src/a.tsx", "/p/src/b.ts", "/p/src/c.js"], build) == [
        "/p/src/a.tsx",
        "/p/src/b.ts",
    ]
    assert pipeline.definition("@a/x", "test").cache is False
    monkeypatch.setenv("API_URL", "https://one.example")
    monkeypatch.setenv("CI_REGION", "eu")
    first = pipeline.env_values(build)
    monkeypatch.setenv("API_URL", "https://two.example")
    assert set(first) == {"API_URL", "CI_REGION"} and pipeline.env_values(build) != first
    assert "https://" not in json.dumps(first), "digests, never the values"


def test_a_packages_own_turbo_json_overrides_the_roots_for_that_package(tmp_path):
    from package_builder.builds.monorepo import WorkspacePackage

    (tmp_path / "turbo.json").write_text(
        json.dumps({"tasks": {"build": {"outputs": ["dist/**"], "dependsOn": ["^build"]}}})
    )
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "turbo.json").write_text(
        json.dumps({"extends": ["//"], "tasks": {"build": {"outputs": [".next/**"]}}})
    )
    web = WorkspacePackage("@a/web", "1.0.0", tmp_path / "web", False)
    pipeline = load_pipeline(tmp_path, None, packages=[web])

    assert pipeline.definition("@a/web", "build").outputs == (".next/**",)
    assert pipeline.definition("@a/web", "build").depends_on == ("^build",), "the root's fields it does not set"
    assert pipeline.definition("@a/api", "build").outputs == ("dist/**",)


def test_a_restore_rewrites_only_the_files_that_differ(tmp_path):
    package = package_with(tmp_path, {"dist/a.js": "one", "dist/b.js": "b"})
    cache = StepCache(tmp_path / "ws", 10, say=lambda line: None)
    cache.store("sha256:ee55", package, [str(package / "dist/a.js"), str(package / "dist/b.js")], "", 1)
    (package / "dist/a.js").write_text("edited")
    untouched = (package / "dist/b.js").stat().st_ino, (package / "dist/b.js").stat().st_mtime_ns

    cache.restore("sha256:ee55", package, [str(package / "dist/a.js"), str(package / "dist/b.js")])

    assert (package / "dist/a.js").read_text() == "one"
    assert ((package / "dist/b.js").stat().st_ino, (package / "dist/b.js").stat().st_mtime_ns) == untouched


def test_a_restore_through_an_output_folder_symlinked_out_of_the_package_touches_nothing_and_keeps_the_archive(
    tmp_path,
):
    """`dist` made a link to a folder elsewhere: a restore would delete and write there. It refuses, naming the
    link, and the archive (which is fine) stays for when dist is a folder of the package again."""
    package = package_with(tmp_path, {"dist/index.js": "built"})
    lines = []
    cache = StepCache(tmp_path / "ws", 10, say=lines.append)
    cache.store("sha256:dd44", package, [str(package / "dist/index.js")], "built", 1)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "a.js").write_text("not the package's")
    (outside / "index.js").write_text("not the package's either")
    (package / "dist/index.js").unlink()
    (package / "dist").rmdir()
    (package / "dist").symlink_to(outside)

    restored = cache.restore("sha256:dd44", package, [str(package / "dist/a.js"), str(package / "dist/index.js")])

    assert restored is None
    assert (outside / "a.js").read_text() == "not the package's"
    assert (outside / "index.js").read_text() == "not the package's either"
    assert cache.archive("sha256:dd44").exists()
    assert f"dist is a symlink to {outside}" in lines[-1] and "the archive is kept" in lines[-1]


def test_outputs_reached_through_a_symlink_out_of_the_package_are_not_stored(tmp_path):
    package = package_with(tmp_path, {"src/index.js": "source"})
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "index.js").write_text("built elsewhere")
    (package / "dist").symlink_to(outside)
    lines = []
    cache = StepCache(tmp_path / "ws", 10, say=lines.append)

    cache.store("sha256:ab12", package, [str(package / "dist/index.js")], "built", 1)

    assert not cache.archive("sha256:ab12").exists()
    assert f"dist is a symlink to {outside}" in lines[-1]
