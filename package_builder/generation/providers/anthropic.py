"""The `anthropic` provider: the Messages API through the official SDK, paced to the API's rate limits.

The SDK is imported only when a real call is about to happen (it costs ~0.8 s to import and `doit list` must not pay
for it; `import anthropic` here is the SDK, imports being absolute). Every call goes through the shared pacer
(pacing.py), keyed by `pacing_identity`. Retries of 429/5xx are first the SDK's own (it honours `retry-after`),
bounded by `model.maxRetries`; a 429 or 529 that outlasts them is waited out here up to `model.maxWaitSeconds`.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from package_builder.base.config import BuildConfig
from package_builder.base.errors import ModelCallError, ModelRequestRefused
from package_builder.generation.pacing import Pacer, Usage, estimate_input_tokens
from package_builder.generation.progress import CallWatch
from package_builder.generation.providers.interface import ModelReply, ModelRequest, Say

# The SDK reads either; both are emptied for every command we run (base/credentials.py).
SECRET_VARIABLES = frozenset({"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"})


def pacing_identity(api_key: str) -> str:
    """A digest of the key, never the key: the name of the key's rate-limit state, kept as it has always been so
    that no learned limit is lost (every process using one key shares one budget)."""
    return hashlib.sha256(api_key.encode("utf-8")).hexdigest()[:16]


class AnthropicModel:
    """The real API; streams when the output budget is large. A 429 or 529 is waited out (the SDK's own retries
    first, then ours, sharing the pause with every caller of the key) for as long as `model.maxWaitSeconds` allows."""

    def __init__(self, config: BuildConfig, api_key: str, say: Say = print):
        import anthropic  # deferred: see module docstring

        self._anthropic = anthropic
        self._settings = config.model
        self._client = anthropic.Anthropic(
            api_key=api_key, max_retries=config.model.max_retries, timeout=config.model.timeout_seconds
        )
        caps = config.model.rate_limits
        self._say = say
        self.pacing_identity = pacing_identity(api_key)
        self._pacer = Pacer.for_identity(
            self.pacing_identity,
            caps.by_kind() if caps else None,
            shared=config.model.rate_limit_store,
            say=self._note,
        )
        # the running call's progress (see progress.py), set by the runner around each call
        self.watch: CallWatch | None = None

    def _note(self, line: str) -> None:
        """A wait the pacer announces: a line of its own, and what the running call's live line says it waits for."""
        if self.watch is not None:
            self.watch.note = line
        self._say(line)

    def call(self, request: ModelRequest, phase: str) -> ModelReply:
        started = time.monotonic()
        params: dict[str, Any] = dict(
            model=request.model,
            system=request.system if isinstance(request.system, str) else list(request.system),
            messages=list(request.messages),
            max_tokens=request.max_tokens,
        )
        if request.temperature is not None:
            params["extra_body"] = {"temperature": request.temperature}
        need = Usage(
            1,
            estimate_input_tokens(_text(request.system), *(_text(m["content"]) for m in request.messages)),
            request.max_tokens,
        )
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
                    # a bad request, a key or model the API does not accept: sending it again would not help
                    refused = ModelRequestRefused if exc.status_code in (400, 401, 403, 404, 413) else ModelCallError
                    raise refused(
                        f"{phase}: the model API answered {exc.status_code} {_error_type(exc)}: {_error_message(exc)}"
                    ) from None
                wait = _retry_after(exc) or backoff
                backoff = min(backoff * 2, 60.0)
                why = (
                    f"the API's rate limit (429 {_error_message(exc)[:120]})"
                    if exc.status_code == 429
                    else "the API being overloaded (529)"
                )
                if self._pacer.clock() + wait > deadline:
                    raise ModelCallError(
                        f"{phase}: still refused after waiting {self._settings.max_wait_seconds:.0f}"
                        f" s (model.maxWaitSeconds) for {why}; run again later, nothing answered is "
                        "asked again"
                    ) from None
                self._pacer.pause(wait, why)
                continue
            except self._anthropic.APIConnectionError as exc:
                self._pacer.settle(reserved, Usage(0, 0, 0), None)
                raise ModelCallError(f"{phase}: cannot reach the model API: {exc.__class__.__name__}: {exc}") from None
            usage = message.usage
            written = getattr(usage, "cache_creation_input_tokens", 0) or 0
            self._pacer.settle(reserved, Usage(1, usage.input_tokens + written, usage.output_tokens), headers)
            text = "".join(block.text for block in message.content if getattr(block, "type", "") == "text")
            return ModelReply(
                text=text,
                stop_reason=message.stop_reason or "",
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                seconds=round(time.monotonic() - started, 3),
                cache_write_tokens=written,
                cache_read_tokens=getattr(usage, "cache_read_input_tokens", 0) or 0,
            )

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


def create(config: BuildConfig, config_path: Path, say: Say) -> AnthropicModel:
    """The API with the key from the environment or the config; a missing key is a `ConfigError` saying where."""
    return AnthropicModel(config, config.api_key(config_path), say)


def _text(content) -> str:
    if isinstance(content, str):
        return content
    return "".join(block.get("text", "") for block in content if isinstance(block, dict))


def _retry_after(exc) -> float | None:
    try:
        return max(0.0, float(exc.response.headers.get("retry-after")))
    except (TypeError, ValueError):
        return None


def _error_body(exc) -> dict:
    """The API's `{"error": {"type", "message"}}` object of a failure, or {} when its body holds none."""
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _error_type(exc) -> str:
    return str(_error_body(exc).get("type") or exc.__class__.__name__)


def _error_message(exc) -> str:
    return str(_error_body(exc).get("message") or exc.message)[:300]
