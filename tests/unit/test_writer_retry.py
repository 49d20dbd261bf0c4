"""Outage handling of the storage writer: backoff, one log line per outage, error classification."""

from __future__ import annotations

import logging
import threading

import pymongo.errors
import pytest
import redis

from fitness_streaming.writer.retry import DiskGuard, Outage, Stopping, backoff_delay, is_unavailable, retry
from fitness_streaming.writer.store import StoreUnavailable, outcome_of


def test_backoff_doubles_from_the_base_and_stops_at_the_cap() -> None:
    delays = [backoff_delay(n, base_s=0.1, cap_s=1.0) for n in range(1, 8)]
    upper = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert all(0.8 * u <= d <= u for d, u in zip(delays, upper, strict=True))


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = Outage("mongodb", base_s=0.01, cap_s=0.01)
    with caplog.at_level(logging.INFO, logger="fitness.writer"):
        for _ in range(5):
            outage.failed(ConnectionError("down"))
        outage.recovered()
        outage.recovered()
    assert [r.getMessage() for r in caplog.records] == [
        "mongodb unavailable, retrying with backoff",
        "mongodb available again",
    ]
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
    details = {
        "writeErrors": [
            {"index": 0, "code": 11000, "errmsg": "E11000 duplicate key"},
            {"index": 2, "code": 121, "errmsg": "Document failed validation"},
            {"index": 3, "code": 11000, "errmsg": "E11000 duplicate key"},
        ],
        "writeConcernErrors": [],
    }
    outcome = outcome_of(5, details)
    assert (outcome.stored, outcome.already_stored) == (2, 2)
    assert outcome.rejected == {2: "MongoDB rejected the document (code 121): Document failed validation"}


@pytest.mark.parametrize(
    "details",
    [
        {"writeErrors": [{"index": 0, "code": 11600, "errmsg": "interrupted at shutdown"}]},
        {
            "writeErrors": [],
            "writeConcernErrors": [{"code": 64, "errmsg": "waiting for replication timed out"}],
        },
    ],
)
def test_errors_that_mean_try_later_make_the_whole_batch_retry(details: dict) -> None:
    with pytest.raises(StoreUnavailable):
        outcome_of(3, details)


@pytest.mark.parametrize(
    "error",
    [
        {"index": 0, "code": 8, "errmsg": "WiredTiger error: No space left on device"},
        {"index": 0, "code": 1, "errmsg": "internal server error"},
        {"index": 0, "code": 14031, "errmsg": "out of disk space"},
        {"index": 0, "code": 9, "errmsg": "pwrite: failed to write: File too large"},
        {"index": 0, "code": 8, "errmsg": "WT_PANIC: WiredTiger library panic"},
    ],
)
def test_a_full_disk_or_a_storage_panic_is_never_a_rejection(error: dict) -> None:
    with pytest.raises(StoreUnavailable):
        outcome_of(1, {"writeErrors": [error]})


def test_a_store_that_answers_errors_is_unavailable_and_a_rejected_document_is_not() -> None:
    assert is_unavailable(pymongo.errors.OperationFailure("internal server error", 1))
    assert is_unavailable(pymongo.errors.AutoReconnect("connection reset"))
    assert is_unavailable(redis.exceptions.ResponseError("MISCONF Redis is configured to save RDB snapshots"))
    assert not is_unavailable(pymongo.errors.BulkWriteError({"writeErrors": [{"index": 0, "code": 121}]}))
    assert not is_unavailable(redis.exceptions.ResponseError("WRONGTYPE Operation against a key"))
    assert not is_unavailable(ValueError("a bug"))


def test_retry_rides_out_a_store_that_answers_errors() -> None:
    answers = iter([pymongo.errors.OperationFailure("internal server error", 1)])

    def store() -> str:
        error = next(answers, None)
        if error is not None:
            raise error
        return "stored"

    assert retry(store, Outage("mongodb", base_s=0.001), threading.Event()) == "stored"


def test_the_disk_guard_pauses_below_the_minimum_and_resumes_once_there_is_room(
    caplog: pytest.LogCaptureFixture,
) -> None:
    free = [50, 50, 50, 600]  # MB, one reading per check
    guard = DiskGuard(lambda: (free.pop(0) * 2**20, 10**12), min_free_mb=512, every_s=0.0, poll_s=0.001)
    with caplog.at_level(logging.INFO, logger="fitness.writer"):
        guard.wait_for_room(threading.Event())
    assert free == [] and guard.pauses == 1 and not guard.paused
    assert [r.getMessage() for r in caplog.records] == [
        "store disk almost full, writing paused",
        "store disk has room again, writing resumed",
    ]
    assert caplog.records[0].free_mb == 50


def test_the_disk_guard_gives_way_to_a_stop_and_does_nothing_without_a_reading() -> None:
    stop = threading.Event()
    stop.set()
    with pytest.raises(Stopping):
        DiskGuard(lambda: (0, 10**12), min_free_mb=1, every_s=0.0, poll_s=0.001).wait_for_room(stop)
    DiskGuard(lambda: None, min_free_mb=10**6).wait_for_room(stop)  # cannot measure: no guard
    DiskGuard(lambda: (0, 10**12), min_free_mb=0).wait_for_room(stop)  # 0: no guard
