"""A worker's or a command's package-builder checkout: its config, plans and phases, read the way `dodo.py` reads
them (the config file from `$PACKAGE_BUILDER_CONFIG` or `configs/build-env.json`, `plansDir` or `plans/packages/`,
the phases declared in the checkout's `phases/`)."""

from __future__ import annotations

import importlib
import sys
from functools import cached_property
from pathlib import Path

from package_builder.base.config import BuildConfig, load_config
from package_builder.base.paths import ProjectPaths
from package_builder.generation.graph import phases_for
from package_builder.generation.phase import PhaseSpec
from package_builder.generation.plan import parse_plan


class Checkout:
    def __init__(self, root: Path):
        self.paths = ProjectPaths(root)
        if str(root) not in sys.path:
            sys.path.insert(0, str(root))  # its phases/, as doit finds them beside dodo.py

    @cached_property
    def config(self) -> BuildConfig:
        return load_config(self.paths.config, tuple(p.name for p in (*self._declared[0], *self._declared[1])))

    @property
    def plans(self) -> Path:
        return self.config.plans_dir or self.paths.plans

    def phases_of(self, plan_file: Path) -> tuple[PhaseSpec, ...]:
        turn_based, single_shot = self._declared
        return phases_for(parse_plan(plan_file), self.config, turn_based, single_shot)

    @cached_property
    def _declared(self) -> tuple[tuple[PhaseSpec, ...], tuple[PhaseSpec, ...]]:
        phases = importlib.import_module("phases")
        return phases.PHASES, phases.SINGLE_SHOT_PHASES
