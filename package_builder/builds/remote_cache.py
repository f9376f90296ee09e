"""The team's remote cache: Turborepo's HTTP API (`GET`/`PUT /v8/artifacts/<hash>?slug=<team>`, a bearer token), so
a team reuses the server it already runs. Errors are reported once and never fail a step.
"""

from __future__ import annotations

import http.client
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable

from package_builder.base.credentials import remote_cache_token
from package_builder.base.errors import ConfigError

# What a remote can do wrong, the token it needs included (no longer in the config file): each only slows the run.
_FAILURES = (OSError, ValueError, http.client.HTTPException, ConfigError)


class RemoteCache:
    """Turborepo's remote-cache API. Errors are reported once and the remote is then left alone for the run."""

    def __init__(self, settings, say: Callable[[str], None]):
        self.settings = settings  # builds.remoteCache: the validated model or its snapshot
        self.say = say
        self.broken = False

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
        if self.broken:
            return None
        try:
            with self._request("GET", key) as response:
                return response.read()
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                self._broken(f"answered {exc.code} {exc.reason}")
        except _FAILURES as exc:
            self._broken(f"{exc.__class__.__name__}: {exc}")
        return None

    def put(self, key: str, data: bytes, seconds: float) -> None:
        if self.broken:
            return
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
            self._broken(f"{exc.__class__.__name__}: {exc}")

    def _broken(self, why: str) -> None:
        self.broken = True
        self.say(f"remote cache {self.settings.url}: {why}; going on without it (builds.remoteCache)")


class _SameHostAuthorization(urllib.request.HTTPRedirectHandler):
    """A redirect to another host (a storage bucket's signed URL) goes without our bearer token."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.remove_header("Authorization")
        return new


_OPENER = urllib.request.build_opener(_SameHostAuthorization)
