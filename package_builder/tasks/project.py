"""The package-builder checkout a `doit` run loads: its paths, its plans and its config, each read once.

The config is the one the actions validate with pydantic, read back from its snapshot (`config_snapshot`) when the
file has not changed since, so the task graph and the work agree on every value and loading imports no pydantic.
A missing or invalid config does not stop `doit list`: the tasks that need it fail with the config's own error.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from ..config_snapshot import ConfigSnapshot, load_config_snapshot
from ..errors import PackageBuilderError
from ..graph import phases_for
from ..paths import ProjectPaths
from ..phase import PhaseSpec


@dataclass
class LoadedProject:
    """One `doit` load of a checkout: `config` is None when it cannot be used, and `config_error` says why."""

    paths: ProjectPaths
    phases: tuple[PhaseSpec, ...]  # turn-based generation
    single_shot: tuple[PhaseSpec, ...] = ()  # single-shot mode
    state_home: Path | None = None  # whose `.package-builder/` keeps the validated config: default `paths.root`

    def phases_of(self, plan) -> tuple[PhaseSpec, ...]:
        return phases_for(plan, self.config, self.phases, self.single_shot)

    @cached_property
    def _loaded(self) -> tuple[ConfigSnapshot | None, str]:
        try:
            names = tuple(dict.fromkeys(p.name for p in (*self.phases, *self.single_shot)))
            return load_config_snapshot(self.paths.config, names, self.state_home or self.paths.root), ""
        except PackageBuilderError as exc:
            return None, str(exc)

    @property
    def config(self) -> ConfigSnapshot | None:
        return self._loaded[0]

    @property
    def config_error(self) -> str:
        return self._loaded[1]

    @property
    def plans(self) -> Path:
        """`plansDir` from the config, else the checkout's `plans/packages/`."""
        return self.config.plans_dir if self.config and self.config.plans_dir else self.paths.plans

    @property
    def workspace(self) -> Path | None:
        return self.config.workspace_root if self.config else None


def load_project(root: Path, phases: tuple[PhaseSpec, ...], single_shot: tuple[PhaseSpec, ...] = ()) -> LoadedProject:
    return LoadedProject(ProjectPaths(root), phases, single_shot)
