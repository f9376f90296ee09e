"""The team's remote cache: Turborepo's HTTP API (`GET`/`PUT /v8/artifacts/<hash>?slug=<team>`, a bearer token), so
a team reuses the server it already runs. Errors never fail a step, and are reported once per run: what the run knows
of a remote is shared by all its steps (doit runs them as threads of one process), so a remote that refuses the token
or never answers costs one request, one report and at most one timeout, not one per step.
"""

from __future__ import annotations

import http.client
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TypeVar

from package_builder.base.credentials import remote_cache_token
from package_builder.base.errors import ConfigError

# What a remote can do wrong, the token it needs included (no longer in the config file): each only slows the run.
_FAILURES = (OSError, ValueError, http.client.HTTPException, ConfigError)
_T = TypeVar("_T")


class _Health:
    """What this run knows of one remote, shared by every step's `RemoteCache`: until it has answered once, one
    request at a time goes out (the others wait for its verdict); once it failed, none."""

    def __init__(self) -> None:
        self.first_answer = threading.Lock()
        self.answered = False
        self.broken = False


_HEALTH: dict[tuple[str, str], _Health] = {}  # (url, team) → its health, for the life of the process: the run
_HEALTH_LOCK = threading.Lock()


def _health_of(settings) -> _Health:
    with _HEALTH_LOCK:
        return _HEALTH.setdefault((settings.url.rstrip("/"), settings.team), _Health())


class RemoteCache:
    """Turborepo's remote-cache API. Errors are reported once and the remote is then left alone for the run."""

    def __init__(self, settings, say: Callable[[str], None]):
        self.settings = settings  # builds.remoteCache: the validated model or its snapshot
        self.say = say
        self.health = _health_of(settings)

    @property
    def broken(self) -> bool:
        return self.health.broken

    def _guarded(self, attempt: Callable[[], _T]) -> _T | None:
        """`attempt` a request unless the remote already failed this run; the first ones one at a time, so a remote
        that refuses or hangs is met once, however many steps start together."""
        health = self.health
        if health.broken:
            return None
        if health.answered:
            return attempt()
        with health.first_answer:
            if health.broken:
                return None
            result = attempt()
            health.answered = not health.broken
            return result

    def _request(self, method: str, key: str, data: bytes | None = None, headers: dict | None = None):
        url = f"{self.settings.url.rstrip('/')}/v8/artifacts/{key.removeprefix('sha256:')}?slug={self.settings.team}"
        token = remote_cache_token(self.settings)
        request = urllib.request.Request(
            url,
            data=data,
            method=method,
            headers={**({"Authorization": f"Bearer {token}"} if token else {}), **(headers or {})},
        )
        return _OPENER.open(request, timeout=self.settings.timeout_seconds)

    def get(self, key: str) -> bytes | None:
        return self._guarded(lambda: self._get(key))

    def _get(self, key: str) -> bytes | None:
        try:
            with self._request("GET", key) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                self._broken(f"answered {exc.code} {exc.reason}")
        except _FAILURES as exc:
            self._broken(self._failure(exc))
        return None

    def put(self, key: str, data: bytes, seconds: float) -> None:
        self._guarded(lambda: self._put(key, data, seconds))

    def _put(self, key: str, data: bytes, seconds: float) -> None:
        try:
            with self._request(
                "PUT",
                key,
                data,
                {"Content-Type": "application/octet-stream", "x-artifact-duration": str(int(seconds * 1000))},
            ):
                pass
        except urllib.error.HTTPError as exc:
            self._broken(f"refused an upload: {exc.code} {exc.reason}")
        except _FAILURES as exc:
            self._broken(self._failure(exc))

    def _failure(self, exc: Exception) -> str:
        if isinstance(exc, TimeoutError) or isinstance(getattr(exc, "reason", None), TimeoutError):
            return f"no answer within {self.settings.timeout_seconds:g} s (builds.remoteCache.timeoutSeconds)"
        return f"{exc.__class__.__name__}: {exc}"

    def _broken(self, why: str) -> None:
        with _HEALTH_LOCK:  # two steps failing at once (a remote lost mid-run): one report
            if self.health.broken:
                return
            self.health.broken = True
        self.say(f"remote cache {self.settings.url}: {why}; going on without it (builds.remoteCache)")


class _SameHostAuthorization(urllib.request.HTTPRedirectHandler):
    """A redirect to another host (a storage bucket's signed URL) goes without our bearer token."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_SameHostAuthorization)
