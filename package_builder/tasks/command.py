"""The installed `package-builder` command's doit side: doit's own command line (`DoitMain`) over a task loader that
builds the tasks `dodo.py` builds (`catalog`) for a config file, from whatever folder it is run in, the way Nikola
(`nikola build`) and JupyterLite (`jupyter lite build`) wrap doit. `package_builder.cli` reads the arguments.

Where things come from, since there is no checkout around it:
- the phases and prompts: the installed package's own (`package_builder.phases`, `package_builder/prompts/`), the
  checkout's `phases/` and `prompts/` packed into the wheel (or, in an editable install, those very folders);
- the plans: the config's `plansDir`, else `plans/packages/` beside the config file;
- doit's dep file (`<config name>.doit.db`) and the validated config: `.package-builder/` in the config file's folder,
  which ignores itself in git; never the current folder, and no doit.cfg or pyproject.toml found there is read.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from doit.cmd_base import NamespaceTaskLoader
from doit.doit_cmd import DoitMain

from package_builder.base.errors import PackageBuilderError
from package_builder.base.paths import BUILDS_DIR, ProjectPaths, ensure_private_dir
from package_builder.tasks.catalog import doit_namespace
from package_builder.tasks.project import LoadedProject

PHASES_PACKAGE = "package_builder.phases"  # the checkout's phases/, mapped in pyproject.toml's package-dir


class InstalledPaths(ProjectPaths):
    """An install's paths: `root` holds the installed `phases/` and `prompts/`; the config is the one named."""

    def __init__(self, root: Path, config_file: Path):
        super().__init__(root)
        self.config_file = config_file

    @property
    def config(self) -> Path:
        return self.config_file

    @property
    def plans(self) -> Path:
        """Used when the config sets no `plansDir`: `plans/packages/` beside the config file."""
        return self.config_file.parent / "plans" / "packages"


def installed_root() -> Path:
    """The folder holding the installed `phases/` and `prompts/`: the package itself when installed from a wheel, the
    checkout when installed editable (`pip install -e`), where the two are mapped from."""
    phases = importlib.util.find_spec(PHASES_PACKAGE)  # where it is, without importing every phase
    if phases is None or phases.origin in (None, "namespace"):  # the installed phases/ lost its __init__.py
        raise PackageBuilderError(
            f"the installed package-builder has no {PHASES_PACKAGE}/__init__.py: reinstall it "
            "(pip install --force-reinstall package-builder, or from the checkout)"
        )
    root = Path(phases.origin).resolve().parent.parent
    if not (root / "prompts" / "_system.md.j2").is_file():
        raise PackageBuilderError(
            f"the installed package-builder has no prompts in {root / 'prompts'}: reinstall it "
            "(pip install --force-reinstall package-builder, or from the checkout)"
        )
    return root


def dep_file(config_file: Path) -> Path:
    """doit's record of what ran for this config: `.package-builder/<config name>.doit.db` beside the config file,
    so two configs in one folder keep their own, and running from another folder finds the same one."""
    return ensure_private_dir(config_file.parent / BUILDS_DIR) / f"{config_file.stem}.doit.db"


class ProjectTaskLoader(NamespaceTaskLoader):
    """doit's loader for an install: the `catalog` namespace of the project the config file names, built only when a
    doit command asks for tasks (so `package-builder help` loads nothing)."""

    def __init__(self, config_file: Path):
        super().__init__()
        self.config_file = config_file

    def setup(self, opt_values):
        project = LoadedProject(
            InstalledPaths(installed_root(), self.config_file),
            PHASES_PACKAGE,
            state_home=self.config_file.parent,
            command="package-builder",
        )
        namespace = doit_namespace(project)
        namespace["DOIT_CONFIG"] = {**namespace["DOIT_CONFIG"], "dep_file": str(dep_file(self.config_file))}
        self.namespace = namespace


def run_doit(config_file: Path, args: list[str]) -> int:
    """doit's command line (`list`, `info`, `forget`, a bare run of the default `status`, `generate:<name>`...) on
    the project of `config_file`; returns doit's exit code."""
    return DoitMain(ProjectTaskLoader(config_file), config_filenames=()).run(args)
