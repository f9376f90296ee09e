"""The `replay` provider: answers from a cassette file, with no network and no key (the bundled example, the tests).

A request not in the cassette is an error naming the phase and what to do: a replayed run cannot ask anyone, so an
edited plan or template needs the edit undone or a recording (`record.py`).
"""

from __future__ import annotations

from pathlib import Path

from package_builder.base.config import BuildConfig
from package_builder.base.errors import ModelRequestRefused
from package_builder.base.storage import read_json
from package_builder.generation.progress import CallWatch
from package_builder.generation.providers.interface import ModelReply, ModelRequest, Say

SECRET_VARIABLES: frozenset[str] = frozenset()  # a cassette needs no credential


class ReplayModel:
    """Answers from a cassette, keyed by request digest."""

    pacing_identity = None  # nothing is asked of an API: nothing to pace

    def __init__(self, cassette: Path, config_path: Path | None = None):
        data = read_json(cassette)
        if data is None:
            raise ModelRequestRefused(f"{cassette}: cassette not found or not a JSON object (model.cassette)")
        self.cassette = cassette
        self.config_path = config_path
        self.watch: CallWatch | None = None
        self._by_digest = {entry["requestDigest"]: entry for entry in data.get("interactions", [])}
        self._phases = {entry.get("phase") for entry in data.get("interactions", [])}

    def call(self, request: ModelRequest, phase: str) -> ModelReply:
        entry = self._by_digest.get(request.digest)
        if entry is None:
            hint = (
                "it has answers for this phase, but for other requests: the prompt, plan, model or an earlier "
                "phase changed since it was recorded"
                if phase in self._phases
                else "it has no answer for this phase"
            )
            config = self.config_path or "the config"
            raise ModelRequestRefused(  # the same request would miss again: no engine retries it
                f"{phase}: no answer in cassette {self.cassette} for request {request.digest[:19]}…; {hint}. To go on, "
                "undo the edit (the plan, prompts/ or phases/), or record new answers with a real key: set "
                f'model.provider to "record" in {config} and export ANTHROPIC_API_KEY (each missing answer is then '
                "asked of the API, paid for, and added to the cassette); the bundled example's cassette is rebuilt "
                "from its hand-written answers by scripts/record-example-cassette"
            )
        reply = entry["reply"]
        return ModelReply(
            text=reply["text"],
            stop_reason=reply["stopReason"],
            input_tokens=reply["inputTokens"],
            output_tokens=reply["outputTokens"],
            seconds=0.0,
            cache_write_tokens=reply.get("cacheWriteTokens", 0),
            cache_read_tokens=reply.get("cacheReadTokens", 0),
        )


def create(config: BuildConfig, config_path: Path, say: Say) -> ReplayModel:
    """The cassette `model.cassette` names; a missing field is refused, naming it."""
    return ReplayModel(cassette_of(config, config_path, "replay"), config_path)


def cassette_of(config: BuildConfig, config_path: Path, provider: str) -> Path:
    """`model.cassette`, required by the providers that read or write one."""
    if config.model.cassette is None:
        raise ModelRequestRefused(
            f'{config_path}: field model.cassette is required when model.provider is "{provider}"'
        )
    return config.model.cassette
