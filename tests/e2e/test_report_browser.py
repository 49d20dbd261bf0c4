"""Headless Chromium loads generated reports and the index from a local HTTP server.

Driven through the DevTools protocol: no console errors or exceptions, every chart has a non-zero
size, every index link opens, and full-page screenshots are written to var/screenshots/.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import itertools
import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from fitness_assets.reporting.plans import plan_summary
from fitness_assets.reporting.publish import PublishedWeek, write_index, write_reports
from fitness_assets.reporting.sample import sample_plan_documents, sample_report_data
from fitness_core.settings import var_dir

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WEEK = date(2025, 3, 3)
CREATED = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (`make test` installs the Debian package)"),
]


class DevTools:
    """A minimal DevTools-protocol client over one page target (commands, and the events seen)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.ids = itertools.count(1)
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, timeout: float = 30.0, **params: Any) -> dict[str, Any]:
        call = next(self.ids)
        self.ws.send(json.dumps({"id": call, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if message.get("id") == call:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = 30.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            for seen in self.events:
                if seen.get("method") == event:
                    self.events.remove(seen)
                    return seen
            self.events.append(json.loads(self.ws.recv(timeout=max(deadline - time.monotonic(), 0.1))))

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in result, result
        return result["result"]["value"]

    def open(self, url: str, settle_s: float = 0.5) -> None:
        """Load ``url`` and give late requests (e.g. a favicon) time to report their errors."""
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        time.sleep(settle_s)
        self.evaluate("document.readyState")

    def problems(self) -> list[str]:
        """Console errors and warnings, uncaught exceptions and failed loads since the last ``open``."""
        found = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"].get("text", "exception"))
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
                found.append(json.dumps(params.get("args")))
            elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
                found.append(params["entry"]["text"])
        return found

    def screenshot(self, path: Path) -> None:
        height = self.evaluate("document.documentElement.scrollHeight")
        self.send("Emulation.setDeviceMetricsOverride", width=1024, height=int(height), deviceScaleFactor=1, mobile=False)
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, PublishedWeek]]:
    """Three sample reports and the index, served over HTTP from the artifact-store layout."""
    root = tmp_path_factory.mktemp("artifacts")
    plans = [plan_summary(d) for d in sample_plan_documents("u-001", WEEK)]
    reports = [
        sample_report_data("u-001", WEEK, seed=1, notes=("<script>console.error('x')</script> long run felt easy",))
        .model_copy(update={"workout_plan": plans[0], "nutrition_plan": plans[1]}),
        sample_report_data("u-002", WEEK, seed=2),
        sample_report_data("u-003", WEEK, seed=3),
    ]
    published = write_reports(root, WEEK.isoformat(), reports, created_at=CREATED)
    write_index(root, published, created_at=CREATED)
    handler = functools.partial(QuietHandler, directory=str(root))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/reports/{WEEK}/", published
    server.shutdown()
    server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-extensions",
         f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert proc.poll() is None, "chromium exited at start-up"
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as response:
            target = next(t for t in json.load(response) if t["type"] == "page")
        with connect(target["webSocketDebuggerUrl"], max_size=None, open_timeout=10) as ws:
            tools = DevTools(ws)
            for domain in ("Page", "Runtime", "Log"):
                tools.send(f"{domain}.enable")
            yield tools
    finally:
        proc.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(10)
        if proc.poll() is None:
            proc.kill()


CHART_BOXES = """JSON.stringify([...document.querySelectorAll('svg')].map(s => {
  const r = s.getBoundingClientRect();
  return {title: s.querySelector('title').textContent, width: r.width, height: r.height};
}))"""


def test_index_loads_without_errors_and_links_every_report(site, browser: DevTools) -> None:
    base, published = site
    browser.open(base + "index.html")
    assert browser.problems() == []
    links = json.loads(browser.evaluate("JSON.stringify([...document.querySelectorAll('main a')].map(a => a.href))"))
    assert sorted(links) == sorted(f"{base}{e.user_id}.html" for e in published.entries)
    for link in links:
        with urllib.request.urlopen(link, timeout=10) as response:
            assert response.status == 200
    browser.screenshot(var_dir() / "screenshots" / "index.png")


def test_every_report_loads_without_errors_and_every_chart_has_a_size(site, browser: DevTools) -> None:
    base, published = site
    for entry in published.entries:
        browser.open(base + entry.href)
        assert browser.problems() == [], entry.user_id
        charts = json.loads(browser.evaluate(CHART_BOXES))
        assert len(charts) == 10
        for chart in charts:
            assert chart["width"] > 100 and chart["height"] > 40, chart
        assert browser.evaluate("document.title").startswith(f"Weekly report: {entry.user_id}")


def test_a_hostile_note_is_shown_as_text_and_never_runs(site, browser: DevTools) -> None:
    base, _ = site
    browser.open(base + "u-001.html")
    assert browser.evaluate("document.querySelectorAll('script').length") == 0
    notes = json.loads(browser.evaluate("JSON.stringify([...document.querySelectorAll('#feeling-h ~ ul li')].map(li => li.textContent))"))
    assert notes == ["<script>console.error('x')</script> long run felt easy"]
    assert browser.problems() == []
    browser.screenshot(var_dir() / "screenshots" / "report.png")
    assert (var_dir() / "screenshots" / "report.png").stat().st_size > 50_000
