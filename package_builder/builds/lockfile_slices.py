"""Each package's share of the lockfile: the entries that resolve its own dependencies (dependencies,
devDependencies, optional and peer), followed transitively through the lockfile's own graph, plus those of the root
package (whose tools every package may run, as Turborepo's global hash has them). A package's build and tests read
its slice instead of the whole lockfile, so a dependency added to one package rebuilds that package (and what its
new outputs change) only. A workspace sibling is never followed: its build stamp is already an input.

Formats: npm `package-lock.json`/`npm-shrinkwrap.json` (lockfileVersion 2 and 3: the `packages` map, resolved the
way Node looks up `node_modules` folders, hoisted or nested), pnpm `pnpm-lock.yaml` (v6, and v9 with its
`snapshots`), yarn classic `yarn.lock` (its own format, parsed here) and yarn berry's YAML `yarn.lock`. A slice
names packages by what they resolve to (`name@version`, with their integrity), never by where the manager put them,
so a reshuffle of hoisting that resolves the same versions changes no slice. A lockfile this cannot read stands
whole in every package's slice (as before slices existed), and that is said once.

Parsing a big lockfile costs up to a second, so it happens only when the lockfile's bytes changed: slices are
computed once per process for given bytes, and kept in `.package-builder/lockfile-slices.json` for the next one.
Nothing here runs when doit loads its tasks; PyYAML is imported only to parse.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import NamedTuple

from package_builder.base.digest import digest_bytes, digest_of
from package_builder.base.errors import PackageBuilderError
from package_builder.base.layout import detect_package_manager, read_manifest
from package_builder.base.paths import builds_dir
from package_builder.base.storage import read_json, write_record
from package_builder.builds.monorepo import WorkspacePackage

# Bumped whenever a slice's content changes meaning: slices kept on disk by an older version are computed again.
SLICES_VERSION = 1
IMPORTER_SECTIONS = ("dependencies", "devDependencies", "optionalDependencies", "peerDependencies")


class LockfileUnreadable(PackageBuilderError):
    """The lockfile is not in a format this module knows: its whole content is every package's input."""


class LockfileSlices(NamedTuple):
    """The digest of each package's slice (None for a package the lockfile resolves nothing for, or when there is
    no lockfile), for one lockfile's bytes; `note` says why the whole file stands in for the slices, if it does.
    A NamedTuple, not a frozen dataclass: doit defines it on every load, where a dataclass costs 0.7 ms."""

    lockfile: str  # its file name, "" when the workspace has none
    state: list | None  # [size, mtime_ns, inode]: what a later check compares first
    bytes_digest: str | None
    digests: dict[str, str | None]
    note: str = ""


def lockfile_path(root: Path) -> Path | None:
    """The lockfile the workspace's manager installs from: npm's shrinkwrap before its package-lock."""
    candidates = {
        "npm": ("npm-shrinkwrap.json", "package-lock.json"),
        "pnpm": ("pnpm-lock.yaml",),
        "yarn": ("yarn.lock",),
    }[detect_package_manager(root)]
    return next((root / name for name in candidates if (root / name).is_file()), None)


def file_state(path: Path | None) -> list | None:
    """What tells, without reading it, that a lockfile is as it was (doit trusts the same for its file_dep)."""
    if path is None:
        return None
    try:
        found = path.stat()
    except OSError:
        return None
    return [found.st_size, found.st_mtime_ns, found.st_ino]


class LockfileWatch:
    """One workspace's lockfile, for the checks of every step of a doit run: its path found once (the manager
    is read from package.json), its state stat-ed at each check, its slices computed only when asked."""

    def __init__(self, root: Path, packages: list[WorkspacePackage]):
        self.root, self.packages = root, packages
        self._path: list[Path | None] = []

    def state(self) -> list | None:
        if not self._path:
            self._path.append(lockfile_path(self.root))
        return file_state(self._path[0])

    def slices(self) -> LockfileSlices:
        return lockfile_slices(self.root, self.packages)


_computed: dict[tuple, LockfileSlices] = {}
_computing = threading.Lock()


def lockfile_slices(root: Path, packages: list[WorkspacePackage], say: Callable[[str], None] = print) -> LockfileSlices:
    """The slices of the workspace's current lockfile: from this process's memory when its state is unchanged,
    else from `.package-builder/lockfile-slices.json` when its bytes are, else parsed (and kept in both)."""
    path = lockfile_path(root)
    state = file_state(path)
    names = tuple(sorted((p.name, str(p.directory)) for p in packages))
    with _computing:  # doit's threads ask at once: one of them computes
        if path is None or state is None:
            return LockfileSlices("", None, None, {p.name: None for p in packages})
        known = _computed.get((str(root), tuple(state), names))
        if known is not None:
            return known
        data = path.read_bytes()
        bytes_digest = digest_bytes(data)
        kept_file = builds_dir(root) / "lockfile-slices.json"
        key = digest_of([SLICES_VERSION, path.name, bytes_digest, names, _manifests_digest(root, path, packages)])
        kept = read_json(kept_file) or {}
        if kept.get("key") == key:
            slices = LockfileSlices(path.name, state, bytes_digest, kept["digests"], kept.get("note", ""))
        else:
            slices = _compute(root, path, data, packages, state, bytes_digest)
            if slices.note:
                say(slices.note)
            if builds_dir(root).is_dir():
                write_record(kept_file, {"key": key, "digests": slices.digests, "note": slices.note})
        _computed[(str(root), tuple(state), names)] = slices
        return slices


def _manifests_digest(root: Path, path: Path, packages: list[WorkspacePackage]) -> str | None:
    """yarn classic's lockfile lists no workspace: what each one asks for comes from its package.json."""
    if path.name != "yarn.lock":
        return None
    return digest_of([_importer_manifest(directory) for directory in [root, *(p.directory for p in packages)]])


def _importer_manifest(directory: Path) -> dict:
    try:
        manifest = read_manifest(directory / "package.json")
    except PackageBuilderError:
        return {}
    return {section: manifest.get(section) or {} for section in IMPORTER_SECTIONS}


def _compute(
    root: Path, path: Path, data: bytes, packages: list[WorkspacePackage], state: list, bytes_digest: str
) -> LockfileSlices:
    try:
        slices = package_slices(root, path, data, packages)
    except LockfileUnreadable as exc:
        note = f"{path}: {exc}; the whole lockfile is an input of every package, so any change to it rebuilds all"
        whole = {"whole lockfile": bytes_digest}
        return LockfileSlices(path.name, state, bytes_digest, {p.name: digest_of(whole) for p in packages}, note)
    return LockfileSlices(
        path.name, state, bytes_digest, {name: digest_of(found) if found else None for name, found in slices.items()}
    )


def package_slices(root: Path, path: Path, data: bytes, packages: list[WorkspacePackage]) -> dict[str, dict]:
    """Each package's slice: `{"dependencies": {name: resolved id}, "packages": {id: {...}}, "root": {...}}`,
    empty parts left out (so a package that needs nothing from the lockfile has `{}`)."""
    directories = {_relative(root, p.directory): p.name for p in packages}
    graph = _graph(root, path, data, directories)
    root_slice = graph.slice(".")
    found = {}
    for directory, name in directories.items():
        own = graph.slice(directory)
        found[name] = {**own, **({"root": root_slice} if root_slice else {})}
    return found


def _relative(root: Path, directory: Path) -> str:
    return os.path.relpath(directory, root).replace(os.sep, "/")


class _Graph:
    """A lockfile as a graph: `importer(directory)` gives a workspace's direct dependencies as node keys (None for
    a workspace sibling, "" for a name the lockfile does not resolve) and `node(key)` a resolved package's id,
    facts and dependencies. `slice` walks it from one importer, memoising each node."""

    def __init__(self) -> None:
        self._nodes: dict[str, tuple[str, dict, dict[str, str | None]]] = {}

    def importer(self, directory: str) -> dict[str, str | None]:
        raise NotImplementedError

    def node(self, key: str) -> tuple[str, dict, dict[str, str | None]]:
        raise NotImplementedError

    def _node(self, key: str) -> tuple[str, dict, dict[str, str | None]]:
        if key not in self._nodes:
            self._nodes[key] = self.node(key)
        return self._nodes[key]

    def slice(self, directory: str) -> dict:
        direct = {name: key for name, key in self.importer(directory).items() if key is not None}
        reached: dict[str, dict] = {}
        stack = [key for key in direct.values() if key]
        while stack:
            key = stack.pop()
            ident, facts, children = self._node(key)
            if ident in reached:
                continue
            resolved = {}
            for child_name, child in children.items():
                if child is None:
                    continue  # a workspace sibling
                resolved[child_name] = self._node(child)[0] if child else "unresolved"
                if child:
                    stack.append(child)
            reached[ident] = {**facts, **({"dependencies": resolved} if resolved else {})}
        found: dict = {}
        if direct:
            found["dependencies"] = {name: self._node(key)[0] if key else "unresolved" for name, key in direct.items()}
        if reached:
            found["packages"] = dict(sorted(reached.items()))
        return found


def _graph(root: Path, path: Path, data: bytes, directories: dict[str, str]) -> _Graph:
    text = data.decode("utf-8", "replace")
    if path.name in ("package-lock.json", "npm-shrinkwrap.json"):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise LockfileUnreadable(f"not valid JSON ({exc})") from None
        return _NpmGraph(parsed, directories)
    if path.name == "pnpm-lock.yaml":
        return _PnpmGraph(_yaml(text), directories)
    if path.name == "yarn.lock":
        if "__metadata:" in text[:2000]:
            return _BerryGraph(_yaml(text), directories)
        return _YarnClassicGraph(parse_yarn_classic(text), root, directories)
    raise LockfileUnreadable(f"{path.name} is not a lockfile this tool reads")


def _yaml(text: str) -> dict:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser is several times faster
    try:
        parsed = yaml.load(text, Loader=loader)
    except yaml.YAMLError as exc:
        raise LockfileUnreadable(f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(parsed, dict):
        raise LockfileUnreadable("holds no mapping of entries")
    return parsed


def _dependencies(entry: dict, sections: Iterable[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for section in sections:
        value = entry.get(section)
        if isinstance(value, dict):
            for name, spec in value.items():
                found.setdefault(str(name), spec)
    return found


class _NpmGraph(_Graph):
    """npm's `packages` map, keyed by install path. A dependency is looked up the way Node does: in the dependent's
    own node_modules, then in each folder above it, up to the root's (hoisting)."""

    def __init__(self, lock: dict, directories: dict[str, str]):
        super().__init__()
        entries = lock.get("packages") if isinstance(lock, dict) else None
        if not isinstance(entries, dict):
            version = lock.get("lockfileVersion") if isinstance(lock, dict) else None
            raise LockfileUnreadable(
                f"lockfileVersion {version} has no `packages` map (npm 6 wrote it); `npm install` with npm 7 or "
                "newer upgrades it"
            )
        self.entries = entries
        self.workspaces = set(directories)

    def importer(self, directory: str) -> dict[str, str | None]:
        entry = self.entries.get("" if directory == "." else directory) or {}
        base = "" if directory == "." else directory
        optional = set(_dependencies(entry, ("optionalDependencies", "peerDependencies")))
        found = {}
        for name in _dependencies(entry, IMPORTER_SECTIONS):
            key = self._resolve(base, name)
            if key != "" or name not in optional:  # an optional or peer dependency npm did not install
                found[name] = key
        return found

    def _resolve(self, base: str, name: str) -> str | None:
        parts = base.split("/") if base else []
        for end in range(len(parts), -1, -1):
            prefix = "/".join(parts[:end])
            if parts[end - 1 : end] == ["node_modules"]:
                continue  # Node never looks in node_modules/node_modules
            candidate = f"{prefix}/node_modules/{name}" if prefix else f"node_modules/{name}"
            entry = self.entries.get(candidate)
            if entry is None:
                continue
            if entry.get("link"):
                target = str(entry.get("resolved", ""))
                return None if target in self.workspaces else f"link:{target}"
            return candidate
        return ""

    def node(self, key: str) -> tuple[str, dict, dict[str, str | None]]:
        if key.startswith("link:"):  # a local folder (`file:`), not a workspace: its own dependencies count
            target = key.removeprefix("link:")
            entry = self.entries.get(target) or {}
            ident, facts = f"{entry.get('name', target)}@link:{target}", {}
            base = target
        else:
            entry = self.entries[key]
            name = entry.get("name") or key.rsplit("node_modules/", 1)[-1]
            ident = f"{name}@{entry.get('version')}"
            facts = {"integrity": entry.get("integrity") or entry.get("resolved")}
            base = key
        optional = set(_dependencies(entry, ("optionalDependencies", "peerDependencies")))
        children: dict[str, str | None] = {}
        for name in _dependencies(entry, ("dependencies", "optionalDependencies", "peerDependencies")):
            child = self._resolve(base, name)
            if child != "" or name not in optional:
                children[name] = child
        return ident, facts, children


def pnpm_reference(reference: str, name: str) -> str | None:
    """pnpm's `refToRelative`: the `packages`/`snapshots` key a dependency's version points at (`1.0.0` →
    `name@1.0.0`, an alias `other@2.0.0` as is), None for a `link:` (a workspace sibling or a local folder)."""
    if reference.startswith("link:"):
        return None
    if reference.startswith("@"):
        return reference
    at = reference.find("@")
    if at == -1:
        return f"{name}@{reference}"
    colon, bracket = reference.find(":"), reference.find("(")
    if (colon == -1 or at < colon) and (bracket == -1 or at < bracket):
        return reference
    return f"{name}@{reference}"


class _PnpmGraph(_Graph):
    """pnpm's `importers` (one per workspace folder) and its resolved packages: v9 keeps what a package is in
    `packages` and what it resolved to (with peers) in `snapshots`; v6 keeps both in `packages`, keyed `/name@v`."""

    def __init__(self, lock: dict, directories: dict[str, str]):
        super().__init__()
        version = str(lock.get("lockfileVersion", ""))
        self.v9 = "snapshots" in lock or version.split(".")[0] in ("7", "8", "9")
        if not self.v9 and version.split(".")[0] != "6":
            raise LockfileUnreadable(
                f"lockfileVersion {version!r} is older than pnpm 8's (6.0); `pnpm install` with "
                "pnpm 8 or newer upgrades it"
            )
        self.importers = lock.get("importers") or {".": lock}  # a lockfile of one package has no importers
        self.packages = lock.get("packages") or {}
        self.snapshots = lock.get("snapshots") or {}

    def _key(self, reference: object, name: str) -> str | None:
        if isinstance(reference, dict):
            reference = reference.get("version")
        relative = pnpm_reference(str(reference), name)
        if relative is None:
            return None
        key = relative if self.v9 else f"/{relative}"
        return key if key in (self.snapshots if self.v9 else self.packages) else ""

    def importer(self, directory: str) -> dict[str, str | None]:
        entry = self.importers.get(directory) or {}
        return {name: self._key(ref, name) for name, ref in _dependencies(entry, IMPORTER_SECTIONS).items()}

    def node(self, key: str) -> tuple[str, dict, dict[str, str | None]]:
        if self.v9:
            snapshot = self.snapshots.get(key) or {}
            package = self.packages.get(re.sub(r"\(.*$", "", key)) or {}
        else:
            snapshot = package = self.packages.get(key) or {}
        sections = ("dependencies", "optionalDependencies")
        children = {name: self._key(ref, name) for name, ref in _dependencies(snapshot, sections).items()}
        resolution = package.get("resolution")
        if isinstance(resolution, dict) and "integrity" in resolution:
            resolution = resolution["integrity"]
        return key.removeprefix("/"), {"integrity": resolution}, children


def parse_yarn_classic(text: str) -> dict[str, dict]:
    """yarn classic's `yarn.lock` (`# yarn lockfile v1`): `"name@range", name@range2:` headers, two-space fields
    (`version "1.0.0"`), and four-space `dependencies:` lists. Every descriptor of a header maps to its entry."""
    if "# yarn lockfile v1" not in text[:500]:
        raise LockfileUnreadable("has neither yarn classic's `# yarn lockfile v1` header nor yarn berry's __metadata")
    entries: dict[str, dict] = {}
    entry: dict | None = None
    section: dict | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        body = line.strip()
        if not body or body.startswith("#"):
            continue
        indent = len(line) - len(line.lstrip(" "))
        if indent == 0 and body.endswith(":"):
            entry, section = {}, None
            for descriptor in body[:-1].split(","):
                entries[_unquote(descriptor.strip())] = entry
        elif indent == 2 and entry is not None and body.endswith(":"):
            section = entry.setdefault(_unquote(body[:-1]), {})
        elif indent == 2 and entry is not None:
            key, value = _pair(body, number)
            entry[key], section = value, None
        elif indent == 4 and section is not None:
            key, value = _pair(body, number)
            section[key] = value
        else:
            raise LockfileUnreadable(f"line {number} is not yarn classic's lockfile format: {body[:80]!r}")
    return entries


_PAIR = r'("(?:[^"\\]|\\.)*"|\S+)\s+("(?:[^"\\]|\\.)*"|\S+)$'  # compiled by `re` when a yarn lockfile is read


def _pair(body: str, number: int) -> tuple[str, str]:
    match = re.match(_PAIR, body)
    if not match:
        raise LockfileUnreadable(f"line {number} is not a `key value` pair: {body[:80]!r}")
    return _unquote(match.group(1)), _unquote(match.group(2))


def _unquote(text: str) -> str:
    return json.loads(text) if text.startswith('"') else text


class _YarnClassicGraph(_Graph):
    """yarn classic: entries keyed `name@range`; the workspaces themselves are not in the lockfile, so what each
    asks for comes from its package.json (a sibling's name is linked, not resolved)."""

    def __init__(self, entries: dict[str, dict], root: Path, directories: dict[str, str]):
        super().__init__()
        self.entries, self.root, self.siblings = entries, root, set(directories.values())

    def _key(self, name: str, spec: object) -> str | None:
        if name in self.siblings:
            return None
        key = f"{name}@{spec}"
        return key if key in self.entries else ""

    def importer(self, directory: str) -> dict[str, str | None]:
        manifest = _importer_manifest(self.root / directory)
        sections = ("dependencies", "devDependencies", "optionalDependencies")  # yarn 1 installs no peers
        return {name: self._key(name, spec) for name, spec in _dependencies(manifest, sections).items()}

    def node(self, key: str) -> tuple[str, dict, dict[str, str | None]]:
        entry = self.entries[key]
        name = key[: key.index("@", 1)]
        children = {
            child: self._key(child, spec)
            for child, spec in _dependencies(entry, ("dependencies", "optionalDependencies")).items()
        }
        facts = {"integrity": entry.get("integrity") or entry.get("resolved")}
        return f"{name}@{entry.get('version')}", facts, children


class _BerryGraph(_Graph):
    """yarn berry: entries keyed by their descriptors (`name@npm:^1.0.0, name@npm:^1.1.0`), each with its
    `resolution`; a workspace is an entry resolved to `name@workspace:<folder>`, its devDependencies included."""

    def __init__(self, lock: dict, directories: dict[str, str]):
        super().__init__()
        self.entries: dict[str, dict] = {}
        self.workspaces: dict[str, dict] = {}
        for descriptors, entry in lock.items():
            if descriptors == "__metadata" or not isinstance(entry, dict):
                continue
            for descriptor in str(descriptors).split(","):
                self.entries[descriptor.strip()] = entry
            resolution = str(entry.get("resolution", ""))
            if "@workspace:" in resolution:
                self.workspaces[resolution.split("@workspace:", 1)[1]] = entry

    def _key(self, name: str, spec: object) -> str | None:
        key = f"{name}@{spec}"
        entry = self.entries.get(key)
        if entry is None:
            return ""
        return None if "@workspace:" in str(entry.get("resolution", "")) else key

    def importer(self, directory: str) -> dict[str, str | None]:
        entry = self.workspaces.get(directory) or {}
        return {name: self._key(name, spec) for name, spec in _dependencies(entry, ("dependencies",)).items()}

    def node(self, key: str) -> tuple[str, dict, dict[str, str | None]]:
        entry = self.entries[key]
        children = {name: self._key(name, spec) for name, spec in _dependencies(entry, ("dependencies",)).items()}
        return str(entry.get("resolution", key)), {"integrity": entry.get("checksum")}, children
