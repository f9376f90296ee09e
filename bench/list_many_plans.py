"""Benchmark: `doit list` with 50 plans, against bare doit listing the same number of trivial tasks.

Goal: ratio ≤ 1.5. Run by hand: `.venv/bin/python bench/list_many_plans.py [plans] [repeats]`.
"""

import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PHASE_TASKS = 17  # 15 phases + the plan's group task + its summary


def median_seconds(command: list[str], cwd: Path, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run(command, cwd=cwd, check=True, capture_output=True)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main(plans: int = 50, repeats: int = 11) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "project"
        project.mkdir()
        shutil.copy(ROOT / "dodo.py", project)
        shutil.copytree(ROOT / "phases", project / "phases")
        shutil.copytree(ROOT / "prompts", project / "prompts")
        plan = (ROOT / "examples/data-validator/plans/packages/core/data-validator.md").read_text()
        (project / "plans/packages/core").mkdir(parents=True)
        (project / "configs").mkdir()
        (project / "configs/build-env.json").write_text('{"workspaceRoot": "../workspace"}')
        for i in range(plans):
            text = plan.replace("@example/data-validator", f"@example/pkg-{i:03d}")
            (project / f"plans/packages/core/pkg-{i:03d}.md").write_text(text)

        bare = Path(tmp) / "bare"
        bare.mkdir()
        (bare / "dodo.py").write_text(
            "DOIT_CONFIG = {'backend': 'sqlite3', 'dep_file': '.bare.db'}\n"
            "def task_trivial():\n"
            f"    for i in range({plans * PHASE_TASKS}):\n"
            "        yield {'name': str(i), 'actions': None, 'doc': 'trivial'}\n"
        )

        doit = [sys.executable, "-m", "doit", "list"]
        ours = median_seconds(doit, project, repeats)
        baseline = median_seconds(doit, bare, repeats)
    print(f"doit list, {plans} plans ({plans * PHASE_TASKS} tasks): {ours * 1000:.0f} ms (median of {repeats})")
    print(f"bare doit list, {plans * PHASE_TASKS} trivial tasks:     {baseline * 1000:.0f} ms")
    print(f"ratio: {ours / baseline:.2f} (goal <= 1.5)")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
