"""`install`, `build:<name>`, `test:<name>` and `publish:<name>` for every package of the monorepo, dependencies
first. A package is rebuilt when its sources, the root's files, `globalBuildInputs`, its share of the lockfile or
its dependencies' build stamps (their outputs) change, or when its own outputs were deleted or edited since (then
usually restored from the cache); a step declared `cache: false` always runs; `publish` always asks the registry.
"""

from __future__ import annotations

import functools
import inspect
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from doit.exceptions import TaskFailed
from doit.loader import task_params
from doit.tools import config_changed

from package_builder.base.errors import PackageBuilderError
from package_builder.base.paths import builds_dir
from package_builder.builds.lockfile_slices import LockfileWatch
from package_builder.builds.monorepo import (
    GitRefused,
    WorkspacePackage,
    discover_packages,
    global_inputs,
    lockfile,
    start_listing,
)
from package_builder.builds.output_record import outputs_intact
from package_builder.builds.pipeline import (
    Pipeline,
    StepDefinition,
    dependency_stamps,
    load_pipeline,
    output_globs,
    step_inputs,
)
from package_builder.tasks.failure import fail
from package_builder.tasks.project import LoadedProject

if TYPE_CHECKING:
    from package_builder.base.config_snapshot import ConfigSnapshot, ValidatedConfig

DRY_RUN = {
    "name": "dry_run",
    "long": "dry-run",
    "type": bool,
    "default": False,
    "help": "show what would be published, publish nothing",
}


def workspace_step(project: LoadedProject, step: str, name: str | None, dry_run: bool = False):
    """doit action for install and build:/test:/publish:<name>; a failure becomes a clean TaskFailed naming the
    package, with any secret redacted. Install, build and test read the config doit loaded the tasks with (its
    snapshot: no pydantic, so a step restored from the cache costs little); publish validates the file again."""
    from package_builder.builds import publishing
    from package_builder.builds import steps as builds

    config: ValidatedConfig | None = project.config
    try:
        if step == "install":
            return builds.install_workspace(project.usable_config(), say_current=True)
        assert name is not None, f"{step} tasks are made one per package, with its name"
        if step == "build":
            return builds.build_package(project.usable_config(), name)
        if step == "test":
            return builds.test_package(project.usable_config(), name)
        from package_builder.base.config import load_config

        config = validated = load_config(project.paths.config)
        return publishing.publish_package(validated, name, dry_run=dry_run, config_path=project.paths.config)
    except PackageBuilderError as exc:
        token = _token_to_hide(config)
        failure = StepFailure(publishing.redact(str(exc), token))
        failure.reason = publishing.redact(getattr(exc, "reason", ""), token) or failure.reason
        return failure


class StepFailure(TaskFailed):
    """doit's TaskFailed with the short `reason` the closing table and summary.json show (the reporter gets this very
    object): the step's own (`exit 2`, `timed out after 60 s (builds.commandTimeoutSeconds)`), else the first line."""

    def __init__(self, message: str):
        super().__init__(message)
        self.reason = message.strip().split("\n", 1)[0].removesuffix(":")

    def get_name(self) -> str:
        """doit's own name for it in the failure block (`TaskFailed - taskid:build:@scope/name`)."""
        return "TaskFailed"


def _token_to_hide(config) -> str | None:
    """The npm token a failure's message must not show; none to hide when it cannot be read (then it never went
    into a command either)."""
    from package_builder.base.credentials import npm_token

    try:
        return npm_token(config)
    except PackageBuilderError:
        return os.environ.get("NPM_TOKEN")


# doit reads every uptodate's signature for every task of every run (to pass `task` and `values`): spelled out, that
# costs 5 µs a task instead of the 55 µs inspect spends on a callable object (the no-op budget is 500 µs a package).
CHECK_SIGNATURE = inspect.Signature(
    [inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for name in ("task", "values")]
)


class DeclarationsUnchanged(config_changed):
    """doit's `config_changed` on turbo.json's task declarations, with its signature spelled out (CHECK_SIGNATURE)."""

    __signature__ = CHECK_SIGNATURE


class ResolvedDependencies:
    """doit `uptodate` of one package's build or test: False when the lockfile entries that resolve its
    dependencies changed since the step last passed (lockfile_slices.py), so the lockfile itself is no file_dep.

    Cheap on the paths that matter: doit loads it without reading anything (`doit list`), and a check compares the
    lockfile's size, mtime and inode with those stored after the last success (one stat, as doit trusts for its own
    file_dep). Only when they differ does it hash the bytes (unchanged bytes: up to date), and only when the bytes
    differ are the slices computed: once per process for every package, and kept on disk for the next process."""

    __signature__ = CHECK_SIGNATURE

    def __init__(self, watch: LockfileWatch, package: str):
        self.watch, self.package = watch, package

    def configure_task(self, task) -> None:
        """Store, after every success (whatever made it run), what the lockfile was then."""
        task.value_savers.append(self.save)

    def __call__(self, task, values) -> bool:
        stored = values.get("_resolved_dependencies")
        if not isinstance(stored, dict):
            return False
        if stored.get("state") == self.watch.state():
            return True
        current = self.watch.slices()
        return stored.get("bytes") == current.bytes_digest or stored.get("slice") == current.digests.get(self.package)

    def save(self) -> dict:
        current = self.watch.slices()
        found = {"state": current.state, "bytes": current.bytes_digest, "slice": current.digests.get(self.package)}
        return {"_resolved_dependencies": found}


class OutputsIntact:
    """doit `uptodate` of one package's build or test: False when an output it left (or restored) is missing or
    changed since, so `rm -rf dist` makes the step run (and restore dist from the cache) instead of passing as up to
    date. A stat per output and no read, but of a file whose stat changed (output_record.py)."""

    __signature__ = CHECK_SIGNATURE

    def __init__(self, record: str, package_dir: str):
        self.record, self.package_dir = record, package_dir

    def __call__(self, task, values) -> bool:
        return outputs_intact(self.record, self.package_dir)


class WorkspaceTasks:
    """The monorepo's packages, found once per load (build and test tasks share their source lists)."""

    def __init__(self, project: LoadedProject):
        self.project = project
        # git lists the monorepo's files while doit loads the other tasks and the packages are found
        root = project.workspace
        self._listing = start_listing(root) if root is not None and root.is_dir() else None

    @property
    def config(self) -> ConfigSnapshot:
        """The config the tasks below read: they are made only once `packages` found it usable."""
        return self.project.usable_config()

    @property
    def workspace(self) -> Path:
        return self.config.workspace_root

    @functools.cached_property
    def packages(self) -> tuple[list[WorkspacePackage], str]:
        """The packages in dependency order, or the error that stops every workspace task (a broken config too)."""
        if self.project.config is None:
            return [], self.project.config_error
        workspace = self.workspace
        if not workspace.is_dir():
            return [], f"workspaceRoot {workspace} does not exist (in {self.project.paths.config})"
        try:
            return discover_packages(workspace), ""
        except PackageBuilderError as exc:
            return [], str(exc)

    @functools.cached_property
    def versioned(self):
        """What git tracks or would track in the monorepo, listed once per load (None outside git; GitRefused when
        git fails, which stops the build, test and publish tasks)."""
        return (self._listing or start_listing(self.workspace))()

    @functools.cached_property
    def pipeline(self) -> Pipeline:
        """turbo.json's task definitions, and the config's `packageBuilder.tasks` over them."""
        return load_pipeline(
            self.workspace, self.config.package_builder.tasks, str(self.project.paths.config), self.packages[0]
        )

    @functools.cached_property
    def lockfile_watch(self) -> LockfileWatch:
        return LockfileWatch(self.workspace, self.packages[0])

    def inputs(self, package: WorkspacePackage, step: str) -> list[str]:
        return step_inputs(package, self.pipeline, step, self.versioned)

    @functools.cached_property
    def shared_inputs(self) -> list[str]:
        return global_inputs(self.workspace, self.config.global_build_inputs, self.versioned)

    @functools.cached_property
    def _records(self) -> str:
        return str(builds_dir(self.workspace))

    def stamp(self, kind: str, name: str) -> str:
        """`build_record`'s path as a string, without its pathlib objects: four of these a package, on every load."""
        return os.path.join(self._records, kind, name.replace("/", "+") + ".json")

    def install(self):
        packages, error = self.packages
        if error:
            return {"actions": [(fail, [error])], "doc": f"(workspace has an error) {error}"}
        if not packages:
            why = no_packages(self.project, "install")
            return {"actions": [(fail, [why])], "doc": f"(no workspace packages in {self.workspace})"}
        workspace = self.workspace
        lock = lockfile(workspace)
        return {
            "actions": [(workspace_step, [self.project, "install", None])],
            "file_dep": [
                str(workspace / "package.json"),
                *(str(p.directory / "package.json") for p in packages),
                *([str(lock)] if lock else []),
            ],
            "targets": [str(builds_dir(workspace) / "install.json")],
            "clean": True,
        }

    def steps(self, step: str, dry_run: bool = False):
        """One task per package for `step` (build, test or publish), under a group task named `step`."""
        packages, error = self.packages
        if error:
            yield {"basename": step, "doc": f"(workspace has an error) {error}", "actions": [(fail, [error])]}
            return
        try:
            shared = self.shared_inputs if packages else []  # lists git's files: GitRefused when git fails
            pipeline = self.pipeline
        except GitRefused as exc:
            yield {"basename": step, "doc": str(exc).splitlines()[0], "actions": [(fail, [str(exc)])]}
            return
        except PackageBuilderError as exc:
            yield {"basename": step, "doc": f"(config has an error) {exc}", "actions": [(fail, [str(exc)])]}
            return
        if not packages:  # asked to build and found nothing: say so, and fail, so a wrong workspaceRoot is not green
            why = no_packages(self.project, step)
            yield {"basename": step, "doc": f"(no workspace packages in {self.workspace})", "actions": [(fail, [why])]}
            return
        yield {"basename": step, "name": None, "doc": f"{step} every workspace package"}
        by_name = {p.name: p for p in packages}
        fingerprint = pipeline.fingerprint  # one JSON dump, not one a package
        for package in packages:
            task: dict[str, Any] = {
                "basename": step,
                "name": package.name,
                "doc": f"{step} {package.name} {package.version}",
                "actions": [(workspace_step, [self.project, step, package.name])],
            }
            if step in ("build", "test"):
                definition = pipeline.definition(package.name, step)
                waits_for = dependency_stamps(package, definition, by_name)
                task.update(
                    file_dep=[
                        *self.inputs(package, step),
                        *shared,
                        *(self.stamp(kind, name) for kind, name in waits_for),
                    ],
                    targets=[self.stamp(step, package.name)],
                    clean=True,
                    uptodate=[
                        DeclarationsUnchanged(fingerprint),
                        ResolvedDependencies(self.lockfile_watch, package.name),
                        *self._outputs_check(package, definition),
                    ],
                )
            else:
                needs_tests = self.config.publishing.require_tests
                # A private package is skipped whatever happens to the rest: nothing to build or wait for, so a
                # sibling's failure never shows it as "not run".
                task.update(
                    task_dep=[]
                    if package.private
                    else [
                        f"build:{package.name}",
                        *([f"test:{package.name}"] if needs_tests else []),
                        *(f"publish:{dep}" for dep in package.workspace_dependencies),
                    ],
                    uptodate=[False],
                    verbosity=2,
                    params=[{**DRY_RUN, "default": dry_run}],
                )  # `doit publish:<name> --dry-run`
            yield task

    def _outputs_check(self, package: WorkspacePackage, definition: StepDefinition) -> list:
        """turbo's `cache: false`: never up to date, and (steps.py) never stored nor restored. A step that keeps no
        outputs (a test that declares none) has none to check: its stamp alone says it ran."""
        if not definition.cache:
            return [False]
        if not output_globs(package, definition):
            return []
        return [OutputsIntact(self.stamp(f"outputs/{definition.step}", package.name), str(package.directory))]


def no_packages(project: LoadedProject, step: str) -> str:
    """Why `doit <step>` has nothing to work on: the workspace root (and the config that names it), and where its
    packages are looked for. `doit build test` on a wrong workspaceRoot must not pass CI in silence."""
    from package_builder.base.layout import read_manifest, workspace_globs

    root = project.usable_config().workspace_root
    start = f"nothing to {step}: no workspace packages in {root} (workspaceRoot in {project.paths.config})"
    try:
        globs = workspace_globs(root)
        declared = (root / "package.json").exists() and "workspaces" in read_manifest(root / "package.json")
    except PackageBuilderError as exc:
        return f"{start}: {exc}"
    if not globs:
        return (
            f'{start}: packages are found through the "workspaces" globs of its package.json or the '
            '"packages" of its pnpm-workspace.yaml, and it has neither. Point workspaceRoot at your monorepo\'s '
            "root, or declare its workspaces"
        )
    source = (
        f'the "workspaces" of {root / "package.json"}'
        if declared
        else f'the "packages" of {root / "pnpm-workspace.yaml"}'
    )
    return f"{start}: {source} ({', '.join(globs)}) match no folder with a package.json"


def spread_dry_run(tasks: dict) -> None:
    """A dry run of one publish makes every publish of the run a dry run: the dependencies doit pulls in for
    `doit publish:<name> --dry-run` must not go out for real. Called once doit has parsed the command line (by the
    reporter's `initialize`), before any task runs."""
    publishes = [task for name, task in tasks.items() if name.startswith("publish:")]
    if any((task.options or {}).get("dry_run") for task in publishes):
        for task in publishes:
            task.init_options()
            task.options["dry_run"] = True


def publish_creator(tasks: WorkspaceTasks):
    """`task_publish`: `doit publish --dry-run` reaches the creator (doit's `task_params`), which hands it on."""

    @task_params([DRY_RUN])
    def task_publish(dry_run):
        """Publish workspace packages whose version is not in the registry yet, dependencies first."""
        return tasks.steps("publish", dry_run)

    return task_publish
