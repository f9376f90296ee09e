"""The bundled suite example (examples/suite/) as a user runs it: a monorepo that already has `@example/logger`, and
two plans, `events` (core) and `audit` (service, using events and logger), generated with `doit generate` from
hand-written answers that import each other by package name. Replayed from its cassette into an npm workspace, and
served by the test API with the siblings written `workspace:^` into a pnpm workspace: events generates first, both
go green through the real toolchain, and audit's tests and built code run the real events hub and logger."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from messages_api import Text
from suite_example import LOGGER, NPM_RANGES, PLANS, SUITE, package_of, seed_workspace, suite_answer, with_ranges

slow = pytest.mark.slow  # a full generation of both plans, with real installs, builds and tests

EVENTS, AUDIT = "packages/core/events", "packages/service/audit"
LOCKFILE = {"npm": "package-lock.json", "pnpm": "pnpm-lock.yaml"}
# audit's built code with the siblings as a consumer of the workspace resolves them: the line is the real logger's
# default sink printing the real hub's event as audit recorded it.
RUN_AUDIT = """
const { createEventHub } = require('@example/events');
const { createLogger } = require('@example/logger');
const { createAuditTrail } = require('./dist/index.js');
const hub = createEventHub();
const trail = createAuditTrail({ hub, logger: createLogger({ clock: () => new Date(0) }), events: ['order.placed'] });
hub.emit('order.placed', { id: 'o1' });
console.log(`entries: ${trail.entries().length}`);
"""
AUDITED_LINE = '1970-01-01T00:00:00.000Z INFO audit order.placed sequence=1 payload={"id":"o1"}'


def cache_env(project) -> dict:
    return {"npm_config_store_dir": str(project.npm_cache / "pnpm-store")}


def seed(project, manager: str) -> bytes:
    """The example's monorepo in the project's workspace; returns its committed lockfile."""
    seed_workspace(project.workspace, project.env(**cache_env(project)), manager)
    assert not (project.workspace / LOGGER / "dist").exists(), "a fresh clone: logger never built"
    return (project.workspace / LOCKFILE[manager]).read_bytes()


def sessions(project) -> dict[str, dict]:
    files = (project.workspace / ".generation-state").glob("gen-*.json")
    return {session["packageName"]: session for session in (json.loads(path.read_text()) for path in files)}


def validation(project, plan: str) -> dict:
    path = project.workspace / ".generation-state" / plan / "13-build-validation.json"
    return json.loads(path.read_text())["validation"]["attempts"][-1]


def run(project, folder: str, *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=project.workspace / folder, env=project.env(**cache_env(project)), capture_output=True, text=True
    )


def assert_the_suite_is_green(project, manager: str, lockfile: bytes, output: str) -> None:
    """Both packages done and validated by the real toolchain, in dependency order, the user's tree untouched."""
    done = sessions(project)
    assert {name: s["status"] for name, s in done.items()} == {
        "@example/events": "completed",
        "@example/audit": "completed",
    }
    assert output.index("[events] phase 15/15 MERGE") < output.index("[audit] phase 01/15 PLANNING"), output
    for plan in ("events", "audit"):
        report = validation(project, plan)
        assert report["green"], report
        assert [step["step"] for step in report["steps"]] == ["install", "type-check", "build", "tests"]
    assert (project.workspace / LOCKFILE[manager]).read_bytes() == lockfile, "the user's lockfile is theirs"
    assert (project.workspace / LOGGER / "dist" / "index.d.ts").is_file(), "logger built before audit's checks"
    assert project.git("status", "--porcelain") == ""
    # audit's branch holds events' code (stacked on it, events being unmerged) and imports both siblings by name
    audit = done["@example/audit"]
    assert audit["stackedOn"] == {"package": "@example/events", "branch": done["@example/events"]["branch"]}
    project.git("checkout", "-q", audit["branch"])
    source = (project.workspace / AUDIT / "src" / "utils" / "options.ts").read_text()
    assert "from '@example/events'" in source and "from '@example/logger'" in source


def assert_audit_runs_the_real_siblings(project) -> None:
    """audit's built code and its own tests run the real events and logger: break either sibling's built code and
    audit's tests fail on it; put it back and they pass."""
    ran = run(project, AUDIT, "node", "-e", RUN_AUDIT)
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.splitlines() == [AUDITED_LINE, "entries: 1"]

    breakages = {  # built file: (what the real code does, what the broken one does instead, what audit's tests see)
        f"{LOGGER}/dist/index.js": ("level.toUpperCase()", "level", "INFO audit order.placed sequence=1"),
        f"{EVENTS}/dist/hub.js": ("subscription.listener(payload);", "", "keeps an entry per audited event"),
    }
    for path, (real, broken, expected) in breakages.items():
        built = project.workspace / path
        original = built.read_text()
        assert real in original, f"{path} changed: pick another line to break"
        built.write_text(original.replace(real, broken))
        try:
            failed = run(project, AUDIT, "npm", "run", "test")
        finally:
            built.write_text(original)
        assert failed.returncode != 0, f"audit's tests pass with a broken {path}: they do not run it"
        assert expected in failed.stdout + failed.stderr
    passed = run(project, AUDIT, "npm", "run", "test")
    assert passed.returncode == 0, passed.stdout + passed.stderr


@pytest.mark.parametrize("package", ["events", "audit"])
def test_every_answer_of_the_suite_example_passes_its_phases_own_checks(package):
    """Each hand-written answer, applied in phase order, is what the runner accepts: it parses, writes only what its
    phase may, and passes the phase's check (audit's FOUNDATION: the siblings with the ranges the example's npm
    workspace links; the repair phases: no test weakened against the files before it)."""
    from package_builder.generation.answer import parse_answer
    from package_builder.generation.plan import parse_plan
    from package_builder.generation.suite import sibling_plans, workspace_dependencies
    from phases import PHASES

    plan = parse_plan(next(PLANS.glob(f"*/{package}.md")))
    found = workspace_dependencies(SUITE / "workspace", plan, sibling_plans(plan.plan_path))
    plan = replace(plan, workspace_dependencies=found)  # as the runner sees it (the checks read no API)
    assert [d.name for d in plan.workspace_dependencies] == (
        ["@example/events", "@example/logger"] if package == "audit" else []
    )
    files: dict[str, str] = {}
    for phase in PHASES:
        if phase.kind != "model":
            continue
        answer = parse_answer(suite_answer(plan.package_name, phase.name), phase)
        assert answer.dropped == () and answer.summary, (phase.name, answer.dropped)
        assert (phase.check(answer, plan, dict(files)) if phase.check else []) == [], phase.name
        files.update(answer.files)
    if package == "audit":
        assert json.loads(files["package.json"])["dependencies"] == NPM_RANGES


@slow
def test_the_suite_example_replays_into_an_npm_workspace_with_no_api_key(project):
    lockfile = seed(project, "npm")
    project.write_config(plansDir=str(PLANS), model={"provider": "replay", "cassette": str(SUITE / "cassette.json")})

    result = project.doit(
        "generate",
        check=True,
        timeout=1200,
        ANTHROPIC_API_KEY=None,
        ANTHROPIC_BASE_URL="http://127.0.0.1:9",
        **cache_env(project),
    )

    assert project.api.hits == []
    assert "all 2 packages done (events, audit)" in result.stdout
    assert_the_suite_is_green(project, "npm", lockfile, result.stdout)
    manifest = json.loads((project.workspace / AUDIT / "package.json").read_text())
    assert manifest["dependencies"] == {"@example/events": "^0.1.0", "@example/logger": "^1.0.0"}
    assert_audit_runs_the_real_siblings(project)


@slow
def test_the_suite_example_generates_into_a_pnpm_workspace_with_workspace_ranges(project):
    """pnpm links a sibling only through `workspace:`: the tool tells the model so, and the example's answers, served
    by the test API, write `workspace:^` where the npm workspace's write `^version`."""
    lockfile = seed(project, "pnpm")
    linked = {"@example/events": "workspace:^", "@example/logger": "workspace:^"}
    project.api.default = lambda request: Text(with_ranges(suite_answer(package_of(request), request.phase), linked))
    project.write_config(plansDir=str(PLANS))

    result = project.doit("generate", check=True, timeout=1200, **cache_env(project))

    packages = [package_of(hit) for hit in project.api.hits]
    first_audit = packages.index("@example/audit")
    assert set(packages[:first_audit]) == {"@example/events"} and "@example/events" not in packages[first_audit:]
    told = [hit.system for hit in project.api.hits if package_of(hit) == "@example/audit"]
    assert all('"@example/events": "workspace:^"' in s and '"@example/logger": "workspace:^"' in s for s in told)
    exported = ("createEventHub", "isEventHub", "EventHub<", "createLogger", "isLogLevel", "LogRecord")
    assert told and all(name in system for system in told for name in exported), "each request shows their APIs"
    assert_the_suite_is_green(project, "pnpm", lockfile, result.stdout)
    manifest = json.loads((project.workspace / AUDIT / "package.json").read_text())
    assert manifest["dependencies"] == linked
    assert (
        Path(project.workspace / AUDIT / "node_modules" / "@example" / "events").resolve()
        == (project.workspace / EVENTS).resolve()
    ), "pnpm links events from the workspace"
    assert_audit_runs_the_real_siblings(project)
