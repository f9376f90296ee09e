"""Globs over slash-separated relative paths, the project's one place for them, in two flavours:

- `glob_match`, exact: `**` spans folders, `*` and `?` stay inside one segment, and a folder's glob never admits what
  is below it. For what may be written (a phase's write allowlist) and which folders are workspace packages.
- `path_matcher`, Turborepo's: gitignore rules anchored at the package (`!` excludes, a folder matches what it holds),
  for the inputs and outputs a build step declares, so a turbo.json means here what it means to turbo.

Plain stdlib but for pathspec, which is loaded only for a glob that needs it; compiled once per pattern."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable


def glob_match(path: str, pattern: str) -> bool:
    """Glob where `**` spans directories and `*` stays inside one path segment."""
    return _compile(pattern)(path)


_GLOB_CACHE: dict[str, Callable[[str], bool]] = {}


def _compile(pattern: str) -> Callable[[str], bool]:
    if pattern not in _GLOB_CACHE:
        parts = []
        i = 0
        while i < len(pattern):
            if pattern.startswith("**/", i):
                parts.append("(?:.*/)?")
                i += 3
            elif pattern.startswith("**", i):
                parts.append(".*")
                i += 2
            elif pattern[i] == "*":
                parts.append("[^/]*")
                i += 1
            elif pattern[i] == "?":
                parts.append("[^/]")
                i += 1
            else:
                parts.append(re.escape(pattern[i]))
                i += 1
        regex = re.compile("".join(parts) + r"\Z")
        _GLOB_CACHE[pattern] = lambda path: regex.match(path) is not None
    return _GLOB_CACHE[pattern]


@functools.lru_cache(maxsize=256)  # the same few globs for every package: compiled once
def path_matcher(globs: tuple[str, ...]):
    """A test for package-relative paths: Turborepo's globs (relative to the package; `!` excludes), anchored.
    Plain folders and files (`dist/**`, `dist`, `index.js`: most outputs) need no pattern engine at task-load time."""
    plain = [g.removeprefix("./").removesuffix("/**").rstrip("/") for g in globs]
    if all(p and not p.startswith("!") and not any(c in p for c in "*?[{") for p in plain):
        prefixes = tuple(p + "/" for p in plain)
        names = frozenset(plain)
        return lambda path: path in names or path.startswith(prefixes)
    import pathspec

    lines = [("!/" if g.startswith("!") else "/") + g.removeprefix("!").removeprefix("./") for g in globs]
    spec = pathspec.PathSpec.from_lines("gitignore", lines)
    return spec.match_file


def expand_braces(glob: str) -> list[str]:
    """`src/**/*.{ts,tsx}` → `src/**/*.ts`, `src/**/*.tsx` (Turborepo's globs have braces, gitignore patterns not)."""
    start = glob.find("{")
    end = glob.find("}", start)
    if start < 0 or end < 0:
        return [glob]
    return [
        expanded
        for choice in glob[start + 1 : end].split(",")
        for expanded in expand_braces(glob[:start] + choice + glob[end + 1 :])
    ]
