"""A scriptable Messages API server on 127.0.0.1 for tests: the real anthropic SDK talks to it over HTTP.

It answers `POST /v1/messages` in the API's real shapes (JSON, or Server-Sent Events when `stream: true`), with real
`usage` and `stop_reason`, and real error bodies and headers (429 with `retry-after`, 529 `overloaded_error`). Each
request is routed by the phase named in its system prompt (`[phase 08/15 TESTING]`): a test queues replies per phase
with `script()`, and everything else goes to the `default` callable.
"""
from __future__ import annotations

import json
import re
import threading
import uuid
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

_PHASE = re.compile(r"\[phase (\d{2})/(\d{2}) ([A-Z_]+)\]")


class Reply:
    """What the server does with one request."""


@dataclass
class Text(Reply):
    """A normal answer; `stop_reason="max_tokens"` makes it a truncated one."""

    text: str
    stop_reason: str = "end_turn"


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
    match = _PHASE.search(_system_text(body.get("system")))
    return match.group(3) if match else None


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

    def __init__(self, default: Callable[[Request], Reply] | None = None):
        self.default = default or (lambda request: Text("<summary>nothing scripted</summary>"))
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

    def start(self) -> "MessagesAPIServer":
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        server.daemon_threads = True
        self._server = server
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._release.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> "MessagesAPIServer":
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
            request = Request(phase=phase_of(body), body=body, headers=dict(self.headers),
                              system=_system_text(body.get("system")),
                              user_text=_text_of(users[-1]["content"]) if users else "", messages=messages)
            reply = api._reply_for(request)
            if isinstance(reply, Hold):
                api._wait_released()
                reply = reply.then
            if isinstance(reply, ApiError):
                return self._error(reply)
            prompt_chars = len(request.system) + sum(len(_text_of(m.get("content"))) for m in messages)
            usage = {"input_tokens": max(1, prompt_chars // 4), "output_tokens": max(1, len(reply.text) // 4),
                     "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
            message = {"id": f"msg_{uuid.uuid4().hex[:24]}", "type": "message", "role": "assistant",
                       "model": body["model"], "content": [{"type": "text", "text": reply.text}],
                       "stop_reason": reply.stop_reason, "stop_sequence": None, "usage": usage}
            if body.get("stream"):
                self._stream(message)
            else:
                self._send(200, json.dumps(message).encode(), "application/json")

        def _stream(self, message: dict) -> None:
            text = message["content"][0]["text"]
            start = {**message, "content": [], "stop_reason": None,
                     "usage": {**message["usage"], "output_tokens": 1}}
            chunk = max(1, len(text) // 3)
            events = [("message_start", {"type": "message_start", "message": start}),
                      ("content_block_start", {"type": "content_block_start", "index": 0,
                                               "content_block": {"type": "text", "text": ""}})]
            events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                "delta": {"type": "text_delta", "text": text[i:i + chunk]}})
                       for i in range(0, len(text), chunk)]
            events += [("content_block_stop", {"type": "content_block_stop", "index": 0}),
                       ("message_delta", {"type": "message_delta",
                                          "delta": {"stop_reason": message["stop_reason"], "stop_sequence": None},
                                          "usage": {"output_tokens": message["usage"]["output_tokens"]}}),
                       ("message_stop", {"type": "message_stop"})]
            payload = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in events).encode()
            self._send(200, payload, "text/event-stream")

        def _error(self, error: ApiError) -> None:
            body = json.dumps({"type": "error", "error": {"type": error.error_type, "message": error.message}})
            self._send(error.status, body.encode(), "application/json", error.headers)

        def _send(self, status: int, payload: bytes, content_type: str, headers: dict | None = None) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(payload)))
            self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(payload)

    return Handler
