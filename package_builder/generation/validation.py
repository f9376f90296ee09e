"""What the toolchain's results mean for a generated package: the checks BUILD_VALIDATION runs in order (dependency
guard, install, type-check, lint, build, tests with coverage), each failure classified for the repair loop, and the
cheap type-check between phases. Results are typed; what is stored in artifacts is their `to_json()`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from package_builder.base.commands import ENVIRONMENT_PROBLEM, StepResult, Toolchain
from package_builder.base.workspace_ranges import MissingDependency


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
        return {
            "green": self.green,
            "failure": self.failure,
            "problem": self.problem,
            "coverage": self.coverage,
            "coverageTarget": self.coverage_target,
            "steps": [{**asdict(s), "exitCode": s.exit_code} for s in self.steps],
        }


@dataclass(frozen=True)
class TypeCheckResult:
    """`tsc --noEmit` after a code-writing phase. `environment` marks a failure of the machine or network, which is
    never stored: the check runs again next time."""

    ran: bool
    problem: str = ""
    environment: bool = False
    command: tuple[str, ...] = ()
    exit_code: int | None = None
    output: str = ""
    errors: int = 0

    def to_json(self) -> dict:
        """The stored form, read by the next phase's prompt (`type_check.ran`, `.exitCode`, `.errors`...)."""
        if not self.ran:
            return {"ran": False, "problem": self.problem}
        return {
            "ran": True,
            "command": list(self.command),
            "exitCode": self.exit_code,
            "output": self.output,
            "errors": self.errors,
        }


def environment_failure(result: StepResult) -> bool:
    """A failure of the machine or network, not of the code: repairing it with the model would burn calls. Only an
    install's (or the registry's) output is searched for network errors: a test suite's may well print "network" or
    "ECONNREFUSED" (a test of retries, say) and is the code's to fix."""
    if result.machine_failed:
        return True
    return result.step in ("install", "dependency check") and bool(ENVIRONMENT_PROBLEM.search(result.output))


def dependency_problem(missing: list[MissingDependency]) -> str:
    """The guard's findings as the repair prompt shows them, each under where it was looked for: a package of the
    monorepo is linked from the workspace, so the model must fix its range, never look for it on the registry (told
    that every dependency must be on the registry, a model deleted a real sibling)."""
    workspace = [str(item) for item in missing if item.where == "workspace"]
    registry = [str(item) for item in missing if item.where == "registry"]
    parts = []
    if workspace:
        parts.append(
            "these dependencies are not in the workspace as written (a package of this monorepo is linked by the "
            "package manager, never fetched from the registry): " + "; ".join(workspace)
        )
    if registry:
        parts.append("these dependencies are not in the registry: " + "; ".join(registry))
    return "; and ".join(parts)


def validate_package(toolchain: Toolchain, coverage_target: int) -> ValidationReport:
    """Run the checks in order and stop at the first failure, classified for the repair loop. The user's lockfiles
    are as they were afterwards."""
    with toolchain.lockfiles_kept():
        return _validate(toolchain, coverage_target)


def _validate(toolchain: Toolchain, coverage_target: int) -> ValidationReport:
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
        report.problem = dependency_problem(missing)
        return report

    installed = toolchain.install()
    report.steps.append(installed)
    if not installed.ok:
        report.failure = "environment" if environment_failure(installed) else "dependency"
        report.problem = f"install failed (exit {installed.exit_code}): {' '.join(installed.command[:3])}"
        return report
    report.steps += toolchain.build_missing_dependencies()
    if not report.steps[-1].ok:  # a sibling that does not build is not this package's to repair
        failed = report.steps[-1]
        report.failure = "environment"
        report.problem = f"the workspace dependency's {failed.step} failed (exit {failed.exit_code}): fix it first"
        return report

    steps = [("type-check", "type", toolchain.typecheck)]
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
        report.problem = (
            f"coverage below {coverage_target}%: " + ", ".join(f"{k} {v}%" for k, v in low.items())
            if low
            else "no coverage summary was written"
        )
    return report


def type_check_between_phases(toolchain: Toolchain) -> TypeCheckResult:
    """The cheap check after a code-writing phase: install if package.json changed (guarded like BUILD_VALIDATION),
    then `tsc --noEmit`. The user's lockfiles are as they were afterwards."""
    with toolchain.lockfiles_kept():
        return _type_check(toolchain)


def _type_check(toolchain: Toolchain) -> TypeCheckResult:
    try:
        manifest = json.loads((toolchain.package_dir / "package.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return TypeCheckResult(ran=False, problem=f"package.json cannot be read: {exc}")
    if toolchain.needs_install():
        missing, environment = toolchain.missing_dependencies(manifest)
        if environment:
            return TypeCheckResult(ran=False, environment=True, problem=environment)
        if missing:
            return TypeCheckResult(ran=False, problem=dependency_problem(missing))
        installed = toolchain.install()
        if not installed.ok:
            return TypeCheckResult(
                ran=False,
                environment=environment_failure(installed),
                problem=f"install failed (exit {installed.exit_code}): {installed.output[-600:]}",
            )
    built = toolchain.build_missing_dependencies()
    if built and not built[-1].ok:
        return TypeCheckResult(
            ran=False,
            environment=True,
            problem=f"the workspace dependency's {built[-1].step} failed (exit {built[-1].exit_code}): "
            f"{built[-1].output[-600:]}",
        )
    result = toolchain.typecheck()
    if result.tool_missing:  # the package lacks typescript: stored, and the next phase is told
        return TypeCheckResult(ran=False, problem=result.output)
    if result.machine_failed:  # not environment_failure: tsc's own errors may well mention a network
        return TypeCheckResult(ran=False, environment=True, problem=result.output[-600:])
    # result.command is as typed (`tsc --noEmit …`), not where the manager put tsc: the next phase reads it, so the
    # same package gets the same request in a plain folder, an npm monorepo or a pnpm one.
    return TypeCheckResult(
        ran=True,
        command=tuple(result.command),
        exit_code=result.exit_code,
        output=result.output,
        errors=sum(1 for line in result.output.splitlines() if "error TS" in line),
    )
