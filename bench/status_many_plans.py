"""Benchmark: `doit status` over 50 plans that have all been generated (15 artifacts and a checkpoint each).

Run by hand: `.venv/bin/python bench/status_many_plans.py [--plans 50] [--rounds 5]`. It needs the bundled example's
generation (`scripts/example`, run first if `.example-workspace/` is missing) and copies its checkpoint and artifacts
once per plan, renamed, so every plan has real-sized artifacts to read and compare. Goal: ≤ 0.5 s for 50 plans, the
whole command. It prints the time of `doit status` and of `doit status --json`, and of a bare `doit list` for scale.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_project import ROOT, make_project

EXAMPLE = ROOT / ".example-workspace"


def seed_states(workspace: Path, project: Path, names: list[str]) -> None:
    """Each plan gets the example's checkpoint and artifacts with its own names in them."""
    source = EXAMPLE / ".generation-state"
    state_file = next(source.glob("gen-*.json"))
    state_text = state_file.read_text()
    artifacts = sorted((source / "data-validator").glob("*.json"))
    target = workspace / ".generation-state"
    for number, name in enumerate(names):
        plan_path = project / "plans/packages/core" / f"{name}.md"
        data = json.loads(state_text.replace("data-validator", name))
        data["planPath"] = str(plan_path)
        data["workspaceRoot"] = str(workspace)
        data["sessionId"] = f"gen-{1795700000000 + number}"
        (target / name).mkdir(parents=True, exist_ok=True)
        (target / f"{data['sessionId']}.json").write_text(json.dumps(data))
        for artifact in artifacts:
            (target / name / artifact.name).write_text(artifact.read_text().replace("data-validator", name))


def timed(command: list[str], cwd: Path) -> tuple[float, str]:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env={**os.environ})
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return seconds, done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plans", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not list(EXAMPLE.glob(".generation-state/gen-*.json")):
        subprocess.run(["bash", str(ROOT / "scripts/example")], check=True, capture_output=True)
    names = ["data-validator"] + [f"validator-{n:02d}" for n in range(1, args.plans)]
    with tempfile.TemporaryDirectory() as tmp:
        project, workspace = make_project(Path(tmp), tuple(names))
        seed_states(workspace, project, names)
        doit = [sys.executable, "-m", "doit"]
        _, text = timed([*doit, "status", "--json"], project)
        states = [plan["state"] for plan in json.loads(text)["plans"]]
        times = {"doit status": [], "doit status --json": [], "doit list (for scale)": []}
        for _ in range(args.rounds):
            times["doit status"].append(timed([*doit, "status"], project)[0])
            times["doit status --json"].append(timed([*doit, "status", "--json"], project)[0])
            times["doit list (for scale)"].append(timed([*doit, "list"], project)[0])
    print(f"{args.plans} plans, each with a checkpoint and 15 artifacts; median of {args.rounds} round(s)")
    print(f"  states read: {dict((s, states.count(s)) for s in sorted(set(states)))}")
    for name, values in times.items():
        print(f"  {name:<24} {statistics.median(values):6.3f} s")
    print(f"  goal: doit status <= 0.5 s ({'met' if statistics.median(times['doit status']) <= 0.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
