"""Benchmark: a no-op `doit build test` on a 50-package monorepo, against bare doit with the same tasks (one build and
one test per package, each with the same file_dep as package-builder gives it: the package's files, the root's tracked
files, the builds it waits for; every task up to date, the same doit settings: sqlite3 record, two threads).

What a user pays on every run where nothing changed, above doit's own checks: task loading (finding the packages,
what git tracks, turbo.json), the up-to-date checks of outputs and lockfile slices, and the closing table.
Goal: ≤ 0.5 ms per package above bare doit, the median of paired runs. Run by hand:
`.venv/bin/python bench/noop_build.py [packages] [files per package] [repeats]`.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from workspace_vs_turbo import doit_project

BUILD = """import { cpSync, mkdirSync } from 'node:fs';
mkdirSync('dist', { recursive: true });
cpSync('src', 'dist', { recursive: true });
"""
TEST = "import('./dist/index.js').then(() => process.exit(0));\n"

BARE_DODO = """import json, os
from pathlib import Path

ROOT = Path({workspace!r})
PACKAGES = json.loads((ROOT / "packages.json").read_text())
STAMPS = ROOT / ".bare-stamps"
# doit run the way package-builder runs it: its sqlite3 record, two threads (maxConcurrentBuilds: 2)
DOIT_CONFIG = {{"backend": "sqlite3", "dep_file": ".bare.doit.db", "num_process": 2, "par_type": "thread"}}


def touch(target):
    Path(target).parent.mkdir(parents=True, exist_ok=True)
    Path(target).write_text("done")


def package_files(folder):
    # what git tracks in a package (every file but dist/ and node_modules/), as package-builder's inputs are
    found = []
    for parent, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if d not in ("dist", "node_modules")]
        found += [os.path.join(parent, f) for f in files]
    return sorted(found)


# the root's tracked files (the lockfile is not one: package-builder reads each package's slice of it)
ROOT_FILES = sorted(str(p) for p in ROOT.iterdir() if p.is_file() and p.name != "package-lock.json")


def task_build():
    for name, deps in PACKAGES.items():
        yield {{
            "name": name,
            "actions": [(touch, [str(STAMPS / f"build-{{name}}")])],
            "file_dep": package_files(ROOT / "packages" / name) + ROOT_FILES
            + [str(STAMPS / f"build-{{d}}") for d in deps],
            "targets": [str(STAMPS / f"build-{{name}}")],
        }}


def task_test():
    # a test reads the package's files and its own and its dependencies' builds, as package-builder's test does
    for name, deps in PACKAGES.items():
        yield {{
            "name": name,
            "actions": [(touch, [str(STAMPS / f"test-{{name}}")])],
            "file_dep": package_files(ROOT / "packages" / name) + ROOT_FILES
            + [str(STAMPS / f"build-{{d}}") for d in [name, *deps]],
            "targets": [str(STAMPS / f"test-{{name}}")],
        }}
"""


def timed_pairs(commands: list[tuple[list[str], Path]], repeats: int, env: dict) -> list[list[float]]:
    """Each (command, folder)'s times, the commands taking turns so a busy moment hits each alike."""
    times: list[list[float]] = [[] for _ in commands]
    for _ in range(repeats):
        for index, (command, cwd) in enumerate(commands):
            started = time.perf_counter()
            subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
            times[index].append(time.perf_counter() - started)
    return times


def paired_cost(ours: list[float], theirs: list[float]) -> float:
    """What ours costs above theirs: the median of the differences of runs made one right after the other. On a
    shared virtual machine the speed of the whole machine drifts by 20% within a minute; a pair sees one speed, so
    the drift cancels, where the difference of two separate minimums swung from 0.3 to 0.6 ms per package between
    two runs of this script."""
    return statistics.median(a - b for a, b in zip(ours, theirs, strict=True))


def write_monorepo(workspace: Path, packages: int, files: int) -> dict[str, list[str]]:
    """`packages` packages in a tree (each depends on the one at half its index), each with `files` sources."""
    edges: dict[str, list[str]] = {}
    workspace.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=workspace, check=True)
    (workspace / "package.json").write_text(
        json.dumps({"name": "bench-noop", "private": True, "workspaces": ["packages/*"]}, indent=2)
    )
    (workspace / "turbo.json").write_text(
        json.dumps({"tasks": {"build": {"dependsOn": ["^build"], "outputs": ["dist/**"]}, "test": {}}})
    )
    (workspace / ".gitignore").write_text("node_modules\ndist\n.package-builder\n.bare-stamps\n")
    for index in range(packages):
        name = f"p{index:03d}"
        deps = [f"p{(index - 1) // 2:03d}"] if index else []
        edges[name] = deps
        folder = workspace / "packages" / name
        (folder / "src").mkdir(parents=True)
        manifest = {
            "name": f"@bench/{name}",
            "version": "1.0.0",
            "type": "module",
            "main": "dist/index.js",
            "scripts": {"build": "node build.mjs", "test": "node test.mjs"},
            "dependencies": {f"@bench/{dep}": "1.0.0" for dep in deps},
        }
        (folder / "package.json").write_text(json.dumps(manifest, indent=2))
        (folder / "build.mjs").write_text(BUILD)
        (folder / "test.mjs").write_text(TEST)
        (folder / "src" / "index.js").write_text(f"export const name = '{name}';\n")
        for number in range(files - 1):
            (folder / "src" / f"m{number:03d}.js").write_text(f"export const m{number} = {number};\n")
    (workspace / "packages.json").write_text(json.dumps(edges))
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run(git + ["add", "-A"], cwd=workspace, check=True)
    subprocess.run(git + ["commit", "-qm", "fixture"], cwd=workspace, check=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=workspace, check=True, capture_output=True)
    return edges


def no_op_times(tmp: Path, packages: int, files: int, repeats: int, env: dict) -> tuple[list[float], list[float]]:
    """(package-builder, bare doit): the times of no-op `doit build test`s of a fresh `packages`-package monorepo."""
    workspace = tmp / "workspace"
    write_monorepo(workspace, packages, files)
    project = doit_project(tmp, workspace, 2)
    bare = tmp / "bare"
    bare.mkdir()
    (bare / "dodo.py").write_text(BARE_DODO.format(workspace=str(workspace)))
    command = [sys.executable, "-m", "doit", "build", "test"]
    for cwd in (project, bare):  # the cold run, then one more so every record is settled
        for _ in range(2):
            done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"doit build test failed in {cwd}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    ours, theirs = timed_pairs([(command, project), (command, bare)], repeats, env)
    return ours, theirs


def main(packages: int = 50, files: int = 10, repeats: int = 60) -> None:
    # Compiled once, as a user's install is: this machine's shells set PYTHONDONTWRITEBYTECODE, which would make every
    # run compile our modules again while bare doit's come from site-packages' .pyc files.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"} | {"CI": "true"}
    small = max(1, packages // 5)
    with tempfile.TemporaryDirectory() as big_tmp, tempfile.TemporaryDirectory() as small_tmp:
        ours, theirs = no_op_times(Path(big_tmp), packages, files, repeats, env)
        ours_small, theirs_small = no_op_times(Path(small_tmp), small, files, repeats, env)
    above, above_small = paired_cost(ours, theirs), paired_cost(ours_small, theirs_small)
    ms = {name: min(values) * 1000 for name, values in (("ours", ours), ("theirs", theirs), ("ours_small", ours_small),
                                                          ("theirs_small", theirs_small))}  # fmt: skip
    print(f"no-op doit build test, {files} files a package, {repeats} runs each, taking turns; fastest runs:")
    print(f"  {packages} packages: package-builder {ms['ours']:.0f} ms, bare doit (same tasks) {ms['theirs']:.0f} ms")
    print(f"  {small} packages: package-builder {ms['ours_small']:.0f} ms, bare doit {ms['theirs_small']:.0f} ms")
    per_package = above * 1000 / packages
    print(f"  above bare doit at {packages}: {per_package:.2f} ms per package (median of paired runs; goal <= 0.5)")
    marginal = (above - above_small) * 1000 / (packages - small)
    print(f"  of which each package adds {marginal:.2f} ms; the rest is fixed (imports, git, the closing table)")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:]))
