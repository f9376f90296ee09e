"""A workspace dependency's public API as text the model reads, and a digest of that API alone.

A package generated against a sibling must call the sibling's real functions, so every code-writing prompt shows
each workspace dependency's API. It is read, in order of trust, from:

1. its declarations: the `.d.ts` named by the manifest (`types`/`typings`, else `exports`' `types` condition or entry,
   else `main` as `.d.ts`), with the files it re-exports (`export * from './x'`, `export { a } from './y.js'`);
2. its sources, when it is not built: `src/index.ts` (or the source matching its entry) and the files it re-exports,
   reduced to their declaration surface (typescript_surface.py): signatures without bodies, JSDoc kept; a package
   written in JavaScript the same way from `src/index.js` or its entry;
3. nothing: the text says so and names the paths looked at.

Files are read once each and only inside the package folder (symlinks resolved): a re-export that escapes it is not
followed. The README's usage section follows the API. The whole text fits `budget_chars`: the README is trimmed
first, then the API's tail, and the cut names the setting that sets the budget.

`digest` hashes the API alone, normalised (no comments, no formatting, no README, no function bodies, no version):
a dependent goes out of date when an export or a signature changes, and not when a body, a comment or prose does.
Stdlib only and no subprocess: building a missing `.d.ts` is the caller's business.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Literal

from package_builder.generation.typescript_surface import normalised, reexported_specifiers, surface

BUDGET_SETTING = "turnBasedGeneration.dependencyApiChars"
ApiSource = Literal["declarations", "sources", "none"]

_MAX_FILES = 200  # a package re-exporting more than this is shown (and hashed) by its first 200 files
_DECLARATION_SUFFIXES = (".d.ts", ".d.mts", ".d.cts")
_JS_TO_DECLARATION = ((".mjs", ".d.mts"), (".cjs", ".d.cts"), (".jsx", ".d.ts"), (".js", ".d.ts"))
_JS_TO_SOURCE = ((".mjs", (".mts",)), (".cjs", (".cts",)), (".jsx", (".tsx",)), (".js", (".ts", ".tsx")))
_SOURCE_SUFFIXES = (".ts", ".mts", ".cts", ".tsx")
_ENTRY_SOURCES = ("src/index.ts", "src/index.mts", "src/index.tsx")
_ENTRY_JAVASCRIPT = ("src/index.js", "src/index.mjs")
_JS_SUFFIXES = (".js", ".mjs", ".cjs", ".jsx")
_CONDITIONS = ("types", "import", "require", "default")
_README_NAMES = ("readme.md", "readme.markdown", "readme")
# The README sections that show how to call the package: `Usage`, else the first example or quick start.
_USAGE = r"usage"
_EXAMPLES = r"examples?|quick\s*-?\s*start"
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
_SOURCE_MAP = re.compile(r"^//# sourceMappingURL=.*$", re.MULTILINE)


@dataclass(frozen=True)
class PublicApi:
    """What a dependent's prompt shows of one workspace dependency, and the digest its phases depend on."""

    name: str
    version: str
    source: ApiSource
    text: str
    digest: str
    trimmed: bool
    files: tuple[str, ...] = field(default=())  # package-relative paths the API was read from, in reading order


def public_api(package_dir: Path, budget_chars: int) -> PublicApi:
    """The public API of the package in `package_dir` as prompt text of at most `budget_chars` characters."""
    root = package_dir.resolve()
    manifest = _manifest(root)
    name, version = manifest.get("name"), manifest.get("version")
    name = name if isinstance(name, str) and name else root.name
    version = version if isinstance(version, str) else ""
    entries = _manifest_entries(manifest)
    looked_at: list[str] = []

    declaration_entry = _first_file(root, _declaration_candidates(entries), looked_at)
    if declaration_entry is not None:
        source: ApiSource = "declarations"
        files = _follow_reexports(root, declaration_entry, _declaration_paths, _as_declarations)
    else:
        source_entry = _first_file(root, _source_candidates(entries), looked_at)
        source = "sources" if source_entry is not None else "none"
        files = _follow_reexports(root, source_entry, _source_paths, _as_surface) if source_entry else []

    api = "\n".join(f"// {path}\n{text.strip()}" for path, text in files if text.strip())
    if files and not api:  # the model must not read an empty block as "exports nothing" when we could not tell
        read = ", ".join(path for path, _ in files)
        api = f"// {read}: " + (
            "no declaration in it" if source == "declarations" else "no `export` statement found (CommonJS?)"
        )
    digest = hashlib.sha256("\n".join(normalised(text) for _, text in files).encode("utf-8")).hexdigest()
    usage = _readme_usage(root)
    text, trimmed = _fit(_header(name, version, source, looked_at), api, usage, name, budget_chars)
    return PublicApi(name, version, source, text, digest, trimmed, tuple(path for path, _ in files))


def _manifest(root: Path) -> dict:
    """The package.json as a dict; a missing or broken one is empty (the sources may still say what it exports)."""
    try:
        loaded = json.loads((root / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _manifest_entries(manifest: dict) -> list[str]:
    """The entry paths the manifest names, most specific first: types, the `.` export's conditions, main."""
    found: list[str] = []
    for key in ("types", "typings"):
        if isinstance(manifest.get(key), str):
            found.append(manifest[key])
    exports = manifest.get("exports")
    if isinstance(exports, dict) and any(isinstance(key, str) and key.startswith(".") for key in exports):
        exports = exports.get(".")
    found += _condition_targets(exports, 0)
    if isinstance(manifest.get("main"), str):
        found.append(manifest["main"])
    found.append("index.js")  # what npm and TypeScript assume without a main
    return [entry for entry in dict.fromkeys(found) if entry]


def _condition_targets(value: object, depth: int) -> list[str]:
    """The paths of an `exports` value: a string, a list of fallbacks, or conditions (`types` first), nested."""
    if depth > 8:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [path for item in value for path in _condition_targets(item, depth + 1)]
    if isinstance(value, dict):
        return [path for key in _CONDITIONS if key in value for path in _condition_targets(value[key], depth + 1)]
    return []


def _declaration_candidates(entries: list[str]) -> list[str]:
    return [candidate for entry in entries for candidate in _declaration_paths(_clean(entry))]


def _source_candidates(entries: list[str]) -> list[str]:
    """`src/index.ts`, a `.ts` entry the manifest names, the source matching a built entry (`dist/x.js` →
    `src/x.ts`); then, for a package written in JavaScript, `src/index.js`, `src/x.js` and the entry itself."""
    typescript = [*_ENTRY_SOURCES]
    typescript += [entry for entry in map(_clean, entries) if entry.endswith(_SOURCE_SUFFIXES)]
    javascript = [*_ENTRY_JAVASCRIPT]
    for entry in entries:
        path = PurePosixPath(re.sub(r"\.d\.([mc]?)ts$", r".\1js", _clean(entry)))
        under_build_folder = PurePosixPath(*path.parts[1:]) if len(path.parts) > 1 else path
        for relative in ("src/" + str(under_build_folder), "src/" + path.name):
            typescript += _source_paths(relative)
            javascript += [relative] if relative.endswith(_JS_SUFFIXES) else []
        javascript += [str(path)] if str(path).endswith(_JS_SUFFIXES) else []
    return [path for path in dict.fromkeys(typescript + javascript) if not _is_declaration(path)]


def _clean(entry: str) -> str:
    return entry[2:] if entry.startswith("./") else entry


def _is_declaration(path: str) -> bool:
    return path.endswith(_DECLARATION_SUFFIXES)


def _declaration_paths(path: str) -> list[str]:
    """Where the declarations of a module path live: `x.js` → `x.d.ts`, `x` → `x.d.ts`, `x/index.d.ts`."""
    if _is_declaration(path):
        return [path]
    for js, declaration in _JS_TO_DECLARATION:
        if path.endswith(js):
            return [path[: -len(js)] + declaration]
    if path.endswith(_SOURCE_SUFFIXES):
        return [re.sub(r"\.(m|c)?tsx?$", lambda m: f".d.{m.group(1) or ''}ts", path)]
    return [f"{path}.d.ts", f"{path}/index.d.ts"]


def _source_paths(path: str) -> list[str]:
    """Where the source of a module path lives: `x.js` → `x.ts`/`x.tsx`/`x.js`, `x` → `x.ts` … `x/index.js`."""
    if path.endswith(_SOURCE_SUFFIXES):
        return [path]
    for js, sources in _JS_TO_SOURCE:
        if path.endswith(js):
            return [path[: -len(js)] + source for source in sources] + [path]  # the `.js` of a JavaScript package
    return [f"{path}{suffix}" for suffix in (".ts", ".tsx", ".mts", ".d.ts", ".js", ".mjs")] + [
        f"{path}/index{suffix}" for suffix in (".ts", ".tsx", ".d.ts", ".js")
    ]


def _inside(root: Path, relative: str) -> Path | None:
    """The file at `relative` (symlinks resolved) if it is a file inside `root`; None for a missing or escaping path."""
    try:
        resolved = (root / relative).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return None
    return resolved if resolved.is_relative_to(root) and resolved.is_file() else None


def _first_file(root: Path, candidates: list[str], looked_at: list[str]) -> Path | None:
    for candidate in candidates:
        if candidate not in looked_at:
            looked_at.append(candidate)
        found = _inside(root, candidate)
        if found is not None:
            return found
    return None


def _follow_reexports(
    root: Path, entry: Path, resolve: Callable[[str], list[str]], render: Callable[[str, str], str]
) -> list[tuple[str, str]]:
    """The entry and every file it re-exports, depth first, each once and never outside the package."""
    seen: set[Path] = set()
    files: list[tuple[str, str]] = []
    pending = [entry]
    while pending and len(files) < _MAX_FILES:
        path = pending.pop()
        if path in seen:
            continue
        seen.add(path)
        try:
            content = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        relative = path.relative_to(root).as_posix()
        files.append((relative, render(relative, content)))
        targets = []
        for specifier in reexported_specifiers(content):
            if not specifier.startswith(("./", "../")):
                continue  # another package's API is that package's business
            base = (PurePosixPath(relative).parent / specifier).as_posix()
            found = next((f for f in (_inside(root, c) for c in resolve(base)) if f is not None), None)
            if found is not None and found not in seen:
                targets.append(found)
        pending.extend(reversed(targets))
    return files


def _as_declarations(relative: str, content: str) -> str:
    return _SOURCE_MAP.sub("", content)


def _as_surface(relative: str, content: str) -> str:
    """A `.d.ts` among the sources is already a surface; a `.ts` is reduced to one."""
    return _as_declarations(relative, content) if _is_declaration(relative) else surface(content)


def _readme_usage(root: Path) -> str:
    """The README's usage section as `title` + body, or "" when it has none."""
    try:
        names = sorted(path.name for path in root.iterdir() if path.name.lower() in _README_NAMES)
    except OSError:
        return ""
    found = _inside(root, names[0]) if names else None
    if found is None:
        return ""
    try:
        lines = found.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ""
    headings = []  # (line index, level, title), outside code fences
    in_fence = False
    for number, line in enumerate(lines):
        if _FENCE.match(line):
            in_fence = not in_fence
        elif not in_fence and (heading := _HEADING.match(line)):
            headings.append((number, len(heading.group(1)), heading.group(2)))
    usage = [h for h in headings if re.fullmatch(_USAGE, h[2], re.IGNORECASE)]
    examples = [h for h in headings if re.fullmatch(_EXAMPLES, h[2], re.IGNORECASE)]
    for number, level, title in usage + examples:  # `Usage` first, else the first example section
        end = next((n for n, deeper, _ in headings if n > number and deeper <= level), len(lines))
        body = "\n".join(lines[number + 1 : end]).strip()
        if body:
            return f"{title}\n\n{body}"
    return ""


def _header(name: str, version: str, source: ApiSource, looked_at: list[str]) -> str:
    package = f"{name}@{version}" if version else name
    if source == "declarations":
        return f"### {package}: public API (its declaration files)"
    if source == "sources":
        return (
            f"### {package}: public API (no declaration files: the export signatures of its sources, bodies left out)"
        )
    return (
        f"### {package}: no readable public API (no declaration file and no source entry among: "
        + ", ".join(looked_at)
        + ")"
    )


def _compose(header: str, api: str, usage: str, name: str) -> str:
    parts = [header]
    if api:
        fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", api)), default=0))
        parts.append(f"{fence}ts\n{api}\n{fence}")
    if usage:
        parts.append(f"#### {name} README: {usage}")
    return "\n\n".join(parts)


def _fit(header: str, api: str, usage: str, name: str, budget: int) -> tuple[str, bool]:
    """The text within `budget` characters: the README is cut first, then the API's tail; the cut says so."""
    whole = _compose(header, api, usage, name)
    if len(whole) <= budget:
        return whole, False
    marker = f"\n… (trimmed to {budget} characters: {BUDGET_SETTING})"
    without_usage = _compose(header, api, "", name)
    if usage:
        room = budget - len(without_usage) - (len(_compose("", "", usage, name)) - len(usage)) - len(marker)
        cut = _cut_markdown(usage, room)
        if cut.count("\n") > 1:  # more than its heading
            return _compose(header, api, cut, name) + marker, True
    if len(without_usage) + len(marker) <= budget:
        return without_usage + marker, True
    room = budget - len(_compose(header, "", "", name)) - (len(_compose("", api, "", name)) - len(api)) - len(marker)
    cut = _cut(api, room)
    text = (_compose(header, cut, "", name) if cut else header) + marker
    if len(text) > budget:  # a budget smaller than the header: what fits of it, and the marker when it fits
        keep = max(0, budget - len(marker))
        text = (header[:keep] + marker) if keep else marker.strip()[:budget]
    return text, True


def _cut_markdown(text: str, room: int) -> str:
    """Whole lines of `text` within `room` characters, closing a code fence the cut leaves open."""
    cut = _cut(text, room)
    while cut:
        opened = ""
        for line in cut.splitlines():
            if fence := _FENCE.match(line):
                opened = "" if opened and fence.group(1).startswith(opened) else opened or fence.group(1)
        closed = f"{cut}\n{opened}" if opened else cut
        if len(closed) <= room:
            return closed
        cut = cut[: max(0, cut.rfind("\n"))]
    return ""


def _cut(text: str, room: int) -> str:
    """The longest prefix of whole lines within `room` characters (a hard cut when even one line is longer)."""
    if room <= 0:
        return ""
    if len(text) <= room:
        return text
    newline = text.rfind("\n", 0, room + 1)
    return text[:newline] if newline > 0 else text[:room]
