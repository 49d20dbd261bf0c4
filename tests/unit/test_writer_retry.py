"""Outage handling of the storage writer: backoff, one log line per outage, error classification."""

from __future__ import annotations

import logging
import threading

import pytest
import redis

from fitness_streaming.writer_retry import Outage, Stopping, backoff_delay, retry
from fitness_streaming.writer_store import StoreUnavailable, outcome_of


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    delays = [backoff_delay(n, base_s=0.1, cap_s=1.0) for n in range(1, 8)]
    upper = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert all(0.8 * u <= d <= u for d, u in zip(delays, upper, strict=True))


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(caplog: pytest.LogCaptureFixture) -> None:
    outage = Outage("mongodb", base_s=0.01, cap_s=0.01)
    with caplog.at_level(logging.INFO, logger="fitness.writer"):
        for _ in range(5):
            outage.failed(ConnectionError("down"))
        outage.recovered()
        outage.recovered()
    assert [r.getMessage() for r in caplog.records] == ["mongodb unavailable, retrying with backoff",
                                                         "mongodb available again"]
    assert caplog.records[1].retries == 5
    assert outage.outages == 1


def test_retry_returns_the_result_once_the_service_is_back() -> None:
    failures = iter([redis.exceptions.ConnectionError("refused"), redis.exceptions.TimeoutError("slow")])

    def flaky() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "stored"

    outage = Outage("redis", base_s=0.001, cap_s=0.001)
    assert retry(flaky, outage, threading.Event()) == "stored"
    assert (outage.outages, outage.active) == (1, False)


def test_retry_gives_up_when_a_stop_is_requested_during_an_outage() -> None:
    stop = threading.Event()
    stop.set()

    def down() -> None:
        raise StoreUnavailable("shutting down")

    with pytest.raises(Stopping):
        retry(down, Outage("mongodb", base_s=0.001), stop)


def test_retry_does_not_hide_errors_that_are_not_outages() -> None:
    def broken() -> None:
        raise ValueError("a bug")

    with pytest.raises(ValueError, match="a bug"):
        retry(broken, Outage("mongodb"), threading.Event())


def test_duplicate_keys_count_as_already_stored_and_other_errors_as_rejections() -> None:
    details = {"writeErrors": [
        {"index": 0, "code": 11000, "errmsg": "E11000 duplicate key"},
        {"index": 2, "code": 121, "errmsg": "Document failed validation"},
        {"index": 3, "code": 11000, "errmsg": "E11000 duplicate key"},
    ], "writeConcernErrors": []}
    outcome = outcome_of(5, details)
    assert (outcome.stored, outcome.already_stored) == (2, 2)
    assert outcome.rejected == {2: "MongoDB rejected the document (code 121): Document failed validation"}


@pytest.mark.parametrize("details", [
    {"writeErrors": [{"index": 0, "code": 11600, "errmsg": "interrupted at shutdown"}]},
    {"writeErrors": [], "writeConcernErrors": [{"code": 64, "errmsg": "waiting for replication timed out"}]},
])
def test_errors_that_mean_try_later_make_the_whole_batch_retry(details: dict) -> None:
    with pytest.raises(StoreUnavailable):
        outcome_of(3, details)
