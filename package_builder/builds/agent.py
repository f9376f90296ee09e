"""The agent interface other orchestrators call: `execute("build-package: @scope/name")` and its test-/publish- kin.

The seed's agent put the name into a shell command. Here an instruction must match one exact form, the name must
follow npm's naming rules and be a package of the workspace, and the work runs as `doit <step>:<name>` (an argument
list, no shell), so dependencies are built first and up-to-date packages are not rebuilt.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from package_builder.base.config import load_config
from package_builder.base.errors import PackageBuilderError
from package_builder.builds.monorepo import discover_packages, is_npm_package_name
from package_builder.builds.publishing import redact

PROJECT_ROOT = Path(__file__).resolve().parent.parent
_INSTRUCTION = re.compile(r"(build|test|publish)-package: (\S+)")


class InstructionError(PackageBuilderError, ValueError):
    """An instruction the agent will not run: wrong form, not an npm name, or not a workspace package."""


class ProductionPackageBuilderAgent:
    """Builds, tests and publishes packages of the monorepo named in `configs/build-env.json`."""

    name = "package-builder-production"
    capabilities = ("build-package", "test-package", "publish-package")

    def __init__(
        self, config_path: Path | None = None, project_root: Path = PROJECT_ROOT, timeout_seconds: float = 3600
    ):
        self.project_root = Path(project_root)
        self.config_path = Path(config_path) if config_path else self.project_root / "configs" / "build-env.json"
        self.timeout_seconds = timeout_seconds

    def execute(self, instruction: str) -> str:
        """Run one instruction and return doit's report; raise `InstructionError` for anything not exactly
        `<build|test|publish>-package: <npm package name of this workspace>`, and `PackageBuilderError` when the
        step fails (with the redacted output)."""
        if not isinstance(instruction, str):
            raise InstructionError("an instruction must be a string like 'build-package: @scope/name'")
        match = _INSTRUCTION.fullmatch(instruction.strip())
        if not match:
            raise InstructionError(
                f"not an instruction this agent runs: {instruction[:100]!r}; expected one of "
                + ", ".join(f"'{c}: <npm package name>'" for c in self.capabilities)
            )
        step, package = match.groups()
        if not is_npm_package_name(package):
            raise InstructionError(f"{package[:100]!r} is not a valid npm package name")
        config = load_config(self.config_path, ())
        if package not in {p.name for p in discover_packages(config.workspace_root)}:
            raise InstructionError(f"{package} is not a package of the workspace {config.workspace_root}")
        done = subprocess.run(
            [sys.executable, "-m", "doit", "-f", str(self.project_root / "dodo.py"), f"{step}:{package}"],
            cwd=self.project_root,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=self.timeout_seconds,
            env={**os.environ, "PACKAGE_BUILDER_CONFIG": str(self.config_path)},
        )
        report = redact(done.stdout + done.stderr, config.npm_token_value())
        if done.returncode != 0:
            raise PackageBuilderError(f"{step}-package {package} failed:\n{report}")
        return report
