"""Model access behind one small interface: the Anthropic API, a replay cassette, or the API with recording.

The anthropic SDK is imported only when a real call is about to happen (it costs ~0.8 s to import and `doit list`
must not pay for it). Every real call goes through the shared pacer (pacing.py). Retries of 429/5xx are first the
SDK's own (it honours `retry-after`), bounded by `model.maxRetries`; a 429 or 529 that outlasts them is waited out
by `AnthropicModel` up to `model.maxWaitSeconds`.
"""
from __future__ import annotations

import fcntl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from package_builder.base.config import BuildConfig
from package_builder.base.digest import digest_of
from package_builder.base.errors import ModelCallError, ModelRequestRefused
from package_builder.generation.pacing import Pacer, Usage, estimate_input_tokens
from package_builder.base.storage import read_json, write_json_atomic

CASSETTE_NOTE = "Model answers keyed by request digest (see package_builder/generation/model.py)."


@dataclass(frozen=True)
class ModelRequest:
    """One Messages API request; its digest keys cassettes and is recorded in the artifact."""

    model: str
    system: str | tuple[dict, ...]  # text, or content blocks (with prompt-cache breakpoints)
    messages: tuple[dict, ...]
    max_tokens: int
    temperature: float | None = None  # None: not sent (see ModelSettings.send_temperature)

    @property
    def digest(self) -> str:
        return digest_of({"model": self.model, "system": self.system if isinstance(self.system, str)
                          else list(self.system), "messages": list(self.messages),
                          "max_tokens": self.max_tokens, "temperature": self.temperature})


@dataclass(frozen=True)
class ModelReply:
    text: str
    stop_reason: str
    input_tokens: int  # not from the cache, as the API reports it
    output_tokens: int
    seconds: float
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0


class AnthropicModel:
    """The real API through the official SDK, paced to the API's rate limits; streams when the output budget is
    large. A 429 or 529 is waited out (the SDK's own retries first, then ours, sharing the pause with every caller
    of the key) for as long as `model.maxWaitSeconds` allows."""

    def __init__(self, config: BuildConfig, api_key: str, say: Callable[[str], None] = print):
        import anthropic  # deferred: see module docstring

        self._anthropic = anthropic
        self._settings = config.model
        self._client = anthropic.Anthropic(api_key=api_key, max_retries=config.model.max_retries,
                                           timeout=config.model.timeout_seconds)
        caps = config.model.rate_limits
        self._say = say
        self._pacer = Pacer.for_key(api_key, caps.by_kind() if caps else None, say=self._note)
        self.watch = None  # the running call's progress (see progress.py), set by the runner around each call

    def _note(self, line: str) -> None:
        """A wait the pacer announces: a line of its own, and what the running call's live line says it waits for."""
        if self.watch is not None:
            self.watch.note = line
        self._say(line)

    def call(self, request: ModelRequest, phase: str) -> ModelReply:
        started = time.monotonic()
        params = dict(model=request.model, system=request.system if isinstance(request.system, str)
                      else list(request.system), messages=list(request.messages), max_tokens=request.max_tokens)
        if request.temperature is not None:
            params["extra_body"] = {"temperature": request.temperature}
        need = Usage(1, estimate_input_tokens(_text(request.system), *(_text(m["content"]) for m in request.messages)),
                     request.max_tokens)
        deadline = self._pacer.clock() + self._settings.max_wait_seconds
        backoff = 1.0
        while True:
            reserved = self._pacer.reserve(need, deadline)
            if self.watch is not None:
                self.watch.note = ""
            try:
                message, headers = self._send(params, request.max_tokens)
            except self._anthropic.APIStatusError as exc:
                self._pacer.settle(reserved, Usage(0, 0, 0), exc.response.headers)
                if exc.status_code not in (429, 529):
                    refused = ModelRequestRefused if exc.status_code == 400 else ModelCallError
                    raise refused(f"{phase}: the model API answered {exc.status_code} {_error_type(exc)}: "
                                  f"{_error_message(exc)}") from None
                wait = _retry_after(exc) or backoff
                backoff = min(backoff * 2, 60.0)
                why = (f"the API's rate limit (429 {_error_message(exc)[:120]})" if exc.status_code == 429
                       else "the API being overloaded (529)")
                if self._pacer.clock() + wait > deadline:
                    raise ModelCallError(f"{phase}: still refused after waiting {self._settings.max_wait_seconds:.0f}"
                                         f" s (model.maxWaitSeconds) for {why}; run again later, nothing answered is "
                                         "asked again") from None
                self._pacer.pause(wait, why)
                continue
            except self._anthropic.APIConnectionError as exc:
                self._pacer.settle(reserved, Usage(0, 0, 0), None)
                raise ModelCallError(f"{phase}: cannot reach the model API: {exc.__class__.__name__}: {exc}") from None
            usage = message.usage
            written = getattr(usage, "cache_creation_input_tokens", 0) or 0
            self._pacer.settle(reserved, Usage(1, usage.input_tokens + written, usage.output_tokens), headers)
            text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
            return ModelReply(text=text, stop_reason=message.stop_reason or "", input_tokens=usage.input_tokens,
                              output_tokens=usage.output_tokens, seconds=round(time.monotonic() - started, 3),
                              cache_write_tokens=written,
                              cache_read_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0)

    def _send(self, params: dict, max_tokens: int):
        """The message and the answer's headers (they carry the rate limits)."""
        if max_tokens > self._settings.stream_above_tokens:
            with self._client.messages.stream(**params) as stream:
                for text in stream.text_stream:
                    if self.watch is not None:
                        self.watch.streamed(text)
                return stream.get_final_message(), stream.response.headers
        raw = self._client.messages.with_raw_response.create(**params)
        return raw.parse(), raw.headers


class ReplayModel:
    """Answers from a cassette file: no network, no key. A request not in it is an error naming the phase and what
    to do: a replayed run cannot ask anyone, so an edited plan or template needs the edit undone or a recording."""

    def __init__(self, cassette: Path, config_path: Path | None = None):
        data = read_json(cassette)
        if data is None:
            raise ModelCallError(f"{cassette}: cassette not found or not a JSON object (model.cassette)")
        self.cassette = cassette
        self.config_path = config_path
        self._by_digest = {entry["requestDigest"]: entry for entry in data.get("interactions", [])}
        self._phases = {entry.get("phase") for entry in data.get("interactions", [])}

    def call(self, request: ModelRequest, phase: str) -> ModelReply:
        entry = self._by_digest.get(request.digest)
        if entry is None:
            hint = ("it has answers for this phase, but for other requests: the prompt, plan, model or an earlier "
                    "phase changed since it was recorded" if phase in self._phases else "it has no answer for this phase")
            config = self.config_path or "the config"
            raise ModelCallError(
                f"{phase}: no answer in cassette {self.cassette} for request {request.digest[:19]}…; {hint}. To go on, "
                "undo the edit (the plan, prompts/ or phases/), or record new answers with a real key: set "
                f'model.provider to "record" in {config} and export ANTHROPIC_API_KEY (each missing answer is then '
                "asked of the API, paid for, and added to the cassette); the bundled example's cassette is rebuilt "
                "from its hand-written answers by scripts/record-example-cassette")
        reply = entry["reply"]
        return ModelReply(text=reply["text"], stop_reason=reply["stopReason"], input_tokens=reply["inputTokens"],
                          output_tokens=reply["outputTokens"], seconds=0.0,
                          cache_write_tokens=reply.get("cacheWriteTokens", 0),
                          cache_read_tokens=reply.get("cacheReadTokens", 0))


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
                          "inputTokens": reply.input_tokens, "outputTokens": reply.output_tokens,
                          "cacheWriteTokens": reply.cache_write_tokens, "cacheReadTokens": reply.cache_read_tokens},
            }]
            write_json_atomic(self.cassette, data)
        return reply


def make_model(config: BuildConfig, config_path: Path, say: Callable[[str], None] = print):
    """The model the config asks for; a missing key or cassette is a clear `ConfigError`/`ModelCallError`."""
    settings = config.model
    if settings.provider == "replay":
        if settings.cassette is None:
            raise ModelCallError(f"{config_path}: field model.cassette is required when model.provider is \"replay\"")
        return ReplayModel(settings.cassette, config_path)
    model = AnthropicModel(config, config.api_key(config_path), say)
    if settings.provider == "record":
        if settings.cassette is None:
            raise ModelCallError(f"{config_path}: field model.cassette is required when model.provider is \"record\"")
        return RecordingModel(model, settings.cassette)
    return model


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


def _retry_after(exc) -> float | None:
    try:
        return max(0.0, float(exc.response.headers.get("retry-after")))
    except (TypeError, ValueError):
        return None


def _error_type(exc) -> str:
    body = exc.body if isinstance(getattr(exc, "body", None), dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return str(error.get("type") or exc.__class__.__name__)


def _error_message(exc) -> str:
    body = exc.body if isinstance(getattr(exc, "body", None), dict) else {}
    error = body.get("error") if isinstance(body.get("error"), dict) else {}
    return str(error.get("message") or exc.message)[:300]
