"""How each workspace step of a run ended: one small JSON file per step and package under `.package-builder/outcomes/`,
written by the step, read by the run's closing table, and gathered into `summary.json` for CI.

Stdlib only: the reporter, which doit loads with the tasks, reads these.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from package_builder.base.paths import build_record, builds_dir
from package_builder.base.storage import read_json, write_record

STEP_NAMES = ("build", "test", "publish")


@dataclass(frozen=True)
class Outcome:
    """How one step of one package ended in this run: what the closing table and the JSON summary show."""

    step: str
    package: str
    status: str  # built, tested, published, skipped, failed
    detail: str = ""
    seconds: float = 0.0


def record_outcome(workspace_root: Path, outcome: Outcome) -> dict:
    data = {
        "step": outcome.step,
        "package": outcome.package,
        "status": outcome.status,
        "detail": outcome.detail,
        "seconds": outcome.seconds,
    }
    write_record(build_record(workspace_root, f"outcomes/{outcome.step}", outcome.package), data)
    return data


def outcome_label(workspace_root: Path, step: str, name: str) -> str:
    """How a step that doit counts as a success ended, for the closing table: `built`, `skipped (no build script)`..."""
    outcome = read_json(build_record(workspace_root, f"outcomes/{step}", name)) or {}
    return outcome.get("status", "done") + (f" ({outcome['detail']})" if outcome.get("detail") else "")


def write_run_summary(workspace_root: Path, outcomes: dict[str, dict[str, str]]) -> Path:
    """`.package-builder/summary.json` for CI: `{"ok", "failed", "packages"}`; returns its path."""
    failed = sorted(
        name
        for name, steps in outcomes.items()
        if any(status.startswith(("failed", "not run")) for status in steps.values())
    )
    path = builds_dir(workspace_root) / "summary.json"
    write_record(path, {"ok": not failed, "failed": failed, "packages": outcomes})
    return path
