"""Benchmark: engine overhead per phase, and a no-op rerun, against an instant Messages API server on 127.0.0.1.

Prints: per-phase overhead (phase wall time minus model call time: prompt rendering, artifact, apply, commit,
checkpoint; goal ≤ 100 ms), and the no-op `doit generate:data-validator` after a full run (goal ≤ 0.5 s, 0 calls).
Run by hand: `.venv/bin/python bench/generation_overhead.py [repeats]`.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from bench_project import make_project  # noqa: E402
from conftest import answer_example  # noqa: E402
from messages_api import MessagesAPIServer  # noqa: E402

PHASE_LINE = re.compile(r"phase (\d\d)/15 (\w+) .*?, ([\d.]+) s")


def main(repeats: int = 5) -> None:
    with tempfile.TemporaryDirectory() as tmp, MessagesAPIServer(default=answer_example) as api:
        project, workspace = make_project(Path(tmp))
        env = {**os.environ, "ANTHROPIC_API_KEY": "bench", "ANTHROPIC_BASE_URL": api.base_url}
        doit = [sys.executable, "-m", "doit", "generate:data-validator"]

        started = time.perf_counter()
        full = subprocess.run(doit, cwd=project, env=env, capture_output=True, text=True, check=True)
        full_seconds = time.perf_counter() - started
        state = workspace / ".generation-state/data-validator"
        artifacts = {p.stem: json.loads(p.read_text()) for p in state.glob("*.json")}
        overheads = []
        for number, name, seconds in PHASE_LINE.findall(full.stdout):
            slug = next(s for s in artifacts if s.startswith(number))
            overheads.append((name, float(seconds) - artifacts[slug].get("modelSeconds", 0.0)))
        calls = len(api.hits)

        noop = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(doit, cwd=project, env=env, capture_output=True, check=True)
            noop.append(time.perf_counter() - started)

    # The first phase also pays for importing the SDK; BUILD_VALIDATION's time is the real toolchain, not overhead.
    steady = [o for name, o in overheads[1:] if name != "BUILD_VALIDATION"]
    print(f"full run: {full_seconds:.2f} s wall, {calls} model calls")
    for name, overhead in overheads:
        print(f"  {name:<20} engine overhead {overhead * 1000:6.0f} ms")
    print(
        "engine overhead per phase (median, phases 2-15 without BUILD_VALIDATION): "
        f"{statistics.median(steady) * 1000:.0f} ms (goal <= 100 ms)"
    )
    print(
        f"no-op rerun: {statistics.median(noop):.3f} s median of {repeats}, "
        f"{len(api.hits) - calls} model calls (goal <= 0.5 s, 0 calls)"
    )


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
