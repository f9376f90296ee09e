"""Plan files: `plans/packages/<category>/<name>.md` in the seed's markdown format, parsed into a `PlanSpec`.

Stdlib only (YAML is imported just for plans that have front matter): `doit list` parses every plan at load time.
A plan that cannot be used raises `PlanError` naming the file and what to add.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from package_builder.base.errors import PlanError

CATEGORIES = ("validator", "core", "utility", "service", "ui", "suite")
COVERAGE_TARGETS = {"core": 90, "validator": 90, "service": 85, "utility": 85, "suite": 80, "ui": 80}

NPM_NAME = re.compile(r"^(?:@[a-z0-9-~][a-z0-9-._~]*/)?[a-z0-9-~][a-z0-9-._~]*$")
TASK_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")

_PACKAGE_LINE = re.compile(r"^\*\*Package:\*\*\s*`?([^`\s]+)`?\s*$", re.M)
_HEADING_NAME = re.compile(r"^#\s+`?(@[^`\s/]+/[^`\s]+)`?\s*$", re.M)
_NAME_BULLET = re.compile(r"^\s*[-*]\s*(?:\*\*)?Name:?(?:\*\*)?:?\s*`?(@?[^`\s]+)`?\s*$", re.M)
_TYPE_LINE = re.compile(r"^\*\*Type:\*\*\s*`?([A-Za-z-]+)`?\s*$", re.M)
_VERSION_BULLET = re.compile(r"^\s*[-*]\s*Version:\s*`?([0-9][^`\s]*)`?\s*$", re.M)
_DESCRIPTION_BULLET = re.compile(r"^\s*[-*]\s*Description:\s*(.+?)\s*$", re.M)
_SECTION = re.compile(r"^##\s+(.+?)\s*$", re.M)
# A bullet of `## Dependencies` that names a package: its name in backticks (`` `zod` ``), or a bare scoped name
# (`@acme/logger`), then optionally a separator and what it is for. Any other bullet is prose ("- none at runtime").
_DEPENDENCY_BULLET = re.compile(r"^\s*[-*]\s+(?:\*\*)?(?:`([^`]*)`|(@[^\s`:*]*))(?:\*\*)?\s*(?:[:—–-]\s*(.*))?$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)
_FRONT_MATTER_KEYS = {
    "package",
    "type",
    "category",
    "dependencies",
    "path",
    "description",
    "version",
    "coverage",
    "mode",
}
MODES = ("turn-based", "single-shot")


@dataclass(frozen=True)
class Dependency:
    """A workspace or npm package the plan says this package uses."""

    name: str
    purpose: str = ""


@dataclass(frozen=True)
class PlanSpec:
    """Everything the phases need from a plan file; `body` is the markdown the prompts show the model."""

    plan_path: Path
    task_name: str
    package_name: str
    category: str
    package_path: str
    description: str
    version: str
    coverage_target: int
    dependencies: tuple[Dependency, ...] = ()
    body: str = field(default="", repr=False)
    mode: str = "turn-based"  # or "single-shot": the whole package in one call (front matter `mode`)
    # The dependencies the workspace provides (suite.WorkspaceDependency): filled in by `suite.in_workspace` when a
    # phase loads the plan, since they depend on the monorepo and the other plans, not on this file alone.
    workspace_dependencies: tuple = ()

    @property
    def unscoped_name(self) -> str:
        return self.package_name.rsplit("/", 1)[-1]


def parse_plan(path: Path) -> PlanSpec:
    """Read and validate one plan file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PlanError(f"{path}: cannot read plan: {exc}") from exc
    front, body = _split_front_matter(path, text)

    task_name = path.stem
    if not TASK_NAME.match(task_name):
        raise PlanError(
            f"{path}: the file name must be lowercase letters, digits, '.', '_' or '-' (it becomes the task name)"
        )

    package_name = str(
        front.get("package")
        or _first(_PACKAGE_LINE, body)
        or _first(_HEADING_NAME, body)
        or _first(_NAME_BULLET, body)
        or ""
    )
    if not package_name:
        raise PlanError(f"{path}: no package name: add a line like **Package:** `@scope/{task_name}`")
    if len(package_name) > 214 or not NPM_NAME.match(package_name):
        raise PlanError(
            f"{path}: package name {package_name!r} is not a valid npm package name "
            "(lowercase, URL-safe, optionally @scope/name)"
        )

    category = _category(path, front, body)
    dependencies = _dependencies(path, front, body, first_line=text.count("\n", 0, len(text) - len(body)) + 1)
    package_path = str(front.get("path") or f"packages/{category}/{package_name.rsplit('/', 1)[-1]}")
    _check_package_path(path, package_path)
    coverage = front.get("coverage", COVERAGE_TARGETS[category])
    if not isinstance(coverage, int) or isinstance(coverage, bool) or not 0 <= coverage <= 100:
        raise PlanError(f"{path}: front matter 'coverage' must be a whole number from 0 to 100, got {coverage!r}")

    mode = str(front.get("mode", "turn-based"))
    if mode not in MODES:
        raise PlanError(f"{path}: front matter 'mode' must be one of {', '.join(MODES)}, got {mode!r}")

    return PlanSpec(
        plan_path=path,
        mode=mode,
        task_name=task_name,
        package_name=package_name,
        category=category,
        package_path=package_path,
        description=str(front.get("description") or _description(body)),
        version=str(front.get("version") or _first(_VERSION_BULLET, body) or "0.1.0"),
        coverage_target=coverage,
        dependencies=dependencies,
        body=body.strip() + "\n",
    )


def _split_front_matter(path: Path, text: str) -> tuple[dict, str]:
    match = _FRONT_MATTER.match(text)
    if not match:
        return {}, text
    import yaml  # only plans with front matter pay for it

    try:
        front = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise PlanError(f"{path}: front matter is not valid YAML: {exc}") from exc
    if not isinstance(front, dict):
        raise PlanError(f"{path}: front matter must be a mapping of fields (package, type, dependencies, ...)")
    unknown = sorted(set(front) - _FRONT_MATTER_KEYS)
    if unknown:
        raise PlanError(
            f"{path}: unknown front matter field {unknown[0]!r}; known: {', '.join(sorted(_FRONT_MATTER_KEYS))}"
        )
    return front, text[match.end() :]


def _first(pattern: re.Pattern, text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


def _category(path: Path, front: dict, body: str) -> str:
    declared = front.get("type") or front.get("category") or _first(_TYPE_LINE, body)
    folder = path.parent.name
    if declared is None:
        if folder in CATEGORIES:
            return folder
        raise PlanError(
            f"{path}: no package type: add a line **Type:** <{'|'.join(CATEGORIES)}> "
            f"(or put the plan in plans/packages/<type>/)"
        )
    declared = str(declared).lower()
    if declared not in CATEGORIES:
        raise PlanError(f"{path}: **Type:** {declared!r} is not one of {', '.join(CATEGORIES)}")
    if folder in CATEGORIES and folder != declared:
        raise PlanError(
            f"{path}: **Type:** {declared} disagrees with the plan's folder {folder!r}; move the plan or fix the type"
        )
    return declared


def _dependencies(path: Path, front: dict, body: str, first_line: int = 1) -> tuple[Dependency, ...]:
    """Front matter `dependencies`, else the bullets of `## Dependencies`. A bullet that names a package with an
    invalid name is refused (file, line, name) rather than dropped: a plan missing a dependency still pays for
    every phase, and the model then writes code without it."""
    if "dependencies" in front:
        raw = front["dependencies"] or []
        if not isinstance(raw, list):
            raise PlanError(f"{path}: front matter 'dependencies' must be a list")
        found = []
        for item in raw:
            if isinstance(item, dict):
                name, purpose = str(item.get("name", "")), str(item.get("purpose", ""))
            else:
                name, purpose = (item, "") if isinstance(item, str) else ("", "")
            found.append(_dependency(path, name, purpose))
        return tuple(found)
    start, section = _section_at(body, "dependencies")
    line_number = first_line + body.count("\n", 0, start)
    found, fenced = [], False
    for number, line in enumerate(section.splitlines(), start=line_number):
        if _FENCE.match(line):
            fenced = not fenced  # a code block shows an example, it declares nothing
            continue
        match = None if fenced else _DEPENDENCY_BULLET.match(line)
        if match:
            name = match.group(1) if match.group(1) is not None else match.group(2)
            found.append(_dependency(path, name.strip(), (match.group(3) or "").strip(), number))
    return tuple(found)


def _dependency(path: Path, name: str, purpose: str, line: int | None = None) -> Dependency:
    if not NPM_NAME.match(name) or len(name) > 214:
        where, part = (f"{path}:{line}", "## Dependencies") if line else (f"{path}", "front matter")
        raise PlanError(
            f"{where}: dependency {name!r} is not a valid npm package name (lowercase, URL-safe, "
            f"optionally @scope/name, no version); fix it in {part} or remove it before generating"
        )
    return Dependency(name=name, purpose=purpose)


def _section_at(body: str, title: str) -> tuple[int, str]:
    """Where the text under `## <title>` starts in `body`, and that text (see `_section`)."""
    headings = list(_SECTION.finditer(body))
    for i, heading in enumerate(headings):
        if heading.group(1).strip().lower().startswith(title):
            end = headings[i + 1].start() if i + 1 < len(headings) else len(body)
            return heading.end(), body[heading.end() : end]
    return 0, ""


def _section(body: str, title: str) -> str:
    """The text under `## <title>` (case-insensitive prefix match) up to the next `##` heading."""
    return _section_at(body, title)[1]


def _description(body: str) -> str:
    bullet = _first(_DESCRIPTION_BULLET, body)
    if bullet:
        return bullet
    for title in ("overview", "purpose", "package overview"):
        for paragraph in _section(body, title).strip().split("\n\n"):
            paragraph = paragraph.strip()
            if paragraph and not paragraph.startswith(("#", "-", "*", "`")):
                return " ".join(paragraph.split())
    return ""


def _check_package_path(path: Path, package_path: str) -> None:
    pure = PurePosixPath(package_path)
    if pure.is_absolute() or ".." in pure.parts or str(pure) != package_path or package_path in ("", "."):
        raise PlanError(
            f"{path}: package path {package_path!r} must be a relative path inside the workspace, "
            "like packages/core/name"
        )
