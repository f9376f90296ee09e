"""What each workspace step of a package reads, writes and waits for: the repo's own `turbo.json` (`tasks`, or
Turborepo 1's `pipeline`), overridden by the `packageBuilder.tasks` section of our config, else the defaults.

    {"tasks": {"build": {"dependsOn": ["^build", "generate"], "inputs": ["$TURBO_DEFAULT$", "!**/*.md"],
                         "outputs": ["dist/**"]},
               "test": {"dependsOn": ["build"], "outputs": []},
               "@scope/core#build": {"outputs": ["lib/**"]}}}

- `inputs`: globs relative to the package, matched against the files git tracks or would track (so ignored
  leftovers never count). None declared means all of them but the outputs (`$TURBO_DEFAULT$` is that set too).
- `outputs`: globs relative to the package: what dependents load, what the cache stores and restores.
- `dependsOn`: `^build` (the workspace dependencies' builds), `build` (the package's own, for test), and any other
  script of the same package (`generate`), which runs first, in the same step, its inputs joining the step's.

Read at task-load time for every package: stdlib and `pathspec` only, no network.
"""

from __future__ import annotations

import fnmatch
import functools
import json
import os
import re
from pathlib import Path
from typing import NamedTuple

from package_builder.base.errors import ConfigError
from package_builder.base.globs import expand_braces, path_matcher

STEPS = ("build", "test")
DEFAULT_INPUTS = "$TURBO_DEFAULT$"
_DEFAULT_DEPENDS = {"build": ("^build",), "test": ("build",)}


class StepDefinition(NamedTuple):
    """One step (build, test, or a prerequisite script like generate) of one package.
    A NamedTuple, not a frozen dataclass: doit defines it on every load, where a dataclass costs 0.7 ms."""

    step: str
    inputs: tuple[str, ...] | None = None  # None: every versioned file but the outputs
    outputs: tuple[str, ...] | None = None  # None: what package.json's entry points name (see monorepo)
    depends_on: tuple[str, ...] = ()
    declared_in: str = "defaults"
    env: tuple[str, ...] = ()  # environment variables whose values are inputs (`API_URL`, `NEXT_PUBLIC_*`)
    cache: bool = True  # turbo's `cache: false`: never restored, always run

    @property
    def needs_dependency_builds(self) -> bool:
        return any(item.startswith("^") for item in self.depends_on)

    @property
    def needs_own_build(self) -> bool:
        return self.step != "build" and "build" in self.depends_on

    @property
    def prerequisites(self) -> tuple[str, ...]:
        """Scripts of the same package that run first (`generate`), in declared order."""
        return tuple(item for item in self.depends_on if not item.startswith("^") and item not in STEPS)


class Pipeline:
    """Every declared task definition of the monorepo; `definition(package, step)` picks the one that applies."""

    def __init__(self, tasks: dict[str, dict], sources: dict[str, str], global_env: tuple[str, ...] = ()):
        self.tasks = tasks
        self.sources = sources
        self.global_env = global_env  # turbo.json's `globalEnv`: inputs of every step

    def definition(self, package: str, step: str) -> StepDefinition:
        for key in (f"{package}#{step}", step):
            if key in self.tasks:
                return self._parsed(key, step)
        return StepDefinition(step, depends_on=_DEFAULT_DEPENDS.get(step, ()))

    @functools.cache  # noqa: B019  # one pipeline per load: asked for each package and step
    def _parsed(self, key: str, step: str) -> StepDefinition:
        return _definition(step, self.tasks[key], self.sources[key])

    @property
    def fingerprint(self) -> str:
        """What doit's build and test tasks watch: an edit to a declaration reruns what it governs."""
        return json.dumps([self.tasks, self.global_env], sort_keys=True)

    def env_values(self, definition: StepDefinition) -> dict[str, str]:
        """The digests of the environment variables a step declares (and `globalEnv`), by name: part of its key,
        never the values themselves (they may be secrets, and the key's inputs are stored)."""
        from package_builder.base.digest import digest_text

        wanted = (*self.global_env, *definition.env)
        names = sorted({name for pattern in wanted for name in os.environ if fnmatch.fnmatchcase(name, pattern)})
        return {name: digest_text(os.environ[name]) for name in names}


def load_pipeline(
    root: Path, configured: dict | None, config_path: str = "config", packages: list | None = None
) -> Pipeline:
    """turbo.json's tasks at `root`, each package's own turbo.json over them (as `<name>#<task>`, its fields over
    the root's), then `configured` (the config's `packageBuilder.tasks`) over all."""
    tasks: dict[str, dict] = {}
    sources: dict[str, str] = {}
    global_env: list[str] = []
    turbo = root / "turbo.json"
    if turbo.exists():
        data = _read_json(turbo)
        global_env = _names(data.get("globalEnv", []), f"{turbo} globalEnv")
        for key, value in _tasks_of(data, turbo).items():
            tasks[key], sources[key] = value, f"{turbo} tasks.{key}"
    for package in packages or ():
        own = package.directory / "turbo.json"
        if own.exists():
            for key, value in _tasks_of(_read_json(own), own).items():
                step = key.rsplit("#", 1)[-1]
                inherited = tasks.get(step, {}) if isinstance(value, dict) else {}
                name = f"{package.name}#{step}"
                tasks[name], sources[name] = {**inherited, **value} if inherited else value, f"{own} tasks.{key}"
    for key, value in (configured or {}).items():
        tasks[key], sources[key] = value, f"{config_path} packageBuilder.tasks.{key}"
    for key, value in tasks.items():
        _definition(key.rsplit("#", 1)[-1], value, sources[key])  # every error shows at load, naming its source
    return Pipeline(tasks, sources, tuple(global_env))


def _tasks_of(data: dict, path: Path) -> dict:
    declared = data.get("tasks", data.get("pipeline", {}))
    if not isinstance(declared, dict):
        raise ConfigError(f"{path}: field tasks must be an object of task definitions")
    return declared


def _names(value, source: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{source}: must be a list of environment variable names")
    return [item for item in value if not item.startswith("!")]


def _definition(step: str, raw, source: str) -> StepDefinition:
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: must be an object with inputs, outputs and dependsOn")

    def globs(field: str) -> tuple[str, ...] | None:
        value = raw.get(field)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{source}: field {field} must be a list of globs")
        for item in value:
            bare = item.removeprefix("!").removeprefix("./")
            if bare.startswith(("/", "../", "$TURBO_ROOT$")) or "/../" in f"/{bare}":
                raise ConfigError(f"{source}: field {field}: {item!r} must stay inside the package")
        return tuple(expanded for item in value for expanded in expand_braces(item))

    depends = raw.get("dependsOn", _DEFAULT_DEPENDS.get(step, ()))
    if not isinstance(depends, list | tuple) or not all(isinstance(item, str) for item in depends):
        raise ConfigError(f"{source}: field dependsOn must be a list of task names")
    for item in depends:
        if "#" in item or item.startswith("$"):
            raise ConfigError(
                f"{source}: field dependsOn: {item!r} is not supported (only ^task, and tasks of the same package)"
            )
    cache = raw.get("cache", True)
    if not isinstance(cache, bool):
        raise ConfigError(f"{source}: field cache must be true or false")
    env = _names(raw.get("env", []), f"{source}: field env")
    return StepDefinition(step, globs("inputs"), globs("outputs"), tuple(depends), source, tuple(env), cache)


def _read_json(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        try:  # turbo.json may carry comments (JSONC)
            data = json.loads(_strip_comments(text))
        except ValueError as exc:
            raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a JSON object")
    return data


def _strip_comments(text: str) -> str:
    """JSON with `//` and `/* */` comments and trailing commas, as turbo.json allows, made plain JSON."""
    out, index, in_string = [], 0, False
    while index < len(text):
        char = text[index]
        if in_string:
            out.append(char)
            if char == "\\":
                out.append(text[index + 1 : index + 2])
                index += 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
            out.append(char)
        elif text.startswith("//", index):
            index = text.find("\n", index)
            index = len(text) if index < 0 else index
            continue
        elif text.startswith("/*", index):
            index = text.find("*/", index)
            index = len(text) if index < 0 else index + 2
            continue
        else:
            out.append(char)
        index += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def select_inputs(
    package_dir: Path,
    candidates: list[str],
    definition: StepDefinition,
    outputs: tuple[str, ...] | None = None,
    tracked: frozenset[str] = frozenset(),
) -> list[str]:
    """The absolute paths among `candidates` (the package's versioned files) that `definition` declares as inputs;
    files matching `outputs` (what the build writes) never are, unless git tracks them (then they are sources)."""
    base = str(package_dir) + os.sep
    relative = {path: path[len(base) :] for path in candidates if path.startswith(base)}
    if definition.inputs is not None:
        declared = ["**" if g == DEFAULT_INPUTS else g for g in definition.inputs]
        wanted = path_matcher(tuple(declared))
        relative = {path: rel for path, rel in relative.items() if wanted(rel)}
    if outputs:
        produced = path_matcher(outputs)
        relative = {path: rel for path, rel in relative.items() if path in tracked or not produced(rel)}
    return sorted(relative)


def output_globs(package, definition: StepDefinition) -> tuple[str, ...]:
    """What a step writes: its declared `outputs`, else (for a build) the top-level names package.json's entry
    points use; a test writes nothing it keeps unless declared."""
    if definition.outputs is not None:
        return definition.outputs
    return tuple(package.outputs) if definition.step == "build" else ()


def step_inputs(package, pipeline: Pipeline, step: str, git) -> list[str]:
    """The absolute paths of the files a step of `package` reads: its declared inputs (default: every file git
    tracks or would track in its folder), the inputs of the scripts it runs first, never the build's outputs (`git`
    is the monorepo's `GitFiles`, or None outside git)."""
    from package_builder.builds.monorepo import source_files

    candidates = source_files(package, git)
    tracked = git.tracked if git is not None else frozenset()
    build_outputs = output_globs(package, pipeline.definition(package.name, "build"))
    definition = pipeline.definition(package.name, step)
    chosen = set(
        select_inputs(package.directory, candidates, definition, build_outputs if step == "build" else None, tracked)
    )
    for prerequisite in definition.prerequisites:
        chosen.update(select_inputs(package.directory, candidates, pipeline.definition(package.name, prerequisite)))
    return sorted(chosen)


def dependency_stamps(package, definition: StepDefinition, by_name: dict) -> list[tuple[str, str]]:
    """The (step, package) stamps a step waits for and reads: `^build` the workspace dependencies' builds (all of
    them, transitively, for a test, which loads them at run time), `build` the package's own."""
    from package_builder.builds.monorepo import all_dependencies

    stamps = []
    if definition.needs_own_build:
        stamps.append(("build", package.name))
    if definition.needs_dependency_builds or definition.needs_own_build:
        names = (
            package.workspace_dependencies if definition.step == "build" else all_dependencies(package.name, by_name)
        )
        stamps.extend(("build", name) for name in names)
    return stamps
