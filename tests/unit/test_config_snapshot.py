"""Fast: doit's task load reads the validated config from a snapshot (package_builder/base/config_snapshot.py), so a
no-op `doit build` or a `doit list` imports no pydantic; the snapshot is only ever the validator's own answer for the
very bytes on disk, and it holds no secret. (That its keys equal the model's for every field: test_rerun_keys.py.)"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import package_builder.base.config_snapshot as config_snapshot
from package_builder.base.config import BuildConfig, _Section
from package_builder.base.config_snapshot import camel_case, load_config_snapshot, snapshot_path
from package_builder.base.credentials import npm_token, remote_cache_token
from package_builder.base.errors import ConfigError
from package_builder.builds.cache import StepCache

REPO = Path(__file__).resolve().parents[2]
NAMES = ("PLANNING", "TESTING")


def fields_and_aliases(model: type = BuildConfig):
    for name, field in model.model_fields.items():
        yield name, field.alias
        if isinstance(field.annotation, type) and issubclass(field.annotation, _Section):
            yield from fields_and_aliases(field.annotation)


def test_attribute_names_map_to_the_aliases_the_models_use():
    pairs = list(fields_and_aliases())
    assert len(pairs) > 60
    assert [(name, camel_case(name)) for name, _ in pairs] == pairs


def write(tmp_path: Path, content: dict) -> Path:
    path = tmp_path / "configs" / "build-env.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content))
    return path


def test_a_snapshot_is_reused_only_for_the_very_bytes_it_was_made_from(tmp_path):
    config_file = write(tmp_path, {"workspaceRoot": "ws", "maxConcurrentBuilds": 3})
    first = load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    assert first.max_concurrent_builds == 3
    assert first.workspace_root == tmp_path / "configs" / "ws"  # resolved like the model resolves it
    assert first.turn_based_generation.token_budgets == {}  # defaults filled in

    stored = json.loads(snapshot_path(tmp_path).read_text())
    stored["config"]["maxConcurrentBuilds"] = 11  # marks the stored copy: a reuse shows it
    snapshot_path(tmp_path).write_text(json.dumps(stored))
    assert load_config_snapshot(config_file, lambda: NAMES, tmp_path).max_concurrent_builds == 11

    write(tmp_path, {"workspaceRoot": "ws", "maxConcurrentBuilds": 2})
    assert load_config_snapshot(config_file, lambda: NAMES, tmp_path).max_concurrent_builds == 2
    assert load_config_snapshot(config_file, lambda: ("PLANNING",), tmp_path).max_concurrent_builds == 2


def test_a_changed_schema_validates_again(tmp_path, monkeypatch):
    schema = tmp_path / "config.py"
    schema.write_text("# version 1\n")
    monkeypatch.setattr(config_snapshot, "_SCHEMA", schema)
    config_file = write(tmp_path, {"workspaceRoot": "ws"})
    load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    stored = json.loads(snapshot_path(tmp_path).read_text())
    stored["config"]["maxConcurrentBuilds"] = 11
    snapshot_path(tmp_path).write_text(json.dumps(stored))

    schema.write_text("# version 2, a new default\n")
    assert load_config_snapshot(config_file, lambda: NAMES, tmp_path).max_concurrent_builds == 4


def test_a_broken_config_is_refused_by_name_whatever_was_snapshotted_before(tmp_path):
    config_file = write(tmp_path, {"workspaceRoot": "ws"})
    load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    write(tmp_path, {"workspaceRoot": "ws", "maxConcurrentBuilds": 0})
    with pytest.raises(ConfigError, match=r"build-env\.json: field maxConcurrentBuilds"):
        load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    write(tmp_path, {"workspaceRoot": "ws", "turnBasedGeneration": {"phasesToSkip": ["NOPE"]}})
    with pytest.raises(ConfigError, match="unknown phase 'NOPE'"):
        load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    config_file.unlink()
    with pytest.raises(ConfigError, match="config file not found"):
        load_config_snapshot(config_file, lambda: NAMES, tmp_path)


def test_the_snapshot_holds_no_secret_yet_hands_each_one_out_from_the_file(tmp_path, monkeypatch):
    monkeypatch.delenv("NPM_TOKEN", raising=False)
    monkeypatch.delenv("TURBO_TOKEN", raising=False)
    monkeypatch.delenv("PACKAGE_BUILDER_REMOTE_CACHE_TOKEN", raising=False)
    secrets = {
        "workspaceRoot": "ws",
        "npmToken": "npm_snapshot_secret_1",
        "anthropicApiKey": "sk-ant-secret-2",
        "builds": {"remoteCache": {"url": "http://127.0.0.1:9/", "token": "rc-secret-3"}},
    }
    config_file = write(tmp_path, secrets)
    load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    text = snapshot_path(tmp_path).read_text()
    assert not [value for value in ("npm_snapshot_secret_1", "sk-ant-secret-2", "rc-secret-3") if value in text]
    assert (snapshot_path(tmp_path).parent / ".gitignore").read_text().splitlines()[-1] == "*"

    snapshot = load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    assert npm_token(snapshot) == "npm_snapshot_secret_1"
    assert remote_cache_token(snapshot.builds.remote_cache) == "rc-secret-3"
    assert repr(snapshot.npm_token) == "FileSecret('**********')", "a secret shows as stars, never as itself"
    monkeypatch.setenv("TURBO_TOKEN", "from-the-environment")
    assert remote_cache_token(snapshot.builds.remote_cache) == "from-the-environment"


def test_paths_come_back_as_paths_and_absent_sections_as_none(tmp_path):
    config_file = write(tmp_path, {"workspaceRoot": "ws", "plansDir": "../plans"})
    load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    snapshot = load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    assert snapshot.workspace_root == tmp_path / "configs" / "ws"
    assert snapshot.plans_dir == tmp_path / "plans"
    assert snapshot.model.cassette is None and snapshot.builds.remote_cache is None
    assert snapshot.builds.package_timeouts == {} and snapshot.builds.cache is True
    with pytest.raises(AttributeError):
        _ = snapshot.no_such_field


def project_with_a_workspace(tmp_path: Path, plan: bool = True) -> Path:
    """A checkout (dodo.py, phases, prompts), with the bundled example's plan or none, building a one-package
    workspace."""
    project = tmp_path / "project"
    project.mkdir()
    for name in ("dodo.py", "phases", "prompts"):
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(REPO / name, project / name)
    if plan:
        plans = project / "plans" / "packages" / "core"
        plans.mkdir(parents=True)
        shutil.copy(REPO / "examples" / "data-validator" / "plans" / "packages" / "core" / "data-validator.md", plans)
    workspace = tmp_path / "ws"
    (workspace / "packages" / "a").mkdir(parents=True)
    (workspace / "package.json").write_text(json.dumps({"private": True, "workspaces": ["packages/*"]}))
    (workspace / "packages" / "a" / "package.json").write_text(
        json.dumps({"name": "@s/a", "version": "1.0.0", "scripts": {"build": "true", "test": "true"}})
    )
    subprocess.run(["git", "init", "-q"], cwd=workspace, check=True)
    (project / "configs").mkdir()
    (project / "configs" / "build-env.json").write_text(json.dumps({"workspaceRoot": str(workspace)}))
    return project


def load_tasks_reporting(project: Path, modules: tuple[str, ...]) -> tuple[int, list[str]]:
    """Load the project's tasks as doit does, in a fresh interpreter: how many, and which of `modules` (or their
    submodules) that imported."""
    code = (
        "import sys\nfrom doit.loader import load_tasks\nimport dodo\n"
        "tasks = load_tasks(vars(dodo))\n"
        f"wanted = {modules!r}\n"
        "print(len(tasks), sorted({w for m in sys.modules for w in wanted if m == w or m.startswith(w + '.')}))"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=project, capture_output=True, text=True, check=True)
    count, found = done.stdout.split(" ", 1)
    return int(count), json.loads(found.replace("'", '"'))


def test_loading_the_task_graph_a_second_time_imports_no_pydantic(tmp_path):
    """What `doit list` and a no-op `doit build` pay for: the second load reads the snapshot, not the validator."""
    project = project_with_a_workspace(tmp_path)
    heavy = ("pydantic", "jinja2", "git", "anthropic", "rich", "nodesemver")  # nodesemver: the guard's, a check's
    first, second = (load_tasks_reporting(project, heavy) for _ in range(2))
    assert "pydantic" in first[1]  # the first load validates
    assert second[0] > 25 and second[1] == []  # 15 phases and a summary, build:@s/a, ...


def test_a_load_without_plans_imports_neither_the_phases_nor_the_plan_parser_and_one_with_a_plan_does(tmp_path):
    """A monorepo that only builds, tests and publishes pays nothing for generation on each `doit` load."""
    generation = ("phases", "package_builder.generation.plan", "package_builder.generation.graph")
    project = project_with_a_workspace(tmp_path, plan=False)
    load_tasks_reporting(project, generation)  # validates the config (which asks the phases their names)
    count, imported = load_tasks_reporting(project, generation)
    assert imported == [] and count > 5  # build:@s/a, test:@s/a, ...

    example = REPO / "examples" / "data-validator" / "plans" / "packages" / "core" / "data-validator.md"
    (project / "plans" / "packages" / "core").mkdir(parents=True)
    shutil.copy(example, project / "plans" / "packages" / "core")
    count_with_plan, imported = load_tasks_reporting(project, generation)
    assert imported == sorted(generation) and count_with_plan > count + 15


def test_a_phase_declaration_edited_makes_the_next_load_validate_the_config_again(tmp_path):
    """The snapshot stands for the phase names by their declarations' files: a phase added or renamed (its module
    changed) may change which names the config may use, so the config is validated again."""
    project = project_with_a_workspace(tmp_path, plan=False)
    for _ in range(2):
        _, imported = load_tasks_reporting(project, ("pydantic",))
    assert imported == []
    declaration = project / "phases" / "p03_types.py"
    declaration.write_text(declaration.read_text() + "\n# edited\n")
    assert load_tasks_reporting(project, ("pydantic",))[1] == ["pydantic"]


def test_secrets_written_under_the_fields_own_names_are_found_and_a_lost_one_never_fails_a_build(tmp_path, monkeypatch):
    for name in ("NPM_TOKEN", "TURBO_TOKEN", "PACKAGE_BUILDER_REMOTE_CACHE_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    config_file = write(
        tmp_path,
        {
            "workspace_root": "ws",
            "npm_token": "npm_snake_1",
            "builds": {"remote_cache": {"url": "http://127.0.0.1:9/", "token": "rc-snake-2"}},
        },
    )
    load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    snapshot = load_config_snapshot(config_file, lambda: NAMES, tmp_path)
    assert npm_token(snapshot) == "npm_snake_1"
    assert remote_cache_token(snapshot.builds.remote_cache) == "rc-snake-2"

    write(tmp_path, {"workspace_root": "ws"})  # the token leaves the file while a run still holds the snapshot
    lines = []
    cache = StepCache(tmp_path / "ws", 10, snapshot.builds.remote_cache, say=lines.append)
    assert cache.restore("sha256:0123", tmp_path / "ws", []) is None  # no archive, and no remote: slower, not failed
    assert "builds.remoteCache.token" in lines[0] and "going on without it" in lines[0]
    from package_builder.tasks.builds import _token_to_hide

    assert _token_to_hide(snapshot) is None, "a failed step still reports its own error, with nothing to hide"


def test_a_path_behind_a_symlink_that_now_points_elsewhere_is_validated_again(tmp_path):
    (tmp_path / "ws-a").mkdir()
    (tmp_path / "ws-b").mkdir()
    (tmp_path / "current").symlink_to(tmp_path / "ws-a")
    config_file = write(tmp_path, {"workspaceRoot": "../current"})
    assert load_config_snapshot(config_file, lambda: NAMES, tmp_path).workspace_root == tmp_path / "ws-a"
    assert load_config_snapshot(config_file, lambda: NAMES, tmp_path).workspace_root == tmp_path / "ws-a"

    (tmp_path / "current").unlink()
    (tmp_path / "current").symlink_to(tmp_path / "ws-b")  # no byte of the config changed
    assert load_config_snapshot(config_file, lambda: NAMES, tmp_path).workspace_root == tmp_path / "ws-b"
