"""The `record` provider: real calls through the `anthropic` provider, each answer appended to a cassette so the run
can later be replayed (`replay.py`) without the API or a key."""

from __future__ import annotations

import fcntl
from pathlib import Path

from package_builder.base.config import BuildConfig
from package_builder.base.storage import read_json, write_json_atomic
from package_builder.generation.progress import CallWatch
from package_builder.generation.providers import anthropic
from package_builder.generation.providers.interface import ModelProvider, ModelReply, ModelRequest, Say
from package_builder.generation.providers.replay import cassette_of

CASSETTE_NOTE = "Model answers keyed by request digest (see package_builder/generation/providers/record.py)."
SECRET_VARIABLES = anthropic.SECRET_VARIABLES  # it calls the API with the same credentials


class RecordingModel:
    """Real calls whose answers are appended to a cassette."""

    def __init__(self, inner: ModelProvider, cassette: Path):
        self.inner = inner
        self.cassette = cassette

    @property
    def pacing_identity(self) -> str | None:
        return self.inner.pacing_identity

    @property
    def watch(self) -> CallWatch | None:
        return self.inner.watch

    @watch.setter
    def watch(self, value: CallWatch | None) -> None:
        self.inner.watch = value

    def call(self, request: ModelRequest, phase: str) -> ModelReply:
        reply = self.inner.call(request, phase)
        self.cassette.parent.mkdir(parents=True, exist_ok=True)
        with open(self.cassette.with_name(self.cassette.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # `doit -n 2` may record two packages at once
            data = read_json(self.cassette) or {"note": CASSETTE_NOTE, "interactions": []}
            data["interactions"] = [e for e in data["interactions"] if e["requestDigest"] != request.digest] + [
                {
                    "phase": phase,
                    "requestDigest": request.digest,
                    "reply": {
                        "text": reply.text,
                        "stopReason": reply.stop_reason,
                        "inputTokens": reply.input_tokens,
                        "outputTokens": reply.output_tokens,
                        "cacheWriteTokens": reply.cache_write_tokens,
                        "cacheReadTokens": reply.cache_read_tokens,
                    },
                }
            ]
            write_json_atomic(self.cassette, data)
        return reply


def create(config: BuildConfig, config_path: Path, say: Say) -> RecordingModel:
    """The API (a missing key is reported first), recording into `model.cassette`."""
    inner = anthropic.create(config, config_path, say)
    return RecordingModel(inner, cassette_of(config, config_path, "record"))
