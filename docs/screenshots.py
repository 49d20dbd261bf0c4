"""Capture docs/asset-graph.png and docs/report.png with headless Chromium.

Run after `fitness demo --once` (it needs the local Dagster instance and a week of reports):

    .venv/bin/python docs/screenshots.py

It starts `dagster-webserver` on the local instance (var/dagster), opens the global asset lineage
with every group expanded, and opens the first report of the newest week in var/artifacts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from fitness_assets.dagster_home import dagster_environment  # noqa: E402
from fitness_cli.services import free_port  # noqa: E402
from fitness_core.settings import Settings  # noqa: E402
from tests.support.chromium import DevTools, chromium_page  # noqa: E402


def wait_for(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=3):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(
        f"{base}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def capture(page: DevTools, path: Path, width: int, height: int) -> None:
    page.send(
        "Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1, mobile=False
    )
    shot = page.send("Page.captureScreenshot", format="png")
    import base64

    path.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {path} ({path.stat().st_size // 1024} KB)")


def asset_graph(page: DevTools, out: Path) -> None:
    port = free_port()
    env = dagster_environment()
    web = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("dagster-webserver")),
            "-m",
            "fitness_assets.definitions",
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        cwd=ROOT / "var",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/server_info")
        graphql(base, "mutation { setNuxSeen }")  # no welcome dialog over the graph
        page.send(
            "Emulation.setDeviceMetricsOverride", width=1600, height=900, deviceScaleFactor=1, mobile=False
        )
        page.open(f"{base}/asset-groups", settle_s=8)
        for kind in ("rawKeyDown", "keyUp"):  # Alt+E: expand all groups
            page.send(
                "Input.dispatchKeyEvent",
                type=kind,
                key="e",
                code="KeyE",
                modifiers=1,
                windowsVirtualKeyCode=69,
            )
        time.sleep(4)
        capture(page, out / "asset-graph.png", 1600, 900)
    finally:
        web.terminate()
        web.wait(30)


def report(page: DevTools, out: Path) -> None:
    reports = Path(Settings.load().artifacts_dir).resolve() / "reports"
    weeks = sorted(p for p in reports.glob("*") if p.is_dir())
    if not weeks:
        raise SystemExit(f"no reports under {reports}: run `fitness demo --once` first")
    page_file = sorted(p for p in weeks[-1].glob("*.html") if p.name != "index.html")[0]
    page.send(
        "Emulation.setDeviceMetricsOverride", width=1024, height=2200, deviceScaleFactor=1, mobile=False
    )
    page.open(page_file.as_uri(), settle_s=1)
    capture(page, out / "report.png", 1024, 2200)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="output folder (default docs/)")
    args = parser.parse_args()
    with chromium_page() as page:
        report(page, args.out)
        asset_graph(page, args.out)


if __name__ == "__main__":
    main()
