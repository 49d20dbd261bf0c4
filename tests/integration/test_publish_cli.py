"""`fitness publish` and `fitness demo` as a user runs them: real processes, real Redis."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis

from fitness_cli import services
from fitness_core.schemas import STREAMS
from fitness_core.settings import Settings

pytestmark = pytest.mark.integration

FITNESS = [sys.executable, "-m", "fitness_cli", "--log-level", "WARNING"]
SUMMARY = re.compile(r"^published ([\d,]+) records in [\d.]+ s \([\d,]+/s\): .*events=[\d,]+.*users=[\d,]+")


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*FITNESS, *args], capture_output=True, text=True, timeout=timeout, env=os.environ.copy()
    )


def published(line: str) -> int:
    match = SUMMARY.match(line)
    assert match, line
    return int(match.group(1).replace(",", ""))


def test_publish_prints_a_one_line_summary_matching_the_streams(settings: Settings) -> None:
    result = run(
        "publish", "--users", "3", "--days", "2", "--seed", "5", "--end", "2024-01-31", "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1
    client = redis.Redis.from_url(settings.redis_dsn)
    assert published(lines[0]) == sum(client.xlen(s) for s in STREAMS)


@pytest.mark.parametrize(
    ("stop_signal", "users", "workers"),
    [(signal.SIGTERM, 2, 0), (signal.SIGINT, 2, 0), (signal.SIGTERM, 150, 2)],
)
def test_live_publishing_stops_cleanly_on_a_signal(
    settings: Settings, stop_signal: signal.Signals, users: int, workers: int
) -> None:
    client = redis.Redis.from_url(settings.redis_dsn)
    proc = subprocess.Popen(
        [
            *FITNESS,
            "publish",
            "--users",
            str(users),
            "--days",
            "1",
            "--end",
            "2024-01-31",
            "--live",
            "--speed",
            "86400",
            "--workers",
            str(workers),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )
    try:
        deadline = time.monotonic() + 60
        while (
            client.xlen("fitness:nutrition") < 6 * users and time.monotonic() < deadline
        ):  # past the backfill
            time.sleep(0.2)
        proc.send_signal(stop_signal)
        signalled = time.monotonic()
        out, err = proc.communicate(timeout=30)
        assert time.monotonic() - signalled < 4.5  # workers stop at once too (not after a 5 s join timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    assert published(out.strip().splitlines()[-1]) == sum(client.xlen(s) for s in STREAMS)


def test_demo_uses_configured_services_and_reports_what_it_published(
    settings: Settings, tmp_path: Path
) -> None:
    result = run("demo", "--users", "3", "--weeks", "1", "--no-progress", "--publish-only")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"REDIS_URL={settings.redis_dsn}" in out and f"MONGO_URI={settings.mongo_uri}" in out
    assert "from the environment" in out
    assert "3 users x 7 days" in out
    count = published(next(line for line in out.splitlines() if line.startswith("published")))
    client = redis.Redis.from_url(settings.redis_dsn)
    assert count == sum(client.xlen(s) for s in STREAMS)
    for stream in STREAMS:
        assert f"  {stream}: {client.xlen(stream):,}" in out
    assert not (tmp_path / "var" / "services.json").exists()  # no embedded services were started


def test_demo_starts_embedded_services_when_none_are_configured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delenv("MONGO_URI", raising=False)
    monkeypatch.setenv("FITNESS_VAR_DIR", str(tmp_path / "var"))
    try:
        result = run("demo", "--users", "2", "--weeks", "1", "--no-progress", "--publish-only")
        assert result.returncode == 0, result.stderr
        assert "embedded" in result.stdout
        url = re.search(r"REDIS_URL=(\S+)", result.stdout).group(1)
        count = published(next(line for line in result.stdout.splitlines() if line.startswith("published")))
        assert count == sum(redis.Redis.from_url(url).xlen(s) for s in STREAMS)
        assert {s["name"]: s["alive"] for s in services.status()} == {"redis": True, "mongo": True}
    finally:
        services.down()
