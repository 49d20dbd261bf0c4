"""uvicorn's httptools protocol with a bound on the request head (431 Request Header Fields Too Large).

httptools (llhttp) has no header size limit of its own: uvicorn keeps appending to a header until
the blank line arrives, so a client could make ``fitness api`` buffer megabytes before the app's
:class:`~fitness_api.limits.HeaderSizeLimit` ever sees the request. This protocol counts the bytes
of the head being received and, once they pass the limit, answers 431 and closes the connection.

The count is per chunk read from the socket (the parser does not say where in a chunk a head
starts): a chunk in which a head ended or a request completed restarts the count at zero, so a
pipelined or keep-alive request is never charged with its predecessor's bytes, and a head is cut
at most one read (256 KiB) past the limit. The middleware then applies the exact limit.

After the 431 the connection is half-closed and the rest of the head read and dropped for up to
a second (a "lingering close"): closing at once with unread data makes the kernel send a reset,
which would destroy the 431 before a client still sending could read it.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from fitness_api.limits import MAX_HEADER_BYTES, error_headers, headers_too_large_detail


class HeadLimitedHttpToolsProtocol(HttpToolsProtocol):
    """``HttpToolsProtocol`` that refuses a request head over ``max_head_bytes`` with 431."""

    max_head_bytes = MAX_HEADER_BYTES
    linger_s = 1.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True  # a connection starts with a request head
        self._head_bytes = 0
        self._boundary_in_chunk = False
        self._refused = False

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._boundary_in_chunk = True
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._in_head = True  # what follows is the next request's head
        self._boundary_in_chunk = True
        super().on_message_complete()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a refused head, dropped until the lingering close ends
        self._boundary_in_chunk = False
        super().data_received(data)
        if not self._in_head or self.transport.is_closing():
            return
        self._head_bytes = 0 if self._boundary_in_chunk else self._head_bytes + len(data)
        if self._head_bytes > self.max_head_bytes:
            self._refuse_head()

    def _refuse_head(self) -> None:
        body = json.dumps({"detail": headers_too_large_detail(self.max_head_bytes)}).encode()
        content = [STATUS_LINE[431]]
        for name, value in [*self.server_state.default_headers, *error_headers(body)]:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend([b"\r\n", body])
        self.logger.warning("request head too large", extra={"limit": self.max_head_bytes})
        self._refused = True
        self.transport.write(b"".join(content))
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(self.linger_s, self.transport.close)
