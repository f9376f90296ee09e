"""Generation lives within the API's rate limits: a package under a tier-1 budget, and two packages at once (from one
`doit` or from two), finish with no 429, close to the time the token buckets allow. The Messages API server enforces
the limits as the real API does (output taken as it is produced, `reset` in whole seconds), with its minute shrunk
(`WINDOW`) so the story takes seconds; the package's answers are about half of each phase's output budget, as real
answers are. The server counts every 429 it answers (`rate_limited`)."""

from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest

import phases
from conftest import example_answer
from messages_api import MessagesAPIServer, RateLimits, Text

pytestmark = pytest.mark.slow  # minutes of token buckets, even shrunk

WINDOW = 20.0  # the server's "minute", in seconds
SLACK_SECONDS = 20  # process starts, the SDK's import, git: not paced, not shrunk


def realistic_answer(request) -> Text:
    """The example's answer for this phase and package, padded with prose to half the phase's output budget."""
    package = re.search(r"npm package `([^`]+)`", request.system).group(1)
    text = example_answer(request.phase).replace("@example/data-validator", package)
    target_chars = phases.BY_NAME[request.phase].max_tokens // 2 * 4
    lines = max(0, target_chars - len(text)) // 180 + 1
    filler = "\n".join("Notes on the design, kept for the reviewer. " * 4 for _ in range(lines))
    return Text(text + "\n" + filler[: max(0, target_chars - len(text))] + "\n")


@pytest.fixture
def api(request):
    """This module's Messages API server: realistic answers, and the limits of the test's class (`LIMITS`)."""
    with MessagesAPIServer(default=realistic_answer, limits=request.cls.LIMITS) as server:
        yield server


def token_bucket_bound(api: MessagesAPIServer, limits: RateLimits) -> float:
    """The least time any client could have taken: what was used beyond a full bucket, at the refill rate."""
    used = {
        "input": sum(a[2] for a in api.answered),
        "output": sum(a[3] for a in api.answered),
        "requests": len(api.answered),
    }
    caps = {"input": limits.input_tokens, "output": limits.output_tokens, "requests": limits.requests}
    return max(max(0.0, used[kind] - caps[kind]) / caps[kind] * limits.window_seconds for kind in caps)


def add_second_plan(project) -> None:
    plan = project.root / "plans" / "packages" / "core" / "data-validator.md"
    (plan.parent / "number-validator.md").write_text(
        plan.read_text().replace("@example/data-validator", "@example/number-validator")
    )


class TestOnePackageUnderTier1:
    LIMITS = RateLimits(requests=50, input_tokens=30_000, output_tokens=8_000, window_seconds=WINDOW)

    def test_it_finishes_with_no_429_close_to_the_bucket_bound(self, project):
        project.write_config(buildValidation={"enabled": False}, model={"maxRetries": 0})
        started = time.monotonic()
        result = project.doit("generate:data-validator", check=True, timeout=900)
        wall = time.monotonic() - started

        assert "15/15 phases done" in result.stdout
        assert project.api.rate_limited == [], result.stdout
        bound = token_bucket_bound(project.api, self.LIMITS)
        print(f"one package: wall {wall:.1f} s, bound {bound:.1f} s, 429s {len(project.api.rate_limited)}")
        assert bound > WINDOW, "the budget really binds in this story"
        assert wall <= 1.25 * bound + SLACK_SECONDS, (wall, bound)
        assert "for output-token budget (limit 8,000/min)" in result.stdout, "long waits are shown"


class TestTwoPackagesAtOnce:
    LIMITS = RateLimits(requests=50, input_tokens=60_000, output_tokens=16_000, window_seconds=WINDOW)

    def test_from_one_doit_both_finish_with_no_429(self, project):
        add_second_plan(project)
        project.write_config(
            buildValidation={"enabled": False}, model={"maxRetries": 0}, turnBasedGeneration={"maxConcurrentPhases": 2}
        )
        started = time.monotonic()
        project.doit("-n", "2", "generate", check=True, timeout=900)
        wall = time.monotonic() - started
        print(
            f"two packages, one doit: wall {wall:.1f} s, bound {token_bucket_bound(project.api, self.LIMITS):.1f} s, "
            f"429s {len(project.api.rate_limited)}"
        )

        assert project.api.rate_limited == []
        assert wall <= 1.25 * token_bucket_bound(project.api, self.LIMITS) + SLACK_SECONDS
        assert len(project.api.answered) == 2 * 13

    def test_from_two_doit_processes_sharing_the_key_both_finish_with_no_429(self, project):
        add_second_plan(project)
        project.write_config(
            buildValidation={"enabled": False}, model={"maxRetries": 0}, turnBasedGeneration={"maxConcurrentPhases": 2}
        )
        started = time.monotonic()
        first, second = project.popen("generate:data-validator"), project.popen("generate:number-validator")
        outputs = [process.communicate(timeout=900)[0] for process in (first, second)]
        wall = time.monotonic() - started
        print(
            f"two packages, two doits: wall {wall:.1f} s, bound {token_bucket_bound(project.api, self.LIMITS):.1f} s,"
            f" 429s {len(project.api.rate_limited)}"
        )

        assert first.returncode == second.returncode == 0, outputs
        assert project.api.rate_limited == []
        assert wall <= 1.25 * token_bucket_bound(project.api, self.LIMITS) + SLACK_SECONDS


def streamed_slowly(request) -> Text:
    """A realistic answer written over two seconds, as a model writes it: its headers go out before its output is
    taken, so they are two seconds old when the call ends."""
    return replace(realistic_answer(request), stream_seconds=2.0)


class TestStreamedAnswersUnderTightBuckets:
    LIMITS = RateLimits(requests=50, input_tokens=30_000, output_tokens=4_000, window_seconds=10.0)

    def test_six_phases_whose_every_answer_streams_get_no_429(self, project):
        project.api.default = streamed_slowly
        project.write_config(buildValidation={"enabled": False}, model={"maxRetries": 0, "streamAboveTokens": 1})

        result = project.doit("generate:data-validator:06-utilities", check=True, timeout=600)

        assert len(project.api.answered) == 6
        assert project.api.rate_limited == [], result.stdout
        assert token_bucket_bound(project.api, self.LIMITS) > self.LIMITS.window_seconds, "the buckets really bind"
