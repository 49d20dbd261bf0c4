"""The storage writer's pure transform: stream entries -> documents per collection + dead letters."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from fitness_core import schemas as S
from fitness_streaming.writer.batch import MAX_REASON, TRIMMED_REASON, Entry, transform

T0 = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)
NOW = datetime(2026, 3, 9, 12, 0, tzinfo=UTC)


def event(event_id: str = "e-1", **overrides: object) -> S.FitnessEvent:
    fields = {
        "event_id": event_id,
        "user_id": "u-1",
        "activity_type": "run",
        "kind": "workout",
        "event_ts": T0,
        "duration_s": 1800.0,
        "heart_rate_bpm": 150.0,
        "timezone": "Europe/Paris",
    }
    fields.update(overrides)
    return S.FitnessEvent(**fields)


def user(updated_ts: datetime = T0, weight_kg: float = 70.0, user_id: str = "u-1") -> S.User:
    return S.User(
        user_id=user_id,
        sex="female",
        birth_year=1990,
        height_cm=168,
        weight_kg=weight_kg,
        updated_ts=updated_ts,
    )


def entry(record: S.Record, entry_id: str = "1-0", deliveries: int = 1) -> Entry:
    """An entry as redis-py returns it (bytes keys and values)."""
    fields = {k.encode(): v.encode() for k, v in S.encode(record).items()}
    return Entry(record.STREAM, entry_id, fields, deliveries)


def raw(fields: dict, stream: str = "fitness:events", entry_id: str = "9-0", deliveries: int = 1) -> Entry:
    return Entry(stream, entry_id, fields, deliveries)


def test_valid_records_become_their_documents_in_their_collections() -> None:
    sleep = S.SleepSession(session_id="s-1", user_id="u-1", start_ts=T0 - timedelta(hours=8), end_ts=T0)
    batch = transform([entry(event(), "1-0"), entry(user(), "2-0"), entry(sleep, "3-0")], now=NOW)
    assert batch.documents == {
        "fitness_events": [event().to_document()],
        "users": [user().to_document()],
        "sleep_sessions": [sleep.to_document()],
    }
    assert batch.dead_letters == []
    assert batch.mutable == {"users"}


def test_every_entry_is_acknowledged_stored_or_dead_lettered() -> None:
    batch = transform(
        [
            entry(event(), "1-0"),
            raw({b"schema": b"x/1", b"data": b"{}"}, entry_id="2-0"),
            entry(user(), "3-0"),
        ],
        now=NOW,
    )
    assert batch.acks() == {"fitness:events": ["1-0", "2-0"], "fitness:users": ["3-0"]}


def test_bad_json_is_dead_lettered_with_the_original_fields_stream_and_entry_id() -> None:
    batch = transform(
        [raw({b"schema": b"fitness_event/1", b"data": b"{not json"}, entry_id="7-3")],
        consumer="host-1",
        now=NOW,
    )
    assert batch.documents == {}
    [letter] = batch.dead_letters
    assert (letter.stream, letter.entry_id, letter.consumer, letter.failed_ts) == (
        "fitness:events",
        "7-3",
        "host-1",
        NOW,
    )
    assert letter.fields == {"schema": "fitness_event/1", "data": "{not json"}
    assert letter.reason.startswith("fitness_event/1: invalid JSON")


def test_unknown_schema_is_dead_lettered_naming_it() -> None:
    [letter] = transform([raw({b"schema": b"heartbeat/9", b"data": b"{}"})], now=NOW).dead_letters
    assert letter.reason == "unknown schema 'heartbeat/9'"


def test_failed_validation_is_dead_lettered_naming_the_field() -> None:
    data = json.loads(S.encode(event())["data"]) | {"heart_rate_bpm": 400}
    [letter] = transform(
        [raw({b"schema": b"fitness_event/1", b"data": json.dumps(data).encode()})], now=NOW
    ).dead_letters
    assert letter.reason == "fitness_event/1: heart_rate_bpm: Input should be less than or equal to 250"


def test_a_message_without_data_is_dead_lettered() -> None:
    [letter] = transform([raw({b"schema": b"fitness_event/1"})], now=NOW).dead_letters
    assert letter.reason == "message lacks the 'schema' or 'data' field"


def test_a_record_on_the_wrong_stream_is_dead_lettered() -> None:
    misplaced = Entry("fitness:events", "1-0", S.encode(user()))
    [letter] = transform([misplaced], now=NOW).dead_letters
    assert letter.reason == "user/1 belongs on fitness:users, not on fitness:events"


def test_an_entry_delivered_more_than_the_limit_is_a_poison_message() -> None:
    batch = transform(
        [entry(event("e-1"), "1-0", deliveries=4), entry(event("e-2"), "2-0", deliveries=3)],
        max_deliveries=3,
        now=NOW,
    )
    [letter] = batch.dead_letters
    assert (letter.entry_id, letter.deliveries) == ("1-0", 4)
    assert letter.reason == "poison message: delivered 4 times without being stored"
    assert [d["_id"] for d in batch.documents["fitness_events"]] == ["e-2"]


def test_an_entry_trimmed_before_it_was_stored_is_dead_lettered_not_dropped() -> None:
    [letter] = transform([Entry("fitness:sleep", "5-0", None, 2)], now=NOW).dead_letters
    assert (letter.stream, letter.entry_id, letter.reason, letter.fields) == (
        "fitness:sleep",
        "5-0",
        TRIMMED_REASON,
        {},
    )


def test_only_the_newest_version_of_a_user_in_a_batch_is_written_whatever_the_order() -> None:
    old, new = user(T0, 70.0), user(T0 + timedelta(days=1), 68.5)
    for order in ([old, new], [new, old]):
        batch = transform([entry(r, f"{i}-0") for i, r in enumerate(order)], now=NOW)
        assert batch.documents["users"] == [new.to_document()]
        assert batch.sources["users"][0].entry_id == f"{order.index(new)}-0"
        assert batch.superseded == 1


def test_different_users_are_all_written() -> None:
    batch = transform([entry(user(user_id="u-1"), "1-0"), entry(user(user_id="u-2"), "2-0")], now=NOW)
    assert [d["_id"] for d in batch.documents["users"]] == ["u-1", "u-2"]
    assert batch.superseded == 0


def test_bytes_that_are_not_utf8_are_kept_as_escapes_in_the_dead_letter() -> None:
    [letter] = transform([raw({b"schema": b"fitness_event/1", b"data": b"\xff\xfe"})], now=NOW).dead_letters
    assert letter.fields["data"] == "\\xff\\xfe"


def test_a_very_long_reason_is_cut_to_the_dead_letter_limit() -> None:
    schema = "x" * 3000 + "/1"
    [letter] = transform([raw({"schema": schema, "data": "{}"})], now=NOW).dead_letters
    assert len(letter.reason) == MAX_REASON
    assert letter.reason.endswith("...")


def test_dead_letters_survive_the_stream_round_trip() -> None:
    [letter] = transform([raw({b"schema": b"nope/1", b"data": b"{}"})], now=NOW).dead_letters
    message = S.encode(letter)
    assert message["schema"] == "dead_letter/1"
    assert S.DeadLetter.model_validate_json(message["data"]) == letter
