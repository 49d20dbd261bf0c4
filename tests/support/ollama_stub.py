"""A scripted Ollama-compatible HTTP server on 127.0.0.1 for tests and benchmarks.

It implements ``POST /api/generate`` and ``POST /api/chat`` (non-streaming) plus the read-only
``/api/tags``, ``/api/version`` and ``/api/show``, and answers each generation request with the
next scripted :class:`Reply` (a content string, an HTTP error status, or a delay longer than the
client's timeout). Every request is counted and kept, so tests can assert exactly how many calls
the planner made and what it sent.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GENERATION_PATHS = ("/api/generate", "/api/chat")


@dataclass(frozen=True)
class Reply:
    """One scripted answer: ``content`` with ``status`` 200, or an error ``status``, after ``delay_s``."""

    content: str = ""
    status: int = 200
    delay_s: float = 0.0

    @classmethod
    def of_json(cls, value: Any, delay_s: float = 0.0) -> Reply:
        return cls(content=json.dumps(value), delay_s=delay_s)


Responder = Callable[[dict[str, Any]], Reply]


class OllamaStub:
    """The server: ``script(...)`` queues replies; ``calls``/``requests`` say what was asked."""

    def __init__(self, default: Reply | Responder | None = None, model: str = "llama3.2:latest") -> None:
        self.model = model
        self._default = default if default is not None else Reply(status=503, content="script exhausted")
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="ollama-stub", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def calls(self) -> int:
        """Generation requests received so far (both endpoints)."""
        with self._lock:
            return len(self.requests)

    def start(self) -> OllamaStub:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OllamaStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(self, replies: Iterable[Reply]) -> None:
        """Queue replies, answered in order; after them the default answers."""
        with self._lock:
            self._queue.extend(replies)

    def reset(self) -> None:
        """Forget queued replies and recorded requests."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()

    def pending(self) -> int:
        with self._lock:
            return len(self._queue)

    def _next_reply(self, path: str, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append((path, body))
            if self._queue:
                return self._queue.popleft()
        return self._default(body) if callable(self._default) else self._default

    def _wait(self, seconds: float) -> None:
        self._stopping.wait(seconds)


def generation_body(model: str, path: str, content: str, request: dict[str, Any]) -> dict[str, Any]:
    """The JSON Ollama returns for a finished, non-streamed generation."""
    prompt_text = request.get("prompt") or json.dumps(request.get("messages", []))
    common = {
        "model": model,
        "created_at": "2025-01-06T00:00:00Z",
        "done": True,
        "done_reason": "stop",
        "total_duration": 1_000_000,
        "prompt_eval_count": max(1, len(prompt_text) // 4),
        "eval_count": max(1, len(content) // 4),
    }
    if path == "/api/chat":
        return {**common, "message": {"role": "assistant", "content": content}}
    return {**common, "response": content}


def _handler_for(stub: OllamaStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet: tests read counters
            return

        def _send(self, status: int, payload: dict[str, Any] | str) -> None:
            data = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout): nothing to answer

        def do_GET(self) -> None:
            if self.path == "/api/tags":
                self._send(200, {"models": [{"name": stub.model, "model": stub.model}]})
            elif self.path == "/api/version":
                self._send(200, {"version": "0.0.0-stub"})
            else:
                self._send(404, {"error": f"no route {self.path}"})

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            try:
                body = json.loads(raw or b"{}")
            except json.JSONDecodeError:
                self._send(400, {"error": "request body is not JSON"})
                return
            if self.path == "/api/show":
                self._send(200, {"details": {"family": "llama"}, "model_info": {}, "template": ""})
                return
            if self.path not in GENERATION_PATHS:
                self._send(404, {"error": f"no route {self.path}"})
                return
            reply = stub._next_reply(self.path, body)
            if reply.delay_s:
                stub._wait(reply.delay_s)
            if reply.status != 200:
                self._send(reply.status, {"error": reply.content or f"scripted HTTP {reply.status}"})
                return
            self._send(200, generation_body(stub.model, self.path, reply.content, body))

    return Handler
