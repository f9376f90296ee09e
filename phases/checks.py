"""Phase-specific checks on a parsed answer: each returns the problems, which are sent back to the model to fix.

A check sees only the answer, the plan and the package as the phase found it (`before`): data in, problems out,
never the workspace.
"""
from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: `doit list` imports every declaration, and none of these checks runs then
    from package_builder.answer import ModelAnswer
    from package_builder.plan import PlanSpec

_WEAKENING = re.compile(r"@ts-ignore|@ts-nocheck|@ts-expect-error|\b(?:it|test|describe)\.(?:skip|skipIf|todo)\b|"
                        r"\bx(?:it|describe)\(|:\s*any\b|\bas any\b|<any>|\beslint-disable\b")
_ASSERTION = re.compile(r"\bexpect(?:TypeOf)?\s*\(|\bassert(?:\.\w+)?\s*\(")
_LINE_COMMENT = re.compile(r"(?m)^\s*//.*$|/\*.*?\*/", re.S)
_CODE_FILE = (".ts", ".tsx", ".mts", ".cts", ".js", ".jsx", ".mjs", ".cjs")
_TEST_FILE = tuple(f".{kind}{ext}" for kind in ("test", "spec") for ext in _CODE_FILE)


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
    """A fix must fix the code, not the checks: no deleted tests, no fewer assertions across the test files, no new
    suppressions, skips or `any` in code. Only what the answer adds counts (an `any` an earlier phase left is not this
    answer's doing), prose is not code, and assertions in comments do not count."""
    problems = [f"{path}: deleting tests is not a fix" for path in answer.deletes if _is_test(path)]
    for path, content in answer.files.items():
        if not path.endswith(_CODE_FILE):
            continue
        added = _weakenings(content) - _weakenings(before.get(path, ""))
        if added:
            problems.append(f"{path}: {sorted(added)[0]!r} weakens the checks; fix the cause instead")
        if _is_test(path) and not _assertions(content):
            problems.append(f"{path}: a test file without assertions is not a fix")
    after = {path: content for path, content in {**before, **answer.files}.items() if path not in answer.deletes}
    earlier, now = _assertion_total(before), _assertion_total(after)
    if now < earlier:
        problems.append(f"the test files hold {now} assertions, {earlier} before this answer; deleting assertions is "
                        "not a fix: keep every assertion and fix the code (or a wrong expected value)")
    return problems


def _is_test(path: str) -> bool:
    return path.startswith("tests/") or path.endswith(_TEST_FILE)


def _weakenings(content: str) -> set[str]:
    return {match.group(0) for match in _WEAKENING.finditer(content)}


def _assertions(content: str) -> int:
    return len(_ASSERTION.findall(_LINE_COMMENT.sub("", content)))


def _assertion_total(files: dict[str, str]) -> int:
    return sum(_assertions(content) for path, content in files.items() if _is_test(path) and path.endswith(_CODE_FILE))
