"""Fast: a suite of plans in a monorepo (package_builder/generation/suite.py). A team writes plans whose packages use
each other and the packages the monorepo already has: they must generate dependencies first, in the seed's layers,
know the range their manager links a sibling with, and a cycle must be refused naming it."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from monorepo import write_workspace_root
from package_builder.generation.answer import ModelAnswer
from package_builder.generation.plan import parse_plan
from package_builder.generation.suite import generation_order, in_workspace, workspace_dependencies
from phases.checks import foundation, no_weakened_checks


def write_plan(plans: Path, category: str, name: str, *dependencies: str, version: str = "1.0.0") -> Path:
    path = plans / category / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    bullets = "\n".join(f"- `{dependency}`: used for something" for dependency in dependencies) or "None."
    path.write_text(
        f"# @acme/{name}\n\n**Package:** `@acme/{name}`\n**Type:** {category}\n\n## Overview\n\nThe {name} package.\n\n"
        f"- Version: {version}\n\n## Dependencies\n\n{bullets}\n"
    )
    return path


def order_of(plans: Path) -> tuple[list[str], dict[str, str]]:
    ordered, refused = generation_order([parse_plan(p) for p in sorted(plans.glob("*/*.md"))])
    return [plan.task_name for plan in ordered], refused


def test_independent_plans_generate_in_the_seeds_layers_not_folder_order(tmp_path):
    for category, name in [("ui", "button"), ("core", "events"), ("suite", "all"), ("validator", "schema")]:
        write_plan(tmp_path, category, name)
    write_plan(tmp_path, "service", "audit")
    write_plan(tmp_path, "utility", "dates")

    assert order_of(tmp_path) == (["schema", "events", "dates", "audit", "button", "all"], {})


def test_a_plan_generates_after_the_plans_it_depends_on_whatever_their_layer(tmp_path):
    write_plan(tmp_path, "core", "events", "@acme/ids")
    write_plan(tmp_path, "utility", "ids")  # a lower layer's plan that a core one needs
    write_plan(tmp_path, "service", "audit", "@acme/events", "@acme/logger", "zod")

    assert order_of(tmp_path) == (["ids", "events", "audit"], {})


def test_plans_that_depend_on_each_other_are_refused_naming_the_cycle_and_a_plan_waiting_on_them_is_not(tmp_path):
    write_plan(tmp_path, "core", "events", "@acme/audit")
    write_plan(tmp_path, "service", "audit", "@acme/events")
    write_plan(tmp_path, "ui", "dashboard", "@acme/audit")
    write_plan(tmp_path, "core", "alone")

    ordered, refused = order_of(tmp_path)

    assert set(refused) == {"audit", "events"}
    message = refused["events"]
    assert "audit (@acme/audit) → events (@acme/events) → audit (@acme/audit)" in message
    assert str(tmp_path / "core" / "events.md") in message and "## Dependencies" in message
    assert ordered[0] == "alone" and set(ordered) == {"alone", "audit", "events", "dashboard"}


@pytest.mark.parametrize(
    "manager, logger_range, events_range",
    [("npm", "^1.4.0", "^2.0.0"), ("yarn", "^1.4.0", "^2.0.0"), ("pnpm", "workspace:^", "workspace:^")]
    + [("yarn-berry", "workspace:^", "workspace:^")],
)
def test_workspace_dependencies_are_the_monorepos_packages_and_other_plans_with_the_range_their_manager_links(
    tmp_path, manager, logger_range, events_range
):
    root = tmp_path / "repo"
    root.mkdir()
    write_workspace_root(root, manager, "packages/*/*", "the-monorepo")
    logger = root / "packages" / "shared" / "logger"
    logger.mkdir(parents=True)
    (logger / "package.json").write_text(json.dumps({"name": "@acme/logger", "version": "1.4.0"}))
    plans = tmp_path / "plans"
    write_plan(plans, "core", "events", version="2.0.0")
    audit = parse_plan(write_plan(plans, "service", "audit", "@acme/events", "@acme/logger", "zod"))

    found = workspace_dependencies(root, audit, [audit, parse_plan(plans / "core" / "events.md")])

    assert [(d.name, d.version, d.path, d.range, d.plan) for d in found] == [
        ("@acme/events", "2.0.0", "packages/core/events", events_range, "events"),
        ("@acme/logger", "1.4.0", "packages/shared/logger", logger_range, ""),
    ]
    seen = in_workspace(audit, root, 8000).workspace_dependencies  # the plans beside it are read for theirs
    assert [replace(d, api=None) for d in seen] == list(found)
    assert seen[1].api.name == "@acme/logger" and seen[0].api.source == "none"  # events is not written yet


def test_foundation_refuses_a_package_json_that_writes_a_sibling_with_a_registry_range_it_cannot_link(tmp_path):
    root = tmp_path / "repo"
    root.mkdir()
    write_workspace_root(root, "pnpm", "packages/*/*", "the-monorepo")
    plans = tmp_path / "plans"
    write_plan(plans, "core", "events")
    audit = in_workspace(parse_plan(write_plan(plans, "service", "audit", "@acme/events")), root, 8000)

    def answer(dependencies: dict) -> ModelAnswer:
        manifest = {"name": "@acme/audit", "version": "1.0.0", "dependencies": dependencies}
        return ModelAnswer(files={"package.json": json.dumps(manifest)})

    assert foundation(answer({"@acme/events": "workspace:^"}), audit, {}) == []
    (wrong,) = foundation(answer({"@acme/events": "^1.0.0"}), audit, {})
    assert "@acme/events in dependencies as 'workspace:^'" in wrong and "got '^1.0.0' in dependencies" in wrong
    (missing,) = foundation(answer({}), audit, {})
    assert missing.endswith("got nothing")

    # a later fix may rewrite package.json, never drop the sibling or give it a range the manager does not link
    assert no_weakened_checks(answer({"@acme/events": "workspace:^"}), audit, {}) == []
    (dropped,) = no_weakened_checks(answer({"zod": "^3.0.0"}), audit, {})
    assert "must list @acme/events in dependencies as 'workspace:^'" in dropped
