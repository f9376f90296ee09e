"""Whether a dependency on a package of the monorepo is written the way the workspace's package manager links it.

A sibling is linked from the workspace, never fetched, but only when its range is one the manager links: npm and yarn
classic link a plain semver range that admits the sibling's version (they reject `workspace:`); pnpm and yarn berry
link `workspace:` ranges, berry also a plain range that admits the version, pnpm a plain range only when
`link-workspace-packages` is on (off by default since pnpm 9). Anything else sends the manager to the registry, where an
unpublished sibling is a 404 the model cannot make sense of, so the guard says what to write instead.

Semver is matched by `nodesemver`, a port of npm's own `semver` (its range grammar: `^0.x`, x-ranges, hyphen ranges,
`||`), imported only when a check runs: a doit load never pays for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

_WORKSPACE_ALIASES = ("*", "^", "~")
_PNPM_LINKS_RANGES = re.compile(r"^\s*link-workspace-packages\s*=\s*(true|deep)\s*$", re.M)
_PNPM_YAML = re.compile(r"^linkWorkspacePackages:\s*(true|deep)\s*$", re.M)


@dataclass(frozen=True)
class MissingDependency:
    """One dependency the install could not satisfy: `where` it was looked for (the workspace, for a name of the
    monorepo or a `workspace:`/`file:` spec; else the registry) and what is wrong, with what to write instead."""

    name: str
    where: Literal["registry", "workspace"]
    reason: str

    def __str__(self) -> str:
        return self.reason


@dataclass(frozen=True)
class WorkspaceLinker:
    """How the workspace's manager links its own packages."""

    manager: str  # npm, pnpm or yarn
    yarn_berry: bool = False
    pnpm_links_plain_ranges: bool = False

    @classmethod
    def of(cls, root: Path, manager: str, yarn_berry: bool) -> WorkspaceLinker:
        """The linker of the workspace at `root`, with pnpm's `link-workspace-packages` read from its .npmrc or
        pnpm-workspace.yaml (pnpm 10 reads settings there)."""
        links = False
        if manager == "pnpm":
            for path, setting in ((root / ".npmrc", _PNPM_LINKS_RANGES), (root / "pnpm-workspace.yaml", _PNPM_YAML)):
                try:
                    links = links or bool(setting.search(path.read_text(encoding="utf-8")))
                except OSError:
                    continue
        return cls(manager=manager, yarn_berry=yarn_berry, pnpm_links_plain_ranges=links)

    @property
    def label(self) -> str:
        if self.manager == "yarn":
            return "yarn berry" if self.yarn_berry else "yarn classic"
        return self.manager

    @property
    def workspace_protocol(self) -> bool:
        """Whether the manager understands `workspace:` (npm fails with EUNSUPPORTEDPROTOCOL, yarn classic too)."""
        return self.manager == "pnpm" or self.yarn_berry

    def range_for(self, version: str | None) -> str:
        """The range to write for a sibling at `version`: the one the issue's FOUNDATION writes too."""
        if self.workspace_protocol:
            return "workspace:^"
        return f"^{version}" if version else "*"


def sibling_problem(name: str, spec: str, version: str | None, linker: WorkspaceLinker) -> str:
    """Why `"name": "spec"` would not link the workspace's package `name` at `version` (None: its package.json has
    none), or "" when it would."""
    write = linker.range_for(version)
    have = f"the workspace's {name} is {version}" if version else f"the workspace's {name} has no `version`"
    if spec.startswith("workspace:"):
        if not linker.workspace_protocol:
            return (
                f"`{name}@{spec}`: {linker.label} does not understand `workspace:` (EUNSUPPORTEDPROTOCOL); "
                f"write {write}, {linker.label} links a workspace package by its version range"
            )
        wanted = spec.removeprefix("workspace:")
        if wanted in _WORKSPACE_ALIASES:
            return ""
        if not _is_range(wanted):
            return f"`{name}@{spec}`: {wanted!r} is not a semver range; write {write}"
        return "" if _admits(wanted, version) else f"`{name}@{spec}`: {have}; write {write}"
    if not _is_range(spec):  # a dist-tag (`latest`) or anything else the manager would look up in the registry
        return f"`{name}@{spec}`: {spec!r} is not a version range, so it is fetched from the registry; write {write}"
    if not _admits(spec, version):
        return f"`{name}@{spec}`: {have}; write {write}"
    if linker.manager == "pnpm" and not linker.pnpm_links_plain_ranges:
        return (
            f"`{name}@{spec}`: pnpm fetches a plain range from the registry even for a package of its workspace "
            f"(link-workspace-packages is off); write {write}"
        )
    return ""


def _is_range(text: str) -> bool:
    import nodesemver

    return text.strip() == "" or nodesemver.valid_range(text, loose=False) is not None


def _admits(spec: str, version: str | None) -> bool:
    import nodesemver

    if version is None:
        return spec.strip() in ("", "*", "x", "X")
    try:
        return bool(nodesemver.satisfies(version, spec, loose=False))
    except ValueError:  # the sibling's own version is not semver: no range admits it
        return False
