"""Fast: what one `doit` load makes of a checkout whose config cannot be used (package_builder/tasks/project.py).

Its tasks fail with the config's own error, but they are the tasks of the config's own plans (`plansDir`), never
the checkout's; and a `workspaceRoot` generation cannot use is found before any task writes into it.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from package_builder.generation.plan_files import discover_plans
from package_builder.tasks.generation import generation_tasks
from package_builder.tasks.project import LoadedProject, load_project


@pytest.fixture(autouse=True)
def no_config_override(monkeypatch):
    monkeypatch.delenv("PACKAGE_BUILDER_CONFIG", raising=False)


def checkout(tmp_path: Path, config: str | dict | None) -> LoadedProject:
    root = tmp_path / "checkout"
    (root / "configs").mkdir(parents=True)
    if config is not None:
        text = config if isinstance(config, str) else json.dumps(config)
        (root / "configs" / "build-env.json").write_text(text, encoding="utf-8")
    return load_project(root)


def test_a_usable_config_gives_its_plans_dir_relative_to_its_folder(tmp_path):
    project = checkout(tmp_path, {"workspaceRoot": str(tmp_path), "plansDir": "../team-plans"})
    assert project.config is not None and project.plans == tmp_path / "checkout" / "team-plans"


@pytest.mark.parametrize(
    "text",
    [
        '{"workspaceRoot": "/ws", "plansDir": "../team-plans", "colour": "red"}',  # an unknown field
        '{"workspaceRoot": "/ws", "plans_dir": "../team-plans", "maxConcurrentBuilds": 0}',  # a value out of range
        '{"workspaceRoot": "/ws",\n "plansDir": "../team-plans",\n}',  # a trailing comma: not JSON
        '{"workspaceRoot": "/ws", "plansDir": "../team-plans"',  # cut off
    ],
)
def test_a_config_that_cannot_be_used_still_names_its_own_plans(tmp_path, text):
    project = checkout(tmp_path, text)
    assert project.config is None and project.config_error
    assert project.plans == tmp_path / "checkout" / "team-plans"


@pytest.mark.parametrize("text", ['{"workspaceRoot": "/ws", "colour": "red"}', '{"workspaceRoot": "/ws",}', None])
def test_a_config_that_names_no_plans_dir_means_the_checkouts_plans(tmp_path, text):
    assert checkout(tmp_path, text).plans == tmp_path / "checkout" / "plans" / "packages"


@pytest.mark.parametrize(
    "text",
    [
        '{"workspaceRoot": "/ws", "plansDir": 5}',
        '{"workspaceRoot": "/ws", "plansDir": ["../team-plans"], ',
        '{"plansDir": "../a", "plans_dir": "../b", "colour": 1}',
        '["../team-plans"]',
    ],
)
def test_a_config_whose_plans_dir_cannot_be_told_has_no_plans_rather_than_the_checkouts(tmp_path, text):
    (tmp_path / "checkout" / "plans" / "packages" / "core").mkdir(parents=True)
    (tmp_path / "checkout" / "plans" / "packages" / "core" / "other.md").write_text("**Package:** `other`\n")
    project = checkout(tmp_path, text)
    assert discover_plans(project.plans) == []
    assert str(project.paths.config) in project.plans_problem and "plansDir" in project.plans_problem
    tasks = list(generation_tasks(project))
    assert [task["basename"] for task in tasks] == ["generate"] and project.plans_problem in str(tasks[0]["actions"])


def test_a_workspace_root_that_is_a_git_repository_has_no_problem(tmp_path):
    workspace = tmp_path / "monorepo"
    workspace.mkdir()
    subprocess.run(["git", "init", "-q", str(workspace)], check=True)
    assert checkout(tmp_path, {"workspaceRoot": str(workspace)}).workspace_problem == ""


def test_a_workspace_root_that_is_not_a_repository_or_does_not_exist_is_a_problem_saying_what_to_do(tmp_path):
    plain = tmp_path / "plain"
    plain.mkdir()
    problem = checkout(tmp_path, {"workspaceRoot": str(plain)}).workspace_problem
    assert f"workspaceRoot {plain} (in " in problem and "is not a git repository" in problem and "git init" in problem
    missing = tmp_path / "missing"
    problem = checkout(tmp_path / "other", {"workspaceRoot": str(missing)}).workspace_problem
    assert f"workspaceRoot {missing} (in " in problem and "does not exist: create it" in problem
    assert not missing.exists()
