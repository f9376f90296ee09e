"""Phase-specific checks on a parsed answer: each returns the problems, which are sent back to the model to fix.

A check sees only the answer, the plan and the package as the phase found it (`before`): data in, problems out,
never the workspace.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import TYPE_CHECKING

from package_builder.generation.quality import ANY_TYPE

if TYPE_CHECKING:  # annotations only: `doit list` imports every declaration, and none of these checks runs then
    from package_builder.generation.answer import ModelAnswer
    from package_builder.generation.plan import PlanSpec

_WEAKENING = re.compile(
    r"@ts-ignore|@ts-nocheck|@ts-expect-error|\b(?:it|test|describe)\.(?:skip|skipIf|todo)\b|"
    rf"\bx(?:it|describe)\(|{ANY_TYPE}|\beslint-disable\b"
)  # `any`: the checkpoint's scan too
_ASSERTION = re.compile(r"\bexpect(?:TypeOf)?\s*\(|\bassert(?:\.\w+)?\s*\(")
_LINE_COMMENT = re.compile(r"(?m)^\s*//[^\n]*$|/\*.*?\*/", re.S)  # re.S is for /* */ only
_CONSTANT = r"""(?:true|false|null|undefined|NaN|-?\d[\d_]*(?:\.\d+)?|'[^'\\\n]*'|"[^"\\\n]*"|`[^`$\\\n]*`)"""
_NAME = r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*"
_MATCHER = r"\)\s*(?:\.\s*not\s*)?\.\s*\w+\s*\(\s*"
_TAUTOLOGY = re.compile(
    rf"\bexpect\s*\(\s*{_CONSTANT}\s*{_MATCHER}(?:{_CONSTANT}\s*)?\)"  # expect(true).toBe(true), expect(1).toBeTruthy()
    rf"|\bexpect\s*\(\s*(?P<name>{_NAME})\s*{_MATCHER}(?P=name)\s*\)"  # expect(x).toBe(x)
    rf"|\bassert(?:\.\w+)?\s*\(\s*{_CONSTANT}\s*(?:,\s*{_CONSTANT}\s*)*\)"  # assert(true), assert.equal(1, 1)
    rf"|\bassert\.\w+\s*\(\s*(?P<same>{_NAME})\s*,\s*(?P=same)\s*[,)]"
)  # assert.equal(x, x)
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
    return workspace_ranges(manifest, plan)


def workspace_ranges(manifest: dict, plan: PlanSpec) -> list[str]:
    """Each workspace dependency in `dependencies` with the range its manager links: a registry range for a sibling
    that is not published fails the install, and npm refuses `workspace:` outright."""
    problems = []
    for dependency in plan.workspace_dependencies:
        sections = [
            s for s in ("dependencies", "peerDependencies", "devDependencies") if dependency.name in _deps(manifest, s)
        ]
        written = _deps(manifest, sections[0]).get(dependency.name) if sections else None
        if written != dependency.range:
            where = f"in `{dependency.path}` of this workspace"
            problems.append(
                f"package.json must list {dependency.name} in dependencies as {dependency.range!r} (a package {where}, "
                f"version {dependency.version}, linked by the workspace's manager, not fetched), got "
                + (f"{written!r} in {sections[0]}" if sections else "nothing")
            )
    return problems


def _deps(manifest: dict, section: str) -> dict:
    value = manifest.get(section)
    return value if isinstance(value, dict) else {}


def entry_point(answer: ModelAnswer, plan: PlanSpec, before: dict[str, str]) -> list[str]:
    """The barrel file is this phase's whole job."""
    return [] if "src/index.ts" in answer.files else ["ENTRY_POINT must write src/index.ts"]


def no_tests_in_src(answer: ModelAnswer, plan: PlanSpec, before: dict[str, str]) -> list[str]:
    """Tests belong to TESTING (tests/): a code phase that writes them would be overwritten out of order."""
    return [
        f"{path}: tests go in tests/ and are written by the TESTING phase"
        for path in answer.files
        if path.endswith((".test.ts", ".spec.ts"))
    ]


def no_weakened_checks(answer: ModelAnswer, plan: PlanSpec, before: dict[str, str]) -> list[str]:
    """A fix must fix the code, not the checks: no deleted tests, no test file with fewer real assertions than before,
    no assertion that holds whatever the code does, no new suppressions, skips or `any` in code, no workspace
    dependency dropped from package.json or written with a range its manager does not link. Counts are per file
    (one more `any` in a file that had one is one more `any`). Only what the answer adds counts (an `any` an earlier
    phase left is not this answer's doing), prose is not code, and assertions in comments do not count."""
    problems = [f"{path}: deleting tests is not a fix" for path in answer.deletes if _is_test(path)]
    if "package.json" in answer.files and plan.workspace_dependencies:  # a sibling removed "to fix" the install
        try:
            manifest = json.loads(answer.files["package.json"])
        except ValueError as exc:
            problems.append(f"package.json is not valid JSON: {exc}")
        else:
            problems += workspace_ranges(manifest if isinstance(manifest, dict) else {}, plan)
    for path, content in answer.files.items():
        if not path.endswith(_CODE_FILE):
            continue
        earlier = before.get(path, "")
        added = _weakenings(content) - _weakenings(earlier)
        if added:
            token = sorted(added)[0]
            problems.append(
                f"{path}: {token!r} weakens the checks ({added[token]} more than before this answer); "
                "fix the cause instead"
            )
        if not _is_test(path):
            continue
        tautologies = _tautologies(content) - _tautologies(earlier)
        if tautologies:
            problems.append(
                f"{path}: {sorted(tautologies)[0]!r} asserts nothing about the code (it holds whatever "
                "the code does); assert on what the code returns or throws"
            )
        now, was = _assertions(content), _assertions(earlier)
        if not now:
            problems.append(f"{path}: a test file without assertions is not a fix")
        elif now < was:
            problems.append(
                f"{path} holds {now} assertions, {was} before this answer; deleting assertions is not a "
                "fix: keep every assertion and fix the code (or a wrong expected value)"
            )
    return problems


def _is_test(path: str) -> bool:
    return path.startswith("tests/") or path.endswith(_TEST_FILE)


def _weakenings(content: str) -> Counter[str]:
    return Counter(match.group(0) for match in _WEAKENING.finditer(content))


def _tautologies(content: str) -> Counter[str]:
    """Assertions whose outcome the code cannot change: a literal against a literal, a name against itself."""
    code = _LINE_COMMENT.sub("", content)
    return Counter(" ".join(match.group(0).split()) for match in _TAUTOLOGY.finditer(code))


def _assertions(content: str) -> int:
    """Real assertions: tautologies do not count, so trading an assertion for one is a deleted assertion."""
    code = _LINE_COMMENT.sub("", content)
    return len(_ASSERTION.findall(code)) - sum(_tautologies(content).values())
