"""Benchmark: what one package costs, against a Messages API server on 127.0.0.1 that applies the real prompt-caching
rules, with answers about half of each phase's output budget (build validation off: the model's bill only).

Prints input tokens, the share read from the cache (goal >= 50 %), the input-side and total spend at Sonnet list
prices (goal: input side <= $0.20), and the same tokens priced as if nothing were cached (no cache_control: what the
layout saves). Run by hand: `.venv/bin/python bench/spend.py`.
"""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from bench_project import make_project  # noqa: E402
from messages_api import MessagesAPIServer  # noqa: E402
from test_rate_limits import realistic_answer  # noqa: E402

PRICES = {"input": 3.0, "output": 15.0, "write": 3.75, "read": 0.30}  # Sonnet, USD per million tokens


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, MessagesAPIServer(default=realistic_answer) as api:
        project, workspace = make_project(Path(tmp), buildValidation={"enabled": False})
        env = {
            **os.environ,
            "ANTHROPIC_API_KEY": "bench",
            "ANTHROPIC_BASE_URL": api.base_url,
            "XDG_CACHE_HOME": str(Path(tmp) / "cache"),
        }
        subprocess.run(
            [sys.executable, "-m", "doit", "generate:data-validator"],
            cwd=project,
            env=env,
            check=True,
            capture_output=True,
        )
        state = json.loads(next((workspace / ".generation-state").glob("gen-*.json")).read_text())
    used = {
        key: sum(u[key] for u in api.usage)
        for key in ("input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    }
    sent = used["input_tokens"] + used["cache_creation_input_tokens"] + used["cache_read_input_tokens"]
    input_usd = (
        used["input_tokens"] * PRICES["input"]
        + used["cache_creation_input_tokens"] * PRICES["write"]
        + used["cache_read_input_tokens"] * PRICES["read"]
    ) / 1e6
    output_usd = used["output_tokens"] * PRICES["output"] / 1e6
    uncached_usd = sent * PRICES["input"] / 1e6
    print(
        f"one package, {len(api.usage)} calls: {sent:,} input tokens, "
        f"{used['cache_read_input_tokens'] / sent:.0%} read from the cache (goal >= 50 %), "
        f"{used['output_tokens']:,} output tokens"
    )
    print(
        f"input side ${input_usd:.3f} (goal <= $0.20; ${uncached_usd:.3f} with nothing cached), "
        f"output ${output_usd:.3f}, total ${input_usd + output_usd:.3f} "
        f"(${uncached_usd + output_usd:.3f} with nothing cached)"
    )
    print(f"reported by package-builder: ${state['costUsd']:.4f}")


if __name__ == "__main__":
    main()
