"""A real npm registry for the tests: Verdaccio 5.33 (installed by scripts/test into tests/tools/) on 127.0.0.1,
with no uplinks, storage in a temporary folder, and users created the way npm does it (`PUT /-/user/...`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

VERDACCIO = Path(__file__).resolve().parent / "tools" / "node_modules" / ".bin" / "verdaccio"


def stop_process(process: subprocess.Popen | None) -> None:
    """Terminate a test server, and kill it if it does not go within 10 s."""
    if process and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NpmRegistry:
    """Verdaccio in a subprocess; `url` is its address, `add_user` returns a fresh token."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None

    def start(self) -> NpmRegistry:
        if not VERDACCIO.exists():
            raise RuntimeError(f"{VERDACCIO} is missing: run scripts/test, which installs the test registry")
        config = self.folder / "config.yaml"
        config.write_text(
            f"storage: {self.folder / 'storage'}\n"
            f"auth:\n  htpasswd:\n    file: {self.folder / 'htpasswd'}\n    max_users: 1000\n"
            "uplinks: {}\n"
            "packages:\n  '**':\n    access: $all\n    publish: $authenticated\n    unpublish: $authenticated\n"
            "log: { type: stdout, format: pretty, level: warn }\n"
        )
        self.log = open(self.folder / "verdaccio.log", "w")
        self.process = subprocess.Popen(
            [str(VERDACCIO), "--config", str(config), "--listen", f"127.0.0.1:{self.port}"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "NODE_NO_WARNINGS": "1"},
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url + "-/ping", timeout=2).read()
                return self
            except (urllib.error.URLError, OSError) as error:
                if self.process.poll() is not None:
                    log = (self.folder / "verdaccio.log").read_text()[-2000:]
                    raise RuntimeError(f"verdaccio exited: {log}") from error
                time.sleep(0.2)
        raise RuntimeError("verdaccio did not answer /-/ping within 60 s")

    def add_user(self, name: str, password: str = "test-password-1234") -> str:
        body = json.dumps({"name": name, "password": password}).encode()
        request = urllib.request.Request(
            f"{self.url}-/user/org.couchdb.user:{name}",
            data=body,
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())["token"]

    def versions(self, name: str) -> list[str]:
        """What the registry holds for `name`, asked over HTTP (npm view is used by the tests themselves)."""
        return sorted(self.document(name).get("versions", {}))

    def manifest(self, name: str, version: str) -> dict:
        """The package.json the registry holds for `name@version`, as published."""
        return self.document(name)["versions"][version]

    def document(self, name: str) -> dict:
        try:
            with urllib.request.urlopen(self.url + name.replace("/", "%2f"), timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return {}
            raise

    def stop(self) -> None:
        stop_process(self.process)
        if getattr(self, "log", None):
            self.log.close()
