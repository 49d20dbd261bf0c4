"""Headless Chromium renders `/docs` (Swagger UI) and `/redoc` from a real `fitness api` server.

Every request the pages make must go to that server (the assets come from the fastapi-offline
package, never a CDN): the DevTools network events are checked, so a page that reaches out fails
here even on a machine with internet. The one exception is ReDoc's footer logo, which its bundle
always asks a CDN for: the pages' Content-Security-Policy must have blocked it inside the browser.
Writes docs/api-docs.png, the screenshot in the README.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fitness_cli.services import free_port, wait_for_port
from tests.support.chromium import CHROMIUM, DevTools, chromium_page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "docs" / "api-docs.png"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (`make test` installs the Debian package)"
    ),
]

#: Operation summaries of the OpenAPI schema (routes/*.py) that each page must show.
SUMMARIES = (
    "The latest 7-day workout plan",
    "The latest 3-day nutrition plan",
    "Every stored plan version, newest first",
)


@pytest.fixture(scope="module")
def api_base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`fitness api` on a free loopback port (its stores are never asked: the docs need none)."""
    port = free_port()
    log = tmp_path_factory.mktemp("api") / "api.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "fitness_cli", "api", "--port", str(port)],
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server, "fitness api", log)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(15)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    with chromium_page(tmp_path_factory.mktemp("chromium-profile")) as tools:
        tools.send("Network.enable")
        yield tools


def requests(browser: DevTools) -> list[tuple[str, str | None]]:
    """(url, blocked reason) of every request the page started since it was opened."""
    blocked = {
        e["params"]["requestId"]: e["params"].get("blockedReason")
        for e in browser.events
        if e.get("method") == "Network.loadingFailed"
    }
    return [
        (e["params"]["request"]["url"], blocked.get(e["params"]["requestId"]))
        for e in browser.events
        if e.get("method") == "Network.requestWillBeSent"
    ]


def wait_for_text(browser: DevTools, texts: tuple[str, ...], timeout: float = 30.0) -> None:
    """Until the page's DOM holds every text (the UIs render the schema after fetching it)."""
    probe = f"(() => {{ const t = document.body.innerText; return {json.dumps(list(texts))}.every(s => t.includes(s)); }})()"
    deadline = time.monotonic() + timeout
    while not browser.evaluate(probe):
        if time.monotonic() > deadline:
            raise AssertionError(
                f"not rendered within {timeout} s: {texts}; page: "
                f"{browser.evaluate('document.body.innerText')[:1000]!r}"
            )
        time.sleep(0.2)


def outside(browser: DevTools, base: str) -> list[tuple[str, str | None]]:
    """Requests to anything but the API server (a blob or data URL of the page stays local)."""
    server = urlsplit(base).netloc
    return [
        (url, reason)
        for url, reason in requests(browser)
        if not url.startswith("data:") and urlsplit(url.removeprefix("blob:")).netloc != server
    ]


def problems_besides_csp(browser: DevTools) -> list[str]:
    return [p for p in browser.problems() if "Content Security Policy" not in p]


def save_top_of_page(browser: DevTools, path: Path, width: int = 1024, height: int = 900) -> None:
    """A screenshot of the page's first ``height`` pixels: the operations, not the long schema list."""
    browser.send(
        "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
    )
    time.sleep(0.3)  # let the layout settle at the new size
    shot = browser.send("Page.captureScreenshot", format="png")
    path.write_bytes(base64.b64decode(shot["data"]))
    browser.send("Emulation.clearDeviceMetricsOverride")


def test_swagger_ui_renders_every_operation_from_local_assets_only(api_base: str, browser: DevTools) -> None:
    browser.open(api_base + "/docs")
    wait_for_text(browser, SUMMARIES)
    time.sleep(0.5)  # late requests (icons, the favicon) show up in the events too
    browser.evaluate("document.readyState")
    assert outside(browser, api_base) == []
    urls = [url for url, _ in requests(browser)]
    assert all(reason is None for _, reason in requests(browser)), requests(browser)
    assert any(u.endswith("/static-offline-docs/swagger-ui-bundle.js") for u in urls), urls
    assert any(u.endswith("/openapi.json") for u in urls), urls
    assert browser.problems() == []
    operations = browser.evaluate("document.querySelectorAll('.opblock').length")
    assert operations >= 11  # one block per endpoint of docs/api.md's table
    save_top_of_page(browser, SCREENSHOT)
    assert SCREENSHOT.stat().st_size > 20_000


def test_redoc_renders_every_operation_from_local_assets_only(api_base: str, browser: DevTools) -> None:
    browser.open(api_base + "/redoc")
    wait_for_text(browser, SUMMARIES)
    time.sleep(0.5)
    browser.evaluate("document.readyState")
    leaving = outside(browser, api_base)
    assert all(reason == "csp" for _, reason in leaving), f"requests that left the browser: {leaving}"
    assert [url for url, _ in leaving] in ([], ["https://cdn.redoc.ly/redoc/logo-mini.svg"])
    urls = [url for url, _ in requests(browser)]
    assert any(u.endswith("/static-offline-docs/redoc.standalone.js") for u in urls), urls
    assert problems_besides_csp(browser) == []
    assert (
        browser.evaluate("document.querySelectorAll('img[alt=\"redocly logo\"]').length") == 0
    )  # not broken
    assert browser.evaluate("document.querySelectorAll('[data-section-id^=\"operation/\"]').length") >= 11
