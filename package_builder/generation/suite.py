"""A suite: plans whose packages use each other and the monorepo's own packages.

A plan dependency that names a package of the monorepo (found the way `doit build` finds them) or the package of
another plan is a *workspace dependency*: the manager links it from the workspace, it is never fetched, and
package.json must write it with the range the manager links (`workspace:^` for pnpm and yarn berry, `^<version>` for
npm and yarn classic, which do not know the `workspace:` protocol).

Plans generate after the plans they depend on; independent plans in the seed's layers (validator → core → utility →
service → ui → suite), then by name. Plans that depend on each other are refused before any model call, naming the
cycle.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from package_builder.base.errors import ConfigError, PlanError
from package_builder.base.layout import detect_package_manager, is_yarn_berry, read_manifest, workspace_directories
from package_builder.base.workspace_ranges import WorkspaceLinker
from package_builder.generation.plan import CATEGORIES, PlanSpec, parse_plan
from package_builder.generation.plan_files import discover_plans

if TYPE_CHECKING:
    from package_builder.generation.dependency_api import PublicApi


@dataclass(frozen=True)
class WorkspaceDependency:
    """A plan dependency the workspace itself provides."""

    name: str
    version: str
    path: str  # its folder, relative to the workspace root
    range: str  # what package.json writes for it
    plan: str = ""  # the task name of the plan that generates it; "" for a package already in the monorepo
    purpose: str = ""
    plan_path: str = ""  # that plan's file, as its generation's checkpoint names it
    api: PublicApi | None = None  # what its prompt shows of it (`in_workspace` reads it): signatures and usage


def linked_range(workspace_root: Path, version: str) -> str:
    """The range that makes the workspace's manager link a sibling of `version` rather than fetch it: the very range
    the dependency guard (`workspace_ranges`) accepts."""
    manager = detect_package_manager(workspace_root)
    return WorkspaceLinker.of(workspace_root, manager, is_yarn_berry(workspace_root)).range_for(version)


def workspace_packages(workspace_root: Path) -> dict[str, tuple[str, str]]:
    """The monorepo's packages as name → (version, folder relative to the root); none when it is not a monorepo."""
    found: dict[str, tuple[str, str]] = {}
    try:
        directories = workspace_directories(workspace_root)
    except (ConfigError, OSError):
        return found
    for directory in directories:
        try:
            manifest = read_manifest(directory / "package.json")
        except ConfigError:
            continue  # `doit build` reports a broken manifest; here it only provides no API
        name, version = manifest.get("name"), manifest.get("version")
        if isinstance(name, str):
            found[name] = (str(version or "0.0.0"), directory.relative_to(workspace_root).as_posix())
    return found


def sibling_plans(plan_path: Path) -> list[PlanSpec]:
    """Every readable plan of the folder `plan_path` sits in (`<plans>/<category>/<name>.md`), this one included."""
    plans = []
    for path in discover_plans(plan_path.parent.parent):
        try:
            plans.append(parse_plan(path))
        except PlanError:
            continue  # its own task says what is wrong with it
    return plans


def workspace_dependencies(workspace_root: Path, plan: PlanSpec, plans: list[PlanSpec]) -> tuple:
    """The plan's dependencies that another plan generates or the monorepo already has, in the plan's order."""
    planned = {other.package_name: other for other in plans if other.task_name != plan.task_name}
    existing: dict[str, tuple[str, str]] | None = None
    found = []
    for dependency in plan.dependencies:
        if dependency.name in planned:
            other = planned[dependency.name]
            version, path, generated_by = other.version, other.package_path, other.task_name
            plan_path = str(other.plan_path)
        else:
            if existing is None:
                existing = workspace_packages(workspace_root)
            if dependency.name not in existing or existing[dependency.name][1] == plan.package_path:
                continue
            (version, path), generated_by, plan_path = existing[dependency.name], "", ""
        found.append(
            WorkspaceDependency(
                dependency.name,
                version,
                path,
                linked_range(workspace_root, version),
                generated_by,
                dependency.purpose,
                plan_path,
            )
        )
    return tuple(found)


def in_workspace(plan: PlanSpec, workspace_root: Path, api_chars: int) -> PlanSpec:
    """The plan as this workspace sees it: its workspace dependencies resolved (the plans beside it read for theirs),
    each with its public API as it stands in the workspace now, at most `api_chars` characters of it."""
    found = workspace_dependencies(workspace_root, plan, sibling_plans(plan.plan_path))
    return with_apis(replace(plan, workspace_dependencies=found), workspace_root, api_chars)


def with_apis(plan: PlanSpec, workspace_root: Path, api_chars: int) -> PlanSpec:
    """Each workspace dependency's public API read again (after a build made its declarations, say)."""
    from package_builder.generation.dependency_api import public_api  # a phase's, never a doit load's

    read = tuple(replace(d, api=public_api(workspace_root / d.path, api_chars)) for d in plan.workspace_dependencies)
    return replace(plan, workspace_dependencies=read)


def without_api_text(plan: PlanSpec) -> PlanSpec:
    """The plan with its dependencies' API text left out: what a request's digest is computed from, beside the APIs'
    own digests, so a sibling's comment, function body or README prose does not make a stored answer stale."""
    return replace(plan, workspace_dependencies=tuple(replace(d, api=None) for d in plan.workspace_dependencies))


def planned_dependencies(plan: PlanSpec, plans: list[PlanSpec]) -> list[str]:
    """The task names of the plans that generate this plan's dependencies."""
    by_package = {other.package_name: other.task_name for other in plans if other.task_name != plan.task_name}
    return [by_package[d.name] for d in plan.dependencies if d.name in by_package]


def generation_order(plans: list[PlanSpec]) -> tuple[list[PlanSpec], dict[str, str]]:
    """The plans in the order they generate in, and, for plans that depend on each other (directly or through
    others), why each is refused: `task name → message naming the cycle`. A plan waiting on a refused one is not
    refused itself; it waits, and doit reports it not run."""
    by_name = {plan.task_name: plan for plan in plans}
    needs = {plan.task_name: set(planned_dependencies(plan, plans)) for plan in plans}
    waiting = {name: len(deps) for name, deps in needs.items()}
    dependents: dict[str, list[str]] = {name: [] for name in by_name}
    for name, deps in needs.items():
        for dep in deps:
            dependents[dep].append(name)
    ready = [(_layer(by_name[name]), name) for name, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    ordered: list[PlanSpec] = []
    while ready:
        _, name = heapq.heappop(ready)
        ordered.append(by_name[name])
        for dependent in dependents[name]:
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, (_layer(by_name[dependent]), dependent))
    left = {name for name, count in waiting.items() if count > 0}
    refused = {}
    for cycle in _cycles(left, needs):
        names = " → ".join(f"{name} ({by_name[name].package_name})" for name in [*cycle, cycle[0]])
        files = ", ".join(str(by_name[name].plan_path) for name in cycle)
        message = (
            f"plans that depend on each other cannot be generated: {names}. Each needs the other's API first; "
            f"remove one of these dependencies from `## Dependencies` ({files})"
        )
        refused.update(dict.fromkeys(cycle, message))
    # what waits on a refused plan still comes after everything else, in layer order
    ordered += sorted((by_name[name] for name in left), key=_layer)
    return ordered, refused


def _layer(plan: PlanSpec) -> tuple[int, str]:
    return CATEGORIES.index(plan.category) if plan.category in CATEGORIES else len(CATEGORIES), plan.task_name


def _cycles(left: set[str], needs: dict[str, set[str]]) -> list[list[str]]:
    """The cycles among the plans that never became ready, each once, each starting at its first name."""
    cycles: list[list[str]] = []
    seen: set[str] = set()
    for start in sorted(left):
        path: list[str] = []
        at = start
        while at not in path and at not in seen:
            path.append(at)
            at = min(dep for dep in needs[at] if dep in left)
        if at in path:
            cycle = path[path.index(at) :]
            first = cycle.index(min(cycle))
            cycles.append(cycle[first:] + cycle[:first])
        seen.update(path)
    return cycles
