"""How each workspace step of a run ended: one small JSON file per step and package under `.package-builder/outcomes/`,
written by the step, read by the run's closing table, and gathered into `summary.json` for CI.

Stdlib only: the reporter, which doit loads with the tasks, reads these.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from package_builder.base.paths import build_record, builds_dir
from package_builder.base.storage import read_json, write_record

STEP_NAMES = ("build", "test", "publish")


class Outcome(NamedTuple):
    """How one step of one package ended in this run: what the closing table and the JSON summary show.
    A NamedTuple, not a frozen dataclass: doit defines it on every load, where a dataclass costs 0.7 ms."""

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


def outcome_table(outcomes: dict[str, dict[str, str]], reasons: dict[str, dict[str, str]], width: int) -> list[str]:
    """The run's closing table: a row per package, a column per step, a failed step with its reason. Rows fit in
    `width` columns (the terminal's): the widest columns give way first, a cell cut short ends with `…`; summary.json
    keeps the full text."""
    rows = [("package", *STEP_NAMES)] + [
        (name, *(_cell(steps.get(step, "-"), reasons.get(name, {}).get(step)) for step in STEP_NAMES))
        for name, steps in outcomes.items()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    room = width - 2 * (len(widths) - 1)
    while sum(widths) > room and max(widths) > MIN_COLUMN:
        widths[widths.index(max(widths))] -= 1
    return ["  ".join(_fit(cell, size) for cell, size in zip(row, widths, strict=True)).rstrip() for row in rows]


MIN_COLUMN = 12  # a column narrower than this says nothing: past it, a row may overflow a very narrow terminal


def _cell(status: str, reason: str | None) -> str:
    return f"{status}: {reason}" if status == "failed" and reason else status


def _fit(cell: str, size: int) -> str:
    return cell.ljust(size) if len(cell) <= size else cell[: size - 1] + "…"


def write_run_summary(
    workspace_root: Path, outcomes: dict[str, dict[str, str]], reasons: dict[str, dict[str, str]] | None = None
) -> Path:
    """`.package-builder/summary.json` for CI: `{"ok", "failed", "not_run", "packages"}`, returns its path. `failed`
    lists exactly the packages with a step that ran and failed, each with the `reason` of its first failed step;
    `not_run` those only held back by another's failure (their step says which)."""
    reasons = reasons or {}
    failed = sorted(name for name, steps in outcomes.items() if "failed" in steps.values())
    not_run = sorted(
        name
        for name, steps in outcomes.items()
        if name not in failed and any(status.startswith("not run") for status in steps.values())
    )
    packages = {
        name: {**steps, **({"reason": why} if (why := _first_reason(steps, reasons.get(name, {}))) else {})}
        for name, steps in outcomes.items()
    }
    path = builds_dir(workspace_root) / "summary.json"
    write_record(path, {"ok": not failed and not not_run, "failed": failed, "not_run": not_run, "packages": packages})
    return path


def _first_reason(steps: dict[str, str], reasons: dict[str, str]) -> str:
    return next((reasons.get(step, "failed") for step in STEP_NAMES if steps.get(step) == "failed"), "")
