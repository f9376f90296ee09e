"""The bundled suite example (examples/suite/): its seeded monorepo and its hand-written answers, shared by
scripts/example, scripts/record-example-cassette and tests/test_suite_example.py, so all three build the very
workspace the cassette was recorded in.

The monorepo already has `@example/logger` (packages/shared/logger, written by hand); the plans `events` (core) and
`audit` (service, using events and logger) are generated into it.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from messages_api import Text
from monorepo import write_workspace_root

SUITE = Path(__file__).resolve().parent.parent / "examples" / "suite"
PLANS = SUITE / "plans" / "packages"
ANSWERS = SUITE / "answers"
LOGGER = "packages/shared/logger"
# How the monorepo's users write their lockfile: the packages resolved, nothing installed (generation installs).
LOCK_ONLY = {
    "npm": ["npm", "install", "--package-lock-only", "--no-audit", "--no-fund"],
    "pnpm": ["pnpm", "install", "--lockfile-only"],
}
# How the workspace's manager links a sibling (suite.linked_range): FOUNDATION's package.json writes exactly this.
NPM_RANGES = {"@example/events": "^0.1.0", "@example/logger": "^1.0.0"}
IDENTITY = ["-c", "user.name=example", "-c", "user.email=example@localhost"]


def seed_workspace(workspace: Path, env: dict, manager: str = "npm") -> None:
    """A git repo holding examples/suite/workspace/ (an npm-workspaces root and @example/logger) and its lockfile, all
    committed, as a fresh clone has it: nothing installed, logger never built (generation builds it before it
    type-checks audit against it). `manager` "pnpm" swaps the root for a pnpm-workspace.yaml one."""
    workspace.mkdir(parents=True, exist_ok=True)
    shutil.copytree(SUITE / "workspace", workspace, dirs_exist_ok=True)
    if manager != "npm":
        write_workspace_root(workspace, manager, "packages/*/*", "example-suite-monorepo")
    run = {"env": env, "check": True, "capture_output": True, "text": True}
    subprocess.run(["git", "init", "-q", "--initial-branch=main"], cwd=workspace, **run)
    subprocess.run(LOCK_ONLY[manager], cwd=workspace, **run)
    subprocess.run(["git", "add", "-A"], cwd=workspace, **run)
    subprocess.run(["git", *IDENTITY, "commit", "-qm", "a monorepo with @example/logger"], cwd=workspace, **run)


def suite_answer(package: str, phase: str) -> str:
    """The hand-written answer of `package` (`@example/audit`) for `phase` (`CORE_IMPLEMENTATION`)."""
    slug = phase.lower().replace("_", "-")
    matches = sorted((ANSWERS / package.rsplit("/", 1)[-1]).glob(f"[0-9][0-9]-{slug}.txt"))
    if not matches:
        raise LookupError(f"no hand-written answer for {package} {phase} in {ANSWERS}")
    return matches[0].read_text(encoding="utf-8")


def package_of(request) -> str:
    """The package a request is for, as the system prompt names it: "the npm package `@example/audit`"."""
    found = re.search(r"npm package `([^`]+)`", request.system)
    if not found:
        raise LookupError("the request's system prompt names no package")
    return found.group(1)


def answer_suite(request) -> Text:
    """The Messages API server's answer to any request of the suite: the hand-written answer of its package."""
    return Text(suite_answer(package_of(request), request.phase))


def with_ranges(text: str, ranges: dict[str, str]) -> str:
    """An answer whose package.json writes the siblings with `ranges` instead of the npm workspace's: `workspace:^`
    for pnpm, which links a sibling only through the workspace protocol."""
    for name, old in NPM_RANGES.items():
        text = text.replace(f'"{name}": "{old}"', f'"{name}": "{ranges[name]}"')
    return text


if __name__ == "__main__":  # scripts/example suite: `python tests/suite_example.py <workspace>` seeds it
    import os
    import sys

    seed_workspace(Path(sys.argv[1]), dict(os.environ))
