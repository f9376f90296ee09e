"""Fast: a team's remote cache that fails is met once per run (package_builder/builds/remote_cache.py), however many
steps start at once: every step makes its own cache (doit runs them as threads of one process), and without a shared
verdict each would pay its own request, its own report and, for a hung remote, its own timeout."""

from __future__ import annotations

import threading

from package_builder.base.config import RemoteCacheSettings
from package_builder.builds.cache import StepCache
from remote_cache import SilentRemote


def test_a_remote_that_hangs_up_is_met_once_by_six_steps_starting_together(tmp_path, monkeypatch):
    monkeypatch.setenv("PACKAGE_BUILDER_REMOTE_CACHE_TOKEN", "a-token")
    lines: list[str] = []
    with SilentRemote(hang_up=True) as remote:
        settings = RemoteCacheSettings(url=remote.url, team="six-steps", timeout_seconds=5)
        start = threading.Barrier(6)

        def step(number: int) -> None:
            cache = StepCache(tmp_path / "ws", 10, settings, say=lines.append)  # one per step, as steps.py makes it
            start.wait()
            key = f"sha256:{number:064x}"
            assert cache.restore(key, tmp_path / "ws" / f"p{number}", []) is None
            cache.store(key, tmp_path / "ws" / f"p{number}", [], "log", 1.0)

        steps = [threading.Thread(target=step, args=(number,)) for number in range(6)]
        for thread in steps:
            thread.start()
        for thread in steps:
            thread.join()

        assert remote.connections == 1, "after the first failure, no step asks the remote again"
    assert len(lines) == 1 and lines[0].startswith(f"remote cache {remote.url}: "), lines
    assert "going on without it (builds.remoteCache)" in lines[0]
