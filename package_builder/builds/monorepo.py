"""The packages of a JS/TS monorepo: found from npm/yarn `workspaces` globs or `pnpm-workspace.yaml`, with their
workspace dependencies, in dependency order, and the files a build of each depends on.

Stdlib only: `doit list` reads this at task-load time for every package, so it must stay cheap and offline.
"""

from __future__ import annotations

import bisect
import functools
import os
import re
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import NamedTuple

from package_builder.base.errors import ConfigError, PackageBuilderError
from package_builder.base.globs import path_matcher
from package_builder.base.layout import LOCKFILES, read_manifest, workspace_directories

# npm's rules for a package name: lowercase, URL-safe, at most 214 characters, optionally scoped (@scope/name).
NPM_PACKAGE_NAME = re.compile(r"^(?:@[a-z0-9][a-z0-9._~-]*/)?[a-z0-9][a-z0-9._~-]*$")
DEPENDENCY_SECTIONS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
# Never inputs of a build, at any depth: installed modules, git, caches of other tools.
NEVER_SOURCES = frozenset({"node_modules", ".git", ".turbo", ".cache"})
# Output folders of the usual tools: not inputs at a package's top level (src/build/ is still source code).
TOOL_OUTPUTS = frozenset({"dist", "build", "coverage", ".next", "out"})
DEFAULT_OUTPUTS = ("dist", "build", "out")
_ENTRY_FIELDS = ("main", "module", "types", "typings", "browser", "bin", "exports", "files")


class WorkspacePackage(NamedTuple):
    """One package of the monorepo, as its package.json declares it.

    A NamedTuple, not a frozen dataclass: doit defines it on every load, where a dataclass costs 0.7 ms."""

    name: str
    version: str
    directory: Path
    private: bool
    scripts: Mapping[str, str] = MappingProxyType({})  # read-only: the default is shared
    workspace_dependencies: tuple[str, ...] = ()
    outputs: tuple[str, ...] = DEFAULT_OUTPUTS  # top-level files and folders that dependents consume

    @property
    def safe_name(self) -> str:
        """`@scope/name` → `@scope+name`: usable as a file name."""
        return self.name.replace("/", "+")

    def has_script(self, script: str) -> bool:
        command = str(self.scripts.get(script, "")).strip()
        return bool(command) and "no test specified" not in command  # npm init's placeholder test script


def is_npm_package_name(name: str) -> bool:
    return len(name) <= 214 and NPM_PACKAGE_NAME.match(name) is not None


def discover_packages(root: Path) -> list[WorkspacePackage]:
    """Every workspace package under `root`, in dependency order (dependencies first, then by name)."""
    directories = workspace_directories(root)
    raw = []
    for directory in directories:
        manifest = read_manifest(directory / "package.json")
        name = manifest.get("name")
        if not isinstance(name, str) or not is_npm_package_name(name):
            raise ConfigError(f"{directory / 'package.json'}: field name {name!r} is not a valid npm package name")
        raw.append((name, directory, manifest))
    names = [name for name, _, _ in raw]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigError(f"{root}: two workspace packages share the name {duplicates[0]}")
    known = set(names)
    packages = {
        name: WorkspacePackage(
            name=name,
            version=str(manifest.get("version", "0.0.0")),
            directory=directory,
            private=bool(manifest.get("private", False)),
            scripts=dict(manifest.get("scripts") or {}),
            outputs=declared_outputs(manifest),
            workspace_dependencies=tuple(
                sorted(
                    {
                        dep
                        for section in DEPENDENCY_SECTIONS
                        for dep in (manifest.get(section) or {})
                        if dep in known and dep != name
                    }
                )
            ),
        )
        for name, directory, manifest in raw
    }
    return [packages[name] for name in dependency_order(packages)]


def all_dependencies(name: str, by_name: dict[str, WorkspacePackage]) -> list[str]:
    """Every workspace package `name` depends on, directly or through others, sorted."""
    seen, stack = [], list(by_name[name].workspace_dependencies)
    while stack:
        dependency = stack.pop()
        if dependency not in seen:
            seen.append(dependency)
            stack.extend(by_name[dependency].workspace_dependencies)
    return sorted(seen)


def declared_outputs(manifest: dict) -> tuple[str, ...]:
    """The top-level names a package's entry points and `files` point into (`dist`, `lib`, `index.js`...): what a
    dependent loads, so what its build stamp digests. A package that declares none is taken to build into dist/."""
    found: set[str] = set()

    def collect(value) -> None:
        if isinstance(value, str):
            top = value.strip().removeprefix("./").split("/", 1)[0]
            if top and top not in (".", "..", "package.json") and "*" not in top:
                found.add(top)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    for key in _ENTRY_FIELDS:
        collect(manifest.get(key))
    return tuple(sorted(found)) or DEFAULT_OUTPUTS


def dependency_order(packages: dict[str, WorkspacePackage]) -> list[str]:
    """Names with every package after its workspace dependencies; a cycle is an error that names it."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: tuple[str, ...]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "visiting":
            cycle = " → ".join((*path[path.index(name) :], name))
            raise ConfigError(f"workspace dependency cycle: {cycle}")
        state[name] = "visiting"
        for dependency in packages[name].workspace_dependencies:
            visit(dependency, (*path, name))
        state[name] = "done"
        order.append(name)

    for name in sorted(packages):
        visit(name, ())
    return order


class GitFiles:
    """What git knows of the monorepo's files, as absolute paths: `versioned` (tracked, and untracked but not
    ignored: what Turborepo hashes, so a leftover in an ignored path is not an input) and `tracked` (committed or
    staged: always a source, never a build output, whatever folder it is in)."""

    def __init__(self, versioned: frozenset[str], tracked: frozenset[str]):
        self.versioned, self.tracked = versioned, tracked

    def __contains__(self, path: str) -> bool:
        return path in self.versioned

    @functools.cached_property
    def _in_order(self) -> list[str]:
        return sorted(self.versioned)

    def under(self, folder: str) -> list[str]:
        """The versioned files under `folder` (an absolute path), sorted: a slice of one sorted list, so listing
        every package's files costs a search each, not a pass over the whole monorepo each."""
        start = folder.rstrip(os.sep) + os.sep
        ordered = self._in_order
        return ordered[
            bisect.bisect_left(ordered, start) : bisect.bisect_left(ordered, start[:-1] + chr(ord(os.sep) + 1))
        ]


class GitRefused(PackageBuilderError):
    """git is there but would not list the monorepo's files (an untrusted owner, a corrupt index...): builds stop
    rather than guess, since without git's list ignored files become inputs and tracked ones lose their protection."""


def versioned_files(root: Path, within: list[str] | None = None) -> GitFiles | None:
    """The monorepo's `GitFiles` (one `git ls-files`), or only those `within` some git pathspecs (a package's
    folder and the root's own files: what one step reads, in a big monorepo); None outside a git work tree (or
    without git at all). `GitRefused` when git is there and fails: that must not pass for "no git"."""
    return start_listing(root, within)()


def start_listing(root: Path, within: list[str] | None = None) -> Callable[[], GitFiles | None]:
    """`versioned_files`, begun now and answered when called: git lists the files while the caller does other work
    (a doit load finds the packages and reads its plans meanwhile)."""
    try:
        # Read-only: ls-files takes no git lock, and --no-optional-locks keeps it so (no marker needed, see
        # generation/writer/git.py), whatever the user's git does meanwhile. LC_ALL=C: "not a git repository" is
        # told apart from a refusal by git's own words, whatever the user's language.
        git = subprocess.Popen(
            ["git", "--no-optional-locks", "ls-files", "-z", "-t", "--cached", "--others", "--exclude-standard"]
            + ["--", *(within or [])],
            cwd=root,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, "LC_ALL": "C"},
        )
    except FileNotFoundError:
        return lambda: None  # no git installed, or no such folder: the files are walked instead
    except OSError as exc:
        refusal = _refusal(root, "git ls-files", str(exc))

        def refused() -> GitFiles | None:
            raise GitRefused(refusal)

        return refused

    outcome: list = []  # git's answer, read once: GitFiles, None, or the GitRefused to raise again

    def answer() -> GitFiles | None:
        if not outcome:
            try:
                listed, said = git.communicate(timeout=60)
                outcome.append(_git_files(root, git.returncode, listed, said.decode("utf-8", "replace").strip()))
            except subprocess.TimeoutExpired as exc:
                git.kill()
                git.communicate()
                outcome.append(GitRefused(_refusal(root, "git ls-files", str(exc))))
            except GitRefused as exc:
                outcome.append(exc)
        if isinstance(outcome[0], GitRefused):
            raise outcome[0]
        return outcome[0]

    return answer


def _git_files(root: Path, exit_code: int, listed: bytes, said: str) -> GitFiles | None:
    if exit_code != 0:
        if "not a git repository (or any" in said:  # "…of the parent directories", "…parent up to mount point"
            return None  # a monorepo outside git is legitimate: every file in a package is then an input
        raise GitRefused(_refusal(root, f"git ls-files, exit {exit_code}", said[-1500:]))
    versioned, tracked = set(), set()
    for entry in listed.decode("utf-8", "replace").split("\0"):
        if len(entry) > 2:
            path = os.path.join(root, entry[2:])
            versioned.add(path)
            if entry[0] != "?":  # `-t`: "H " cached, "? " other (untracked)
                tracked.add(path)
    return GitFiles(frozenset(versioned), frozenset(tracked))


def _refusal(root: Path, how: str, said: str) -> str:
    """What a user reads when git fails: git's own words, why builds stop, and what to do."""
    remedy = f"fix what git says (`git -C {root} status` shows the same)"
    if "dubious ownership" in said:  # common in CI: the checkout belongs to another user than the build's
        remedy = "trust the repository if it is yours, with the `git config --global --add safe.directory` git gives"
    return (
        f"git failed to list the files of the monorepo {root} ({how}): {said}\n"
        "Builds need git's list to know their inputs (ignored files are not inputs, tracked files never come from "
        f"the cache), so none runs without it: {remedy}, and run again."
    )


def source_files(package: WorkspacePackage, git: GitFiles | None = None) -> list[str]:
    """The files a build of `package` reads: everything in its folder but installed modules, caches and, when it has
    a build script, the outputs that build writes. In a git work tree (`git`), only files git tracks or would track,
    and a tracked file is a source even in an output folder (`bin/cli.js`, a committed `lib/`)."""
    skip_top = set(package.outputs) - {"src"} if package.has_script("build") else set()
    if git is None:
        return _walk(package, skip_top)
    base = str(package.directory) + os.sep
    found = []
    for path in git.under(base):
        if path.endswith(".tsbuildinfo"):
            continue
        parts = path[len(base) :].split(os.sep)
        if any(part in NEVER_SOURCES for part in parts[:-1]):
            continue
        if path not in git.tracked and (parts[0] in skip_top or (len(parts) > 1 and parts[0] in TOOL_OUTPUTS)):
            continue  # what the build writes into a folder git does not ignore
        found.append(path)
    return sorted(found)


def _walk(package: WorkspacePackage, skip_top: set[str]) -> list[str]:
    found: list[str] = []
    for folder, subfolders, files in os.walk(package.directory):
        top = folder == str(package.directory)
        subfolders[:] = sorted(
            d for d in subfolders if d not in NEVER_SOURCES and not (top and (d in TOOL_OUTPUTS or d in skip_top))
        )
        found.extend(
            os.path.join(folder, f)
            for f in sorted(files)
            if not f.endswith(".tsbuildinfo") and not (top and f in skip_top)
        )
    return found


def matching_files(directory: Path, globs: tuple[str, ...]) -> list[str]:
    """The files under `directory` (never in installed modules or git) that package-relative `globs` match, as
    sorted absolute paths: a step's outputs, what the build stamp digests and the cache stores. Plain strings: a
    restore walks hundreds of them, and pathlib objects cost more than the work."""
    if not globs:
        return []
    wanted, found, base = path_matcher(tuple(globs)), set(), str(directory)
    for start in map(str, _glob_roots(directory, globs)):
        if os.path.isfile(start):
            if wanted(os.path.relpath(start, base)):
                found.add(start)
            continue
        for folder, subfolders, files in os.walk(start):
            subfolders[:] = [d for d in subfolders if d not in NEVER_SOURCES]
            relative = folder[len(base) + 1 :]
            for name in files:
                if wanted(os.path.join(relative, name) if relative else name):
                    found.add(os.path.join(folder, name))
    return sorted(found)


def _glob_roots(directory: Path, globs: tuple[str, ...]) -> list[Path]:
    """Where the files `globs` can match live: the fixed folders in front of their first wildcard (`dist/**` →
    dist/), so a step's outputs are found without walking its sources; the package itself when one starts with a
    wildcard. Exclusions (`!`) only narrow, so they add no root."""
    roots: set[Path] = set()
    for glob in globs:
        if glob.startswith("!"):
            continue
        fixed = []
        for part in glob.removeprefix("./").split("/"):
            if any(char in part for char in "*?["):
                break
            fixed.append(part)
        if not fixed:
            return [directory]
        roots.add(directory.joinpath(*fixed))
    return sorted(root for root in roots if root.exists() and not any(other in root.parents for other in roots))


def global_inputs(root: Path, globs: list[str], git: GitFiles | None = None) -> list[str]:
    """What every package's build depends on: the root's own files (package.json, tsconfig.base.json, .npmrc...;
    not its markdown, nor the lockfile, of which each package reads its own slice: lockfile_slices.py) and the files
    matching `globalBuildInputs` (e.g. `tools/**`); in a git work tree, only those git tracks or would track (an
    ignored `tsconfig.tsbuildinfo` is not an input)."""
    found = {
        str(p)
        for p in root.iterdir()
        if p.is_file()
        and not p.name.lower().endswith(".md")
        and not p.name.upper().startswith("LICENSE")
        and p.name not in LOCKFILES
    }
    for pattern in globs:
        found.update(str(p) for p in _expand_files(root, pattern))
    return sorted(path for path in found if git is None or path in git)


def _expand_files(root: Path, pattern: str) -> list[Path]:
    pattern = pattern.strip().removeprefix("./")
    if not pattern or pattern.startswith(("/", "..")) or "/../" in f"/{pattern}/":
        raise ConfigError(f"globalBuildInputs: {pattern!r} must stay inside the monorepo")
    return [p for p in root.glob(pattern) if p.is_file() and "node_modules" not in p.relative_to(root).parts]


def lockfile(root: Path) -> Path | None:
    return next((root / name for name in LOCKFILES if (root / name).exists()), None)
