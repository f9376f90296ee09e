"""Where things live: the project's config, plans and prompts, and the workspace's `.generation-state/`.

Stdlib only: `dodo.py` uses this at task-load time, and `doit list` must stay as fast as bare doit.
"""

from __future__ import annotations

import os
from pathlib import Path

from package_builder.base.storage import read_json

CONFIG_ENV = "PACKAGE_BUILDER_CONFIG"
STATE_DIR = ".generation-state"
BUILDS_DIR = ".package-builder"


class ProjectPaths:
    """The package-builder checkout the user runs `doit` in. A plain class: doit defines it on every load, where a
    frozen dataclass costs 0.7 ms."""

    def __init__(self, root: Path):
        self.root = root

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.root!r})"

    @property
    def plans(self) -> Path:
        return self.root / "plans" / "packages"

    @property
    def prompts(self) -> Path:
        return self.root / "prompts"

    @property
    def phases(self) -> Path:
        return self.root / "phases"

    @property
    def config(self) -> Path:
        """`$PACKAGE_BUILDER_CONFIG`, else `configs/build-env.json`."""
        override = os.environ.get(CONFIG_ENV)
        return Path(override).resolve() if override else self.root / "configs" / "build-env.json"


def builds_dir(workspace_root: Path) -> Path:
    """Where `doit build/test/publish` keep their stamps and outcomes: `.package-builder/` in the monorepo, which
    ignores itself in git (so it never dirties the working tree that publishing requires clean)."""
    return workspace_root / BUILDS_DIR


def ensure_private_dir(directory: Path) -> Path:
    """Create `directory` with a `.gitignore` of `*` inside, so nothing package-builder keeps there is ever committed
    or dirties the working tree that publishing requires clean."""
    directory.mkdir(parents=True, exist_ok=True)
    ignore = directory / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# package-builder's own state: never committed\n*\n")
    return directory


def build_record(workspace_root: Path, kind: str, package_name: str) -> Path:
    return builds_dir(workspace_root) / kind / (package_name.replace("/", "+") + ".json")


def state_dir(workspace_root: Path) -> Path:
    return workspace_root / STATE_DIR


def artifact_path(workspace_root: Path, task_name: str, phase_slug: str) -> Path:
    """`.generation-state/<plan>/<NN-phase>.json`: the target of one phase task, and the unit of resume."""
    return state_dir(workspace_root) / task_name / f"{phase_slug}.json"


def read_raw_config(config_path: Path) -> dict | None:
    """The config file as plain JSON, or None when it is missing or unreadable (validation happens in the action)."""
    return read_json(config_path)


def workspace_root_of(config_path: Path, raw: dict) -> Path | None:
    """`workspaceRoot`, resolved against the config file's folder when relative."""
    value = raw.get("workspaceRoot")
    if not isinstance(value, str) or not value:
        return None
    return (config_path.parent / value).resolve()
