"""Benchmark: `doit build test` against Turborepo (`turbo run build test`) on the same monorepo, same concurrency.

Run by hand: `.venv/bin/python bench/workspace_vs_turbo.py [--concurrency 2] [--rounds 3]`. It writes the tests'
six-package fixture monorepo (npm workspaces, real builds and `node --test` suites) twice, once per tool, and times
four runs of each: cold (nothing built, no cache), no-op (nothing changed), after an edit to the deepest package's
source, and after reverting that edit (both tools restore from their caches). Goals: cold and after-edit ≤ 1.1×,
no-op and after-revert ≤ 1.0× turbo.
Turbo is installed from npm into bench/turbo/ on first use. Its cache is local only (no remote cache).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from monorepo import write_monorepo  # noqa: E402

TURBO_DIR = ROOT / "bench" / "turbo"
TURBO = TURBO_DIR / "node_modules" / ".bin" / "turbo"


def run(command: list[str], cwd: Path, env: dict) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return seconds


def monorepo(folder: Path, extra_files: int = 0) -> Path:
    workspace = folder / "workspace"
    workspace.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=workspace, check=True)
    write_monorepo(workspace)
    for package in sorted((workspace / "packages").iterdir()):  # a bigger package: more to hash, copy and restore
        for number in range(extra_files):
            (package / "src" / f"module-{number:04d}.js").write_text(
                f"export const value{number} = {number};\n" + "// filler\n" * 40
            )
    manifest = json.loads((workspace / "package.json").read_text())
    npm_version = subprocess.run(["npm", "--version"], capture_output=True, text=True, check=True).stdout.strip()
    manifest["packageManager"] = f"npm@{npm_version}"  # turbo 2 wants it; doit ignores it
    (workspace / "package.json").write_text(json.dumps(manifest, indent=2))
    (workspace / "turbo.json").write_text(
        json.dumps(
            {
                "tasks": {
                    "build": {"dependsOn": ["^build"], "outputs": ["dist/**"]},
                    "test": {"dependsOn": ["build"], "outputs": []},
                }
            },
            indent=2,
        )
    )
    git = ["git", "-c", "user.name=bench", "-c", "user.email=bench@localhost"]
    subprocess.run(git + ["add", "-A"], cwd=workspace, check=True)
    subprocess.run(git + ["commit", "-qm", "fixture"], cwd=workspace, check=True)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=workspace, check=True, capture_output=True)
    return workspace


def doit_project(folder: Path, workspace: Path, concurrency: int) -> Path:
    project = folder / "project"
    project.mkdir()
    for name in ("dodo.py", "phases", "prompts"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, project / name)
    (project / "configs").mkdir()
    (project / "configs" / "build-env.json").write_text(
        json.dumps({"workspaceRoot": str(workspace), "maxConcurrentBuilds": concurrency})
    )
    return project


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--extra-files",
        type=int,
        default=0,
        help="source files added to each package (each built into dist/): a bigger repo",
    )
    args = parser.parse_args()
    if not TURBO.exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=TURBO_DIR, check=True, capture_output=True)
    env = {**os.environ, "TURBO_TELEMETRY_DISABLED": "1", "DO_NOT_TRACK": "1", "CI": "true"}
    stages = ("cold", "no-op", "after edit", "after revert")
    times: dict[str, list[float]] = {f"{tool} {stage}": [] for tool in ("doit", "turbo") for stage in stages}
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            ours = monorepo(Path(tmp) / "doit", args.extra_files)
            project = doit_project(Path(tmp) / "doit", ours, args.concurrency)
            theirs = monorepo(Path(tmp) / "turbo", args.extra_files)
            commands = {
                "doit": ([sys.executable, "-m", "doit", "build", "test"], project, ours),
                "turbo": (
                    [
                        str(TURBO),
                        "run",
                        "build",
                        "test",
                        f"--concurrency={args.concurrency}",
                        "--output-logs=errors-only",
                    ],
                    theirs,
                    theirs,
                ),
            }
            for tool, (command, cwd, workspace) in commands.items():
                source = workspace / "packages" / "core" / "src" / "index.js"
                original = source.read_text()
                times[f"{tool} cold"].append(run(command, cwd, env))
                times[f"{tool} no-op"].append(run(command, cwd, env))
                source.write_text(original + "// an edit: core, and what depends on it, build and test again\n")
                times[f"{tool} after edit"].append(run(command, cwd, env))
                source.write_text(original)
                times[f"{tool} after revert"].append(run(command, cwd, env))
    median = {name: statistics.median(values) for name, values in times.items()}
    print(
        f"six packages (+{args.extra_files} source files each), concurrency {args.concurrency}, median of "
        f"{args.rounds} round(s); install not timed"
    )
    goals = {"cold": 1.1, "no-op": 1.0, "after edit": 1.1, "after revert": 1.0}
    print(f"  {'stage':<13} {'doit':>7} {'turbo':>7}  ratio (goal)")
    for stage in stages:
        ours, theirs = median[f"doit {stage}"], median[f"turbo {stage}"]
        print(f"  {stage:<13} {ours:6.2f}s {theirs:6.2f}s  {ours / theirs:.2f} (<= {goals[stage]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
