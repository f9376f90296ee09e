"""The real JavaScript toolchain on a generated package: dependency guard, install, type-check, build, tests, coverage.

Every command is an argument list (never a shell string) with a timeout; its output is captured and trimmed to the
lines a person (or the model) needs. Installs run with lifecycle scripts off unless the config says otherwise.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .digest import digest_text

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ERROR_LINE = re.compile(r"error|fail|✗|×|expected|TS\d{4}|ERR!|not found|cannot", re.I)
_ENVIRONMENT = re.compile(r"ENOTFOUND|ETIMEDOUT|ECONNREFUSED|ECONNRESET|EAI_AGAIN|ENOSPC|EACCES|network|socket hang up", re.I)
_NON_REGISTRY = ("workspace:", "file:", "link:", "portal:", "git+", "git:", "github:", "http:", "https:")
DEPENDENCY_FIELDS = ("dependencies", "devDependencies", "peerDependencies", "optionalDependencies")
LINT_CONFIGS = ("eslint.config.js", "eslint.config.mjs", "eslint.config.cjs", "eslint.config.ts", ".eslintrc",
                ".eslintrc.js", ".eslintrc.cjs", ".eslintrc.json", ".eslintrc.yml", ".eslintrc.yaml")
INSTALL_MARKER = Path("node_modules") / ".package-builder-installed"
# Never handed to a build, a test suite, an install or model-written code: scripts run with the rest of the environment.
SECRET_VARIABLES = frozenset({"NPM_TOKEN", "NODE_AUTH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"})


@dataclass
class StepResult:
    """One check: what ran, how it ended, and the part of its output worth reading."""

    step: str
    command: list[str]
    exit_code: int
    seconds: float
    output: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class ValidationReport:
    """The real outcome of checking a package; `failure` is the first failing step's kind, or None when green."""

    steps: list[StepResult] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)
    coverage_target: int = 0
    failure: str | None = None
    problem: str = ""

    @property
    def green(self) -> bool:
        return self.failure is None

    def to_json(self) -> dict:
        return {"green": self.green, "failure": self.failure, "problem": self.problem, "coverage": self.coverage,
                "coverageTarget": self.coverage_target,
                "steps": [{**asdict(s), "exitCode": s.exit_code} for s in self.steps]}


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


class Toolchain:
    """Runs the checks of one package directory with the workspace's package manager."""

    def __init__(self, package_dir: Path, workspace_root: Path, registry: str, ignore_scripts: bool = True,
                 timeout_seconds: float = 600):
        self.package_dir = package_dir
        self.manager = detect_package_manager(workspace_root)
        self.registry = registry
        self.ignore_scripts = ignore_scripts
        self.timeout_seconds = timeout_seconds

    def run(self, step: str, command: list[str]) -> StepResult:
        started = time.monotonic()
        env = {**{k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES},
               "CI": "true", "FORCE_COLOR": "0", "NO_COLOR": "1",
               "npm_config_registry": self.registry, "npm_config_update_notifier": "false"}
        try:
            done = subprocess.run(command, cwd=self.package_dir, env=env, capture_output=True, text=True,
                                  timeout=self.timeout_seconds, stdin=subprocess.DEVNULL)
            code, output = done.returncode, done.stdout + "\n" + done.stderr
        except subprocess.TimeoutExpired as exc:
            code, output = 124, f"timed out after {self.timeout_seconds:.0f} s\n{exc.stdout or ''}{exc.stderr or ''}"
        except OSError as exc:
            code, output = 127, f"cannot run {command[0]}: {exc}"
        return StepResult(step=step, command=command, exit_code=code, seconds=round(time.monotonic() - started, 2),
                          output=trim_output(output if isinstance(output, str) else output.decode(errors="replace")))

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
            elif _ENVIRONMENT.search(result.output):
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


def environment_failure(result: StepResult) -> bool:
    """A failure of the machine or network, not of the code: repairing it with the model would burn calls."""
    return result.exit_code in (124, 127) or bool(_ENVIRONMENT.search(result.output))


def validate_package(toolchain: Toolchain, coverage_target: int) -> ValidationReport:
    """Run the checks in order and stop at the first failure, classified for the repair loop."""
    report = ValidationReport(coverage_target=coverage_target)
    manifest_path = toolchain.package_dir / "package.json"
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        report.failure, report.problem = "dependency", f"package.json cannot be read: {exc}"
        return report
    missing, environment = toolchain.missing_dependencies(manifest)
    if environment:
        report.failure, report.problem = "environment", environment
        return report
    if missing:
        report.failure = "dependency"
        report.problem = "these dependencies do not exist in the registry: " + "; ".join(missing)
        return report

    steps = [("install", "dependency", toolchain.install), ("type-check", "type", toolchain.typecheck)]
    lint = toolchain.lint_command(manifest)
    if lint:
        steps.append(("lint", "lint", lambda: toolchain.run("lint", lint)))
    if "build" in (manifest.get("scripts") or {}):
        steps.append(("build", "build", toolchain.build))
    steps.append(("tests", "test", toolchain.test))
    for name, kind, run in steps:
        result = run()
        report.steps.append(result)
        if not result.ok:
            if name == "tests":
                report.coverage = toolchain.coverage()
                kind = "coverage" if report.coverage and "threshold" in result.output.lower() else kind
            report.failure = "environment" if environment_failure(result) else kind
            report.problem = f"{name} failed (exit {result.exit_code}): {' '.join(result.command[:3])}"
            return report
    report.coverage = toolchain.coverage()
    low = {k: v for k, v in report.coverage.items() if v < coverage_target}
    if not report.coverage or low:
        report.failure = "coverage"
        report.problem = (f"coverage below {coverage_target}%: " + ", ".join(f"{k} {v}%" for k, v in low.items())
                          if low else "no coverage summary was written")
    return report


def type_check_between_phases(toolchain: Toolchain) -> dict:
    """The cheap check after a code-writing phase: install if package.json changed (guarded like BUILD_VALIDATION),
    then `tsc --noEmit`. The result is plain data that the next phase reads as part of its inputs; `environment`
    marks a failure of the machine or network, which is never stored (the check runs again next time)."""
    try:
        manifest = json.loads((toolchain.package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return {"ran": False, "problem": f"package.json cannot be read: {exc}"}
    if toolchain.needs_install():
        missing, environment = toolchain.missing_dependencies(manifest)
        if environment:
            return {"ran": False, "environment": True, "problem": environment}
        if missing:
            return {"ran": False, "problem": "dependencies not in the registry: " + "; ".join(missing)}
        installed = toolchain.install()
        if not installed.ok:
            return {"ran": False, "environment": environment_failure(installed),
                    "problem": f"install failed (exit {installed.exit_code}): {installed.output[-600:]}"}
    result = toolchain.typecheck()
    if result.exit_code in (124, 127):
        return {"ran": False, "environment": True, "problem": result.output[-600:]}
    return {"ran": True, "command": result.command, "exitCode": result.exit_code, "output": result.output,
            "errors": sum(1 for line in result.output.splitlines() if "error TS" in line)}
