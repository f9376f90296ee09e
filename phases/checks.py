"""Phase-specific checks on a parsed answer: each returns the problems, which are sent back to the model to fix.

A check sees only the answer's files and the plan (data in, problems out), never the workspace.
"""
from __future__ import annotations

import json
import re

from package_builder.answer import ModelAnswer
from package_builder.plan import PlanSpec

_WEAKENING = re.compile(r"@ts-ignore|@ts-nocheck|@ts-expect-error|\b(?:it|test|describe)\.(?:skip|todo)\b|\bx(?:it|describe)\(|"
                        r":\s*any\b|\bas any\b|<any>|\beslint-disable\b")


def foundation(answer: ModelAnswer, plan: PlanSpec) -> list[str]:
    """package.json must be there, be JSON, and name the plan's package."""
    files = answer.files
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


def entry_point(answer: ModelAnswer, plan: PlanSpec) -> list[str]:
    """The barrel file is this phase's whole job."""
    return [] if "src/index.ts" in answer.files else ["ENTRY_POINT must write src/index.ts"]


def no_tests_in_src(answer: ModelAnswer, plan: PlanSpec) -> list[str]:
    """Tests belong to TESTING (tests/): a code phase that writes them would be overwritten out of order."""
    return [f"{path}: tests go in tests/ and are written by the TESTING phase"
            for path in answer.files if path.endswith((".test.ts", ".spec.ts"))]


def no_weakened_checks(answer: ModelAnswer, plan: PlanSpec) -> list[str]:
    """A repair must fix the code, not the checks: no deleted or emptied tests, no suppressions, no `any`."""
    problems = [f"{path}: deleting tests is not a fix" for path in answer.deletes
                if path.startswith("tests/") or path.endswith((".test.ts", ".spec.ts"))]
    for path, content in answer.files.items():
        found = _WEAKENING.search(content)
        if found:
            problems.append(f"{path}: {found.group(0)!r} weakens the checks; fix the cause instead")
        if path.endswith((".test.ts", ".spec.ts")) and "expect(" not in content:
            problems.append(f"{path}: a test file without assertions is not a fix")
    return problems
