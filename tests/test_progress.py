"""A long model call shows that it is alive: in CI or a pipe, a plain line per running call every
`model.progressEverySeconds` with its elapsed time and the output tokens streamed so far; on a terminal, a live line
drawn in place (rich) that is gone when the call ends."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time

import pytest

from conftest import example_answer
from messages_api import Text

pytestmark = pytest.mark.slow  # a streamed answer spread over seconds, twice

PLANNING = "generate:data-validator:01-planning"
ANSWERING = re.compile(
    r"^\[data-validator\] phase 01/15 PLANNING  answering: (\d+) s, ≈([\d,]+) of ([\d,]+) output "
    r"tokens$",
    re.M,
)


@pytest.fixture
def slow_planning(project):
    """PLANNING streams its answer over three seconds; every call streams; progress lines twice a second."""
    project.write_config(model={"streamAboveTokens": 1, "progressEverySeconds": 0.5})
    project.api.script("PLANNING", Text(example_answer("PLANNING"), stream_seconds=3.0))
    return project


def test_without_a_terminal_a_long_call_prints_plain_lines_with_its_time_and_tokens(slow_planning):
    result = slow_planning.doit(PLANNING, check=True, CI="true")

    lines = ANSWERING.findall(result.stdout)
    assert len(lines) >= 3, result.stdout
    tokens = [int(streamed.replace(",", "")) for _, streamed, _ in lines]
    assert tokens == sorted(tokens) and tokens[-1] > tokens[0], "the count grows as the answer streams"
    assert len({budget for _, _, budget in lines}) == 1, "the one call's output budget"
    assert "\x1b[" not in result.stdout, "no terminal escape codes in a log"
    assert re.search(r"PLANNING  [\d,]+ in / [\d,]+ out tokens", result.stdout), "then the usual closing line"


def test_on_a_terminal_the_call_is_one_live_line_that_is_gone_when_it_ends(slow_planning):
    main, secondary = pty.openpty()
    env = slow_planning.env(CI=None, TERM="xterm-256color", COLUMNS="160")
    process = subprocess.Popen(
        [sys.executable, "-m", "doit", PLANNING],
        cwd=slow_planning.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=secondary,
        stderr=secondary,
    )
    os.close(secondary)
    output = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([main], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(main, 65536)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
        elif process.poll() is not None:
            break
    process.wait(timeout=30)
    os.close(main)
    text = output.decode("utf-8", "replace")

    assert process.returncode == 0, text
    assert "answering:" in text and "output tokens" in text, text
    assert "\x1b[" in text, "drawn in place with terminal codes"
    assert len(ANSWERING.findall(text.replace("\r", "\n"))) == 0, "no plain progress lines on a terminal"
