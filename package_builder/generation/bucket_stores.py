"""Where the pacer (pacing.py) keeps one API key's buckets: `SqliteBuckets` for the processes of one machine (a file
in the user's cache folder), `RedisBuckets` for workers on several machines that share the key
(`model.rateLimitStore: "redis://host:6379/0"`). Each step of the pacer is one read-modify-write of the whole state
inside `transaction()`, under the store's lock, and reads the time from the store's `clock()`.

Why Redis for several machines: the pacer's steps are short read-modify-writes of a few numbers, taken before and
after every model call by every worker; Redis does them in well under a millisecond, is one `apt install redis-server`
away, and its lock (redis-py's `Lock`, a token with an expiry, released by a compare-and-delete script) frees itself
when a worker dies holding it. A pacer workflow in Temporal would put every reservation into workflow history and tie
the doit engine, which can use the same store, to Temporal. Redis's own clock (`TIME`) is the clock, so workers whose
clocks differ refill the buckets alike. A reservation a dead worker never settles expires as on one machine: the
bucket refills.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from package_builder.base.errors import ConfigError, ModelCallError


@dataclass
class BucketState:
    """The whole state of one key's buckets, as a step reads and writes it: kind → (cap, level, rate per second,
    when the level was measured), and the pause every caller honours (until, reason)."""

    buckets: dict[str, tuple[float, float, float, float]]
    pause: tuple[float, str] | None = None


class BucketStore(Protocol):
    def transaction(self) -> AbstractContextManager[BucketState]:
        """The state, locked against every other caller until the block ends; written back unless it raised."""
        ...

    def clock(self) -> float:
        """Now, as every caller of this store reads it."""
        ...


class SqliteBuckets:
    """The buckets of one machine's processes: a SQLite file, each step one immediate (write-locked) transaction."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connection() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS bucket (kind TEXT PRIMARY KEY, cap REAL, level REAL, "
                "rate REAL, updated REAL)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS pause (id INTEGER PRIMARY KEY CHECK (id = 1), until REAL, reason TEXT)"
            )

    def clock(self) -> float:
        return time.time()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[BucketState]:
        with self._connection() as db:
            rows = db.execute("SELECT kind, cap, level, rate, updated FROM bucket").fetchall()
            paused = db.execute("SELECT until, reason FROM pause WHERE id = 1").fetchone()
            state = BucketState({kind: tuple(values) for kind, *values in rows}, tuple(paused) if paused else None)
            yield state
            for kind, values in state.buckets.items():
                db.execute("INSERT OR REPLACE INTO bucket VALUES (?, ?, ?, ?, ?)", (kind, *values))
            if state.pause:
                db.execute("INSERT OR REPLACE INTO pause VALUES (1, ?, ?)", state.pause)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=60, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise ModelCallError(f"cannot use the rate-limit state {self.path}: {exc}") from None
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        else:
            db.execute("COMMIT")
        finally:
            db.close()


LOCK_SECONDS = 10  # a worker killed inside a step holds the lock no longer than this
WAIT_FOR_LOCK_SECONDS = 60


class RedisBuckets:
    def __init__(self, url: str, identity: str):
        try:
            import redis
        except ImportError:
            raise ConfigError(
                "model.rateLimitStore needs the Redis client: pip install -e .[temporal] (or pip install redis)"
            ) from None
        self._errors = (redis.RedisError,)
        try:
            self._redis = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=10)
        except ValueError as exc:
            raise ConfigError(f"model.rateLimitStore {url!r} is not a Redis URL: {exc}") from None
        self.url = url
        self._key = f"package-builder:rate-limits:{identity}"

    def clock(self) -> float:
        seconds, microseconds = self._call(self._redis.time)
        return seconds + microseconds / 1e6

    @contextlib.contextmanager
    def transaction(self) -> Iterator[BucketState]:
        lock = self._redis.lock(f"{self._key}:lock", timeout=LOCK_SECONDS, blocking_timeout=WAIT_FOR_LOCK_SECONDS)
        if not self._call(lock.acquire):
            raise ModelCallError(f"the shared rate-limit store {self.url} stayed locked {WAIT_FOR_LOCK_SECONDS} s")
        try:
            raw = self._call(self._redis.get, self._key)
            data = json.loads(raw) if raw else {}
            state = BucketState(
                {kind: tuple(values) for kind, values in data.get("buckets", {}).items()},
                tuple(data["pause"]) if data.get("pause") else None,
            )
            yield state
            self._call(self._redis.set, self._key, json.dumps({"buckets": state.buckets, "pause": state.pause}))
        finally:
            with contextlib.suppress(*self._errors):
                lock.release()  # gone already when the step outlived LOCK_SECONDS: another may hold it now

    def _call(self, method, *args):
        try:
            return method(*args)
        except self._errors as exc:
            raise ModelCallError(f"the shared rate-limit store {self.url} (model.rateLimitStore): {exc}") from None
