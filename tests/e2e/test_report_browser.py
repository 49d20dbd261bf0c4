"""Headless Chromium loads generated reports and the index from a local HTTP server.

Driven through the DevTools protocol: no console errors or exceptions, every chart has a non-zero
size, every index link opens, and full-page screenshots are written to var/screenshots/.
"""

from __future__ import annotations

import functools
import json
import threading
import urllib.request
from collections.abc import Iterator
from datetime import UTC, date, datetime
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from fitness_assets.reporting.plans import plan_summary
from fitness_assets.reporting.publish import PublishedWeek, write_index, write_reports
from fitness_assets.reporting.sample import sample_plan_documents, sample_report_data
from fitness_core.settings import var_dir
from tests.support.chromium import CHROMIUM, DevTools, chromium_page

WEEK = date(2025, 3, 3)
CREATED = datetime(2025, 3, 10, 6, 0, tzinfo=UTC)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (`make test` installs the Debian package)"
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, PublishedWeek]]:
    """Three sample reports and the index, served over HTTP from the artifact-store layout."""
    root = tmp_path_factory.mktemp("artifacts")
    plans = [plan_summary(d) for d in sample_plan_documents("u-001", WEEK)]
    reports = [
        sample_report_data(
            "u-001", WEEK, seed=1, notes=("<script>console.error('x')</script> long run felt easy",)
        ).model_copy(update={"workout_plan": plans[0], "nutrition_plan": plans[1]}),
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
    with chromium_page(tmp_path_factory.mktemp("chromium-profile")) as tools:
        yield tools


CHART_BOXES = """JSON.stringify([...document.querySelectorAll('svg')].map(s => {
  const r = s.getBoundingClientRect();
  return {title: s.querySelector('title').textContent, width: r.width, height: r.height};
}))"""


def test_index_loads_without_errors_and_links_every_report(site, browser: DevTools) -> None:
    base, published = site
    browser.open(base + "index.html")
    assert browser.problems() == []
    links = json.loads(
        browser.evaluate("JSON.stringify([...document.querySelectorAll('main a')].map(a => a.href))")
    )
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
    notes = json.loads(
        browser.evaluate(
            "JSON.stringify([...document.querySelectorAll('#feeling-h ~ ul li')].map(li => li.textContent))"
        )
    )
    assert notes == ["<script>console.error('x')</script> long run felt easy"]
    assert browser.problems() == []
    browser.screenshot(var_dir() / "screenshots" / "report.png")
    assert (var_dir() / "screenshots" / "report.png").stat().st_size > 50_000
