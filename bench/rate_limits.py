"""Benchmark: two packages generated at once under a usual API tier, against a Messages API server on 127.0.0.1 that
enforces token buckets as the real API does (answers about half of each phase's output budget).

Prints the wall time, the token-bucket lower bound (the least time any client could take for the tokens used), their
ratio (goal ≤ 1.25, plus 20 s of process overhead) and how many requests were answered 429 (goal: none).
Run by hand: `.venv/bin/python bench/rate_limits.py [--window 60] [--processes 1|2]` (--window shrinks the API's
minute to make a quick run; the default is the real 60 s, about two minutes a run).
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench_project import make_project  # noqa: E402
from messages_api import MessagesAPIServer, RateLimits  # noqa: E402
from test_rate_limits import realistic_answer, token_bucket_bound  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--window", type=float, default=60.0, help="the API's minute, in seconds")
    parser.add_argument(
        "--processes",
        type=int,
        choices=(1, 2),
        default=1,
        help="one `doit -n 2 generate`, or two doit processes sharing the key",
    )
    args = parser.parse_args()
    limits = RateLimits(requests=50, input_tokens=60_000, output_tokens=16_000, window_seconds=args.window)
    with tempfile.TemporaryDirectory() as tmp, MessagesAPIServer(default=realistic_answer, limits=limits) as api:
        tmp = Path(tmp)
        project, _ = make_project(
            tmp,
            ("data-validator", "number-validator"),
            buildValidation={"enabled": False},
            model={"maxRetries": 0},
            turnBasedGeneration={"maxConcurrentPhases": 2},
        )
        env = {
            **os.environ,
            "ANTHROPIC_API_KEY": "bench",
            "ANTHROPIC_BASE_URL": api.base_url,
            "XDG_CACHE_HOME": str(tmp / "cache"),
        }
        doit = [sys.executable, "-m", "doit"]
        commands = (
            [doit + ["-n", "2", "generate"]]
            if args.processes == 1
            else [doit + ["generate:data-validator"], doit + ["generate:number-validator"]]
        )

        started = time.perf_counter()
        running = [
            subprocess.Popen(c, cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            for c in commands
        ]
        outputs = [process.communicate()[0] for process in running]
        wall = time.perf_counter() - started
        if any(process.returncode for process in running):
            sys.exit("a run failed:\n" + "\n".join(outputs))

        bound = token_bucket_bound(api, limits)
        print(
            f"two packages, {args.processes} doit process(es), limits 50 rpm / 60k itpm / 16k otpm, "
            f"window {args.window:.0f} s"
        )
        print(f"requests served: {len(api.answered)}, answered 429: {len(api.rate_limited)} (goal: 0)")
        print(f"output tokens: {sum(a[3] for a in api.answered):,}, input tokens: {sum(a[2] for a in api.answered):,}")
        print(
            f"wall time: {wall:.1f} s, token-bucket lower bound: {bound:.1f} s, ratio {wall / bound:.2f} "
            f"(goal <= 1.25, + 20 s)"
        )


if __name__ == "__main__":
    main()
