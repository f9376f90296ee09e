"""Running the JavaScript toolchain: commands as argument lists (never a shell string) with a timeout, in an
environment without our secrets, their output trimmed to the lines a person (or the model) needs; and the package
manager a workspace uses (npm, pnpm or yarn), with its install, build and test commands.

What the results mean (green, which failure, worth a repair or not) is `validation`'s job.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from package_builder.base.credentials import SECRET_VARIABLES
from package_builder.base.digest import digest_text
from package_builder.base.errors import ConfigError
from package_builder.base.layout import (
    LOCKFILES,
    detect_package_manager,
    is_yarn_berry,
    workspace_globs,
    workspace_member,
    workspace_package_versions,
)
from package_builder.base.workspace_ranges import MissingDependency, WorkspaceLinker, sibling_problem

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERROR_LINE = re.compile(r"error|fail|✗|×|expected|TS\d{4}|ERR!|not found|cannot", re.I)
# What an install or the registry prints when the machine, the network or the registry failed, not the package: an
# outage (5xx), a refused token (401/403), a full or locked disk, a download that arrived broken.
ENVIRONMENT_PROBLEM = re.compile(
    r"ENOTFOUND|ETIMEDOUT|ECONNREFUSED|ECONNRESET|EAI_AGAIN|ENOSPC|EACCES|EPERM|EBUSY|EINTEGRITY|\bE(?:5\d\d|401|403)\b"
    r"|network|socket hang up",
    re.I,
)
# Steps whose running out of time says the machine or the network is slow; any other step that does (a test that
# never ends) failed on its own code.
MACHINE_BOUND_STEPS = ("install", "dependency check")
_NON_REGISTRY = ("workspace:", "file:", "link:", "portal:", "git+", "git:", "github:", "http:", "https:")
DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
LINT_CONFIGS = (
    "eslint.config.js",
    "eslint.config.mjs",
    "eslint.config.cjs",
    "eslint.config.ts",
    ".eslintrc",
    ".eslintrc.js",
    ".eslintrc.cjs",
    ".eslintrc.json",
    ".eslintrc.yml",
    ".eslintrc.yaml",
)
INSTALL_MARKER = Path("node_modules") / ".package-builder-installed"


# The exit codes of `timeout(1)` and of a shell that cannot find a program. We report our own timeout and a program we
# cannot start with them too; a script that exits with one of them (`sh: tsc: not found`) failed the same way.
TIMED_OUT = 124
NOT_FOUND = 127
HEARTBEAT_SECONDS = 30.0
TYPECHECK = ("tsc", "--noEmit", "-p", "tsconfig.json")  # the type-check, as a person would type it


@contextlib.contextmanager
def lockfiles_kept(*folders: Path):
    """Put every lockfile in `folders` back as it was when the block ends: the same bytes, or gone if it was not
    there. Generation installs a package the lockfile does not know yet; updating the lockfile is the user's call."""
    before = {
        folder / name: (folder / name).read_bytes() if (folder / name).is_file() else None
        for folder in dict.fromkeys(folders)
        for name in LOCKFILES
    }
    try:
        yield
    finally:
        for path, content in before.items():
            if content is None:
                path.unlink(missing_ok=True)
            elif not path.is_file() or path.read_bytes() != content:
                path.write_bytes(content)


@dataclass
class StepResult:
    """One command: what ran, how it ended, and the part of its output worth reading."""

    step: str
    command: list[str]
    exit_code: int
    seconds: float
    output: str = ""
    timed_out: bool = False
    program_missing: bool = False
    tool_missing: bool = False  # a tool the package should have installed itself: its own failure, not the machine's

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    @property
    def machine_failed(self) -> bool:
        """The command never got to judge the code: a program we start is missing, or an install ran out of time.
        A script's own `sh: tsup: not found` (exit 127) or a test that never ends is the code's to fix."""
        if self.program_missing:
            return True
        return (self.timed_out or self.exit_code == TIMED_OUT) and self.step in MACHINE_BOUND_STEPS


def trim_output(text: str, max_lines: int = 40, max_chars: int = 4000) -> str:
    """The first error lines (with a line of context) and the tail, without colour codes: enough, never megabytes."""
    lines = [line.rstrip() for line in _ANSI.sub("", text).splitlines() if line.strip()]
    picked: list[int] = []
    for index, line in enumerate(lines):
        if _ERROR_LINE.search(line):
            picked.extend(i for i in (index - 1, index, index + 1) if 0 <= i < len(lines))
        if len(set(picked)) >= max_lines // 2:
            break
    tail = list(range(max(0, len(lines) - max_lines // 2), len(lines)))
    chosen = sorted(set(picked) | set(tail))
    out: list[str] = []
    previous = -1
    for index in chosen:
        if index != previous + 1 and out:
            out.append("…")
        out.append(lines[index])
        previous = index
    return "\n".join(out)[-max_chars:]


class Toolchain:
    """Runs the commands of one package directory with the workspace's package manager. A command gets
    `timeout_seconds` (named by `timeout_setting` in the message when it runs out) and, while it runs long, a
    `heartbeat` line every 30 s (or every half of a shorter limit). `planned` (name → version) are the packages other
    plans will generate in the workspace: the dependency guard counts them as the workspace's own."""

    def __init__(
        self,
        package_dir: Path,
        workspace_root: Path,
        registry: str,
        ignore_scripts: bool = True,
        timeout_seconds: float = 600,
        timeout_setting: str = "buildValidation.commandTimeoutSeconds",
        heartbeat: Callable[[str], None] | None = None,
        dependency_dirs: tuple[Path, ...] = (),
        planned: Mapping[str, str] | None = None,
    ):
        self.package_dir = package_dir
        self.dependency_dirs = dependency_dirs  # the workspace dependencies' folders: built first when never built
        self.workspace_root = workspace_root
        self.manager = detect_package_manager(workspace_root)
        self.yarn_berry = self.manager == "yarn" and is_yarn_berry(workspace_root)
        self.registry = registry
        self.ignore_scripts = ignore_scripts
        self.timeout_seconds = timeout_seconds
        self.timeout_setting = timeout_setting
        self.heartbeat = heartbeat
        self.planned = dict(planned or {})

    def run(self, step: str, command: list[str]) -> StepResult:
        started = time.monotonic()
        env = {
            **os.environ,
            **{name: "" for name in SECRET_VARIABLES if name in os.environ},
            "CI": "true",
            "FORCE_COLOR": "0",
            "NO_COLOR": "1",
            "npm_config_registry": self.registry,
            "npm_config_update_notifier": "false",
        }
        try:  # a session of its own: a timeout ends the command and everything it started
            process = subprocess.Popen(
                command,
                cwd=self.package_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
                encoding="utf-8",
                errors="replace",
                start_new_session=True,
            )
        except OSError as exc:
            return StepResult(
                step=step,
                command=command,
                exit_code=NOT_FOUND,
                seconds=0.0,
                output=f"cannot run {command[0]}: {exc}",
                program_missing=True,
            )
        try:
            out, err, timed_out = self._wait(process, step, command, started)
        except BaseException:  # Ctrl-C or a kill of ours: end the command and all it started before we go
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            raise
        code = TIMED_OUT if timed_out else process.returncode
        output = trim_output(out + "\n" + err)
        if timed_out:  # after the trimming, which keeps the tail: a long output must not push this line out
            output = f"{self.timeout_message()}\n{output}"
        return StepResult(
            step=step,
            command=command,
            exit_code=code,
            seconds=round(time.monotonic() - started, 2),
            output=output,
            timed_out=timed_out,
        )

    def timeout_message(self) -> str:
        """`timed out after 60 s (builds.commandTimeoutSeconds)`: the limit and the setting that gave it."""
        return f"timed out after {self.timeout_seconds:.0f} s ({self.timeout_setting})"

    def _wait(self, process: subprocess.Popen, step: str, command: list[str], started: float) -> tuple[str, str, bool]:
        """(stdout, stderr, timed out): wait for the command, saying so while it runs long."""
        deadline = started + self.timeout_seconds
        every = min(HEARTBEAT_SECONDS, self.timeout_seconds / 2)
        while True:
            try:
                out, err = process.communicate(timeout=max(0.05, min(every, deadline - time.monotonic())))
                return out or "", err or "", False
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - started
                if elapsed >= self.timeout_seconds:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    out, err = process.communicate()
                    return out or "", err or "", True
                if self.heartbeat:
                    self.heartbeat(
                        f"{step}: `{' '.join(command[:3])}` in {self.package_dir.name} still running after "
                        f"{elapsed:.0f} s (limit {self.timeout_seconds:.0f} s, {self.timeout_setting})"
                    )

    def missing_dependencies(
        self, manifest: dict, planned: Mapping[str, str] | None = None
    ) -> tuple[list[MissingDependency], str]:
        """Dependencies the install could not satisfy, and any environment error. A name of the workspace (or of
        `planned`: name → version of packages other plans will generate in it, maybe not on disk yet) is checked
        against that package's version and the ranges the workspace's manager links, never the registry; so is a
        `workspace:` spec, or a `file:`/`link:` one to a folder of the workspace, whatever its name, which catches a
        hallucinated sibling. `planned` defaults to the toolchain's own. Every other name is asked of the registry
        through `npm view name@range version`, so the registry's own semver matching decides.
        """
        try:  # the workspace's own packages are linked by the manager, never fetched: the registry need not have them
            on_disk = workspace_package_versions(self.workspace_root) if workspace_globs(self.workspace_root) else {}
        except ConfigError:
            on_disk = {}
        siblings: dict[str, str | None] = {**(self.planned if planned is None else planned), **on_disk}
        linker = WorkspaceLinker.of(self.workspace_root, self.manager, self.yarn_berry)
        missing: list[MissingDependency] = []
        wanted: list[tuple[str, str]] = []
        for name, spec in dict.fromkeys(
            (name, str(spec)) for section in DEPENDENCY_FIELDS for name, spec in (manifest.get(section) or {}).items()
        ):
            if name in siblings:
                if not spec.startswith(_NON_REGISTRY) or spec.startswith("workspace:"):
                    problem = sibling_problem(name, spec, siblings[name], linker)
                    if problem:
                        missing.append(MissingDependency(name, "workspace", problem))
            elif spec.startswith(_NON_REGISTRY):
                problem = self._not_a_sibling(name, spec, sorted(set(siblings) - {manifest.get("name")}))
                if problem:
                    missing.append(MissingDependency(name, "workspace", problem))
            else:
                wanted.append((name, spec))

        def look_up(item: tuple[str, str]) -> tuple[str, str, StepResult]:
            name, spec = item
            return name, spec, self.run("dependency check", ["npm", "view", f"{name}@{spec}", "version", "--json"])

        from concurrent.futures import ThreadPoolExecutor  # only generation's dependency check asks the registry

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(look_up, wanted))
        environment = ""
        for name, spec, result in results:
            if result.ok and result.output.strip():
                continue
            if "E404" in result.output or "404" in result.output:
                reason = f"{name} (no such package in {self.registry})"
            elif result.ok:
                reason = f"{name}@{spec} (no published version matches {spec!r})"
            elif ENVIRONMENT_PROBLEM.search(result.output):
                environment = f"cannot reach {self.registry}: {result.output[-300:]}"
                continue
            else:
                reason = f"{name}@{spec} ({result.output.strip()[-200:] or 'npm view failed'})"
            missing.append(MissingDependency(name, "registry", reason))
        return missing, environment

    def _not_a_sibling(self, name: str, spec: str, siblings: list[str]) -> str:
        """Why a `workspace:` spec, or a `file:`/`link:` one to a folder of the workspace, names no package the
        workspace has; "" for a folder that holds that very package, and for the other non-registry specs (git,
        http, portal), which the install judges."""
        known = f": {', '.join(siblings[:20])}{' …' if len(siblings) > 20 else ''}" if siblings else ""
        if spec.startswith("workspace:"):
            return (
                f"`{name}`: no package of the workspace is named so (workspace: links only the workspace's own "
                f"packages{known}); name one of them, or a package of the registry with a version range"
            )
        if not spec.startswith(("file:", "link:")):
            return ""
        folder = (self.package_dir / spec.split(":", 1)[1]).resolve()
        if not folder.is_relative_to(self.workspace_root.resolve()):
            return ""
        try:
            found = json.loads((folder / "package.json").read_text(encoding="utf-8")).get("name")
        except (OSError, ValueError, AttributeError):
            found = None
        if found == name:
            return ""
        holds = f"holds {found}" if isinstance(found, str) else "holds no package.json"
        return (
            f"`{name}@{spec}`: no package of the workspace is named so ({spec.split(':', 1)[1]} {holds}; the "
            f"workspace's own packages{known or ': none'})"
        )

    def _install_digest(self) -> str:
        """What an install of the package reads: its manifest, the root's and the lockfile, and how we install."""
        parts = [self.manager, str(self.ignore_scripts)]
        for path in (
            self.package_dir / "package.json",
            self.workspace_root / "package.json",
            *(self.workspace_root / name for name in LOCKFILES),
        ):
            parts.append(path.read_text(encoding="utf-8", errors="replace") if path.is_file() else "")
        return digest_text("\0".join(parts))

    def needs_install(self) -> bool:
        """True unless what the install reads is unchanged since the last successful one and its tools are still
        there (someone may have wiped the root's node_modules): the checks between phases must stay cheap."""
        if self.yarn_berry:  # berry runs nothing until its lockfile lists the package, and that is put back each time
            return True
        try:
            installed = (self.package_dir / INSTALL_MARKER).read_text() == self._install_digest()
        except OSError:
            return True
        return not installed or self._find_bin("tsc") is None

    def workspace_problem(self) -> str:
        """Why the workspace's manager would not install this package (it is not one of the workspace's packages),
        or "" when it would."""
        try:
            member = workspace_member(self.workspace_root, self.package_dir)
        except ConfigError as exc:
            return str(exc)
        if member is not False:
            return ""
        relative = self.package_dir.relative_to(self.workspace_root).as_posix()
        declared = (
            "pnpm-workspace.yaml `packages`"
            if (self.workspace_root / "pnpm-workspace.yaml").exists()
            else "package.json `workspaces`"
        )
        return (
            f"{relative} is not a package of the workspace at {self.workspace_root}: its {declared} "
            f"({', '.join(workspace_globs(self.workspace_root))}) does not match it, so `{self.manager} install` "
            f"would not install it; add a glob that matches {relative} there, or move the plan's `path`"
        )

    def lockfiles_kept(self):
        """The block within which a check may install: the lockfiles are put back as they were when it ends. A whole
        check, not the install alone, because yarn berry runs nothing in a workspace its lockfile does not list."""
        return lockfiles_kept(self.workspace_root, self.package_dir)

    def install(self) -> StepResult:
        """Install the package's dependencies through its workspace, as the user would: run from the package's folder,
        npm, yarn and pnpm find the monorepo's root themselves and lay out the tools where they always do. Run it
        within `lockfiles_kept()`: a lockfile the install writes (yarn berry always does) is the user's to update."""
        problem = self.workspace_problem()
        if problem:
            return StepResult(
                step="install",
                command=[self.manager, "install"],
                exit_code=NOT_FOUND,
                seconds=0.0,
                output=problem,
                program_missing=True,
            )
        locked = any((self.workspace_root / name).is_file() for name in LOCKFILES)
        scripts = ["--ignore-scripts"] if self.ignore_scripts else []
        if self.yarn_berry:  # berry installs immutably in CI; `--mode=skip-build` is its --ignore-scripts
            command = ["yarn", "install", "--no-immutable", *(["--mode=skip-build"] if self.ignore_scripts else [])]
        else:
            command = {
                "npm": ["npm", "install", "--no-audit", "--no-fund", *([] if locked else ["--no-package-lock"])],
                "yarn": ["yarn", "install", "--non-interactive", *([] if locked else ["--no-lockfile"])],
                # pnpm installs a frozen lockfile in CI, which a new package always contradicts
                "pnpm": ["pnpm", "install", "--no-frozen-lockfile" if locked else "--no-lockfile"],
            }[self.manager] + scripts
        wanted = self._install_digest()  # of the user's lockfile, which is put back afterwards
        result = self.run("install", command)
        if result.ok:
            (self.package_dir / INSTALL_MARKER).parent.mkdir(exist_ok=True)
            (self.package_dir / INSTALL_MARKER).write_text(wanted)
        return result

    def _find_bin(self, name: str) -> Path | None:
        """The nearest `node_modules/.bin/<name>` from the package up to the workspace root: pnpm links a package's
        tools into its own folder, npm and yarn classic hoist them to the root's."""
        folder = self.package_dir
        while True:
            candidate = folder / "node_modules" / ".bin" / name
            if candidate.exists():
                return candidate
            if folder == self.workspace_root or folder.parent == folder:
                return None
            folder = folder.parent

    def tool(self, name: str, *args: str) -> list[str]:
        """The command that runs a tool the package installed, wherever its manager put it: its path relative to the
        package (the report reads the same on every machine), or, under yarn berry's Plug'n'Play, which has no
        node_modules/.bin, `yarn run`."""
        found = self._find_bin(name)
        if self.yarn_berry and found is None:
            return ["yarn", "run", name, *args]
        path = os.path.relpath(found, self.package_dir) if found else f"node_modules/.bin/{name}"
        return [path, *args]

    def run_tool(self, step: str, name: str, *args: str) -> StepResult:
        """Run an installed tool; one that no folder has is the package's own failure (a devDependency it lacks),
        which a repair can fix, not the machine's. The result names the command as typed (`tsc --noEmit …`), not
        where the manager put the tool: reports are committed with the package and read by the next phase, and must
        not change with the monorepo's layout."""
        typed = [name, *args]
        if self.yarn_berry or self._find_bin(name) is not None:
            return replace(self.run(step, self.tool(name, *args)), command=typed)
        return StepResult(
            step=step,
            command=typed,
            exit_code=NOT_FOUND,
            seconds=0.0,
            tool_missing=True,
            output=f"{name} is not installed: no node_modules/.bin/{name} in {self.package_dir} or any "
            f"folder above it up to {self.workspace_root}; the package must list the package "
            "that provides it in devDependencies",
        )

    def typecheck(self) -> StepResult:
        return self.run_tool("type-check", *TYPECHECK)

    def lint_command(self, manifest: dict) -> list[str] | None:
        """The package's `lint` script, or eslint itself, when the package has a lint config; None otherwise."""
        if not any((self.package_dir / name).exists() for name in LINT_CONFIGS):
            return None
        return [self.manager, "run", "lint"] if "lint" in (manifest.get("scripts") or {}) else self.tool("eslint", ".")

    def build(self) -> StepResult:
        return self.run("build", [self.manager, "run", "build"])

    def build_missing_dependencies(self, install: bool = False) -> list[StepResult]:
        """Build each workspace dependency whose entry points (`types`, `main`, `module`) are missing, with its own
        build script, as `doit build` does: the package's type-check and tests resolve it from the workspace through
        those files, which a fresh checkout or a just-generated sibling may not have built, and the model is shown
        its built declarations. With `install`, the sibling's tools are installed first when they are missing (run it
        within `lockfiles_kept()`). Stops at the first failure, which is the last result."""
        results = []
        for directory in self.dependency_dirs:
            try:
                manifest = json.loads((directory / "package.json").read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue  # the install reports a sibling it cannot read
            entries = [v for k in ("types", "typings", "main", "module") if isinstance(v := manifest.get(k), str)]
            if "build" not in (manifest.get("scripts") or {}) or all((directory / e).exists() for e in entries):
                continue
            sibling = copy.copy(self)
            sibling.package_dir = directory
            if install and sibling.needs_install():
                results.append(replace(sibling.install(), step=f"install for {manifest.get('name', directory.name)}"))
                if not results[-1].ok:
                    break
            results.append(
                sibling.run(f"build of {manifest.get('name', directory.name)}", [self.manager, "run", "build"])
            )
            if not results[-1].ok:
                break
        return results

    def test(self) -> StepResult:
        return self.run_tool(
            "tests", "vitest", "run", "--coverage", "--coverage.reporter=json-summary", "--coverage.reporter=text"
        )

    def coverage(self) -> dict[str, float]:
        """Percentages from vitest's json-summary: lines, branches, functions, statements."""
        try:
            total = json.loads((self.package_dir / "coverage" / "coverage-summary.json").read_text())["total"]
        except (OSError, ValueError, KeyError):
            return {}
        kinds = ("lines", "branches", "functions", "statements")
        return {key: float(total[key]["pct"]) for key in kinds if key in total}
