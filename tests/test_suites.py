"""A suite: plans whose packages use each other and the monorepo's own packages, generated with `doit generate` the
way a team generating a layered `@scope/*` suite does. Dependencies generate first; the dependent is told each
sibling's range as its workspace's manager links it; plans that depend on each other are refused before any call."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from conftest import PLAN, example_answer
from messages_api import Text
from monorepo import write_workspace_root

EXAMPLE = "@example/data-validator"
SOMEONE = ("-c", "user.name=Someone", "-c", "user.email=someone@example.test")  # the user's own commits


def write_suite_plan(project, category: str, name: str, *dependencies: str) -> None:
    """The bundled example's plan as another package of the suite, with its own `## Dependencies`."""
    bullets = "\n".join(f"- `{dependency}`: what it uses" for dependency in dependencies) or "None."
    text = PLAN.read_text().replace(EXAMPLE, f"@example/{name}").replace("**Type:** core", f"**Type:** {category}")
    text = re.sub(r"## Dependencies\n\n.*?\n\n", f"## Dependencies\n\n{bullets}\n\n", text, flags=re.S)
    text = text.replace("packages/core/data-validator/", f"packages/{category}/{name}/")
    path = project.root / "plans" / "packages" / category / f"{name}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def only_suite_plans(project) -> None:
    (project.root / "plans" / "packages" / "core" / "data-validator.md").unlink()


def test_plans_that_depend_on_each_other_are_refused_before_any_model_call_naming_both(project):
    only_suite_plans(project)
    write_suite_plan(project, "core", "events", "@example/audit")
    write_suite_plan(project, "service", "audit", "@example/events")

    result = project.doit("generate")

    assert result.returncode != 0
    assert "audit (@example/audit) → events (@example/events) → audit (@example/audit)" in result.stdout + result.stderr
    assert project.api.hits == []
    assert not (project.workspace / ".generation-state").exists() or not list(
        (project.workspace / ".generation-state").glob("gen-*.json")
    )


def test_doit_list_and_doit_status_say_what_each_plan_waits_for(project):
    write_suite_plan(project, "service", "audit", "@example/events", EXAMPLE)
    write_suite_plan(project, "core", "events")

    listing = project.doit("list", check=True, PYTHONPROFILEIMPORTTIME="1")
    listed = listing.stdout
    # a load reads no sibling's API (SiblingApis reads them when doit checks a phase): not even the reader is imported
    assert "package_builder.generation.suite" in listing.stderr
    assert "package_builder.generation.dependency_api" not in listing.stderr
    status = project.doit(check=True).stdout

    assert re.search(
        r"^audit .*not started.*: waits for events \(not started\), data-validator \(not started\)$", status, re.M
    ), status
    assert re.search(r"^events .*not started[^:]*$", status, re.M), status

    assert re.search(r"^generate:audit\s.*\(service\).*, after events, data-validator$", listed, re.M), listed
    assert re.search(r"^generate:events\s.*\(core\)[^,]*$", listed, re.M), listed


LOGGER_SOURCE = """/** Writes one line to the log. */
export function logLine(message: string): void {
  console.log(message);
}
"""


def test_doit_estimate_counts_each_siblings_api_and_says_what_budget_trims_it(project):
    only_suite_plans(project)
    write_workspace_root(project.workspace, "npm", "packages/*/*", "the-monorepo")
    logger = project.workspace / "packages" / "shared" / "logger"
    (logger / "src").mkdir(parents=True)
    (logger / "package.json").write_text(json.dumps({"name": "@example/logger", "version": "1.4.0"}))
    (logger / "src" / "index.ts").write_text(
        LOGGER_SOURCE + "".join(f"export const c{i}: number = {i};\n" for i in range(80))
    )
    write_suite_plan(project, "service", "audit", "@example/logger")
    write_suite_plan(project, "core", "alone")

    with_sibling = project.doit("estimate:audit", check=True).stdout
    alone = project.doit("estimate:alone", check=True).stdout
    project.write_config(turnBasedGeneration={"dependencyApiChars": 600})
    trimmed = project.doit("estimate:audit", check=True).stdout

    assert re.search(
        r"workspace dependency @example/logger: its API \(sources\) is in every request, \d+ characters "
        r"\(turnBasedGeneration.dependencyApiChars\)",
        with_sibling,
    ), with_sibling
    assert "(turnBasedGeneration.dependencyApiChars, trimmed to it)" in trimmed
    assert "workspace dependency" not in alone
    total = {
        name: int(re.search(r"^total\s+(\d+)", out, re.M).group(1))
        for name, out in [("sibling", with_sibling), ("alone", alone), ("trimmed", trimmed)]
    }
    assert total["sibling"] > total["trimmed"] > total["alone"], total


def write_suite(project, manager: str = "npm") -> list[str]:
    """An npm (or `manager`) workspace with @example/logger already in it; the plans `events` (core) and `audit`
    (service), which uses events and logger; the API answers with the example's answers for each package, and
    FOUNDATION writes audit's siblings as it is told. Returns the packages in the order the API was asked for them."""
    only_suite_plans(project)
    write_workspace_root(project.workspace, manager, "packages/*/*", "the-monorepo")
    logger = project.workspace / "packages" / "shared" / "logger"
    logger.mkdir(parents=True)
    (logger / "package.json").write_text(
        json.dumps(
            {
                "name": "@example/logger",
                "version": "1.4.0",
                "main": "dist/index.js",
                "scripts": {
                    "build": "node -e \"require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync("
                    "'dist/index.js','export const log = () => {}\\n')\""
                },
            }
        )
    )
    (logger / "src").mkdir()
    (logger / "src" / "index.ts").write_text(LOGGER_SOURCE)
    (project.workspace / ".gitignore").write_text("node_modules/\ndist/\n")  # logger is not built in a checkout
    project.git("add", "-A")
    project.git(*SOMEONE, "commit", "-qm", "logger")
    write_suite_plan(project, "service", "audit", "@example/events", "@example/logger")
    write_suite_plan(project, "core", "events")
    order: list[str] = []

    def answer(request):
        package = re.search(r"npm package `([^`]+)`", request.system).group(1)
        order.append(package)
        text = example_answer(request.phase).replace(EXAMPLE, package)
        if package == "@example/audit":  # FOUNDATION, and every later rewrite of package.json, writes its siblings
            ranges = ("workspace:^", "workspace:^") if manager == "pnpm" else ("^0.1.0", "^1.4.0")
            siblings = f'"dependencies": {{"@example/events": "{ranges[0]}", "@example/logger": "{ranges[1]}"}},\n  '
            text = text.replace('"devDependencies"', siblings + '"devDependencies"', 1)
        return Text(text)

    project.api.default = answer
    project.write_config(buildValidation={"enabled": False})
    return order


@pytest.mark.slow
def test_a_dependent_generates_after_its_dependency_and_is_told_each_siblings_linked_range(project):
    """npm workspace with @example/logger already in it; `audit` (service) uses logger and the plan `events` (core)."""
    order = write_suite(project)

    project.doit("-n", "2", "generate", check=True)

    first_audit = order.index("@example/audit")
    assert set(order[:first_audit]) == {"@example/events"} and "@example/events" not in order[first_audit:]
    systems = [hit.system for hit in project.api.hits if "npm package `@example/audit`" in hit.system]
    assert systems and all(
        '"@example/events": "^0.1.0"' in system and '"@example/logger": "^1.4.0"' in system for system in systems
    )
    assert all("generated from the plan `events` before this package" in system for system in systems)
    # each sibling's real exports, in every request's shared part: events' as generated just before, logger's sources
    assert all("export declare function validate" in s or "export function validate" in s for s in systems)
    assert all("export function logLine(message: string): void;" in system for system in systems)

    # events is not merged (git.onMerge defaults to a pull request): audit's branch is stacked on events' branch, so
    # its code can import events', and its pull request says what to merge first
    sessions = {s["packageName"]: s for s in map(json.loads, map(Path.read_text, state_files(project)))}
    events, audit = sessions["@example/events"], sessions["@example/audit"]
    assert audit["baseBranch"] == events["branch"] and events["baseBranch"] == "main"
    assert audit["stackedOn"] == {"package": "@example/events", "branch": events["branch"]}
    on_audit = project.git("ls-tree", "-r", "--name-only", audit["branch"]).splitlines()
    assert "packages/core/events/src/index.ts" in on_audit and "packages/service/audit/src/index.ts" in on_audit
    pull_request = (project.workspace / ".generation-state" / "audit" / "PR.md").read_text()
    assert f"Builds on `{events['branch']}` (@example/events" in pull_request


def state_files(project) -> list[Path]:
    return sorted((project.workspace / ".generation-state").glob("gen-*.json"))


@pytest.mark.slow
def test_with_on_merge_merge_a_dependency_merges_first_and_its_dependent_branches_from_the_base(project):
    write_suite(project)
    project.write_config(git={"onMerge": "merge"})  # merges only what BUILD_VALIDATION found green: real installs

    project.doit("-n", "2", "generate", check=True, timeout=900)

    sessions = {s["packageName"]: s for s in map(json.loads, map(Path.read_text, state_files(project)))}
    assert sessions["@example/audit"]["baseBranch"] == "main" and sessions["@example/audit"]["stackedOn"] is None
    on_main = project.git("ls-tree", "-r", "--name-only", "main").splitlines()
    assert "packages/core/events/src/index.ts" in on_main and "packages/service/audit/src/index.ts" in on_main
    # logger was never built in this checkout: audit's first check built it (its build script, as `doit build` runs
    # it) before type-checking code that resolves it through its `main`
    assert (project.workspace / "packages" / "shared" / "logger" / "dist" / "index.js").is_file()
    validation = json.loads((project.workspace / ".generation-state/audit/13-build-validation.json").read_text())
    assert validation["validation"]["attempts"][-1]["green"]


@pytest.mark.slow
def test_checks_build_a_workspace_dependency_never_built_and_only_that_one(tmp_path):
    from package_builder.base.commands import Toolchain

    root = tmp_path / "repo"
    root.mkdir()
    write_workspace_root(root, "npm", "packages/*", "the-monorepo")
    build = (
        "node -e \"require('fs').mkdirSync('dist',{recursive:true});require('fs').writeFileSync('dist/index.js','')\""
    )
    folders = {}
    for name, built, script in [("built", True, build), ("unbuilt", False, build), ("broken", False, "exit 3")]:
        folder = folders[name] = root / "packages" / name
        (folder / "dist").mkdir(parents=True) if built else folder.mkdir(parents=True)
        if built:
            (folder / "dist" / "index.js").write_text("")
        manifest = {"name": f"@s/{name}", "version": "1.0.0", "main": "dist/index.js", "scripts": {"build": script}}
        (folder / "package.json").write_text(json.dumps(manifest))

    def toolchain(*names: str) -> Toolchain:
        return Toolchain(
            root / "packages" / "app", root, "http://127.0.0.1:9", dependency_dirs=tuple(folders[n] for n in names)
        )

    results = toolchain("built", "unbuilt").build_missing_dependencies()
    assert [(r.step, r.ok) for r in results] == [("build of @s/unbuilt", True)]
    assert (folders["unbuilt"] / "dist" / "index.js").is_file()
    assert toolchain("built", "unbuilt").build_missing_dependencies() == []  # built now: nothing to do

    failed = toolchain("broken", "built").build_missing_dependencies()
    assert [(r.step, r.exit_code) for r in failed] == [("build of @s/broken", 3)]


@pytest.mark.slow
def test_a_siblings_api_change_makes_its_dependents_code_phases_ask_again_and_a_body_change_asks_nothing(project):
    write_suite(project)
    project.doit("-n", "2", "generate", check=True)
    asked = len(project.api.hits)
    logger_source = project.workspace / "packages" / "shared" / "logger" / "src" / "index.ts"

    logger_source.write_text(LOGGER_SOURCE.replace("console.log(message);", "process.stdout.write(`${message}\\n`);"))
    project.git(*SOMEONE, "commit", "-qam", "logger: same API, another body")
    assert "out of date" not in project.doit(check=True).stdout
    project.doit("generate", check=True)
    assert len(project.api.hits) == asked, "a body-only change asks nothing"

    logger_source.write_text(LOGGER_SOURCE + "\n/** A new export. */\nexport const level = 'info';\n")
    project.git(*SOMEONE, "commit", "-qam", "logger: a new export")
    status = project.doit(check=True).stdout
    assert re.search(r"^audit .*out of date from PLANNING,.*: @example/logger's API changed", status, re.M), status
    assert re.search(r"^events .*15/15 phases done, \$", status, re.M), status
    rerun = project.doit("generate", check=True)
    again = [hit.phase for hit in project.api.hits[asked:]]
    assert again and all("npm package `@example/audit`" in hit.system for hit in project.api.hits[asked:])
    assert "@example/logger's API changed" in rerun.stdout
    assert all(
        "export declare const level" in hit.system
        or "export const level: " in hit.system
        or "export const level" in hit.system
        for hit in project.api.hits[asked:]
    )


@pytest.mark.slow
@pytest.mark.parametrize("manager", ["npm", "pnpm"])
def test_a_generated_suite_publishes_dependencies_first_with_real_ranges(project, npm_registry, manager):
    """The registry has no uplink, so the generated packages build and test with node alone here: what is checked is
    the suite's order and the ranges the published manifests carry (pnpm rewrites `workspace:^`)."""
    write_suite(project, manager)
    generated = project.api.default

    def answer(request):
        text = generated(request).text
        block = re.search(r'<file path="package.json">\n(.*?)\n</file>', text, re.S)
        if block:  # FOUNDATION's, and any later phase's rewrite of it
            manifest = json.loads(block.group(1))
            manifest.update(scripts={"build": "node -e 0", "test": "node -e 0"}, devDependencies={}, files=["src"])
            text = text.replace(block.group(1), json.dumps(manifest, indent=2))
        return Text(text)

    project.api.default = answer
    project.write_config(buildValidation={"enabled": False}, npmRegistry=npm_registry.url)
    project.doit("generate", check=True)
    token = npm_registry.add_user(f"suite-{manager}")

    published = project.doit(
        "publish", NPM_TOKEN=token, timeout=600, **(PNPM_ENV(project) if manager == "pnpm" else {})
    )

    assert published.returncode == 0, published.stdout + published.stderr
    order = [line for line in published.stdout.splitlines() if line.startswith(".  publish:")]
    assert order.index(".  publish:@example/events") < order.index(".  publish:@example/audit"), order
    view = subprocess.run(
        ["npm", "view", "@example/audit", "dependencies", "--json", "--registry", npm_registry.url],
        capture_output=True,
        text=True,
        env=project.env(),
    )
    assert json.loads(view.stdout) == {"@example/events": "^0.1.0", "@example/logger": "^1.4.0"}, view.stderr


def PNPM_ENV(project) -> dict:  # noqa: N802
    return {"npm_config_store_dir": str(project.npm_cache / "pnpm-store")}
