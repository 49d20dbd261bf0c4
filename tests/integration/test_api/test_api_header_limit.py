"""Request headers are bounded: a head over 16 KiB is answered 431, over real HTTP, never 200.

`fitness api` (uvicorn + httptools) stops reading an oversized head itself, so an 8 MB header is
refused after the first few hundred KiB; the ASGI middleware gives the same answer under any other
server (here uvicorn with h11, and the test client).
"""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi.testclient import TestClient

from fitness_api.app import create_app
from fitness_api.limits import MAX_HEADER_BYTES
from fitness_cli.services import free_port, wait_for_port
from fitness_core.settings import Settings

EIGHT_MB = 8 * 1024 * 1024
CHUNK = 64 * 1024


def send_head(port: int, header_bytes: int, *, one_write: bool = False) -> tuple[bytes, int]:
    """Send ``GET /`` with one ``X-Big`` header of ``header_bytes``; the response read and bytes sent.

    The head goes out in 64 KiB writes; sending stops as soon as the server answers or closes.
    """
    head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * header_bytes + b"\r\n\r\n"
    sent = 0
    response = b""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            if one_write:
                sock.sendall(head)
                sent = len(head)
            else:
                while sent < len(head):
                    sent += sock.send(head[sent : sent + CHUNK])
                    if select.select([sock], [], [], 0)[0]:
                        break  # the server answered (or closed) before the head was complete
            sock.settimeout(10)
            while chunk := sock.recv(65536):
                response += chunk
                if b"\r\n\r\n" in response and not response.startswith(b"HTTP/1.1 100"):
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
    return response, sent


def status_of(response: bytes) -> int | None:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.") else None


@pytest.fixture
def fitness_api(settings: Settings, tmp_path: Path) -> Iterator[int]:
    """`fitness api` in a subprocess on a free port (the server the project runs)."""
    port = free_port()
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "fitness_cli", "api", "--port", str(port)],
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server, "fitness api", log)
        yield port
    finally:
        server.terminate()
        server.wait(15)


def test_fitness_api_answers_431_to_an_8_mb_header(fitness_api: int) -> None:
    response, sent = send_head(fitness_api, EIGHT_MB)
    assert status_of(response) == 431, response[:200]
    assert b"connection: close" in response.lower()
    assert sent < EIGHT_MB // 2  # refused early, not after buffering the whole head


@pytest.mark.parametrize("size", [MAX_HEADER_BYTES + 1, 64 * 1024, 1024 * 1024])
def test_fitness_api_answers_431_just_over_the_limit(fitness_api: int, size: int) -> None:
    assert status_of(send_head(fitness_api, size, one_write=size < CHUNK)[0]) == 431


def test_fitness_api_serves_a_head_under_the_limit(fitness_api: int) -> None:
    response, _ = send_head(fitness_api, MAX_HEADER_BYTES - 200)
    assert status_of(response) == 200


def test_keep_alive_and_pipelined_requests_are_not_counted_as_one_head(fitness_api: int) -> None:
    one = b"GET / HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"p" * 8000 + b"\r\n\r\n"
    with socket.create_connection(("127.0.0.1", fitness_api), timeout=10) as sock:
        sock.sendall(one * 6)  # 48 KB of heads in one write, each under the limit
        received = b""
        deadline = time.monotonic() + 10
        while received.count(b"HTTP/1.1 200") < 6 and time.monotonic() < deadline:
            received += sock.recv(65536)
    assert received.count(b"HTTP/1.1 200") == 6 and b"431" not in received


@pytest.fixture
def h11_server(settings: Settings) -> Iterator[int]:
    """The app under uvicorn's h11 implementation (its own head limit raised), in a thread."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        http="h11",
        h11_max_incomplete_event_size=4 * 1024 * 1024,
        log_config=None,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield port
    server.should_exit = True
    thread.join(15)


def test_the_middleware_answers_431_under_any_server(h11_server: int) -> None:
    assert status_of(send_head(h11_server, MAX_HEADER_BYTES + 1, one_write=True)[0]) == 431
    assert status_of(send_head(h11_server, 1024 * 1024)[0]) == 431
    assert status_of(send_head(h11_server, MAX_HEADER_BYTES - 200, one_write=True)[0]) == 200


def test_the_middleware_431_body_names_the_limit(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        response = client.get("/", headers={"X-Big": "a" * (MAX_HEADER_BYTES + 1)})
        assert response.status_code == 431
        assert response.json() == {"detail": f"request headers larger than {MAX_HEADER_BYTES} bytes"}
        assert client.get("/", headers={"X-Small": "a" * 1000}).status_code == 200
