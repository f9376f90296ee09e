"""Model access behind one small interface: the Anthropic API, a replay cassette, or the API with recording.

The anthropic SDK is imported only when a real call is about to happen (it costs ~0.8 s to import and `doit list`
must not pay for it). Retries of 429/5xx are the SDK's own (it honours `retry-after`), bounded by `model.maxRetries`.
"""
from __future__ import annotations

import fcntl
import time
from dataclasses import dataclass
from pathlib import Path

from .config import BuildConfig
from .digest import digest_of
from .errors import ModelCallError
from .storage import read_json, write_json_atomic

CASSETTE_NOTE = "Model answers keyed by request digest (see package_builder/model.py)."


@dataclass(frozen=True)
class ModelRequest:
    """One Messages API request; its digest keys cassettes and is recorded in the artifact."""

    model: str
    system: str
    messages: tuple[dict, ...]
    max_tokens: int
    temperature: float | None = None  # None: not sent (see ModelSettings.send_temperature)

    @property
    def digest(self) -> str:
        return digest_of({"model": self.model, "system": self.system, "messages": list(self.messages),
                          "max_tokens": self.max_tokens, "temperature": self.temperature})


@dataclass(frozen=True)
class ModelReply:
    text: str
    stop_reason: str
    input_tokens: int
    output_tokens: int
    seconds: float


class AnthropicModel:
    """The real API through the official SDK; streams when the output budget is large."""

    def __init__(self, config: BuildConfig, api_key: str):
        import anthropic  # deferred: see module docstring

        self._anthropic = anthropic
        self._settings = config.model
        self._client = anthropic.Anthropic(api_key=api_key, max_retries=config.model.max_retries,
                                           timeout=config.model.timeout_seconds)

    def call(self, request: ModelRequest, phase: str) -> ModelReply:
        started = time.monotonic()
        params = dict(model=request.model, system=request.system, messages=list(request.messages),
                      max_tokens=request.max_tokens)
        if request.temperature is not None:
            params["extra_body"] = {"temperature": request.temperature}
        try:
            if request.max_tokens > self._settings.stream_above_tokens:
                with self._client.messages.stream(**params) as stream:
                    message = stream.get_final_message()
            else:
                message = self._client.messages.create(**params)
        except self._anthropic.APIStatusError as exc:
            kind = _error_type(exc)
            raise ModelCallError(f"{phase}: the model API answered {exc.status_code} {kind}: {_error_message(exc)} "
                                 f"(after {self._settings.max_retries} retries)") from None
        except self._anthropic.APIConnectionError as exc:
            raise ModelCallError(f"{phase}: cannot reach the model API: {exc.__class__.__name__}: {exc}") from None
        text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
        return ModelReply(text=text, stop_reason=message.stop_reason or "", input_tokens=message.usage.input_tokens,
                          output_tokens=message.usage.output_tokens, seconds=round(time.monotonic() - started, 3))


class ReplayModel:
    """Answers from a cassette file: no network, no key. A request not in it is an error naming the phase."""

    def __init__(self, cassette: Path):
        data = read_json(cassette)
        if data is None:
            raise ModelCallError(f"{cassette}: cassette not found or not a JSON object (model.cassette)")
        self.cassette = cassette
        self._by_digest = {entry["requestDigest"]: entry for entry in data.get("interactions", [])}
        self._phases = {entry.get("phase") for entry in data.get("interactions", [])}

    def call(self, request: ModelRequest, phase: str) -> ModelReply:
        entry = self._by_digest.get(request.digest)
        if entry is None:
            hint = ("it has answers for this phase, but for other requests: the prompt, plan, model or an earlier "
                    "phase changed since it was recorded" if phase in self._phases else "it has no answer for this phase")
            raise ModelCallError(f"{phase}: no answer in cassette {self.cassette} for request {request.digest[:19]}…; {hint}")
        reply = entry["reply"]
        return ModelReply(text=reply["text"], stop_reason=reply["stopReason"], input_tokens=reply["inputTokens"],
                          output_tokens=reply["outputTokens"], seconds=0.0)


class RecordingModel:
    """Real calls whose answers are appended to a cassette, so a run can later be replayed without the API."""

    def __init__(self, inner: AnthropicModel, cassette: Path):
        self.inner = inner
        self.cassette = cassette

    def call(self, request: ModelRequest, phase: str) -> ModelReply:
        reply = self.inner.call(request, phase)
        self.cassette.parent.mkdir(parents=True, exist_ok=True)
        with open(self.cassette.with_name(self.cassette.name + ".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # `doit -n 2` may record two packages at once
            data = read_json(self.cassette) or {"note": CASSETTE_NOTE, "interactions": []}
            data["interactions"] = [e for e in data["interactions"] if e["requestDigest"] != request.digest] + [{
                "phase": phase,
                "requestDigest": request.digest,
                "reply": {"text": reply.text, "stopReason": reply.stop_reason,
                          "inputTokens": reply.input_tokens, "outputTokens": reply.output_tokens},
            }]
            write_json_atomic(self.cassette, data)
        return reply


def make_model(config: BuildConfig, config_path: Path):
    """The model the config asks for; a missing key or cassette is a clear `ConfigError`/`ModelCallError`."""
    settings = config.model
    if settings.provider == "replay":
        if settings.cassette is None:
            raise ModelCallError(f"{config_path}: field model.cassette is required when model.provider is \"replay\"")
        return ReplayModel(settings.cassette)
    model = AnthropicModel(config, config.api_key(config_path))
    if settings.provider == "record":
        if settings.cassette is None:
            raise ModelCallError(f"{config_path}: field model.cassette is required when model.provider is \"record\"")
        return RecordingModel(model, settings.cassette)
    return model


def _error_type(exc) -> str:
    body = exc.body if isinstance(getattr(exc, "body", None), dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return str(error.get("type") or exc.__class__.__name__)


def _error_message(exc) -> str:
    body = exc.body if isinstance(getattr(exc, "body", None), dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return str(error.get("message") or exc.message)[:300]
