"""Request size limits as plain ASGI middleware (cheap on every request): body 413, head 431.

Both hold under any server that runs the app (``fitness api``, compose, the test client).
``fitness api`` also stops reading an oversized head in the server itself (``fitness_api.protocol``),
so a client cannot make it buffer megabytes of headers before this middleware sees them.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY_BYTES = 16 * 1024
#: The request head: request line plus header lines as sent (``name: value\r\n``), in total.
MAX_HEADER_BYTES = 16 * 1024


class BodyTooLarge(HTTPException):
    """The body grew past the limit while streaming in (no or a false Content-Length)."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, too_large_detail(max_bytes))


def too_large_detail(max_bytes: int) -> str:
    return f"request body larger than {max_bytes} bytes"


class BodySizeLimit:
    """Answer 413 to requests whose body exceeds ``max_bytes``, declared or actual."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._reject(send)
            return
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge(self.max_bytes)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"detail": too_large_detail(self.max_bytes)}).encode()
        await send({"type": "http.response.start", "status": 413, "headers": error_headers(body)})
        await send({"type": "http.response.body", "body": body})


def head_size(scope: Scope) -> int:
    """Bytes of the request head as sent on HTTP/1.1: request line and ``name: value\\r\\n`` lines."""
    target = len(scope.get("raw_path") or scope["path"].encode()) + len(scope.get("query_string", b""))
    size = len(scope["method"]) + target + 12  # " ", "?", " HTTP/1.1\r\n"
    for name, value in scope["headers"]:
        size += len(name) + len(value) + 4
    return size


class HeaderSizeLimit:
    """Answer 431 to requests whose head (request line and headers) exceeds ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_HEADER_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and head_size(scope) > self.max_bytes:
            body = json.dumps({"detail": headers_too_large_detail(self.max_bytes)}).encode()
            await send({"type": "http.response.start", "status": 431, "headers": error_headers(body)})
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def headers_too_large_detail(max_bytes: int) -> str:
    return f"request headers larger than {max_bytes} bytes"


def error_headers(body: bytes) -> list[tuple[bytes, bytes]]:
    """Headers of a refusal: JSON, its length, and closing the connection."""
    return [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
