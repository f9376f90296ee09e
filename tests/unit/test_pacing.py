"""The pacer keeps calls within the API's token buckets, learning limits and refill rates from the answers' headers,
sharing one budget between every process that uses the key, and telling the user when it makes them wait."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime
from email.utils import formatdate

import pytest

from package_builder.base.errors import ModelCallError
from package_builder.generation.bucket_stores import SqliteBuckets
from package_builder.generation.pacing import Pacer, Usage, cache_dir
from package_builder.generation.providers import anthropic


class Clock:
    """A fake clock that sleeping advances: waits are computed, not slept."""

    def __init__(self):
        self.now = 1_800_000_000.0
        self.slept = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.slept += seconds


def headers(now: float, window: float = 60.0, **levels) -> dict:
    """The API's rate-limit headers for buckets at `levels` (kind=(limit, remaining)), refilled in `window` s."""
    out = {}
    for name, (limit, remaining) in levels.items():
        kind = name.replace("_", "-")
        reset = now + (limit - remaining) / limit * window
        out[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
        out[f"anthropic-ratelimit-{kind}-remaining"] = str(remaining)
        out[f"anthropic-ratelimit-{kind}-reset"] = datetime.fromtimestamp(reset, UTC).isoformat()
    return out


def api_headers(stated_at: float, window: float, **levels) -> dict:
    """What the real API sends at `stated_at` for buckets at `levels` (kind=(limit, level)): `reset` and `date` in
    whole seconds (RFC 3339 and HTTP-date, both cut to the second), `remaining` rounded down."""
    out = {"date": formatdate(stated_at, usegmt=True)}
    for name, (limit, level) in levels.items():
        kind = name.replace("_", "-")
        reset = math.floor(stated_at + (limit - level) / limit * window)
        out[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
        out[f"anthropic-ratelimit-{kind}-remaining"] = str(max(0, math.floor(level)))
        out[f"anthropic-ratelimit-{kind}-reset"] = (
            datetime.fromtimestamp(reset, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        )
    return out


@pytest.fixture
def clock():
    return Clock()


def pacer(tmp_path, clock, said=None, caps=None) -> Pacer:
    return Pacer(
        tmp_path / "key.sqlite",
        caps,
        say=(said.append if said is not None else lambda line: None),
        clock=clock,
        sleep=clock.sleep,
    )


def test_nothing_is_limited_until_the_api_names_a_limit(tmp_path, clock):
    taken = pacer(tmp_path, clock).reserve(Usage(1, 50_000, 64_000), deadline=clock.now)
    assert taken == Usage(0, 0, 0) and clock.slept == 0


def test_the_refill_rate_is_learned_from_the_headers_whatever_the_window(tmp_path, clock):
    shared = pacer(tmp_path, clock)
    # This API refills 30,000 input tokens per 6 s (a shrunk window): `reset` says so.
    shared.settle(Usage(0, 0, 0), Usage(0, 0, 0), headers(clock.now, window=6, input_tokens=(30_000, 10_000)))
    shared.reserve(Usage(1, 25_000, 100), deadline=clock.now + 900)
    assert 3.0 <= clock.slept <= 4.0, "15,000 short at 5,000 per second (read as no faster than 4,000), not 500"


def test_the_output_bucket_only_has_to_be_out_of_debt(tmp_path, clock):
    shared = pacer(tmp_path, clock)
    shared.settle(Usage(0, 0, 0), Usage(0, 0, 0), headers(clock.now, output_tokens=(8_000, 8_000)))
    taken = shared.reserve(Usage(1, 10, 6_000), deadline=clock.now)
    shared.settle(taken, Usage(1, 10, 12_000), None)  # 4,000 in debt
    shared.reserve(Usage(1, 10, 6_000), deadline=clock.now + 900)
    assert 29 <= clock.slept <= 31, "4,000 of debt at 8,000/min: 30 s, whatever the next call's max_tokens"


def test_a_wait_longer_than_a_few_seconds_is_shown_with_the_limit(tmp_path, clock):
    said = []
    shared = pacer(tmp_path, clock, said)
    shared.settle(Usage(0, 0, 0), Usage(1, 30_000, 0), headers(clock.now, input_tokens=(30_000, 0)))
    shared.reserve(Usage(1, 20_000, 4000), deadline=clock.now + 900)
    assert said == ["waiting 40 s for input-token budget (limit 30,000/min)"]
    assert 39 <= clock.slept <= 41


def test_two_processes_with_one_key_share_one_budget(tmp_path, clock):
    first, second = pacer(tmp_path, clock), pacer(tmp_path, clock)  # two Pacer objects on one file, as two processes
    first.settle(Usage(0, 0, 0), Usage(0, 0, 0), headers(clock.now, input_tokens=(30_000, 30_000)))
    first.reserve(Usage(1, 25_000, 100), deadline=clock.now + 900)
    second.reserve(Usage(1, 25_000, 100), deadline=clock.now + 900)
    assert clock.slept >= 60 * 20_000 / 30_000 * 0.95, "the second waited for the tokens the first one took"


def test_unused_reservations_are_given_back(tmp_path, clock):
    shared = pacer(tmp_path, clock)
    shared.settle(Usage(0, 0, 0), Usage(0, 0, 0), headers(clock.now, output_tokens=(8_000, 8_000)))
    taken = shared.reserve(Usage(1, 10, 8_000), deadline=clock.now)
    shared.settle(taken, Usage(1, 10, 500), None)
    shared.reserve(Usage(1, 10, 7_000), deadline=clock.now)  # would raise if the 7,500 were not given back
    assert clock.slept == 0


def test_a_cap_in_the_config_keeps_below_the_api_limit(tmp_path, clock):
    capped = pacer(tmp_path, clock, caps={"output-tokens": 4_000})
    capped.settle(Usage(0, 0, 0), Usage(0, 0, 0), headers(clock.now, output_tokens=(16_000, 16_000)))
    taken = capped.reserve(Usage(1, 10, 8_000), deadline=clock.now)
    assert taken.output_tokens == 4_000, "a reservation is at most one full (capped) bucket"
    capped.settle(taken, Usage(1, 10, 8_000), None)  # the answer used twice the cap: the bucket is in debt
    capped.reserve(Usage(1, 10, 100), deadline=clock.now + 900)
    assert 55 <= clock.slept <= 65, "8,000 used of a 4,000/min cap: a minute until the bucket is out of debt"


def test_a_pause_holds_every_caller_and_a_wait_past_the_deadline_fails_naming_the_limit(tmp_path, clock):
    shared = pacer(tmp_path, clock)
    shared.pause(30, "the API's rate limit (429)")
    shared.reserve(Usage(1, 10, 10), deadline=clock.now + 900)
    assert clock.slept >= 30
    shared.settle(Usage(0, 0, 0), Usage(1, 30_000, 0), headers(clock.now, input_tokens=(30_000, 0)))
    with pytest.raises(ModelCallError, match=r"input-token budget \(limit 30,000/min\).*model.maxWaitSeconds"):
        shared.reserve(Usage(1, 20_000, 10), deadline=clock.now + 5)


def test_the_state_file_is_named_by_a_digest_of_the_key_never_the_key(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    key = "sk-ant-secret-value"
    made = Pacer.for_identity(anthropic.pacing_identity(key))
    assert isinstance(made.store, SqliteBuckets)
    assert made.store.path.parent == cache_dir() and key not in str(made.store.path)
    assert key.encode() not in made.store.path.read_bytes()
    # The name every earlier version gave this key's state: a new version never forgets the limits it learned.
    assert made.store.path.name == hashlib.sha256(key.encode()).hexdigest()[:16] + ".v2.sqlite"


OUTPUT_RATE = 8_000 / 20  # the API in these stories: 8,000 output tokens per 20 s window, 400 a second


def spend_into_debt(shared: Pacer, level: float, used: int) -> float:
    """Reserve a call with `level` output tokens in the bucket, settle it at `used`: the true seconds until the API's
    bucket is out of debt again (and admits the next call)."""
    taken = shared.reserve(Usage(1, 10, 6_000), deadline=shared.clock() + 900)
    shared.settle(taken, Usage(1, 10, used), None)
    return (used - level + 1) / OUTPUT_RATE


@pytest.mark.parametrize("fraction", [0.0, 0.3, 0.6, 0.9])
def test_whole_second_reset_stamps_never_end_a_wait_early(tmp_path, clock, fraction):
    """A bucket 1,000 short is full in 2.5 s; cut to the second, `reset` can read 1.6 s: a rate read from that is half
    again too fast, and the wait for the output bucket ended about a second early (a 429)."""
    clock.now += fraction
    shared = pacer(tmp_path, clock)
    shared.settle(Usage(0, 0, 0), Usage(0, 0, 0), api_headers(clock.now, 20, output_tokens=(8_000, 7_000)))
    started = clock.now
    true_wait = spend_into_debt(shared, 7_000, 12_000)
    shared.reserve(Usage(1, 10, 6_000), deadline=clock.now + 900)
    assert clock.now - started >= true_wait


def test_the_headers_of_a_streamed_answer_are_read_as_of_when_the_api_wrote_them(tmp_path, clock):
    """A streamed answer's headers went out before its text: settled 8 s later, `reset` measured from the settle
    would make the refill look four times as fast. The `date` header says when they were written."""
    shared = pacer(tmp_path, clock)
    stated = clock.now
    clock.now += 8.0  # the answer streamed for 8 s; the bucket was 4,000 short when its headers went out
    shared.settle(Usage(0, 0, 0), Usage(0, 0, 0), api_headers(stated, 20, output_tokens=(8_000, 4_000)))
    level_now = min(8_000, 4_000 + 8.0 * OUTPUT_RATE)
    started = clock.now
    true_wait = spend_into_debt(shared, level_now, 14_000)
    shared.reserve(Usage(1, 10, 6_000), deadline=clock.now + 900)
    assert clock.now - started >= true_wait


def test_a_rate_read_from_a_long_reset_stays_close_to_the_api_s(tmp_path, clock):
    """Never early, yet not needlessly late: read from a bucket nearly empty (20 s to refill), the rate is within 6%
    of the API's, and it is kept when a later answer's nearly full bucket says less."""
    clock.now += 0.5
    shared = pacer(tmp_path, clock)
    shared.settle(Usage(0, 0, 0), Usage(0, 0, 0), api_headers(clock.now, 20, output_tokens=(8_000, 40)))
    shared.settle(Usage(0, 0, 0), Usage(0, 0, 0), api_headers(clock.now, 20, output_tokens=(8_000, 7_900)))
    started = clock.now
    true_wait = spend_into_debt(shared, 40, 8_040)
    shared.reserve(Usage(1, 10, 6_000), deadline=clock.now + 900)
    assert true_wait <= clock.now - started <= 1.06 * true_wait


def test_a_bucket_first_learned_from_a_streamed_answer_counts_that_answer_s_output(tmp_path, clock):
    """The first answer's headers (sent before its 2,500 output tokens were taken) say the bucket is full: the pacer
    starts it at 1,500, not 4,000, so the next call's debt is waited out."""
    shared = pacer(tmp_path, clock)
    full = api_headers(clock.now, 10, output_tokens=(4_000, 4_000))
    shared.settle(shared.reserve(Usage(1, 10, 5_000), deadline=clock.now), Usage(1, 10, 2_500), full)
    started = clock.now
    taken = shared.reserve(Usage(1, 10, 3_000), deadline=clock.now + 900)
    shared.settle(taken, Usage(1, 10, 3_000), None)
    shared.reserve(Usage(1, 10, 3_000), deadline=clock.now + 900)
    assert clock.now - started >= (2_500 + 3_000 - 4_000 + 1) / 400


def test_a_shared_store_that_cannot_be_reached_names_the_setting(tmp_path):
    """Workers on several machines share one limit through Redis: when it is down, the call fails naming the setting
    (and is retried on Temporal, as an environment failure), never runs unpaced."""
    from package_builder.base.errors import ModelCallError
    from package_builder.generation.bucket_stores import RedisBuckets

    unreachable = Pacer(RedisBuckets("redis://127.0.0.1:1/0", "some-key"))
    with pytest.raises(ModelCallError, match=r"redis://127.0.0.1:1/0 \(model.rateLimitStore\)"):
        unreachable.reserve(Usage(1, 10, 10), deadline=float("inf"))
