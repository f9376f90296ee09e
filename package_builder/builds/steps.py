"""Install, build and test the packages of the monorepo with its own package manager (`doit build test`).

Each step records two files under `.package-builder/`: a stamp (doit's target) whose content changes only when the
outcome that dependents rely on changes, so an unchanged rebuild leaves dependents up to date (Turborepo's cache,
with doit's checks), and an outcome for the run's closing table. Commands are argument lists with timeouts.
"""

from __future__ import annotations

import fcntl
import json
import os
from typing import TYPE_CHECKING

from package_builder.base.commands import Toolchain
from package_builder.base.console import say
from package_builder.base.digest import digest_bytes, digest_of
from package_builder.base.errors import PackageBuilderError
from package_builder.base.paths import build_record, builds_dir, ensure_private_dir
from package_builder.base.storage import read_json, write_record
from package_builder.builds.cache import StepCache, contents_of
from package_builder.builds.monorepo import (
    WorkspacePackage,
    discover_packages,
    lockfile,
    matching_files,
    versioned_files,
)
from package_builder.builds.outcomes import Outcome, record_outcome
from package_builder.builds.output_record import describe_changes, output_changes, record_outputs
from package_builder.builds.pipeline import Pipeline, load_pipeline, output_globs
from package_builder.builds.step_inputs import step_inputs_of, why_again

if TYPE_CHECKING:  # the validated model or its snapshot (config_snapshot.py): no pydantic at run time
    from package_builder.base.config_snapshot import ValidatedConfig


class StepFailed(PackageBuilderError):
    """A build, test or publish of one package failed; the message names the package and carries the output. `reason`
    is what the closing table and summary.json show for it (`exit 2`, `timed out after 60 s (…)`): by default the
    message's first line."""

    def __init__(self, message: str, reason: str = ""):
        super().__init__(message)
        self.reason = reason or message.strip().split("\n", 1)[0].removesuffix(":")


def find_package(
    config: ValidatedConfig, name: str, packages: list[WorkspacePackage] | None = None
) -> WorkspacePackage:
    for package in packages if packages is not None else discover_packages(config.workspace_root):
        if package.name == name:
            return package
    raise StepFailed(f"{name} is not a package of the workspace {config.workspace_root}")


def toolchain_for(config: ValidatedConfig, directory, package: str | None = None) -> Toolchain:
    """The workspace's toolchain in `directory`, with the time limit of `package` (`builds.packageTimeouts`, else
    `builds.commandTimeoutSeconds`); long commands say so every 30 s."""
    settings = config.builds
    if package is not None and package in settings.package_timeouts:
        limit, setting = settings.package_timeouts[package], f"builds.packageTimeouts[{package!r}]"
    else:
        limit, setting = settings.command_timeout_seconds, "builds.commandTimeoutSeconds"
    return Toolchain(
        directory,
        config.workspace_root,
        config.npm_registry,
        ignore_scripts=False,
        timeout_seconds=limit,
        timeout_setting=setting,
        heartbeat=say,
    )


def install_workspace(config: ValidatedConfig, say_current: bool = False) -> dict:
    """Make node_modules match the manifests and lockfile: one install at the root links every workspace package.

    Every build calls this first (under a lock, so the first one installs and the others find it done) rather than
    waiting on a separate doit task: the install is usually current, and a shared prerequisite task would hold back
    the critical path of a cold build. An install that runs says so and why; a current one says nothing (a line per
    build would be noise) unless `say_current`, as `doit install`, which runs it on its own, asks."""
    ensure_private_dir(builds_dir(config.workspace_root))
    toolchain = toolchain_for(config, config.workspace_root)
    stamp = builds_dir(config.workspace_root) / "install.json"
    with open(builds_dir(config.workspace_root) / "install.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        lock = lockfile(config.workspace_root)
        manifests = [
            config.workspace_root / "package.json",
            *(p.directory / "package.json" for p in discover_packages(config.workspace_root)),
        ]
        parts = {os.path.relpath(path, config.workspace_root): install_inputs(path) for path in manifests}
        wanted = _install_stamp(toolchain.manager, parts, lock)
        installed = (config.workspace_root / "node_modules").is_dir()
        previous = read_json(stamp) or {}
        if installed and (
            (previous.get("manager"), previous.get("inputs")) == (wanted["manager"], wanted["inputs"])
            or (toolchain.manager == "npm" and _npm_tree_is_current(config, manifests, lock))
        ):
            write_record(stamp, wanted)
            if say_current:
                say("install: already current (no dependency, workspace or lockfile change)")
            return {"manager": toolchain.manager, "installed": "already current"}
        # The lockfile is the user's: installed exactly as written (never rewritten), and none is created (but by
        # yarn berry, which has no way to install without writing one).
        command = {
            "npm": ["npm", "ci", "--no-audit", "--no-fund"]
            if lock
            else ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock"],
            "yarn": ["yarn", "install", "--non-interactive", *(["--frozen-lockfile"] if lock else ["--no-lockfile"])],
            "yarn-berry": ["yarn", "install", "--immutable" if lock else "--no-immutable"],
            "pnpm": ["pnpm", "install", "--frozen-lockfile" if lock else "--no-lockfile"],
        }["yarn-berry" if toolchain.yarn_berry else toolchain.manager]
        why = _why_install(previous, wanted, installed, lock.name if lock else "the lockfile")
        say(f"install: {' '.join(command[:2])} ({why})")
        result = toolchain.run("install", command)
        if not result.ok:
            raise StepFailed(
                f"install of the workspace {config.workspace_root} failed (exit {result.exit_code}):\n{result.output}"
            )
        # yarn berry writes the lockfile it lacked: the stamp holds that one, or the next build installs again.
        write_record(stamp, _install_stamp(toolchain.manager, parts, lockfile(config.workspace_root)))
        return {"manager": toolchain.manager, "installed": f"in {result.seconds} s"}


def _install_stamp(manager: str, manifests: dict[str, str], lock) -> dict:
    """What an install was made from: the digest that decides whether it must run again, and its parts (each
    manifest's install fields, the lockfile), which say why it does."""
    lock_digest = digest_bytes(lock.read_bytes()) if lock else None
    return {
        "manager": manager,
        "inputs": digest_of([*manifests.values(), *([lock_digest] if lock_digest else [])]),
        "manifests": manifests,
        "lockfile": lock_digest,
    }


def _why_install(previous: dict, wanted: dict, installed: bool, lock_name: str) -> str:
    """Why the install runs, in the words of the file that changed: `package-lock.json changed`,
    `packages/web/package.json changed`, `no node_modules yet`."""
    if not installed:
        return "no node_modules yet"
    if not previous.get("manifests"):
        return "not installed by package-builder before"
    if previous.get("manager") != wanted["manager"]:
        return f"the package manager is now {wanted['manager']}, was {previous.get('manager')}"
    changed = [f"{lock_name} changed"] if previous.get("lockfile") != wanted["lockfile"] else []
    manifests, before = wanted["manifests"], previous["manifests"]
    changed += [
        f"{path} {'changed' if path in before else 'added'}"
        for path in manifests
        if before.get(path) != manifests[path]
    ]
    changed += [f"{path} removed" for path in before if path not in manifests]
    if not changed:
        return "node_modules does not match what was installed"
    return ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")


# What an install of a manifest depends on: a version bump, a script or a description does not need one.
INSTALL_FIELDS = (
    "name",
    "dependencies",
    "devDependencies",
    "peerDependencies",
    "optionalDependencies",
    "bundleDependencies",
    "workspaces",
    "packageManager",
    "overrides",
    "resolutions",
    "pnpm",
    "bin",
)


def install_inputs(manifest_path) -> str:
    """The digest of the parts of a package.json that an install reads."""
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise StepFailed(f"{manifest_path}: cannot be read: {exc}") from None
    return digest_of({field: manifest.get(field) for field in INSTALL_FIELDS})


def _npm_tree_is_current(config: ValidatedConfig, manifests: list, lock) -> bool:
    """npm's own rule: node_modules/.package-lock.json, written at the end of every install, is trusted when it is
    newer than every package.json and the lockfile. Then there is nothing to install (and `npm ci` would reinstall)."""
    hidden = config.workspace_root / "node_modules" / ".package-lock.json"
    if not hidden.exists():
        return False
    return hidden.stat().st_mtime >= max(p.stat().st_mtime for p in [*manifests, *([lock] if lock else [])])


def build_package(config: ValidatedConfig, name: str) -> dict:
    packages = discover_packages(config.workspace_root)
    package = find_package(config, name, packages)
    install_workspace(config)
    outcome, outputs = _run_cached(config, package, packages, "build", done="built")
    # Dependents depend on this stamp: it changes only when the build's outputs do.
    if outputs is None:  # no build script: what dependents load is what is there (committed files)
        globs = output_globs(package, _pipeline(config, packages).definition(name, "build"))
        outputs = _read_digests(package, matching_files(package.directory, globs))
    write_record(
        build_record(config.workspace_root, "build", name),
        {"package": name, "version": package.version, "outputs": digest_of(outputs)},
    )
    return record_outcome(config.workspace_root, outcome)


def test_package(config: ValidatedConfig, name: str) -> dict:
    packages = discover_packages(config.workspace_root)
    package = find_package(config, name, packages)
    ensure_private_dir(builds_dir(config.workspace_root))
    outcome, _ = _run_cached(config, package, packages, "test", done="tested")
    write_record(build_record(config.workspace_root, "test", name), {"package": name, "passed": True})
    return record_outcome(config.workspace_root, outcome)


def _read_digests(package: WorkspacePackage, paths: list[str]) -> dict[str, str]:
    """Package-relative name → digest of each of `paths`, read through any symlink; one that cannot be read (a
    dangling link) has no digest."""
    found = {}
    for path in paths:
        try:
            with open(path, "rb") as handle:
                found[os.path.relpath(path, package.directory)] = digest_bytes(handle.read())
        except OSError:
            continue
    return found


def _restored(restored: dict[str, str]) -> str:
    """`restored 2 missing and 1 changed outputs`: what a restore put back of outputs deleted or edited by hand."""
    missing = sum(1 for state in restored.values() if state == "missing")
    counts = [
        f"{count} {state}" for count, state in ((missing, "missing"), (len(restored) - missing, "changed")) if count
    ]
    return f"restored {' and '.join(counts)} output{'s' if len(restored) > 1 else ''}"


def _pipeline(config: ValidatedConfig, packages: list[WorkspacePackage]) -> Pipeline:
    return load_pipeline(config.workspace_root, config.package_builder.tasks, packages=packages)


def _run_cached(
    config: ValidatedConfig, package: WorkspacePackage, packages: list[WorkspacePackage], step: str, done: str
) -> tuple[Outcome, dict[str, str] | None]:
    """Restore `step` from the cache when everything it reads is as it was for a run that passed; otherwise run
    it (after the same-package scripts it depends on) and store what it wrote. Says why it runs again: what it reads
    changed, or (doit's `outputs_intact`) an output was deleted or edited since. Files git tracks are never stored
    nor restored: they are sources, even in an output folder. Returns the outcome and the digests of the outputs
    now in place (None when it has no script)."""
    root = config.workspace_root
    outputs_record = build_record(root, f"outputs/{step}", package.name)
    if not package.has_script(step):
        record_outputs(outputs_record, package.directory, {})
        return Outcome(step, package.name, "skipped", f"no {step} script"), None
    git = versioned_files(
        root,
        [
            str(package.directory.relative_to(root)),
            ":(glob)*",
            *(f":(glob){pattern.strip().removeprefix('./')}" for pattern in config.global_build_inputs),
        ],
    )
    pipeline = _pipeline(config, packages)
    definition = pipeline.definition(package.name, step)
    inputs = step_inputs_of(config, package, packages, step, pipeline, git)
    key = digest_of(inputs)
    record = build_record(config.workspace_root, f"inputs/{step}", package.name)
    previous = read_json(record)
    repair = previous == inputs  # nothing it reads changed: it runs for its outputs, or as `cache: false` says
    why = why_again(previous, inputs)
    if repair:
        changes = output_changes(str(outputs_record), str(package.directory))
        if changes:
            why = describe_changes(changes)
        elif not definition.cache:
            why = f"it runs every time (cache: false in {definition.declared_in})"
    say(f"{step} {package.name}: {why}")
    globs = output_globs(package, definition)
    tracked = git.tracked if git is not None else frozenset()
    found = matching_files(package.directory, globs)

    cache = None
    if config.builds.cache and definition.cache:
        cache = StepCache(config.workspace_root, config.builds.cache_max_megabytes, config.builds.remote_cache, say)
        protected = {
            os.path.relpath(path, package.directory)
            for path in tracked
            if path.startswith(str(package.directory) + os.sep)
        }
        cached = cache.restore(key, package.directory, [path for path in found if path not in tracked], protected)
        if cached:
            say(cached.log)
            write_record(record, inputs)
            # What the build stamp digests, without reading again what the restore put in place: the archive's
            # files (it holds their digests) and the tracked files the globs match (never in an archive).
            in_place = {name: f"sha256:{digest}" for name, digest in cached.files.items()}
            record_outputs(outputs_record, package.directory, {name: (d, None) for name, d in in_place.items()})
            in_place.update(_read_digests(package, [path for path in found if path in tracked]))
            detail = f"from the {cached.source} cache, saved {cached.seconds:.1f} s"
            if repair and cached.restored:
                detail = f"{_restored(cached.restored)} from the {cached.source} cache"
            return Outcome(step, package.name, done, detail, 0.0), in_place
    logs, seconds = [], 0.0
    for script in (*definition.prerequisites, step):
        if script != step and not package.has_script(script):
            continue
        outcome, log = _run_script(config, package, script, step, done=done)
        logs.append(log)
        seconds += outcome.seconds
    found = matching_files(package.directory, globs)
    contents = contents_of([path for path in found if path not in tracked])  # read once: stamp, record and cache
    written = {
        os.path.relpath(path, package.directory): (digest_bytes(content), stat)
        for path, (content, stat) in contents.items()
    }
    record_outputs(outputs_record, package.directory, written)
    if cache:
        cache.store_later(key, package.directory, contents, "\n".join(logs), seconds)
    write_record(record, inputs)
    in_place = {name: digest for name, (digest, _) in written.items()}
    in_place.update(_read_digests(package, [path for path in found if path not in contents]))  # tracked, or links
    return Outcome(step, package.name, done, "", round(seconds, 2)), in_place


def _run_script(
    config: ValidatedConfig, package: WorkspacePackage, script: str, step: str, done: str
) -> tuple[Outcome, str]:
    """`<manager> run <script>` in the package, for `step` (a script it depends on, like generate, fails the step);
    its outcome and output."""
    toolchain = toolchain_for(config, package.directory, package.name)
    result = toolchain.run(script, [toolchain.manager, "run", script])
    if not result.ok:
        which = "" if script == step else f"{script}: "
        # A timeout says so in the message's first line, the one the failure block and the closing table show.
        why = toolchain.timeout_message() if result.timed_out else f"exit {result.exit_code}"
        record_outcome(config.workspace_root, Outcome(step, package.name, "failed", which + why, result.seconds))
        if result.timed_out:
            own_limit = toolchain.timeout_setting.startswith("builds.packageTimeouts")
            more = "" if own_limit else " (or builds.packageTimeouts for this package)"
            raise StepFailed(
                f"{script} of {package.name} {why} in {package.directory}\n(ended with all it started; if it needs "
                f"longer, raise {toolchain.timeout_setting}{more} in the config):\n"
                + result.output.removeprefix(why + "\n"),
                reason=which + why,
            )
        raise StepFailed(
            f"{script} of {package.name} failed (exit {result.exit_code}) in {package.directory}:\n{result.output}",
            reason=which + why,
        )
    return Outcome(step, package.name, done, "", result.seconds), result.output
