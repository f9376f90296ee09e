"""A real Turborepo remote-cache server for the tests: `turborepo-remote-cache` (installed by scripts/test into
tests/tools/remote-cache/) on 127.0.0.1, storing artifacts in a temporary folder, with one accepted token."""

from __future__ import annotations

import os
import subprocess
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
                "LOG_LEVEL": "warn",
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

    def stop(self) -> None:
        stop_process(self.process)
        self.log.close()
