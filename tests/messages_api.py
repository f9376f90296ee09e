"""A scriptable Messages API server on 127.0.0.1 for tests: the real anthropic SDK talks to it over HTTP.

It answers `POST /v1/messages` in the API's real shapes (JSON, or Server-Sent Events when `stream: true`), with real
`usage` and `stop_reason`, and real error bodies and headers (429 with `retry-after`, 529 `overloaded_error`). Each
request is routed by the phase it names (`[phase 08 TESTING]`, in its task): a test queues replies per phase
with `script()`, and everything else goes to the `default` callable.

It applies the API's prompt-caching rules (`PromptCache`) and reports `cache_creation_input_tokens` and
`cache_read_input_tokens` as the API does. With `limits=RateLimits(...)` it enforces the API's rate limits the way the
real API does: token buckets for requests, input tokens and output tokens, refilled continuously (a full bucket every
`window_seconds`: 60 on the real API; tests shrink it to keep minutes short). A request is admitted when a request and
its input tokens are in their buckets and the output bucket is not in debt; its output tokens are taken as they are
produced (a streamed answer's chunk by chunk, after its headers went out). Every answer carries
`anthropic-ratelimit-{requests,input-tokens,output-tokens}-{limit,remaining,reset}` (reset: RFC 3339 in whole seconds,
as the real API sends it, so up to a second before the bucket is really full); a refused request gets 429
`rate_limit_error` with `retry-after` (whole seconds, rounded up). `rate_limited` counts the 429s.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_PHASE = re.compile(r"\[phase (\d{2}) ([A-Z_]+)\]")


@dataclass(frozen=True)
class RateLimits:
    """Per-window limits of one organisation and model class (the real API's window is a minute)."""

    requests: int = 50
    input_tokens: int = 30_000
    output_tokens: int = 8_000
    window_seconds: float = 60.0


class TokenBuckets:
    """The server's buckets: refilled continuously, output taken at completion (and allowed to go into debt)."""

    KINDS = ("requests", "input-tokens", "output-tokens")

    def __init__(self, limits: RateLimits):
        self.limits = {
            "requests": limits.requests,
            "input-tokens": limits.input_tokens,
            "output-tokens": limits.output_tokens,
        }
        self.window = limits.window_seconds
        self.level = dict(self.limits)
        self.updated = time.monotonic()
        self.refused = 0
        self.lock = threading.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        for kind, limit in self.limits.items():
            self.level[kind] = min(limit, self.level[kind] + limit * (now - self.updated) / self.window)
        self.updated = now

    def admit(self, input_tokens: int) -> float:
        """Take a request and its input tokens; 0 when admitted, else the seconds until it would be."""
        with self.lock:
            self._refill()
            waits = [
                (1 - self.level["requests"]) / self.limits["requests"],
                (input_tokens - self.level["input-tokens"]) / self.limits["input-tokens"],
                (1 - self.level["output-tokens"]) / self.limits["output-tokens"],
            ]
            wait = max(waits) * self.window
            if wait > 0:
                self.refused += 1
                return wait
            self.level["requests"] -= 1
            self.level["input-tokens"] -= input_tokens
            return 0.0

    def complete(self, output_tokens: int) -> None:
        """Take output tokens as they are produced (all of an answer at once, or a streamed answer chunk by chunk)."""
        with self.lock:
            self._refill()
            self.level["output-tokens"] -= output_tokens

    def headers(self) -> dict:
        with self.lock:
            self._refill()
            headers = {}
            for kind, limit in self.limits.items():
                level = self.level[kind]
                full_in = max(0.0, (limit - level) / limit * self.window)
                reset = datetime.fromtimestamp(math.floor(time.time() + full_in), UTC)  # whole seconds
                headers[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
                headers[f"anthropic-ratelimit-{kind}-remaining"] = str(max(0, math.floor(level)))
                headers[f"anthropic-ratelimit-{kind}-reset"] = reset.isoformat(timespec="seconds").replace(
                    "+00:00", "Z"
                )
            return headers


class PromptCache:
    """The API's prompt-caching rules. A content block with `cache_control` ends a cacheable prefix (at most 4 per
    request); a prefix is written only when it holds at least 1,024 tokens; a request reads the longest cached prefix
    that ends at a block boundary up to 20 blocks before one of its breakpoints; an entry lives 5 minutes from its
    last use. Tokens are counted as characters / 4, the same as the rest of this server."""

    FLOOR_TOKENS = 1024
    LIFETIME_SECONDS = 300.0
    LOOKBACK_BLOCKS = 20

    def __init__(self):
        self.entries: dict[str, float] = {}  # prefix digest → expiry
        self.lock = threading.Lock()

    def usage(self, body: dict) -> tuple[int, int, int]:
        """(uncached input, cache write, cache read) tokens of one request; writes what it should."""
        blocks = _blocks(body)
        total = sum(tokens for _, tokens, _ in blocks)
        breakpoints = [index for index, (_, _, marked) in enumerate(blocks) if marked]
        if not breakpoints:
            return max(1, total), 0, 0
        prefix, digests, cumulative = hashlib.sha256(str(body.get("model")).encode()), [], []
        running = 0
        for text, tokens, _ in blocks:
            prefix.update(text.encode())
            digests.append(prefix.copy().hexdigest())
            running += tokens
            cumulative.append(running)
        now = time.monotonic()
        with self.lock:
            candidates = {i for b in breakpoints for i in range(max(0, b - self.LOOKBACK_BLOCKS), b + 1)}
            hits = [i for i in candidates if self.entries.get(digests[i], 0) > now]
            read_end = max(hits, default=-1)
            read = cumulative[read_end] if read_end >= 0 else 0
            if read_end >= 0:
                self.entries[digests[read_end]] = now + self.LIFETIME_SECONDS
            written_end = max(
                (b for b in breakpoints if cumulative[b] >= self.FLOOR_TOKENS and b > read_end), default=-1
            )
            for b in breakpoints:
                if cumulative[b] >= self.FLOOR_TOKENS and b > read_end:
                    self.entries[digests[b]] = now + self.LIFETIME_SECONDS
        write = cumulative[written_end] - read if written_end >= 0 else 0
        return max(0, total - read - write), write, read


def _blocks(body: dict) -> list[tuple[str, int, bool]]:
    """Every content block in request order: (its canonical text, its tokens, whether it ends a cached prefix)."""
    out = []
    system = body.get("system")
    for block in [{"type": "text", "text": system}] if isinstance(system, str) else system or []:
        out.append(
            (json.dumps({"system": block.get("text", "")}), len(block.get("text", "")) // 4, "cache_control" in block)
        )
    for message in body.get("messages") or []:
        content = message.get("content")
        for block in [{"type": "text", "text": content}] if isinstance(content, str) else content or []:
            out.append(
                (
                    json.dumps({message.get("role"): block.get("text", "")}),
                    len(block.get("text", "")) // 4,
                    "cache_control" in block,
                )
            )
    return out


class Reply:
    """What the server does with one request."""


@dataclass
class Text(Reply):
    """A normal answer; `stop_reason="max_tokens"` makes it a truncated one. `stream_seconds` spreads a streamed
    answer's text over that long, as a slow model writes it."""

    text: str
    stop_reason: str = "end_turn"
    stream_seconds: float = 0.0


@dataclass
class ApiError(Reply):
    """An error in the API's JSON shape: {"type": "error", "error": {"type": ..., "message": ...}}."""

    status: int
    error_type: str
    message: str
    headers: dict = field(default_factory=dict)


@dataclass
class Hold(Reply):
    """Block the request until `release()` (or 60 s), then answer `then`: lets a test kill the client mid-call."""

    then: Reply


@dataclass
class Request:
    phase: str | None
    body: dict
    headers: dict
    system: str
    user_text: str
    messages: list


def phase_of(body: dict) -> str | None:
    """The phase a request is for: the last `[phase NN NAME]` marker in it (the task comes last)."""
    texts = [_system_text(body.get("system")), *(_text_of(m.get("content")) for m in body.get("messages") or [])]
    matches = _PHASE.findall("\n".join(texts))
    return matches[-1][1] if matches else None


def _system_text(system) -> str:
    if isinstance(system, str):
        return system
    if isinstance(system, list):
        return "\n".join(block.get("text", "") for block in system if isinstance(block, dict))
    return ""


def _text_of(content) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(block.get("text", "") for block in content or [] if isinstance(block, dict))


class MessagesAPIServer:
    """Start with `with MessagesAPIServer(default=...) as api:`; point the SDK at `api.base_url`."""

    def __init__(self, default: Callable[[Request], Reply] | None = None, limits: RateLimits | None = None):
        self.default = default or (lambda request: Text("<summary>nothing scripted</summary>"))
        self.buckets = TokenBuckets(limits) if limits else None
        self.answered: list[tuple[float, float, int, int]] = []  # (start, end, input, output) of each served answer
        self.rate_limited: list[Request] = []  # requests refused with 429 by the buckets
        self.cache = PromptCache()
        self.usage: list[dict] = []  # the usage of every answer served, as the API reported it
        self.refuse_prefill = False  # answer 400 to a request whose last message is the assistant's, as some models do
        self.hits: list[Request] = []
        self.held = threading.Event()
        self._release = threading.Event()
        self._queues: dict[str | None, deque] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MessagesAPIServer:
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        # shutdown() waits for the serving loop's next poll: the default half second, paid by every test's teardown
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> MessagesAPIServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def script(self, phase: str | None, *replies: Reply) -> None:
        with self._lock:
            self._queues[phase].extend(replies)

    def release(self) -> None:
        self._release.set()

    def hits_for(self, phase: str) -> list[Request]:
        return [hit for hit in self.hits if hit.phase == phase]

    def phases_called(self) -> list[str | None]:
        return [hit.phase for hit in self.hits]

    def _reply_for(self, request: Request) -> Reply:
        with self._lock:
            self.hits.append(request)
            queue = self._queues.get(request.phase)
            if queue:
                return queue.popleft()
        return self.default(request)

    def _wait_released(self) -> None:
        self.held.set()
        self._release.wait(60)


def _handler_for(api: MessagesAPIServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            if self.path.split("?")[0] != "/v1/messages":
                return self._error(ApiError(404, "not_found_error", f"no route {self.path}"))
            bearer = (self.headers.get("authorization") or "").removeprefix("Bearer ").strip()
            if not (self.headers.get("x-api-key") or bearer):
                return self._error(ApiError(401, "authentication_error", "an API key is required"))
            try:
                body = json.loads(raw)
            except ValueError:
                return self._error(ApiError(400, "invalid_request_error", "body is not JSON"))
            missing = [key for key in ("model", "max_tokens", "messages") if key not in body]
            if missing:
                return self._error(ApiError(400, "invalid_request_error", f"{missing[0]}: Field required"))
            messages = body.get("messages") or []
            users = [m for m in messages if m.get("role") == "user"]
            request = Request(
                phase=phase_of(body),
                body=body,
                headers=dict(self.headers),
                system=_system_text(body.get("system")),
                user_text=_text_of(users[-1]["content"]) if users else "",
                messages=messages,
            )
            if api.refuse_prefill and messages and messages[-1].get("role") == "assistant":
                api.hits.append(request)
                return self._error(
                    ApiError(
                        400,
                        "invalid_request_error",
                        "This model does not support assistant "
                        "message prefill. The conversation must end with a user message.",
                    )
                )
            uncached, cache_write, cache_read = api.cache.usage(body)
            input_tokens = uncached + cache_write  # what counts against input tokens per minute: not cache reads
            started = time.monotonic()
            if api.buckets is not None:
                wait = api.buckets.admit(input_tokens)
                if wait > 0:
                    api.rate_limited.append(request)
                    return self._error(
                        ApiError(
                            429,
                            "rate_limit_error",
                            "This request would exceed your organization's rate limit.",
                            {"retry-after": str(math.ceil(wait))},
                        )
                    )
            reply = api._reply_for(request)
            if isinstance(reply, Hold):
                api._wait_released()
                reply = reply.then
            if isinstance(reply, ApiError):
                return self._error(reply)
            usage = {
                "input_tokens": uncached,
                "output_tokens": max(1, len(reply.text) // 4),
                "cache_creation_input_tokens": cache_write,
                "cache_read_input_tokens": cache_read,
            }
            message = {
                "id": f"msg_{uuid.uuid4().hex[:24]}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [{"type": "text", "text": reply.text}],
                "stop_reason": reply.stop_reason,
                "stop_sequence": None,
                "usage": usage,
            }
            api.answered.append((started, time.monotonic(), input_tokens, usage["output_tokens"]))
            api.usage.append(usage)
            if body.get("stream"):
                self._stream(message, reply.stream_seconds)
            else:  # the whole answer is produced (and its output taken) before the response goes out
                self._charge_output(usage["output_tokens"])
                self._send(200, json.dumps(message).encode(), "application/json")

        def _charge_output(self, tokens: int) -> None:
            if api.buckets is not None and tokens > 0:
                api.buckets.complete(tokens)

        def _stream(self, message: dict, seconds: float = 0.0) -> None:
            """Server-Sent Events: the headers first (with the buckets as they stand), then the text, its output
            tokens taken chunk by chunk as it is written."""
            text = message["content"][0]["text"]
            start = {**message, "content": [], "stop_reason": None, "usage": {**message["usage"], "output_tokens": 1}}
            chunk = max(1, len(text) // (24 if seconds else 3))
            events = [
                ("message_start", {"type": "message_start", "message": start}),
                (
                    "content_block_start",
                    {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                ),
            ]
            events += [
                (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": 0,
                        "delta": {"type": "text_delta", "text": text[i : i + chunk]},
                    },
                )
                for i in range(0, len(text), chunk)
            ]
            events += [
                ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                (
                    "message_delta",
                    {
                        "type": "message_delta",
                        "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                        "usage": {"output_tokens": message["usage"]["output_tokens"]},
                    },
                ),
                ("message_stop", {"type": "message_stop"}),
            ]
            encoded = [f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events]
            total = message["usage"]["output_tokens"]
            deltas = sum(1 for name, _ in events if name == "content_block_delta")
            shares = [total * (i + 1) // deltas - total * i // deltas for i in range(deltas)]  # sums to total
            self.send_response(200)  # written as it is produced: no length, the connection closes at the end
            self.send_header("content-type", "text/event-stream")
            self.send_header("connection", "close")
            self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
            for key, value in (api.buckets.headers() if api.buckets is not None else {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.close_connection = True
            for (name, _), chunk in zip(events, encoded, strict=True):
                self.wfile.write(chunk)
                self.wfile.flush()
                if name == "content_block_delta":
                    self._charge_output(shares.pop(0))
                if seconds:
                    time.sleep(seconds / len(encoded))
            if not deltas:
                self._charge_output(total)  # no text at all: the answer's single token

        def _error(self, error: ApiError) -> None:
            body = json.dumps({"type": "error", "error": {"type": error.error_type, "message": error.message}})
            self._send(error.status, body.encode(), "application/json", error.headers)

        def _send(self, status: int, payload: bytes, content_type: str, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
            limits = api.buckets.headers() if api.buckets is not None else {}
            for key, value in {**limits, **(headers or {})}.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
