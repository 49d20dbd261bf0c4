"""Headless Chromium loads the history page from a real `fitness api` server.

The page is fetched with the owner's key (sent by the browser on every request), its seven charts
must have a size, nothing may be logged as an error, and no request may leave 127.0.0.1. The
full-page screenshot is written to docs/history.png for the README.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fitness_api.auth import create_api_key
from fitness_cli.services import free_port, wait_for_port
from fitness_core.weeks import shift_week
from tests.support.chromium import CHROMIUM, chromium_page
from tests.support.history_data import FIRST_WEEK, history, prescription

DOCS = Path(__file__).resolve().parents[2] / "docs"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="chromium is not installed (`make test` installs the Debian package)"
    ),
]


@pytest.fixture
def api_url(settings, mongo_db, tmp_path: Path) -> Iterator[str]:
    """`fitness api` on a free port, over this test's stores."""
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
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(15)


def test_history_page_renders_its_charts_and_stays_local(api_url, mongo_db, tmp_path: Path) -> None:
    found, contexts = history("u-hist", weeks=16, missing=(5, 11), no_sleep=(8,))
    mongo_db.weekly_features.insert_many(found)
    mongo_db.user_contexts.insert_many(contexts)
    mongo_db.weekly_prescriptions.insert_many(
        [prescription("u-hist", shift_week(FIRST_WEEK, i), 150.0 + 10 * i) for i in range(8, 16)]
    )
    key = create_api_key(mongo_db, user_id="u-hist")
    with chromium_page(tmp_path / "chromium-profile") as browser:
        browser.send("Network.enable")
        browser.send("Network.setExtraHTTPHeaders", headers={"Authorization": f"Bearer {key}"})
        browser.open(f"{api_url}/reports/u-hist/history.html")
        requests = [
            e["params"]["request"]["url"]
            for e in browser.events
            if e.get("method") == "Network.requestWillBeSent"
        ]
        assert browser.problems() == []
        assert browser.evaluate("document.title") == "History of u-hist"
        charts = json.loads(
            browser.evaluate(
                """JSON.stringify([...document.querySelectorAll('svg')].map(s => {
                  const r = s.getBoundingClientRect();
                  return {title: s.querySelector('title').textContent, width: r.width, height: r.height,
                          points: s.querySelectorAll('circle, rect').length};
                }))"""
            )
        )
        assert len(charts) == 7
        for chart in charts:
            assert chart["width"] > 600 and chart["height"] > 100 and chart["points"] > 10, chart
        assert browser.evaluate("document.querySelectorAll('script').length") == 0
        assert requests and all(
            urlsplit(u).scheme == "data" or urlsplit(u).hostname == "127.0.0.1" for u in requests
        ), requests
        browser.screenshot(DOCS / "history.png")
    assert (DOCS / "history.png").stat().st_size > 30_000
