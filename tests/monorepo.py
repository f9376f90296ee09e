"""A small real monorepo for the build/test/publish tests: npm workspaces, six packages, real `npm install`,
build and test scripts run by node. Each build logs its start and end (BUILD_LOG) so tests can see order and overlap.

    colors   dates   strings   core ← math ← app (also needs strings)
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path

PACKAGES = {  # short name: workspace dependencies
    "core": [],
    "strings": [],
    "dates": [],
    "colors": [],
    "math": ["core"],
    "app": ["math", "strings"],
}
_SCOPES = itertools.count(1)

BUILD_SCRIPT = """import { appendFileSync, cpSync, mkdirSync, readFileSync } from 'node:fs';
const { name } = JSON.parse(readFileSync('package.json', 'utf8'));
const log = process.env.BUILD_LOG;
if (log) appendFileSync(log, `start ${name} ${Date.now()}\\n`);
await new Promise((resolve) => setTimeout(resolve, 700));
mkdirSync('dist', { recursive: true });
cpSync('src', 'dist', { recursive: true });
if (log) appendFileSync(log, `end ${name} ${Date.now()}\\n`);
"""


# The versions tests/tools/ installs; yarn berry is reached through .yarnrc.yml's yarnPath, as its users do.
MANAGERS = {"npm": None, "pnpm": "pnpm@9.15.0", "yarn": "yarn@1.22.22", "yarn-berry": "yarn@4.5.3"}
YARN_BERRY = Path(__file__).parent / "tools/yarn-berry/node_modules/@yarnpkg/cli-dist/bin/yarn.js"
LINKS_WITH_WORKSPACE_PROTOCOL = ("pnpm", "yarn-berry")


def write_workspace_root(root: Path, manager: str, glob: str, name: str) -> None:
    """A monorepo's root as `manager`'s users write it: package.json with `packageManager` and npm/yarn `workspaces`,
    or pnpm-workspace.yaml, and yarn berry's .yarnrc.yml (node-modules linker) pointing at the berry tests/tools has."""
    manifest = {"name": name, "private": True}
    if MANAGERS[manager]:
        manifest["packageManager"] = MANAGERS[manager]
    if manager == "pnpm":
        (root / "pnpm-workspace.yaml").write_text(f"packages:\n  - '{glob}'\n")
    else:
        manifest["workspaces"] = [glob]
    if manager == "yarn-berry":
        (root / ".yarnrc.yml").write_text(f"yarnPath: {YARN_BERRY}\nnodeLinker: node-modules\nenableTelemetry: false\n")
    (root / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")  # as yarn berry writes it


def write_monorepo(root: Path, manager: str = "npm") -> str:
    """Write the monorepo into `root` (an existing git work tree) and return its scope, unique in the session.
    `manager` picks npm, yarn classic or yarn berry `workspaces`, or pnpm-workspace.yaml; pnpm and yarn berry link
    packages with the `workspace:` protocol, which they rewrite to real ranges when they pack."""
    scope = f"@ws{next(_SCOPES)}-{root.parent.name[-6:].lower().replace('_', '-')}"
    write_workspace_root(root, manager, "packages/*", "fixture-monorepo")
    (root / "tools").mkdir()
    (root / "tools" / "build.mjs").write_text(BUILD_SCRIPT)
    (root / ".gitignore").write_text("node_modules/\ndist/\n.turbo/\n.yarn/\n")
    for short, deps in PACKAGES.items():
        folder = root / "packages" / short
        (folder / "src").mkdir(parents=True)
        (folder / "test").mkdir()
        manifest = {
            "name": f"{scope}/{short}",
            "version": "1.0.0",
            "type": "module",
            "main": "dist/index.js",
            "files": ["dist"],
            "publishConfig": {"access": "public"},
            "scripts": {"build": "node ../../tools/build.mjs", "test": "node --test test/"},
            "dependencies": {
                f"{scope}/{dep}": "workspace:^1.0.0" if manager in LINKS_WITH_WORKSPACE_PROTOCOL else "^1.0.0"
                for dep in deps
            },
        }
        if not deps:
            del manifest["dependencies"]  # yarn berry removes an empty one on install
        (folder / "package.json").write_text(json.dumps(manifest, indent=2) + "\n")
        imports = "".join(f"import {{ value as {d} }} from '{scope}/{d}';\n" for d in deps)
        total = " + ".join([f"'{short}'", *deps]) if deps else f"'{short}'"
        (folder / "src" / "index.js").write_text(f"{imports}export const value = {total};\n")
        expected = short + "".join(_expected(d) for d in deps)
        (folder / "test" / "index.test.js").write_text(
            "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n"
            f"import {{ value }} from '../dist/index.js';\n\n"
            f"test('{short} builds its value', () => assert.equal(value, '{expected}'));\n"
        )
    return scope


def names(project, *shorts):
    """The full names of the fixture's packages: names(monorepo, "core") == ["@ws1-.../core"]."""
    return [f"{project.scope}/{short}" for short in shorts]


def _expected(short: str) -> str:
    return short + "".join(_expected(d) for d in PACKAGES[short])


def build_log(path: Path) -> list[tuple[str, str, int]]:
    """(event, package, millis) in the order written."""
    if not path.exists():
        return []
    return [(event, name, int(ms)) for event, name, ms in (line.split() for line in path.read_text().splitlines())]


def most_at_once(events: list[tuple[str, str, int]]) -> int:
    running = peak = 0
    for event, _, _ in sorted(events, key=lambda e: (e[2], e[0] == "start")):  # an end before a start at the same ms
        running += 1 if event == "start" else -1
        peak = max(peak, running)
    return peak
