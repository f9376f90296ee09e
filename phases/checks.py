"""Phase-specific checks on a parsed answer: each returns the problems, which are sent back to the model to fix.

A check sees only the answer's files and the plan (data in, problems out), never the workspace.
"""
from __future__ import annotations

import json

from package_builder.plan import PlanSpec


def foundation(files: dict[str, str], plan: PlanSpec) -> list[str]:
    """package.json must be there, be JSON, and name the plan's package."""
    if "package.json" not in files:
        return ["FOUNDATION must write package.json"]
    try:
        manifest = json.loads(files["package.json"])
    except ValueError as exc:
        return [f"package.json is not valid JSON: {exc}"]
    if not isinstance(manifest, dict):
        return ["package.json must hold a JSON object"]
    if manifest.get("name") != plan.package_name:
        return [f"package.json name must be {plan.package_name!r}, got {manifest.get('name')!r}"]
    return []


def entry_point(files: dict[str, str], plan: PlanSpec) -> list[str]:
    """The barrel file is this phase's whole job."""
    return [] if "src/index.ts" in files else ["ENTRY_POINT must write src/index.ts"]


def no_tests_in_src(files: dict[str, str], plan: PlanSpec) -> list[str]:
    """Tests belong to TESTING (tests/): a code phase that writes them would be overwritten out of order."""
    return [f"{path}: tests go in tests/ and are written by the TESTING phase" for path in files if path.endswith((".test.ts", ".spec.ts"))]
