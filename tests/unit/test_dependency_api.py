"""Fast: what a dependent's prompt shows of a workspace dependency (package_builder/generation/dependency_api.py).

A suite's upper packages call the lower ones; the model writing `@acme/audit` must see `@acme/logger`'s real exports.
Each test writes a real package folder (manifest, `.d.ts` or `.ts` files, README) and reads its public API as the
prompt would: built packages by their declarations, unbuilt ones by their sources' signatures, never a file outside the
package, within a budget whose cut names the setting; and a digest that moves with the API and nothing else.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from monorepo import write_monorepo
from package_builder.generation.dependency_api import BUDGET_SETTING, public_api
from package_builder.generation.typescript_surface import surface

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_ANSWERS = REPO / "examples" / "data-validator" / "answers"
BIG = 100_000


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content, encoding="utf-8")
    return root


def manifest(**fields: object) -> str:
    return json.dumps({"name": "@acme/logger", "version": "1.2.0", **fields})


LOGGER_SOURCE = """\
import { format } from './format';

/** How loud a line is. */
export type Level = 'debug' | 'info' | 'warn' | 'error'

export interface LoggerOptions {
  /** Lines below this level are dropped. */
  level?: Level;
  sink?: (line: string) => void;
}

/**
 * Creates a logger that writes to `options.sink`.
 * @example createLogger({ level: 'warn' }).warn('disk almost full')
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const pattern = /[{}"'`]/g;  // braces and quotes in a regex must not confuse the scanner
  const banner = `${options.level ?? 'info'} } {`;
  if (options.level) { return new Logger(options, banner.replace(pattern, '')); }
  return new Logger({ ...options, level: 'info' }, 'BODY_ONLY_DETAIL');
}

export const DEFAULT_LEVEL: Level = 'info';

export class Logger {
  private lines: string[] = [];
  #written = 0;
  constructor(private readonly options: LoggerOptions, prefix: string) {
    this.lines.push(prefix);
  }
  /** Writes one line at `level`. */
  log(level: Level, message: string): void {
    this.#written++;
    this.options.sink?.(format(level, message));
  }
  get count(): number { return this.#written }
}
"""

LOGGER_README = """\
# @acme/logger

Small structured logging for the suite. (Prose the dependent's model does not need to see in full.)

## Install

```sh
npm install @acme/logger
```

## Usage

```ts
import { createLogger } from '@acme/logger';
const log = createLogger({ level: 'warn' });
```

## License

MIT
"""


def unbuilt_logger(root: Path) -> Path:
    return write(
        root / "logger",
        {
            "package.json": manifest(main="dist/index.js", types="dist/index.d.ts"),
            "src/index.ts": "export * from './logger';\nexport { format } from './format.js';\n",
            "src/logger.ts": LOGGER_SOURCE,
            "src/format.ts": "export function format(level: string, message: string): string {\n"
            "  return `[${level}] ${message}`;\n}\n",
            "README.md": LOGGER_README,
        },
    )


def built_logger(root: Path) -> Path:
    return write(
        root / "logger",
        {
            "package.json": manifest(main="dist/index.js", types="dist/index.d.ts"),
            "dist/index.d.ts": "export * from './logger';\nexport { format } from './format.js';\n"
            "export type { Sink } from './sink';\n//# sourceMappingURL=index.d.ts.map\n",
            "dist/logger.d.ts": "/** Creates a logger. */\n"
            "export declare function createLogger(level?: string): Logger;\n"
            "export declare class Logger {\n    log(message: string): void;\n}\n",
            "dist/format.d.ts": "export declare function format(level: string, message: string): string;\n",
            "dist/sink/index.d.ts": "export interface Sink {\n    write(line: string): void;\n}\n",
            "dist/unused.d.ts": "export declare const NOT_REEXPORTED = 1;\n",
            "src/index.ts": "export function shouldNotBeRead(): void {}\n",
            "README.md": LOGGER_README,
        },
    )


def test_a_built_package_shows_its_declaration_chain_whole(tmp_path):
    api = public_api(built_logger(tmp_path), BIG)

    assert api.source == "declarations"
    assert (api.name, api.version) == ("@acme/logger", "1.2.0")
    assert api.files == ("dist/index.d.ts", "dist/logger.d.ts", "dist/format.d.ts", "dist/sink/index.d.ts")
    for declaration in (
        "/** Creates a logger. */\nexport declare function createLogger(level?: string): Logger;",
        "export declare class Logger {\n    log(message: string): void;\n}",
        "export declare function format(level: string, message: string): string;",
        "export interface Sink {\n    write(line: string): void;\n}",
    ):
        assert declaration in api.text
    assert "NOT_REEXPORTED" not in api.text and "shouldNotBeRead" not in api.text
    assert "sourceMappingURL" not in api.text
    assert "const log = createLogger({ level: 'warn' });" in api.text  # the README's usage, after the API
    assert api.text.index("export interface Sink") < api.text.index("README: Usage")
    assert "npm install" not in api.text and "MIT" not in api.text
    assert not api.trimmed


def test_an_unbuilt_package_shows_its_signatures_without_bodies(tmp_path):
    api = public_api(unbuilt_logger(tmp_path), BIG)

    assert api.source == "sources"
    assert api.files == ("src/index.ts", "src/logger.ts", "src/format.ts")
    for signature in (
        "/** How loud a line is. */\nexport type Level = 'debug' | 'info' | 'warn' | 'error'",
        "  /** Lines below this level are dropped. */\n  level?: Level;",
        " * @example createLogger({ level: 'warn' }).warn('disk almost full')\n */\n"
        "export function createLogger(options: LoggerOptions = {}): Logger;",
        "export const DEFAULT_LEVEL: Level;",
        "export class Logger {\n  constructor(private readonly options: LoggerOptions, prefix: string);\n"
        "  /** Writes one line at `level`. */\n  log(level: Level, message: string): void;\n"
        "  get count(): number;\n}",
        "export function format(level: string, message: string): string;",
    ):
        assert signature in api.text
    for body in ("BODY_ONLY_DETAIL", "this.lines.push", "pattern", "return `[", "'info';", "#written", "private lines"):
        assert body not in api.text, body
    assert "import { format }" not in api.text


def test_overloads_show_their_signatures_and_not_the_implementation(tmp_path):
    root = write(
        tmp_path / "pkg",
        {
            "package.json": manifest(),
            "src/index.ts": "/** Parses a level. */\nexport function parse(text: string): Level;\n"
            "export function parse(code: number): Level;\n"
            "export function parse(input: any): any {\n  return IMPLEMENTATION(input);\n}\n"
            "export function other(): void {}\n",
        },
    )
    text = public_api(root, BIG).text
    assert "/** Parses a level. */\nexport function parse(text: string): Level;\n" in text
    assert "export function parse(code: number): Level;\nexport function other(): void;" in text
    assert "input: any" not in text and "IMPLEMENTATION" not in text


UI_SOURCE = """\
import React, { useState } from 'react';

export interface ButtonProps extends React.ButtonHTMLAttributes<HTMLButtonElement> {
  /** Visual style. */
  variant?: 'primary' | 'secondary';
}

/** A button. */
export const Button = ({ variant = 'primary', children, ...rest }: ButtonProps): JSX.Element => {
  const [count, setCount] = useState(0);
  return (
    <button className={`btn btn-${variant}`} onClick={() => setCount(count + 1)} {...rest}>
      {children} <span>{count > 1 ? 'many' : '/'}</span></button>
  );
};

export function Card<T extends { id: string }>({ item }: { item: T }) {
  if (!item) {
    return <div className="empty">{'{'}</div>;
  }
  return <div>{item.id}</div>;
}

export default Button;

export namespace Theme {
  export const dark = true;
  export function pick(name: string): string { return name + 'SECRET' }
}
export const createStore = <S,>(initial: S) => {
  let state = initial;
  return { get: () => state };
};
export const f: (a: string) => void = (a) => { console.log(a) };
export const enumLike = {
  A: 'a',
  B: 'b',
} as const;
export type Handler<E = Event> = (event: E) => void
export class Store<S> {
  static readonly VERSION = '1.0';
  abstract?: number
  get(key: string): S { return SECRET }
  set value(v: S) { SECRET }
  async *stream(): AsyncGenerator<S> { yield SECRET }
}
"""


def test_a_ui_package_in_tsx_shows_its_components_namespaces_and_constant_tables(tmp_path):
    """The suite's ui layer: React components whose JSX bodies hold braces, quotes and `</…>` the scanner must skip."""
    root = write(tmp_path / "ui", {"package.json": manifest(name="@acme/ui"), "src/index.tsx": UI_SOURCE})

    api = public_api(root, BIG)

    assert api.files == ("src/index.tsx",)
    for declaration in (
        "/** A button. */\nexport const Button = ({ variant = 'primary', children, ...rest }: ButtonProps): "
        "JSX.Element => …;",
        "export function Card<T extends { id: string }>({ item }: { item: T });",
        "export default Button;",
        "export namespace Theme {\n  export const dark = true;\n  export function pick(name: string): string;\n}",
        "export const createStore = <S,>(initial: S) => …;",
        "export const f: (a: string) => void;",
        "export const enumLike = {\n  A: 'a',\n  B: 'b',\n} as const;",
        "export type Handler<E = Event> = (event: E) => void",
        "export class Store<S> {\n  static readonly VERSION = '1.0';\n  abstract?: number;\n  get(key: string): S;\n"
        "  set value(v: S);\n  async *stream(): AsyncGenerator<S>;\n}",
    ):
        assert declaration in api.text, declaration
    assert "SECRET" not in api.text and "useState" not in api.text and "className" not in api.text


def test_comparisons_in_default_values_and_decorators_do_not_hide_a_body_or_a_member(tmp_path):
    root = write(
        tmp_path / "pkg",
        {
            "package.json": manifest(),
            "src/index.ts": "export function clamp(n: number, wide = LIMIT < 10): number {\n  return SECRET;\n}\n"
            "export class Panel {\n  @Input()\n  title: string = '';\n  @Output() closed = new Emitter<void>();\n"
            "  @HostListener('click', ['$event'])\n  onClick(e: Event): void { SECRET }\n}\n",
        },
    )
    text = public_api(root, BIG).text
    assert "export function clamp(n: number, wide = LIMIT < 10): number;" in text
    panel = "export class Panel {\n  title: string;\n  closed = new Emitter<void>();\n  onClick(e: Event): void;\n}"
    assert panel in text
    assert "SECRET" not in text and "@Input" not in text and "@HostListener" not in text


def edited(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize(
    "relative, old, new",
    [
        ("src/logger.ts", "'BODY_ONLY_DETAIL'", "'another body'"),
        ("src/format.ts", "return `[${level}] ${message}`;", "const line = `${level}: ${message}`;\n  return line;"),
        ("src/logger.ts", "/** Writes one line at `level`. */", "/** Writes one line, if loud enough. */"),
        ("src/logger.ts", "// braces and quotes in a regex", "// a different comment"),
        ("README.md", "Small structured logging", "Tiny logging"),
        ("README.md", "const log = createLogger({ level: 'warn' });", "const logger = createLogger();"),
        (
            "src/logger.ts",
            "log(level: Level, message: string): void {",
            "log(level: Level,\n      message: string,\n  ): void {",
        ),
        ("src/logger.ts", "export type Level = 'debug' | 'info'", 'export type Level = "debug" | "info"'),
        ("package.json", '"1.2.0"', '"1.2.1"'),
    ],
    ids=["body", "other-body", "jsdoc", "comment", "readme-prose", "readme-usage", "reformat", "quotes", "version"],
)
def test_a_change_behind_the_same_api_keeps_the_digest(tmp_path, relative, old, new):
    root = unbuilt_logger(tmp_path)
    before = public_api(root, BIG)
    edited(root, relative, old, new)
    assert public_api(root, BIG).digest == before.digest


@pytest.mark.parametrize(
    "relative, old, new",
    [
        ("src/format.ts", "export function format(", "export const SEPARATOR = ' ';\nexport function format("),
        ("src/logger.ts", "log(level: Level, message: string)", "log(level: Level, message: string | Error)"),
        ("src/logger.ts", "options: LoggerOptions = {}): Logger", "options: LoggerOptions = {}): Logger | null"),
        ("src/logger.ts", "  sink?: (line: string) => void;", "  sink: (line: string) => void;"),
        ("src/logger.ts", "'debug' | 'info'", "'trace' | 'debug' | 'info'"),
        ("src/logger.ts", "export const DEFAULT_LEVEL: Level", "export const DEFAULT_LEVEL: string"),
        ("src/index.ts", "export { format } from './format.js';\n", ""),
    ],
    ids=["new-export", "parameter-type", "return-type", "optional-field", "union-member", "const-type", "removed"],
)
def test_an_api_change_changes_the_digest(tmp_path, relative, old, new):
    root = unbuilt_logger(tmp_path)
    before = public_api(root, BIG)
    edited(root, relative, old, new)
    assert public_api(root, BIG).digest != before.digest


def test_a_built_package_keeps_its_digest_when_only_a_declaration_comment_changes(tmp_path):
    root = built_logger(tmp_path)
    before = public_api(root, BIG)
    edited(root, "dist/logger.d.ts", "/** Creates a logger. */", "/**\n * Creates a logger, nicely.\n */")
    assert public_api(root, BIG).digest == before.digest
    edited(root, "dist/logger.d.ts", "log(message: string): void;", "log(message: string): void;\n    flush(): void;")
    assert public_api(root, BIG).digest != before.digest


@pytest.mark.parametrize(
    "fields, files, entry",
    [
        ({"types": "./lib/main.d.ts"}, ["lib/main.d.ts"], "lib/main.d.ts"),
        ({"typings": "types/index.d.ts"}, ["types/index.d.ts"], "types/index.d.ts"),
        ({"exports": "./dist/index.js"}, ["dist/index.d.ts"], "dist/index.d.ts"),
        (
            {"exports": {".": "./dist/index.mjs", "./extra": "./dist/extra.js"}},
            ["dist/index.d.mts"],
            "dist/index.d.mts",
        ),
        (
            {
                "exports": {
                    ".": {
                        "import": {"types": "./dist/esm/index.d.mts", "default": "./dist/esm/index.mjs"},
                        "require": {"types": "./dist/cjs/index.d.cts", "default": "./dist/cjs/index.cjs"},
                    },
                    "./package.json": "./package.json",
                }
            },
            ["dist/esm/index.d.mts", "dist/cjs/index.d.cts"],
            "dist/esm/index.d.mts",
        ),
        ({"exports": {"require": "./dist/cjs/index.cjs"}}, ["dist/cjs/index.d.cts"], "dist/cjs/index.d.cts"),
        ({"exports": {".": {"types": "./missing.d.ts", "default": "./out/a.js"}}}, ["out/a.d.ts"], "out/a.d.ts"),
        ({"main": "build/entry.js"}, ["build/entry.d.ts"], "build/entry.d.ts"),
        ({"main": "build/entry"}, ["build/entry/index.d.ts"], "build/entry/index.d.ts"),
        ({}, ["index.d.ts"], "index.d.ts"),
    ],
    ids=[
        "types",
        "typings",
        "exports-string",
        "dot-entry",
        "nested-conditions",
        "bare-conditions",
        "fallback",
        "main",
        "main-folder",
        "npm-default",
    ],
)
def test_the_manifest_entry_is_found_through_types_exports_conditions_and_main(tmp_path, fields, files, entry):
    root = write(tmp_path / "pkg", {"package.json": manifest(**fields)})
    write(root, {path: f"export declare function from_{index}(): void;\n" for index, path in enumerate(files)})

    api = public_api(root, BIG)

    assert api.source == "declarations"
    assert api.files == (entry,)


def test_a_reexport_escaping_the_package_or_symlinked_out_of_it_is_not_read(tmp_path):
    outside = write(
        tmp_path / "other",
        {
            "secret.d.ts": "export declare const OUTSIDE_SECRET: string;\n",
            "secret.ts": "export const OUTSIDE_SOURCE = 1;\n",
        },
    )
    root = write(
        tmp_path / "packages" / "logger",
        {
            "package.json": manifest(types="dist/index.d.ts"),
            "dist/index.d.ts": "export * from '../../../other/secret';\nexport * from './linked';\n"
            "export * from './inside';\n",
            "dist/inside.d.ts": "export declare const INSIDE: number;\n",
        },
    )
    (root / "dist" / "linked.d.ts").symlink_to(outside / "secret.d.ts")

    api = public_api(root, BIG)

    assert api.files == ("dist/index.d.ts", "dist/inside.d.ts")
    assert "INSIDE" in api.text and "OUTSIDE_SECRET" not in api.text


def test_an_entry_outside_the_package_is_not_read_and_its_sources_are_used_instead(tmp_path):
    write(tmp_path / "other", {"index.d.ts": "export declare const OUTSIDE_SECRET: string;\n"})
    root = write(
        tmp_path / "packages" / "logger",
        {
            "package.json": manifest(types="../../other/index.d.ts"),
            "src/index.ts": "export * from '../../../other/index';\nexport const INSIDE = 1;\n",
        },
    )
    (root / "src" / "linked.ts").symlink_to(tmp_path / "other" / "index.d.ts")

    api = public_api(root, BIG)

    assert api.source == "sources"
    assert api.files == ("src/index.ts",)
    assert "OUTSIDE_SECRET" not in api.text


def test_a_package_reached_through_a_workspace_symlink_is_read_in_its_real_folder(tmp_path):
    """pnpm links `node_modules/@acme/logger` to `packages/logger`: both paths are the same package."""
    real = built_logger(tmp_path / "packages")
    link = tmp_path / "node_modules" / "@acme" / "logger"
    link.parent.mkdir(parents=True)
    link.symlink_to(real, target_is_directory=True)

    assert public_api(link, BIG) == public_api(real, BIG)


def test_reexport_cycles_read_each_file_once(tmp_path):
    root = write(
        tmp_path / "pkg",
        {
            "package.json": manifest(types="a.d.ts"),
            "a.d.ts": "export * from './b';\nexport declare const A: 1;\n",
            "b.d.ts": "export * from './a';\nexport * from './b.js';\nexport declare const B: 2;\n",
        },
    )
    assert public_api(root, BIG).files == ("a.d.ts", "b.d.ts")


def test_the_budget_trims_the_readme_before_the_api_and_names_the_setting(tmp_path):
    root = unbuilt_logger(tmp_path)
    usage_lines = "".join(f"log.warn('line {n}');\n" for n in range(30))
    edited(root, "README.md", "const log = createLogger({ level: 'warn' });\n", usage_lines)
    whole = public_api(root, BIG)
    api_part = whole.text[: whole.text.index("\n\n#### @acme/logger README")]

    readme_cut = public_api(root, len(whole.text) - 200)
    assert readme_cut.trimmed and len(readme_cut.text) <= len(whole.text) - 200
    assert readme_cut.text.startswith(api_part + "\n\n#### @acme/logger README: Usage")  # the API whole
    assert "log.warn('line 0');" in readme_cut.text and "log.warn('line 29');" not in readme_cut.text
    assert readme_cut.text.endswith(f"```\n… (trimmed to {len(whole.text) - 200} characters: {BUDGET_SETTING})")
    assert readme_cut.text.count("```") % 2 == 0  # the code fence the cut left open is closed

    api_cut = public_api(root, len(api_part) - 100)
    assert api_cut.trimmed and len(api_cut.text) <= len(api_part) - 100
    assert "README" not in api_cut.text
    assert api_cut.text.startswith(api_part[:200])
    assert "get count(): number;" not in api_cut.text  # the tail went
    assert api_cut.text.endswith(f"characters: {BUDGET_SETTING})")
    assert api_cut.digest == whole.digest  # what the model sees is cut, the API is not

    assert BUDGET_SETTING == "turnBasedGeneration.dependencyApiChars"


def test_a_readme_cut_inside_a_tilde_or_long_fence_closes_it_with_the_same_fence(tmp_path):
    lines = "".join(f"call({n});\n" for n in range(40))
    for fence in ("~~~", "````"):
        readme = f"## Usage\n\n{fence}ts\n```\n{lines}{fence}\n"
        root = write(tmp_path / fence, {"package.json": manifest(types="i.d.ts"), "i.d.ts": "", "README.md": readme})
        whole = public_api(root, BIG).text
        cut = public_api(root, len(whole) - 150).text
        assert "call(0);" in cut and "call(39);" not in cut
        assert cut.endswith(f"\n{fence}\n… (trimmed to {len(whole) - 150} characters: {BUDGET_SETTING})"), fence


def test_no_budget_is_ever_exceeded(tmp_path):
    root = unbuilt_logger(tmp_path)
    full = len(public_api(root, BIG).text)
    for budget in range(0, full + 2, 7):
        api = public_api(root, budget)
        assert len(api.text) <= budget, budget
        assert api.trimmed == (budget < full)


def test_a_package_with_nothing_readable_says_so_and_names_the_paths_looked_at(tmp_path):
    root = write(
        tmp_path / "empty",
        {
            "package.json": manifest(main="dist/index.js"),
            "README.md": LOGGER_README,
            "lib/index.js": "module.exports = {}",
        },
    )

    api = public_api(root, BIG)

    assert api.source == "none" and api.files == ()
    assert "@acme/logger@1.2.0: no readable public API" in api.text
    for looked_at in ("dist/index.d.ts", "index.d.ts", "src/index.ts", "src/index.tsx"):
        assert looked_at in api.text
    assert "createLogger({ level: 'warn' })" in api.text  # the README still says how to call it


def test_a_folder_without_a_manifest_is_named_after_itself(tmp_path):
    root = write(tmp_path / "bare", {"package.json": "{ not json", "src/index.ts": "export const X = 1;\n"})
    api = public_api(root, BIG)
    assert (api.name, api.version, api.source) == ("bare", "", "sources")
    assert "export const X = 1;" in api.text


def test_the_readme_usage_section_is_found_by_its_heading_not_inside_code(tmp_path):
    readme = (
        "# pkg\n\n```md\n## Usage\nnot a heading\n```\n\n## Quick Start\n\nquick start text\n\n"
        "## Examples\n\nexamples text\n\n## usage\n\nusage text\n\n### Details\n\ndetail text\n\n## API\n\napi prose\n"
    )
    root = write(tmp_path / "pkg", {"package.json": manifest(types="i.d.ts"), "i.d.ts": "", "readme.md": readme})
    text = public_api(root, BIG).text
    assert "README: usage\n\nusage text\n\n### Details\n\ndetail text" in text
    for other in ("quick start text", "examples text", "api prose", "not a heading"):
        assert other not in text

    write(root, {"readme.md": readme.replace("## usage\n\nusage text\n\n", "")})
    assert "README: Quick Start\n\nquick start text" in public_api(root, BIG).text


def test_backticks_in_the_api_do_not_close_its_code_block(tmp_path):
    root = write(
        tmp_path / "pkg",
        {
            "package.json": manifest(types="i.d.ts"),
            "i.d.ts": "/**\n * ```ts\n * run()\n * ```\n */\nexport declare function run(): void;\n",
        },
    )
    text = public_api(root, BIG).text
    assert "````ts\n" in text and text.rstrip().endswith("````")


def example_package(root: Path) -> Path:
    """The bundled example's package, assembled from its hand-written answers as the replayed generation writes it."""
    block = re.compile(r'^<file path="([^"]+)">\n(.*?)^</file>', re.DOTALL | re.MULTILINE)
    for answer in sorted(EXAMPLE_ANSWERS.glob("*.txt")):
        write(root, dict(block.findall(answer.read_text(encoding="utf-8"))))
    return root


def test_the_bundled_example_shows_every_export_of_its_entry_with_signatures_only(tmp_path):
    root = example_package(tmp_path / "data-validator")

    api = public_api(root, BIG)

    assert (api.name, api.source) == ("@example/data-validator", "sources")
    assert api.files[0] == "src/index.ts" and "src/schemas.ts" in api.files
    for signature in (
        "export function validate<T>(schema: Schema<T>, value: unknown): ValidationResult<T>;",
        "export function assertValid<T>(schema: Schema<T>, value: unknown): T;",
        "export function object<S extends Shape>(shape: S): Schema<{ [K in keyof S]: Infer<S[K]> }>;",
        "export class ValidationError extends DataValidatorError {",
        "export interface ValidationIssue {",
    ):
        assert signature in api.text, signature
    declarations = api.text[: api.text.index("README:")]
    bodies = [line for line in declarations.splitlines() if re.match(r"\s*(return|const|if|for)\b", line)]
    assert bodies == []


def test_a_javascript_workspace_package_shows_its_exports(tmp_path):
    """The build tests' monorepo is plain ESM JavaScript (`main: dist/index.js`, sources in src/): not built, its
    src/index.js says what it exports; built (dist/ without declarations), the entry itself does."""
    scope = write_monorepo(tmp_path, "npm")
    math = tmp_path / "packages" / "math"

    api = public_api(math, BIG)
    assert (api.name, api.source, api.files) == (f"{scope}/math", "sources", ("src/index.js",))
    assert "export const value = 'math' + core;" in api.text and "import" not in api.text

    (math / "src" / "index.js").rename(math / "index.js")
    write(math, {"dist/index.js": "export function built(a, b) {\n  return a + b;\n}\n"})
    api = public_api(math, BIG)
    assert (api.source, api.files) == ("sources", ("dist/index.js",))
    assert "export function built(a, b);" in api.text and "return" not in api.text


def test_sources_without_any_export_statement_say_so_rather_than_show_nothing(tmp_path):
    root = write(
        tmp_path / "cjs",
        {"package.json": manifest(main="index.js"), "index.js": "module.exports = { width: (s) => s.length };\n"},
    )
    api = public_api(root, BIG)
    assert api.source == "sources"
    assert "// index.js: no `export` statement found (CommonJS?)" in api.text


def hostile_sources() -> dict[str, str]:
    sources = {"logger": LOGGER_SOURCE, "ui": UI_SOURCE}
    for answer in sorted(EXAMPLE_ANSWERS.glob("*.txt")):
        for path, content in re.findall(r'^<file path="([^"]+\.ts)">\n(.*?)^</file>', answer.read_text(), re.S | re.M):
            sources[path] = content
    sources["odd"] = (
        "export const t = `a ${`b ${ {x: '}'} }`} c`; export default { a: 1 }\n"
        "export function f(this: Window, ...rest: Array<{ [k: string]: `x${number}` }>): asserts rest is never {}\n"
        "export abstract class A<T extends { a: 1 } = {}> implements I { abstract m(): void; static [Symbol.iterator]"
        "() {} }\n@decorator() export class B { @field() x = 1 }\nexport = thing\nexport declare namespace N { }\n"
        "export enum E { A = 1 << 2 } ; ; } ) ] export const r = /[/]/.test('/*'), q = 1 / 2 / 3\n"
    )
    return sources


def test_the_surface_scanner_never_raises_on_any_prefix_of_real_or_odd_sources():
    for name, source in hostile_sources().items():
        step = max(1, len(source) // 150)
        for end in [*range(0, len(source), step), len(source)]:
            result = surface(source[:end])
            assert isinstance(result, str), (name, end)


def test_the_whole_reader_never_raises_on_truncated_or_hostile_package_files(tmp_path):
    sources = hostile_sources()
    for index, (name, source) in enumerate(sources.items()):
        for end in (0, len(source) // 3, len(source) // 2, len(source)):
            root = write(
                tmp_path / f"p{index}-{end}",
                {
                    "package.json": manifest(exports={".": {"types": [None, 3, "./src/index.ts"]}}),
                    "src/index.ts": source[:end] + "\nexport * from './index';\nexport * from 'fs';\n",
                    "README.md": "## Usage\n```ts\n" + source[:end],
                },
            )
            api = public_api(root, 500)
            assert len(api.text) <= 500 and api.source == "sources", name


def test_symlink_loops_are_not_followed(tmp_path):
    root = write(tmp_path / "pkg", {"package.json": manifest(types="loop.d.ts"), "src/index.ts": "export const A = 1;"})
    os.symlink(root / "loop.d.ts", root / "loop.d.ts")
    api = public_api(root, BIG)
    assert api.source == "sources"
