"""Phase-specific checks on a parsed answer: each returns the problems, which are sent back to the model to fix.

A check sees only the answer, the plan and the package as the phase found it (`before`): data in, problems out,
never the workspace.
"""
from __future__ import annotations

import json
import re

from package_builder.answer import ModelAnswer
from package_builder.plan import PlanSpec

_WEAKENING = re.compile(r"@ts-ignore|@ts-nocheck|@ts-expect-error|\b(?:it|test|describe)\.(?:skip|todo)\b|\bx(?:it|describe)\(|"
                        r":\s*any\b|\bas any\b|<any>|\beslint-disable\b")
_ASSERTION = re.compile(r"\bexpect(?:TypeOf)?\s*\(|\bassert(?:\.\w+)?\s*\(")
_TEST_FILE = (".test.ts", ".spec.ts", ".test.tsx", ".spec.tsx")


def foundation(answer: ModelAnswer, plan: PlanSpec, before: dict[str, str]) -> list[str]:
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


def entry_point(answer: ModelAnswer, plan: PlanSpec, before: dict[str, str]) -> list[str]:
    """The barrel file is this phase's whole job."""
    return [] if "src/index.ts" in answer.files else ["ENTRY_POINT must write src/index.ts"]


def no_tests_in_src(answer: ModelAnswer, plan: PlanSpec, before: dict[str, str]) -> list[str]:
    """Tests belong to TESTING (tests/): a code phase that writes them would be overwritten out of order."""
    return [f"{path}: tests go in tests/ and are written by the TESTING phase"
            for path in answer.files if path.endswith((".test.ts", ".spec.ts"))]


def no_weakened_checks(answer: ModelAnswer, plan: PlanSpec, before: dict[str, str]) -> list[str]:
    """A fix must fix the code, not the checks: no deleted tests, no fewer assertions in a test file, no suppressions,
    no `any`."""
    problems = [f"{path}: deleting tests is not a fix" for path in answer.deletes
                if path.startswith("tests/") or path.endswith(_TEST_FILE)]
    for path, content in answer.files.items():
        found = _WEAKENING.search(content)
        if found:
            problems.append(f"{path}: {found.group(0)!r} weakens the checks; fix the cause instead")
        if not path.endswith(_TEST_FILE):
            continue
        now, earlier = len(_ASSERTION.findall(content)), len(_ASSERTION.findall(before.get(path, "")))
        if now == 0:
            problems.append(f"{path}: a test file without assertions is not a fix")
        elif now < earlier:
            problems.append(f"{path}: {earlier} assertions became {now}; deleting assertions is not a fix, "
                            "keep every assertion and fix the code (or the assertion's expected value if it is wrong)")
    return problems
