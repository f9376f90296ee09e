"""The validated config, remembered as plain JSON, so that loading doit's tasks and running a build step need no
pydantic.

doit loads every task on every command (`doit list`, a no-op build, a build that only restores from the cache), and
importing pydantic and validating the config cost about 0.1 s of each. So the first load after the config file (or
`config.py`, the schema) changes validates it with `config.load_config`, the one validator, and stores the result,
camelCase like the file and with every default filled in, in the project's `.package-builder/validated-config.json`
under a digest of what it was computed from. Later loads read it back as a `ConfigSnapshot`, which answers in the
models' own attribute names and types (a `Path` is a `Path`), so the task graph and the install/build/test steps read
it the way they read a `BuildConfig`. The keys doit watches and the keys the runner computes from the model cannot
drift apart (tests/unit/test_rerun_keys.py checks every field).

Secrets are never copied: pydantic dumps a `SecretStr` as stars, and the snapshot hands out a `FileSecret` that reads
the config file itself when asked. Generation and publishing validate the file again.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from package_builder.base.errors import ConfigError
from package_builder.base.paths import BUILDS_DIR, ensure_private_dir
from package_builder.base.storage import read_json, write_json_atomic

SNAPSHOT_FILE = "validated-config.json"
_SCHEMA = Path(__file__).with_name("config.py")


class ConfigSnapshot:
    """One validated section: `snapshot.max_concurrent_builds` reads `maxConcurrentBuilds`; a nested section is a
    snapshot too, a path is a `Path`, a secret a `FileSecret`, anything else the JSON value itself."""

    def __init__(self, values: dict, kinds: dict[str, str], config_path: Path, prefix: tuple[str, ...] = ()):
        self._values, self._kinds, self._config_path, self._prefix = values, kinds, config_path, prefix

    def __getattr__(self, name: str):
        key = camel_case(name)
        if name.startswith("_") or key not in self._values:
            raise AttributeError(name)
        value, where = self._values[key], (*self._prefix, key)
        kind = self._kinds.get(".".join(where))
        if value is None or kind is None:
            return value
        if kind == "section":
            return ConfigSnapshot(value, self._kinds, self._config_path, where)
        return Path(value) if kind == "path" else FileSecret(self._config_path, where)

    def model_dump(self, mode: str = "json", by_alias: bool = True) -> dict:
        """What `BaseModel.model_dump(mode="json", by_alias=True)` gives for the same section (the only form used)."""
        if mode != "json" or not by_alias:
            raise ValueError("a config snapshot holds the JSON form with camelCase names only")
        return json.loads(json.dumps(self._values))

    def __repr__(self) -> str:
        return f"ConfigSnapshot({'.'.join(self._prefix) or self._config_path})"


class FileSecret:
    """A secret the snapshot does not hold (it holds stars): read from the config file when it is used."""

    def __init__(self, config_path: Path, where: tuple[str, ...]):
        self._config_path, self._where = config_path, where

    def get_secret_value(self) -> str:
        try:
            return file_value(json.loads(self._config_path.read_text(encoding="utf-8")), self._where)
        except (OSError, ValueError, KeyError, TypeError):
            raise ConfigError(f"{self._config_path}: field {'.'.join(self._where)}: cannot be read any more") from None

    def __repr__(self) -> str:
        return "FileSecret('**********')"


def file_value(raw: dict, where: tuple[str, ...]):
    """The value at `where` (camelCase names) in the config file as written: the models accept a field's own
    snake_case name too (`npm_token`), so each level is looked up both ways."""
    value = raw
    for key in where:
        if not isinstance(value, dict):
            raise KeyError(key)
        value = value[key] if key in value else value[snake_case(key)]
    return value


def snake_case(name: str) -> str:
    """`maxConcurrentBuilds` → `max_concurrent_builds`: a field's own name, which the config file may use too."""
    return "".join(f"_{char.lower()}" if char.isupper() else char for char in name)


def camel_case(name: str) -> str:
    """`max_concurrent_builds` → `maxConcurrentBuilds`, as the models' alias generator names the fields."""
    first, *rest = name.split("_")
    return first + "".join(part[:1].upper() + part[1:] for part in rest)


def snapshot_path(project_root: Path) -> Path:
    return project_root / BUILDS_DIR / SNAPSHOT_FILE


def load_config_snapshot(
    config_path: Path, phase_names: Callable[[], tuple[str, ...]], project_root: Path, names_key: object = None
) -> ConfigSnapshot:
    """The validated config: from the snapshot when it was made from these very bytes, else validated now (raising
    the validator's `ConfigError`, which names the file and the field) and stored for the next load.

    The phase names the config may mention are asked for only to validate: `names_key` stands for them in the
    snapshot's key (what they are read from: the phase declarations' files), so a load whose snapshot is current
    never imports the phases. Without it, the names themselves are the key."""
    data: bytes | None
    key: str | None
    try:
        data = config_path.read_bytes()
        key = _key(config_path, data, phase_names() if names_key is None else names_key)
    except OSError:
        data = key = None  # missing or unreadable: the validator says so in its own words
    store = snapshot_path(project_root)
    stored = read_json(store) if key else None
    if (
        stored
        and data is not None
        and stored.get("key") == key
        and isinstance(stored.get("config"), dict)
        and _paths_resolve_as_before(config_path, data, stored.get("paths"))
    ):
        return ConfigSnapshot(stored["config"], stored.get("kinds") or {}, config_path)
    from package_builder.base.config import leaf_kinds, load_config

    values = load_config(config_path, phase_names()).model_dump(mode="json", by_alias=True)
    kinds = leaf_kinds()
    if key:
        try:
            ensure_private_dir(store.parent)
            write_json_atomic(store, {"key": key, "kinds": kinds, "config": values, "paths": _paths_set(values, kinds)})
        except OSError:
            pass  # a read-only checkout validates on every load: slower, never wrong
    return ConfigSnapshot(values, kinds, config_path)


def _key(config_path: Path, data: bytes, names_key: object) -> str:
    """What the validated config is computed from: the file's bytes and where it is (relative paths resolve against
    its folder), the phase names it may mention (or what declares them), and the schema's own file (a new default
    invalidates)."""
    schema = _SCHEMA.stat()
    parts = [
        str(config_path.resolve()),
        hashlib.sha256(data).hexdigest(),
        names_key,
        schema.st_mtime_ns,
        schema.st_size,
    ]
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()


def _paths_set(values: dict, kinds: dict[str, str]) -> dict[str, str]:
    """Each path field the config sets, as the validator resolved it (a path in an absent section is not set)."""
    paths = {}
    for where, kind in kinds.items():
        try:
            value = file_value(values, tuple(where.split("."))) if kind == "path" else None
        except KeyError:
            continue
        if value is not None:
            paths[where] = value
    return paths


def _paths_resolve_as_before(config_path: Path, data: bytes, resolved: dict | None) -> bool:
    """Whether each path the file names (`workspaceRoot`, `plansDir`, `model.cassette`) still resolves where it did:
    the validator follows symlinks, and a re-pointed `current -> ws-b` changes no byte of the file."""
    if not isinstance(resolved, dict):
        return False
    try:
        raw = json.loads(data)
        return all(
            os.path.realpath(config_path.parent / file_value(raw, tuple(where.split(".")))) == path
            for where, path in resolved.items()
        )
    except (ValueError, KeyError, TypeError):
        return False


if TYPE_CHECKING:
    from typing import TypeAlias

    from package_builder.base.config import BuildConfig

    # What the build steps read: the pydantic model, or its snapshot, which answers the same attribute names.
    ValidatedConfig: TypeAlias = BuildConfig | ConfigSnapshot
