"""Pacing model calls to the API's rate limits, shared by every thread and process of the tool that uses one API key.

The API limits requests, input tokens and output tokens per minute with token buckets refilled continuously, and
says so on every answer (`anthropic-ratelimit-<kind>-{limit,remaining,reset}`). The pacer keeps the same three
buckets in a small SQLite file under the user's cache folder, named by the provider's pacing identity (for the API a
digest of the key, never the key), so two terminals, `doit -n 4` and a CI job beside a developer all draw from one
budget.

Before a call it reserves one request, the call's input tokens (estimated from its text) and its output budget
(`max_tokens`, at most the output limit), waiting until they are in the buckets; after the call it settles with the
real usage and learns the limits, the remaining levels and the refill rate (from `reset`) from the answer's headers.
The API states `reset` (and its `date`) in whole seconds, and a streamed answer's headers are a whole answer old when
it is settled: the rate is read as the slowest refill the headers allow (the deficit over `reset` − `date` plus the
second they may have lost, `RESET_RESOLUTION_SECONDS`), and the fastest such reading so far is kept, so the pacer
never refills faster than the API and a wait never ends early.
A reservation a killed process never settles is not a leak: the bucket refills within a window anyway. Optional caps
(`model.rateLimits`) leave room for other tools. Nothing needs configuring: until the first answer says otherwise,
nothing is limited.

Where the buckets are kept is the store's business (bucket_stores.py): a SQLite file for the processes of one
machine, or Redis (`model.rateLimitStore`) for workers on several machines that share one key. The
algorithm is the same for both: each step is one read-modify-write of the whole state, under the store's lock.
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from pathlib import Path

from package_builder.base.errors import ModelCallError
from package_builder.generation.bucket_stores import BucketState, BucketStore, RedisBuckets, SqliteBuckets

KINDS = ("requests", "input-tokens", "output-tokens")
LABELS = {"requests": "request", "input-tokens": "input-token", "output-tokens": "output-token"}
CAP_FIELDS = {
    "requests": "requests_per_minute",
    "input-tokens": "input_tokens_per_minute",
    "output-tokens": "output_tokens_per_minute",
}
SHOW_WAITS_OVER_SECONDS = 3.0
POLL_SECONDS = 0.5
CHARS_PER_TOKEN = 3.5  # conservative for English and code; the answer's usage settles the difference
RESET_RESOLUTION_SECONDS = 1.0  # `reset` and `date` are whole seconds: together up to a second off
STATE_VERSION = 2  # the state file's name carries it: a rate an older version learned too fast is not kept


@dataclass(frozen=True)
class Usage:
    """What one call takes from each bucket."""

    requests: int
    input_tokens: int
    output_tokens: int

    def of(self, kind: str) -> int:
        return {"requests": self.requests, "input-tokens": self.input_tokens, "output-tokens": self.output_tokens}[kind]


def estimate_input_tokens(*texts: str) -> int:
    return max(1, math.ceil(sum(len(text) for text in texts) / CHARS_PER_TOKEN))


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "package-builder" / "rate-limits"


class Pacer:
    """The shared buckets of one API key. `say` shows waits longer than a few seconds."""

    def __init__(
        self,
        store: Path | BucketStore,
        caps: Mapping[str, int | None] | None = None,
        say: Callable[[str], None] = print,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.store = SqliteBuckets(store) if isinstance(store, Path) else store
        self.caps = {kind: value for kind, value in (caps or {}).items() if value}
        self.say = say
        self.clock = clock or self.store.clock  # a shared store's own clock: the machines' clocks may differ
        self.sleep = sleep

    @classmethod
    def for_identity(
        cls, identity: str, caps: Mapping[str, int | None] | None = None, shared: str | None = None, **kwargs
    ) -> Pacer:
        """The buckets every caller with this pacing identity shares (a provider's `pacing_identity`: for the API,
        a digest of the key, never the key): on this machine, or in the shared store `shared` names."""
        if shared:
            return cls(RedisBuckets(shared, f"{identity}.v{STATE_VERSION}"), caps, **kwargs)
        return cls(cache_dir() / f"{identity}.v{STATE_VERSION}.sqlite", caps, **kwargs)

    def _transaction(self):
        return self.store.transaction()

    def _buckets(self, db: BucketState, now: float) -> dict[str, list[float]]:
        """kind → [cap, level, rate per second], refilled up to `now`; kinds the API never limited are absent."""
        buckets = {}
        for kind, (cap, level, rate, updated) in db.buckets.items():
            buckets[kind] = [cap, min(cap, level + rate * max(0.0, now - updated)), rate]
        for kind, cap in self.caps.items():  # a cap of our own is a bucket even before the API names one
            if kind not in buckets:
                buckets[kind] = [float(cap), float(cap), cap / 60.0]
            elif cap < buckets[kind][0]:
                buckets[kind] = [float(cap), min(cap, buckets[kind][1]), min(buckets[kind][2], cap / 60.0)]
        return buckets

    def _store(self, db: BucketState, buckets: dict[str, list[float]], now: float) -> None:
        for kind, (cap, level, rate) in buckets.items():
            db.buckets[kind] = (cap, level, rate, now)

    def reserve(self, need: Usage, deadline: float) -> Usage:
        """Wait until `need` fits every bucket (at most a full bucket each), take it, and return what was taken.
        Raises `ModelCallError` naming the limit when that would take past `deadline` (a `clock()` time)."""
        told = False
        while True:
            now = self.clock()
            with self._transaction() as db:
                buckets = self._buckets(db, now)
                paused = db.pause
                wait, why = (paused[0] - now, paused[1]) if paused and paused[0] > now else (0.0, "")
                taken = {}
                for kind in KINDS:
                    if kind not in buckets:
                        continue
                    cap, level, rate = buckets[kind]
                    want = min(need.of(kind), cap)
                    taken[kind] = want
                    # The output bucket only has to be out of debt: the API takes output tokens as they are made.
                    short = (want if kind != "output-tokens" else 1) - level
                    if short > 1e-6 and short / rate > wait:
                        wait, why = short / rate, f"{LABELS[kind]} budget (limit {cap:,.0f}/min)"
                if wait <= 1e-6:
                    for kind, want in taken.items():
                        buckets[kind][1] -= want
                    self._store(db, buckets, now)
                    return Usage(**{_field(kind): int(taken.get(kind, 0)) for kind in KINDS})
            if now + wait > deadline:
                raise ModelCallError(
                    f"the {why} would keep this call waiting {wait:.0f} s more, past "
                    f"model.maxWaitSeconds; run again later (nothing answered is asked again)"
                )
            if wait > SHOW_WAITS_OVER_SECONDS and not told:
                self.say(f"waiting {wait:.0f} s for {why}")
                told = True
            self.sleep(min(max(wait, 0.01), POLL_SECONDS))

    def settle(self, reserved: Usage, used: Usage, headers: Mapping[str, str] | None) -> None:
        """Give back what was reserved but not used (or take the overrun), then learn from the answer's headers."""
        now = self.clock()
        with self._transaction() as db:
            buckets = self._buckets(db, now)
            for kind in buckets:
                buckets[kind][1] = min(buckets[kind][0], buckets[kind][1] + reserved.of(kind) - used.of(kind))
            self._learn(buckets, headers or {}, now, used)
            self._store(db, buckets, now)

    def pause(self, seconds: float, reason: str) -> None:
        """Hold every caller for `seconds` (a 429's `retry-after`, or backing off from 529s)."""
        now = self.clock()
        with self._transaction() as db:
            if not db.pause or db.pause[0] < now + seconds:
                db.pause = (now + seconds, reason)

    def _learn(
        self, buckets: dict[str, list[float]], headers: Mapping[str, str], now: float, used: Usage = Usage(0, 0, 0)
    ) -> None:
        """Limits, levels and refill rates as the API states them; a cap of our own scales a bucket down. A streamed
        answer's headers went out before its output was taken, so a bucket first learned from them is taken this
        answer's output too (`used`; a bucket already kept has been charged it by `settle`)."""
        stated_at = _http_date(headers.get("date"))  # when the API wrote them: a stream's are a whole answer old
        for kind in KINDS:
            try:
                limit = float(headers[f"anthropic-ratelimit-{kind}-limit"])
                remaining = float(headers[f"anthropic-ratelimit-{kind}-remaining"])
            except (KeyError, ValueError):
                continue
            if limit <= 0:
                continue
            current = buckets.get(kind)
            api_rate = current[2] * limit / current[0] if current else limit / 60.0
            reset = _seconds_until(
                headers.get(f"anthropic-ratelimit-{kind}-reset"), stated_at if stated_at is not None else now
            )
            # Informative only between empty and full: at 0 the bucket may be in debt, so `reset` says more than
            # the deficit `remaining` shows.
            if reset is not None and reset >= 0 and remaining > 0 and limit - remaining >= 0.02 * limit:
                # The API's own refill rate, whatever its window: the slowest the whole-second stamps allow (each
                # reading is a lower bound, so the highest one is the closest that is still never too fast).
                api_rate = max(api_rate, (limit - remaining - 1) / (reset + RESET_RESOLUTION_SECONDS))
            cap = min(limit, float(self.caps.get(kind) or limit))
            level = (
                remaining - (used.of(kind) if kind == "output-tokens" else 0)
                if current is None
                else min(current[1], remaining)
            )
            buckets[kind] = [cap, min(cap, level), api_rate * cap / limit]


def _field(kind: str) -> str:
    return kind.replace("-", "_")


def _http_date(stamp: str | None) -> float | None:
    """An HTTP `date` header as a timestamp (whole seconds), or None."""
    if not stamp:
        return None
    try:
        return parsedate_to_datetime(stamp).timestamp()
    except (TypeError, ValueError, IndexError):
        return None


def _seconds_until(stamp: str | None, now: float) -> float | None:
    if not stamp:
        return None
    try:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() - now
    except ValueError:
        return None
