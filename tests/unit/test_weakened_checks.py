"""The "no weakened checks" rule of the repair phases (CRITICAL_FIXES, BUILD_VALIDATION, FINAL_POLISH): a fix may not
buy a green run by adding `any` or skips, by deleting assertions from a file, or by trading real assertions for ones
that hold whatever the code does. The bundled example's own answers pass every phase's check."""

from __future__ import annotations

import pytest

from conftest import ANSWERS, PLAN
from package_builder.generation.answer import ModelAnswer, parse_answer
from package_builder.generation.plan import parse_plan
from phases import PHASES
from phases.checks import no_weakened_checks

TEST = """import { describe, expect, it } from 'vitest';
import { parse } from '../src';

describe('parse', () => {
  it('reads a number', () => {
    expect(parse('1')).toBe(1);
    expect(parse('2')).toBe(2);
  });
});
"""
CODE = "export function parse(text: string): any {\n  return Number(text);\n}\n"


def check(files: dict[str, str], before: dict[str, str], deletes: tuple[str, ...] = ()) -> list[str]:
    return no_weakened_checks(ModelAnswer(files=files, deletes=deletes), parse_plan(PLAN), before)


def test_a_test_file_with_a_line_comment_still_has_its_assertions_counted():
    commented = "// the parser's happy path\n" + TEST
    one_less = commented.replace("    expect(parse('2')).toBe(2);\n", "")

    assert check({"tests/parse.test.ts": commented}, {"tests/parse.test.ts": TEST}) == []
    (problem,) = check({"tests/parse.test.ts": one_less}, {"tests/parse.test.ts": TEST})
    assert problem.startswith("tests/parse.test.ts holds 1 assertions, 2 before this answer")


def test_one_more_any_in_a_file_that_already_has_one_is_refused():
    widened = CODE + "export function load(value: any): string {\n  return String(value);\n}\n"

    problems = check({"src/parse.ts": widened}, {"src/parse.ts": CODE})

    assert problems == [
        "src/parse.ts: ': any' weakens the checks (1 more than before this answer); fix the cause instead"
    ]
    assert check({"src/parse.ts": CODE.replace("any", "number")}, {"src/parse.ts": CODE}) == [], "fewer is fine"


def test_one_more_skip_in_a_test_file_that_already_skips_one_is_refused():
    before = TEST.replace("  it('reads", "  it.skip('is pending', () => {});\n  it('reads")
    after = before.replace("  it('reads", "  it.skip('reads")

    assert check({"tests/parse.test.ts": after}, {"tests/parse.test.ts": before}) == [
        "tests/parse.test.ts: 'it.skip' weakens the checks (1 more than before this answer); fix the cause instead"
    ]


@pytest.mark.parametrize(
    "tautology",
    [
        "expect(true).toBe(true)",
        "expect(1).toBe(1)",
        "expect('ok').toEqual('ok')",
        "expect(true).toBeTruthy()",
        "expect(null).toBeNull()",
        "expect(result).toBe(result)",
        "expect(parsed.value).toStrictEqual(parsed.value)",
        "assert(true)",
        "assert.ok(1)",
        "assert.equal(1, 1)",
        "assert.strictEqual(value, value)",
    ],
)
def test_swapping_a_real_assertion_for_one_that_always_holds_is_refused(tautology):
    after = TEST.replace("expect(parse('2')).toBe(2)", tautology)

    problems = check({"tests/parse.test.ts": after}, {"tests/parse.test.ts": TEST})

    assert f"tests/parse.test.ts: {tautology!r} asserts nothing about the code" in problems[0]
    assert problems[1] == (
        "tests/parse.test.ts holds 1 assertions, 2 before this answer; deleting assertions is not "
        "a fix: keep every assertion and fix the code (or a wrong expected value)"
    )


def test_assertions_are_counted_per_file_not_across_the_package():
    """Two new assertions in one file do not pay for two deleted from another."""
    other = TEST.replace("parse.test", "other.test")
    before = {"tests/parse.test.ts": TEST, "tests/other.test.ts": other}
    thinned = TEST.replace("    expect(parse('2')).toBe(2);\n", "")
    padded = other.replace("toBe(1);", "toBe(1);\n    expect(parse('3')).toBe(3);\n    expect(parse('4')).toBe(4);")

    problems = check({"tests/parse.test.ts": thinned, "tests/other.test.ts": padded}, before)

    assert problems == [
        "tests/parse.test.ts holds 1 assertions, 2 before this answer; deleting assertions is not a "
        "fix: keep every assertion and fix the code (or a wrong expected value)"
    ]


def test_real_assertions_that_look_alike_are_not_tautologies():
    real = TEST.replace(
        "expect(parse('2')).toBe(2)",
        "expect(parse('2')).toBe(parse('2'));\n    "
        "expect(result.value).toBe(result.other);\n    expect(value).not.toBe(other);\n    "
        "assert.equal(actual, expected);\n    assert(isValid(1))",
    )
    assert check({"tests/parse.test.ts": real}, {"tests/parse.test.ts": TEST}) == []


def test_a_tautology_an_earlier_phase_wrote_is_not_this_answers_doing():
    before = TEST.replace("  });\n});", "    expect(true).toBe(true);\n  });\n});")
    assert check({"tests/parse.test.ts": before.replace("'1'", "'01'")}, {"tests/parse.test.ts": before}) == []


def test_deleting_a_test_file_is_refused():
    assert check({}, {"tests/parse.test.ts": TEST}, deletes=("tests/parse.test.ts",)) == [
        "tests/parse.test.ts: deleting tests is not a fix"
    ]


def test_the_bundled_examples_answers_pass_every_phases_check():
    plan = parse_plan(PLAN)
    package: dict[str, str] = {}
    checked = []
    for phase in PHASES:
        answer_file = ANSWERS / f"{phase.slug}.txt"
        if not answer_file.is_file():
            continue
        answer = parse_answer(answer_file.read_text(encoding="utf-8"), phase)
        if phase.check is not None:
            assert phase.check(answer, plan, dict(package)) == [], phase.name
            checked.append(phase.name)
        for path in answer.deletes:
            package.pop(path, None)
        package.update(answer.files)
    assert {"CRITICAL_FIXES", "FINAL_POLISH"} <= set(checked)
