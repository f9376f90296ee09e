"""A real Turborepo remote-cache server for the tests: `turborepo-remote-cache` (installed by scripts/test into
tests/tools/remote-cache/) on 127.0.0.1, storing artifacts in a temporary folder, with one accepted token; and
`SilentRemote`, a remote that is there but never answers (or hangs up), counting who tried."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from npm_registry import free_port, stop_process

SERVER = Path(__file__).resolve().parent / "tools/remote-cache/node_modules/.bin/turborepo-remote-cache"


class RemoteCacheServer:
    def __init__(self, folder: Path, token: str = "team-cache-token-1234"):
        self.folder = folder
        self.token = token
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> RemoteCacheServer:
        if not SERVER.exists():
            raise RuntimeError(f"{SERVER} is missing: run scripts/test, which installs the test tools")
        (self.folder / "store").mkdir(parents=True, exist_ok=True)
        self.log = open(self.folder / "server.log", "w")
        self.process = subprocess.Popen(
            [str(SERVER)],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={
                **os.environ,
                "HOST": "127.0.0.1",
                "PORT": str(self.port),
                "TURBO_TOKEN": self.token,
                "STORAGE_PROVIDER": "local",
                "STORAGE_PATH": str(self.folder / "store"),
                "STORAGE_PATH_USE_TMP_FOLDER": "false",
                "NODE_ENV": "production",
                "LOG_LEVEL": "info",  # a line per request: `requests` reads them
            },
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/v8/artifacts/status", timeout=2).read()
                return self
            except urllib.error.HTTPError:
                return self  # it answers (401 without a token): it is up
            except (urllib.error.URLError, OSError) as error:
                if self.process.poll() is not None:
                    log = (self.folder / "server.log").read_text()[-2000:]
                    raise RuntimeError(f"remote cache exited: {log}") from error
                time.sleep(0.2)
        raise RuntimeError("the remote cache did not answer within 60 s")

    def artifacts(self) -> list[Path]:
        return sorted(p for p in (self.folder / "store").rglob("*") if p.is_file())

    def requests(self) -> list[str]:
        """`METHOD /v8/artifacts/<hash>?slug=<team>` for every artifact request the server has received so far."""
        found = []
        for line in (self.folder / "server.log").read_text().splitlines():
            try:
                request = json.loads(line).get("req") or {}
            except ValueError:
                continue
            if request.get("url", "").startswith("/v8/artifacts/") and request["url"] != "/v8/artifacts/status":
                found.append(f"{request['method']} {request['url']}")
        return found

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()


class SilentRemote:
    """A remote cache that accepts connections and never answers (a hung server behind a load balancer), or hangs
    up at once (`hang_up`); `connections` counts them."""

    def __init__(self, hang_up: bool = False):
        self.hang_up = hang_up
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections = 0
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed by stop()
            self.connections += 1
            if self.hang_up:
                connection.close()
            else:
                self.held.append(connection)

    def __enter__(self) -> SilentRemote:
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() waiting in its thread
        except OSError:
            pass
        self.listener.close()
        for connection in self.held:
            connection.close()
