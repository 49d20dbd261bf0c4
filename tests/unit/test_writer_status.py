"""Backlog arithmetic of `fitness status` and `fitness write --drain`."""

from __future__ import annotations

from fitness_streaming.writer.status import StreamBacklog, format_status, is_drained, parse_id


def test_stream_ids_compare_by_time_then_sequence_not_as_text() -> None:
    assert parse_id(b"10-0") > parse_id("9-5")
    assert parse_id("9-10") > parse_id("9-9")
    assert parse_id("0-0") == (0, 0)


def test_drained_means_no_lag_and_nothing_pending_on_any_stream() -> None:
    done = StreamBacklog("fitness:events", length=10, lag=0, pending=0)
    assert is_drained([done, StreamBacklog("fitness:sleep", 0, 0, 0)])
    assert not is_drained([done, StreamBacklog("fitness:sleep", 5, 0, 1)])
    assert not is_drained([done, StreamBacklog("fitness:sleep", 5, 2, 0)])


def test_the_status_table_shows_each_stream_the_dlq_and_each_collection() -> None:
    status = {
        "streams": [
            {"stream": "fitness:events", "length": 12, "lag": 3, "pending": 1, "group_exists": True},
            {"stream": "fitness:sleep", "length": 4, "lag": 4, "pending": 0, "group_exists": False},
        ],
        "dlq_length": 2,
        "collections": {"fitness_events": 8, "sleep_sessions": 0},
    }
    lines = format_status(status).splitlines()
    assert lines[1].split() == ["fitness:events", "12", "3", "1"]
    assert lines[2].split()[:4] == ["fitness:sleep", "4", "4", "0"] and "no consumer group" in lines[2]
    assert lines[3].split() == ["fitness:dlq", "2"]
    assert lines[-2].split() == ["fitness_events", "8"]
