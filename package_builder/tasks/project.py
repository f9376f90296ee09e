"""The package-builder checkout a `doit` run loads: its paths, its plans and its config, each read once.

The config is the one the actions validate with pydantic, read back from its snapshot (`config_snapshot`) when the
file has not changed since, so the task graph and the work agree on every value and loading imports no pydantic.
A missing or invalid config does not stop `doit list`: the tasks that need it fail with the config's own error.
"""

from __future__ import annotations

import importlib
import json
import os
import re
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from package_builder.base.config_snapshot import ConfigSnapshot, load_config_snapshot
from package_builder.base.errors import PackageBuilderError
from package_builder.base.paths import ProjectPaths

if TYPE_CHECKING:
    from package_builder.generation.phase import PhaseSpec

# patterns, compiled by `re` only when a config is not JSON (a load with a good config compiles nothing)
_PLANS_DIR_KEY = r'"(?:plansDir|plans_dir)"\s*:'
_PLANS_DIR = _PLANS_DIR_KEY + r'\s*"([^"\\]*)"'


def _plans_dirs_named(text: str) -> list | None:
    """The values a config file gives `plansDir` (under either spelling), even when the file is not valid JSON (a
    trailing comma must not make another folder's plans appear); None when it cannot be told."""
    try:
        raw = json.loads(text)
    except ValueError:
        keys, values = re.findall(_PLANS_DIR_KEY, text), re.findall(_PLANS_DIR, text)
        return values if len(values) == len(keys) else None
    if not isinstance(raw, dict):
        return None
    return [raw[key] for key in ("plansDir", "plans_dir") if key in raw]


class LoadedProject:
    """One `doit` load of a checkout: `config` is None when it cannot be used, and `config_error` says why.

    The phases are imported from `phase_package` when first asked for: a load that only builds, tests or publishes
    (its config snapshot current) never imports them. A plain class, not a dataclass: doit defines it on every load."""

    def __init__(
        self,
        paths: ProjectPaths,
        phase_package: str = "phases",  # declares PHASES (turn-based generation) and SINGLE_SHOT_PHASES
        state_home: Path | None = None,  # whose `.package-builder/` keeps the validated config: default `paths.root`
        command: str = "doit",  # what the user types to run the tasks, for our hints: `package-builder` when installed
    ):
        self.paths, self.phase_package, self.state_home, self.command = paths, phase_package, state_home, command

    @cached_property
    def phases(self) -> tuple[PhaseSpec, ...]:
        return importlib.import_module(self.phase_package).PHASES

    @cached_property
    def single_shot(self) -> tuple[PhaseSpec, ...]:
        return importlib.import_module(self.phase_package).SINGLE_SHOT_PHASES

    def phases_of(self, plan) -> tuple[PhaseSpec, ...]:
        from package_builder.generation.graph import phases_for  # a load with no plans never needs the graph

        return phases_for(plan, self.config, self.phases, self.single_shot)

    def _phase_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.name for p in (*self.phases, *self.single_shot)))

    @cached_property
    def _loaded(self) -> tuple[ConfigSnapshot | None, str]:
        try:
            return load_config_snapshot(
                self.paths.config, self._phase_names, self.state_home or self.paths.root, self._declarations()
            ), ""
        except PackageBuilderError as exc:
            return None, str(exc)

    def _declarations(self) -> list | None:
        """What the phase names are read from: each phase module's name and stat (None when they cannot be told, and
        the names themselves key the config snapshot)."""
        try:
            with os.scandir(self.paths.phases) as entries:
                found = [(e.name, *_stamp(e.stat())) for e in entries if e.name.endswith(".py")]
        except OSError:
            return None
        return [self.phase_package, *sorted(found)] if found else None

    @property
    def config(self) -> ConfigSnapshot | None:
        return self._loaded[0]

    @property
    def config_error(self) -> str:
        return self._loaded[1]

    def usable_config(self) -> ConfigSnapshot:
        """The config, for code only a usable one reaches (a workspace task is made once the load found it so):
        should that ever fail, the config's own error, not an AttributeError on None."""
        if self.config is None:
            raise PackageBuilderError(self.config_error)
        return self.config

    @property
    def plans(self) -> Path:
        """`plansDir` from the config, else the checkout's `plans/packages/`. A config that cannot be used still
        names its plans: the file's own `plansDir`, so the right plans' tasks fail with the config's error; when the
        file cannot tell, the config file itself, which holds no plans (`plans_problem` says why), and never
        another folder's plans. Never raises: every reader of it (status, the reporter) keeps working."""
        if self.config is not None:
            return self.config.plans_dir or self.paths.plans
        return self._plans_of_unusable_config[0]

    @property
    def plans_problem(self) -> str:
        """Why the plans cannot be listed ('' when they can): a config whose plansDir cannot be read."""
        return "" if self.config is not None else self._plans_of_unusable_config[1]

    @cached_property
    def _plans_of_unusable_config(self) -> tuple[Path, str]:
        path = self.paths.config
        if not path.exists():
            return self.paths.plans, ""  # no config at all: where a config without plansDir points
        try:
            named = _plans_dirs_named(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            named = None
        if named in ([], [None]):
            return self.paths.plans, ""
        if named and len(named) == 1 and isinstance(named[0], str):
            return (path.parent / named[0]).resolve(), ""
        return path, f"{path}: which plans folder it names (plansDir) cannot be read until the file is fixed"

    @property
    def workspace(self) -> Path | None:
        return self.config.workspace_root if self.config else None

    @cached_property
    def workspace_problem(self) -> str:
        """Why generation cannot use `workspaceRoot` ('' when it can), found before any task writes there: a folder
        that is not a git repository must not get a `.generation-state/`, and a missing one must not be created."""
        root = self.workspace
        if root is None or (root / ".git").exists():
            return ""
        where = f"workspaceRoot {root} (in {self.paths.config})"
        if not root.is_dir():
            return (
                f"{where} does not exist: create it, run `git init` there and make a first commit, or point "
                "workspaceRoot at your monorepo"
            )
        return (
            f"{where} is not a git repository (it has no .git): run `git init` there and make a first commit, "
            "or point workspaceRoot at the top folder of your monorepo"
        )


def load_project(root: Path) -> LoadedProject:
    return LoadedProject(ProjectPaths(root))


def _stamp(stat: os.stat_result) -> tuple[int, int]:
    return stat.st_mtime_ns, stat.st_size
