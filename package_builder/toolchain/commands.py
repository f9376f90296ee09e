"""Running the JavaScript toolchain: commands as argument lists (never a shell string) with a timeout, in an
environment without our secrets, their output trimmed to the lines a person (or the model) needs; and the package
manager a workspace uses (npm, pnpm or yarn), with its install, build and test commands.

What the results mean (green, which failure, worth a repair or not) is `validation`'s job.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..digest import digest_text

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERROR_LINE = re.compile(r"error|fail|✗|×|expected|TS\d{4}|ERR!|not found|cannot", re.I)
ENVIRONMENT_PROBLEM = re.compile(r"ENOTFOUND|ETIMEDOUT|ECONNREFUSED|ECONNRESET|EAI_AGAIN|ENOSPC|EACCES|network|socket hang up", re.I)
_NON_REGISTRY = ("workspace:", "file:", "link:", "portal:", "git+", "git:", "github:", "http:", "https:")
DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
LINT_CONFIGS = ("eslint.config.js", "eslint.config.mjs", "eslint.config.cjs", "eslint.config.ts", ".eslintrc",
                ".eslintrc.js", ".eslintrc.cjs", ".eslintrc.json", ".eslintrc.yml", ".eslintrc.yaml")
INSTALL_MARKER = Path("node_modules") / ".package-builder-installed"
# Never handed to a build, a test suite, an install or model-written code: scripts run with the rest of the environment.
# Never seen by an install, a build or a test (which may run model-written code). They are set empty rather than
# removed, so a `.npmrc` or `.yarnrc.yml` that names one (`${NPM_TOKEN}`) still parses.
SECRET_VARIABLES = frozenset({"NPM_TOKEN", "NODE_AUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN",
                              "PACKAGE_BUILDER_REMOTE_CACHE_TOKEN", "TURBO_TOKEN"})


# The exit codes of `timeout(1)` and of a shell that cannot find a program. We report our own timeout and a program we
# cannot start with them too; a script that exits with one of them (`sh: tsc: not found`) failed the same way.
TIMED_OUT = 124
NOT_FOUND = 127
HEARTBEAT_SECONDS = 30.0


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

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    @property
    def machine_failed(self) -> bool:
        """The command never got to judge the code: it ran out of time, or a program it needs is missing."""
        return self.timed_out or self.program_missing or self.exit_code in (TIMED_OUT, NOT_FOUND)


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
    out, previous = [], -1
    for index in chosen:
        if index != previous + 1 and out:
            out.append("…")
        out.append(lines[index])
        previous = index
    return "\n".join(out)[-max_chars:]


def detect_package_manager(workspace_root: Path) -> str:
    """`packageManager` in the root package.json, else the lockfile present, else npm."""
    try:
        manifest = json.loads((workspace_root / "package.json").read_text(encoding="utf-8"))
        declared = str(manifest.get("packageManager", "")).split("@", 1)[0]
        if declared in ("npm", "yarn", "pnpm"):
            return declared
    except (OSError, ValueError, AttributeError):
        pass
    for lockfile, manager in (("pnpm-lock.yaml", "pnpm"), ("yarn.lock", "yarn"), ("package-lock.json", "npm")):
        if (workspace_root / lockfile).exists():
            return manager
    return "npm"


def is_yarn_berry(workspace_root: Path) -> bool:
    """Yarn 2+ ("berry"): declared as `packageManager: yarn@2..`, or found by its `.yarnrc.yml`. Its install flags
    differ from yarn classic's, and it has the `workspace:` protocol, which `yarn pack` rewrites."""
    try:
        manifest = json.loads((workspace_root / "package.json").read_text(encoding="utf-8"))
        declared = str(manifest.get("packageManager", ""))
    except (OSError, ValueError, AttributeError):
        declared = ""
    if declared:
        major = declared.removeprefix("yarn@").split(".", 1)[0]
        return declared.startswith("yarn@") and major.isdigit() and int(major) >= 2
    return (workspace_root / ".yarnrc.yml").exists()


class Toolchain:
    """Runs the commands of one package directory with the workspace's package manager. A command gets
    `timeout_seconds` (named by `timeout_setting` in the message when it runs out) and, while it runs long, a
    `heartbeat` line every 30 s (or every half of a shorter limit)."""

    def __init__(self, package_dir: Path, workspace_root: Path, registry: str, ignore_scripts: bool = True,
                 timeout_seconds: float = 600, timeout_setting: str = "buildValidation.commandTimeoutSeconds",
                 heartbeat: Callable[[str], None] | None = None):
        self.package_dir = package_dir
        self.manager = detect_package_manager(workspace_root)
        self.yarn_berry = self.manager == "yarn" and is_yarn_berry(workspace_root)
        self.registry = registry
        self.ignore_scripts = ignore_scripts
        self.timeout_seconds = timeout_seconds
        self.timeout_setting = timeout_setting
        self.heartbeat = heartbeat

    def run(self, step: str, command: list[str]) -> StepResult:
        started = time.monotonic()
        env = {**os.environ, **{name: "" for name in SECRET_VARIABLES if name in os.environ},
               "CI": "true", "FORCE_COLOR": "0", "NO_COLOR": "1",
               "npm_config_registry": self.registry, "npm_config_update_notifier": "false"}
        try:  # a session of its own: a timeout ends the command and everything it started
            process = subprocess.Popen(command, cwd=self.package_dir, env=env, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8",
                                       errors="replace", start_new_session=True)
        except OSError as exc:
            return StepResult(step=step, command=command, exit_code=NOT_FOUND, seconds=0.0,
                              output=f"cannot run {command[0]}: {exc}", program_missing=True)
        out, err, timed_out = self._wait(process, step, command, started)
        code = TIMED_OUT if timed_out else process.returncode
        output = out + "\n" + err
        if timed_out:
            output = f"timed out after {self.timeout_seconds:.0f} s ({self.timeout_setting})\n{output}"
        return StepResult(step=step, command=command, exit_code=code, seconds=round(time.monotonic() - started, 2),
                          output=trim_output(output), timed_out=timed_out)

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
                    self.heartbeat(f"{step}: `{' '.join(command[:3])}` in {self.package_dir.name} still running after "
                                   f"{elapsed:.0f} s (limit {self.timeout_seconds:.0f} s, {self.timeout_setting})")

    def missing_dependencies(self, manifest: dict) -> tuple[list[str], str]:
        """Dependencies that are not in the registry with a version matching their range, and any environment error.

        Asked through `npm view name@range version`, so the registry's own semver matching decides.
        """
        wanted = [(name, str(spec)) for section in DEPENDENCY_FIELDS
                  for name, spec in (manifest.get(section) or {}).items()
                  if not str(spec).startswith(_NON_REGISTRY)]

        def look_up(item: tuple[str, str]) -> tuple[str, str, StepResult]:
            name, spec = item
            return name, spec, self.run("dependency check", ["npm", "view", f"{name}@{spec}", "version", "--json"])

        from concurrent.futures import ThreadPoolExecutor  # only generation's dependency check asks the registry

        with ThreadPoolExecutor(max_workers=4) as pool:
            results = list(pool.map(look_up, wanted))
        missing, environment = [], ""
        for name, spec, result in results:
            if result.ok and result.output.strip():
                continue
            if "E404" in result.output or "404" in result.output:
                missing.append(f"{name} (no such package in {self.registry})")
            elif result.ok:
                missing.append(f"{name}@{spec} (no published version matches {spec!r})")
            elif ENVIRONMENT_PROBLEM.search(result.output):
                environment = f"cannot reach {self.registry}: {result.output[-300:]}"
            else:
                missing.append(f"{name}@{spec} ({result.output.strip()[-200:] or 'npm view failed'})")
        return missing, environment

    def _install_digest(self) -> str:
        manifest = (self.package_dir / "package.json").read_text(encoding="utf-8", errors="replace")
        return digest_text(f"{self.manager}\0{self.ignore_scripts}\0{manifest}")

    def needs_install(self) -> bool:
        """True unless package.json (and how we install) is unchanged since the last successful install: the checks
        between phases run five times per package and must stay cheap."""
        try:
            return (self.package_dir / INSTALL_MARKER).read_text() != self._install_digest()
        except OSError:
            return True

    def install(self) -> StepResult:
        """Install the package's dependencies without writing a lockfile: the workspace's lockfile is the user's."""
        scripts = ["--ignore-scripts"] if self.ignore_scripts else []
        command = {
            "npm": ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", *scripts],
            "yarn": ["yarn", "install", "--non-interactive", "--no-lockfile", *scripts],
            "pnpm": ["pnpm", "install", "--no-lockfile", *scripts],
        }[self.manager]
        result = self.run("install", command)
        if result.ok:
            (self.package_dir / INSTALL_MARKER).parent.mkdir(exist_ok=True)
            (self.package_dir / INSTALL_MARKER).write_text(self._install_digest())
        return result

    @staticmethod
    def bin(name: str) -> str:
        """A locally installed tool, relative to the package (the report reads the same on every machine)."""
        return f"node_modules/.bin/{name}"

    def typecheck(self) -> StepResult:
        return self.run("type-check", [self.bin("tsc"), "--noEmit", "-p", "tsconfig.json"])

    def lint_command(self, manifest: dict) -> list[str] | None:
        """The package's `lint` script, or eslint itself, when the package has a lint config; None otherwise."""
        if not any((self.package_dir / name).exists() for name in LINT_CONFIGS):
            return None
        return [self.manager, "run", "lint"] if "lint" in (manifest.get("scripts") or {}) else [self.bin("eslint"), "."]

    def build(self) -> StepResult:
        return self.run("build", [self.manager, "run", "build"])

    def test(self) -> StepResult:
        return self.run("tests", [self.bin("vitest"), "run", "--coverage", "--coverage.reporter=json-summary",
                                  "--coverage.reporter=text"])

    def coverage(self) -> dict[str, float]:
        """Percentages from vitest's json-summary: lines, branches, functions, statements."""
        try:
            total = json.loads((self.package_dir / "coverage" / "coverage-summary.json").read_text())["total"]
        except (OSError, ValueError, KeyError):
            return {}
        return {key: float(total[key]["pct"]) for key in ("lines", "branches", "functions", "statements") if key in total}


