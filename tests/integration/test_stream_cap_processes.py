"""Two `fitness publish` processes against a small stream cap while a slow `fitness write` drains: the
cap is shared exactly, nothing is trimmed before it is stored, both publishers exit 0."""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from datetime import date

import pytest
import redis

from fitness_core import schemas as S
from fitness_core.settings import Settings
from fitness_streaming.simulator import SimulationConfig, iter_records
from fitness_streaming.writer.status import GROUP, backlog, is_drained
from tests.integration.test_writer import assert_stored_exactly, fitness_command

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CAP = 1000
END = date(2024, 3, 31)


def test_two_publishers_share_a_small_cap_and_nothing_is_trimmed_unread(
    settings: Settings, redis_client: redis.Redis, mongo_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STREAM_MAXLEN", str(CAP))
    monkeypatch.setenv("STREAM_RETENTION_ENTRIES", "100")  # the writer trims what it stored beyond 100
    configs = [SimulationConfig(users=20, days=14, seed=seed, end=END) for seed in (11, 12)]
    expected = [record for config in configs for record in iter_records(config)]
    # The writer frees room by trimming only what it stored (its retention rule); the streams'
    # lengths are sampled throughout to show the cap held.
    stop_sampling = threading.Event()
    peak = {stream: 0 for stream in S.STREAMS}

    def sampler() -> None:
        while not stop_sampling.wait(0.02):
            for stream in S.STREAMS:
                peak[stream] = max(peak[stream], redis_client.xlen(stream))

    writer = subprocess.Popen(
        fitness_command("write", "--batch", "50", "--block-ms", "100"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    sampling = threading.Thread(target=sampler, daemon=True)
    sampling.start()
    publishers = [
        subprocess.Popen(
            fitness_command(
                "publish",
                "--users",
                "20",
                "--days",
                "14",
                "--seed",
                str(config.seed),
                "--end",
                END.isoformat(),
                "--workers",
                "0",
                "--batch-size",
                "500",
                "--no-progress",
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for config in configs
    ]
    try:
        results = [p.communicate(timeout=300) for p in publishers]
        assert [p.returncode for p in publishers] == [0, 0], [err[-2000:] for _, err in results]
        deadline = time.monotonic() + 120
        while not is_drained(backlog(redis_client, S.STREAMS, GROUP)):
            assert time.monotonic() < deadline, "the writer did not drain"
            time.sleep(0.1)
    finally:
        stop_sampling.set()
        writer.send_signal(signal.SIGTERM)
        _, writer_err = writer.communicate(timeout=60)
    assert writer.returncode == 0, writer_err[-2000:]
    sampling.join(5)

    published = [int(out.split()[1].replace(",", "")) for out, _ in results]
    assert sum(published) == len(expected)
    assert all("for room in the streams" in out for out, _ in results)  # both met the cap and waited
    assert max(peak.values()) <= CAP and peak["fitness:events"] > CAP // 2
    assert_stored_exactly(mongo_db, expected)  # every published record stored: none trimmed unread
    assert redis_client.xlen(S.DLQ_STREAM) == 0
