"""Globs over slash-separated relative paths, the one matcher of the project: `**` spans folders, `*` and `?` stay
inside one segment. Plain stdlib, compiled once per pattern, so it is cheap at task-load time."""
from __future__ import annotations

import re
from typing import Callable


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
        _GLOB_CACHE[pattern] = lambda p, r=regex: r.match(p) is not None
    return _GLOB_CACHE[pattern]

