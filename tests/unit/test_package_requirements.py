"""What the checkpoint records of a package's sources: strict TypeScript from its tsconfig as written, no `any` under
src/, JSDoc on every exported function and class; null when there is nothing to check yet."""

from __future__ import annotations

import pytest

from package_builder.generation.quality import jsdoc_on_exports, package_checks, strict_typescript

DOCUMENTED = """/** Parses a number. */
export function parse(text: string): number {
  return Number(text);
}

/**
 * A validator.
 */
@sealed
export class Validator {}

/** Overloads share the comment on their first signature. */
export function pick(value: string): string;
export function pick(value: number): number;
export function pick(value: string | number) {
  return value;
}

export const helper = 1;
export interface Shape { a: string }
"""


def test_nothing_to_check_is_recorded_as_not_checked():
    assert package_checks({"docs/architecture.md": "# plan"}) == {
        "strictTypeScript": None,
        "noAnyTypes": None,
        "jsdocRequired": None,
    }


@pytest.mark.parametrize(
    ("tsconfig", "strict"),
    [
        ('{\n  // tsc reads comments\n  "compilerOptions": {"strict": true,},\n}', True),
        ('{"compilerOptions": {"strict": false}}', False),
        ('{"compilerOptions": {"target": "ES2022"}}', False),
        ('{"extends": "../../tsconfig.base.json"}', None),
        ('{"extends": "../../tsconfig.base.json", "compilerOptions": {"strict": true}}', True),
        ('{"compilerOptions": {"outDir": "a//b", "strict": true}}', True),
        ("not json", None),
    ],
)
def test_strict_typescript_is_read_from_the_tsconfig_as_written(tsconfig, strict):
    assert strict_typescript(tsconfig) is strict


def test_documented_exports_pass_and_an_undocumented_one_fails():
    assert jsdoc_on_exports({"src/index.ts": DOCUMENTED}) is True
    missing = DOCUMENTED + "\nexport async function load(): Promise<void> {}\n"
    assert jsdoc_on_exports({"src/index.ts": DOCUMENTED, "src/load.ts": missing}) is False
    assert jsdoc_on_exports({"src/a.ts": "// a line comment is no JSDoc\nexport default class {}\n"}) is False
    assert jsdoc_on_exports({"src/a.ts": "/* nor a block comment */\nexport function a() {}\n"}) is False
    assert jsdoc_on_exports({"src/types.ts": "export type A = string;\n"}) is None


def test_an_any_in_src_is_found_but_not_in_a_comment_or_outside_src():
    clean = {
        "tsconfig.json": '{"compilerOptions": {"strict": true}}',
        "src/a.ts": DOCUMENTED,
        "src/b.ts": "// never use `: any` here\nexport type B = unknown;\n",
        "tests/a.test.ts": "const x = {} as any;\n",
    }
    assert package_checks(clean) == {"strictTypeScript": True, "noAnyTypes": True, "jsdocRequired": True}
    for code in ("let a: any;", "const b = c as any;", "const d = <any>e;"):
        assert package_checks({**clean, "src/c.ts": code})["noAnyTypes"] is False, code
