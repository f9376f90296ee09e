"""The monorepo's layout, as its root declares it: which folders are workspace packages (package.json `workspaces` or
pnpm-workspace.yaml), which package manager lays out node_modules, and where its lockfile is. Both halves read it:
generation, to install and find the tools of the package it writes; the builds, to find every package.
"""

from __future__ import annotations

import glob
import json
import os
import re
from pathlib import Path

from package_builder.base.errors import ConfigError
from package_builder.base.globs import expand_braces

LOCKFILES = ("package-lock.json", "yarn.lock", "pnpm-lock.yaml", "npm-shrinkwrap.json")


def read_manifest(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror}") from None
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must hold a JSON object")
    return data


def workspace_globs(root: Path) -> list[str]:
    """The workspace patterns of the monorepo at `root`, from the file its manager reads: pnpm-workspace.yaml's
    `packages` for pnpm (which ignores package.json `workspaces`), else package.json `workspaces` (array or
    {packages}), else pnpm-workspace.yaml. An empty list means the root is not a monorepo."""
    pnpm = root / "pnpm-workspace.yaml"
    if pnpm.exists() and detect_package_manager(root) == "pnpm":
        return pnpm_packages(pnpm)
    manifest = read_manifest(root / "package.json") if (root / "package.json").exists() else {}
    declared = manifest.get("workspaces")
    if isinstance(declared, dict):
        declared = declared.get("packages")
    if isinstance(declared, list) and all(isinstance(p, str) for p in declared):
        return declared
    if declared is not None:
        raise ConfigError(f'{root / "package.json"}: field workspaces must be a list of globs or {{"packages": [...]}}')
    return pnpm_packages(pnpm) if pnpm.exists() else []


def workspace_directories(root: Path) -> list[Path]:
    """The folders the workspace at `root` counts as its packages (each with a package.json), sorted: its globs
    expanded (braces and character classes too), minus those of its `!` globs, whatever their order."""
    patterns = workspace_globs(root)
    excluded = {d for p in patterns if p.startswith("!") for d in expand_workspace_glob(root, p[1:])}
    return sorted({d for p in patterns if not p.startswith("!") for d in expand_workspace_glob(root, p)} - excluded)


def workspace_package_names(root: Path) -> set[str]:
    """The names of the workspace's own packages: a dependency on one is linked by the manager, not fetched."""
    return set(workspace_package_versions(root))


def workspace_package_versions(root: Path) -> dict[str, str | None]:
    """The workspace's own packages, name → version (None when its package.json has none): a dependency on one is
    checked against that version, never the registry."""
    versions: dict[str, str | None] = {}
    for directory in workspace_directories(root):
        manifest = read_manifest(directory / "package.json")
        name, version = manifest.get("name"), manifest.get("version")
        if isinstance(name, str):
            versions[name] = version if isinstance(version, str) else None
    return versions


def expand_workspace_glob(root: Path, pattern: str) -> list[Path]:
    """The folders with a package.json that one workspace glob names, inside `root` and outside node_modules.

    Found with `glob` on strings, not pathlib, and a folder is resolved only when a part of it is a symlink: every
    doit load finds the packages, and a monorepo has dozens."""
    pattern = pattern.strip().rstrip("/").removeprefix("./")
    if not pattern or pattern.startswith(("/", "..")) or "/../" in f"/{pattern}/":
        raise ConfigError(f"{root}: workspace glob {pattern!r} must stay inside the monorepo")
    top = str(root)
    found = []
    for alternative in expand_braces(pattern):
        for relative in glob.glob(alternative, root_dir=top, recursive=True, include_hidden=True):
            parts = relative.split(os.sep)
            folder = os.path.join(top, relative)
            if "node_modules" in parts or not os.path.isfile(os.path.join(folder, "package.json")):
                continue
            if any(os.path.islink(os.path.join(top, *parts[: i + 1])) for i in range(len(parts))) and not Path(
                folder
            ).resolve().is_relative_to(root.resolve()):
                continue  # a symlink out of the monorepo
            found.append(Path(folder))
    return found


def pnpm_packages(path: Path) -> list[str]:
    """The `packages:` list of pnpm-workspace.yaml. Only that list is read, so a tiny reader does (no YAML library
    at task-load time); anything it does not understand is an error, never a silent empty workspace."""
    patterns: list[str] = []
    inside = False
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        text = line.split(" #", 1)[0].rstrip()
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        if not line.startswith((" ", "\t", "-")):
            inside = text.strip() == "packages:"
            if not inside and text.strip().startswith("packages:"):
                raise ConfigError(f"{path}:{number}: write `packages:` as a block list, one `- 'glob'` per line")
            continue
        if inside:
            item = re.fullmatch(r"\s*-\s*(['\"]?)(.+?)\1", text)
            if not item:
                raise ConfigError(f"{path}:{number}: expected a list item like `- 'packages/*'`")
            patterns.append(item.group(2))
    return patterns


def detect_package_manager(workspace_root: Path) -> str:
    """`packageManager` in the root package.json, else the lockfile present, else npm."""
    try:
        manifest = json.loads((workspace_root / "package.json").read_text(encoding="utf-8"))
        declared = str(manifest.get("packageManager", "")).split("@", 1)[0]
        if declared in ("npm", "yarn", "pnpm"):
            return declared
    except (OSError, ValueError, AttributeError):
        pass
    for lockfile, manager in (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("package-lock.json", "npm")):
        if (workspace_root / lockfile).exists():
            return manager
    return "npm"


def is_yarn_berry(workspace_root: Path) -> bool:
    """Yarn 2+ ("berry"): declared as `packageManager: yarn@2..`, or found by its `.yarnrc.yml`. Its install flags
    differ from yarn classic's, and it has the `workspace:` protocol, which `yarn pack` rewrites."""
    try:
        manifest = json.loads((workspace_root / "package.json").read_text(encoding="utf-8"))
        declared = str(manifest.get("packageManager", ""))
    except (OSError, ValueError, AttributeError):
        declared = ""
    if declared:
        major = declared.removeprefix("yarn@").split(".", 1)[0]
        return declared.startswith("yarn@") and major.isdigit() and int(major) >= 2
    return (workspace_root / ".yarnrc.yml").exists()


def workspace_member(root: Path, directory: Path) -> bool | None:
    """Whether the workspace at `root` counts `directory` (which has its package.json) among its packages, by the
    very rule the builds use to find them, or None when `root` declares no workspace (a package installs alone)."""
    if not workspace_globs(root):
        return None
    return directory.resolve() in {d.resolve() for d in workspace_directories(root)}
