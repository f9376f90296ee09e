"""What a generated package's sources really satisfy, for the checkpoint's `requirements`: cheap text scans of the
package as the phases wrote it, so the checkpoint records what was checked instead of promising it.

- `strictTypeScript`: `compilerOptions.strict` is true in the package's `tsconfig.json` as written (null when there
  is none yet, or when it `extends` another file and does not say).
- `noAnyTypes`: no `: any`, `as any` or `<any>` in the code under `src/` (comments aside): the same pattern the "no
  weakened checks" rule of the repair phases counts (phases/checks.py).
- `jsdocRequired`: every exported function and class under `src/` has a `/** … */` comment right before one of its
  declarations (an overload's siblings share it; decorators may sit between).

A value is null until there is something to check. Stdlib only: the runner calls it after every phase.
"""

from __future__ import annotations

import json
import re

ANY_TYPE = r":\s*any\b|\bas any\b|<any>"  # an explicit `any`; `unknown` is the strict alternative
_ANY = re.compile(ANY_TYPE)
_COMMENT = re.compile(r"/\*.*?\*/|//[^\n]*", re.S)
_JSONC_NOISE = re.compile(r'("(?:[^"\\]|\\.)*")|/\*.*?\*/|//[^\n]*|,(?=\s*[}\]])', re.S)
_EXPORTED = re.compile(
    r"(?m)^[ \t]*export[ \t]+(?:default[ \t]+)?(?:declare[ \t]+)?(?:abstract[ \t]+)?"
    r"(?:async[ \t]+)?(?:function\*?|class)[ \t]*\*?[ \t]*(?P<name>[A-Za-z_$][\w$]*)?"
)
_DECORATOR = re.compile(r"@[\w$.]+(?:\([^()]*\))?$")
_SOURCE = (".ts", ".tsx", ".mts", ".cts")


def package_checks(files: dict[str, str]) -> dict[str, bool | None]:
    """The three requirements as found in `files` (package-relative path → content)."""
    sources = {path: text for path, text in files.items() if path.startswith("src/") and path.endswith(_SOURCE)}
    return {
        "strictTypeScript": strict_typescript(files.get("tsconfig.json")),
        "noAnyTypes": (not any(_ANY.search(_COMMENT.sub("", text)) for text in sources.values()) if sources else None),
        "jsdocRequired": jsdoc_on_exports(sources),
    }


def strict_typescript(tsconfig: str | None) -> bool | None:
    """`compilerOptions.strict` of a tsconfig (JSON with comments and trailing commas, as tsc reads it)."""
    if tsconfig is None:
        return None
    try:
        config = json.loads(_JSONC_NOISE.sub(lambda m: m.group(1) or "", tsconfig))
    except ValueError:
        return None
    options = config.get("compilerOptions") if isinstance(config, dict) else None
    strict = options.get("strict") if isinstance(options, dict) else None
    if strict is None and isinstance(config, dict) and config.get("extends"):
        return None  # decided by a file we do not read
    return strict is True


def jsdoc_on_exports(sources: dict[str, str]) -> bool | None:
    """Whether every exported function and class has a JSDoc comment; None when there is none to document."""
    documented: dict[tuple[str, str], bool] = {}
    for path, text in sources.items():
        for index, match in enumerate(_EXPORTED.finditer(text)):
            key = (path, match.group("name") or f"default#{index}")
            documented[key] = documented.get(key, False) or _has_jsdoc(text[: match.start()])
    return all(documented.values()) if documented else None


def _has_jsdoc(before: str) -> bool:
    """Whether the text before a declaration ends with a `/** … */` comment (decorators may follow it)."""
    head = before.rstrip()
    while (decorator := _DECORATOR.search(head)) is not None:
        head = head[: decorator.start()].rstrip()
    if not head.endswith("*/"):
        return False
    opening = head.rfind("/*", 0, len(head) - 2)
    return opening >= 0 and head.startswith("/**", opening) and not head.startswith("/**/", opening)
