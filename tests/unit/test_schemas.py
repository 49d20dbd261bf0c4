"""fitness_core.schemas: range validation, exact stream round-trip, MongoDB documents."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fitness_core import schemas as S

T0 = datetime(2026, 3, 2, 7, 30, tzinfo=UTC)


def event(**overrides: object) -> S.FitnessEvent:
    fields = {
        "event_id": "e-1",
        "user_id": "u-1",
        "activity_type": "run",
        "kind": "workout",
        "event_ts": T0,
        "duration_s": 1800.0,
        "heart_rate_bpm": 150.0,
        "calories_burned": 320.0,
        "step_increment": 4800,
        "timezone": "Europe/Paris",
    }
    fields.update(overrides)
    return S.FitnessEvent(**fields)


def test_heart_rate_of_400_is_rejected_naming_the_field() -> None:
    with pytest.raises(S.ValidationError, match="heart_rate_bpm"):
        event(heart_rate_bpm=400)


def test_negative_duration_is_rejected_naming_the_field() -> None:
    with pytest.raises(S.ValidationError, match="duration_s"):
        event(duration_s=-5)


def test_naive_timestamps_are_rejected() -> None:
    with pytest.raises(S.ValidationError, match="event_ts"):
        event(event_ts=datetime(2026, 3, 2, 7, 30))


def test_unknown_timezone_is_rejected() -> None:
    with pytest.raises(S.ValidationError, match="Mars/Olympus"):
        event(timezone="Mars/Olympus")


def test_unknown_fields_are_rejected() -> None:
    with pytest.raises(S.ValidationError, match="colour"):
        event(colour="red")


def test_sleep_must_end_after_it_starts() -> None:
    with pytest.raises(S.ValidationError, match="end_ts"):
        S.SleepSession(session_id="s", user_id="u", start_ts=T0, end_ts=T0 - timedelta(hours=1))


def test_feedback_scales_are_bounded() -> None:
    with pytest.raises(S.ValidationError, match="mood"):
        S.Feedback(feedback_id="f", user_id="u", feedback_ts=T0, mood=6, energy=3, perceived_exertion=5)


def test_timestamps_are_kept_at_millisecond_precision() -> None:
    assert event(event_ts=T0.replace(microsecond=123_456)).event_ts.microsecond == 123_000


def test_encode_produces_schema_and_json_data() -> None:
    fields = S.encode(event())
    assert fields["schema"] == "fitness_event/1"
    data = json.loads(fields["data"])
    assert data["heart_rate_bpm"] == 150.0 and data["step_increment"] == 4800
    assert data["event_ts"] == "2026-03-02T07:30:00Z"


def test_decode_accepts_bytes_fields_as_redis_returns_them() -> None:
    fields = {k.encode(): v.encode() for k, v in S.encode(event()).items()}
    assert S.decode(fields) == event()


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"data": "{}"}, "lacks"),
        ({"schema": "martian/1", "data": "{}"}, "unknown schema 'martian/1'"),
        ({"schema": "fitness_event/1", "data": "{not json"}, "invalid JSON"),
        ({"schema": "fitness_event/1", "data": '{"event_id": "e"}'}, "user_id"),
    ],
)
def test_decode_errors_say_what_is_wrong(fields: dict, reason: str) -> None:
    with pytest.raises(S.DecodeError, match=reason):
        S.decode(fields)


def test_document_uses_the_natural_id_and_local_calendar() -> None:
    late = event(event_ts=datetime(2026, 3, 1, 23, 30, tzinfo=UTC), timezone="Europe/Paris")
    doc = late.to_document()
    assert doc["_id"] == "e-1"
    assert doc["local_date"] == "2026-03-02"  # 00:30 on Monday in Paris
    assert doc["week"] == "2026-03-02"
    assert doc["event_ts"] == datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


def test_users_have_no_local_date() -> None:
    user = S.User(user_id="u", sex="female", birth_year=1990, height_cm=165, weight_kg=60, updated_ts=T0)
    doc = user.to_document()
    assert doc["_id"] == "u" and "local_date" not in doc


def test_week_start_is_monday() -> None:
    assert S.week_start(date(2026, 3, 8)) == date(2026, 3, 2)
    assert S.week_start(date(2026, 3, 2)) == date(2026, 3, 2)


def test_stable_id_is_deterministic_and_distinct() -> None:
    assert S.stable_id("fit", "file", 1) == S.stable_id("fit", "file", 1)
    assert S.stable_id("fit", "file", 1) != S.stable_id("fit", "file", 2)


def test_every_stream_maps_to_one_record_type() -> None:
    assert len(S.STREAMS) == len(set(S.STREAMS)) == 6
    assert S.BY_STREAM["fitness:events"] is S.FitnessEvent


# --- property: encode/decode is lossless for every record type -----------------------------

ids = st.from_regex(r"[A-Za-z0-9_.:\-]{1,40}", fullmatch=True)
user_ids = st.from_regex(r"[A-Za-z0-9_:\-][A-Za-z0-9_.:\-]{0,39}", fullmatch=True)  # fitness_core.ids
offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
stamps = st.builds(
    lambda dt, tz: dt.replace(tzinfo=tz),
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2035, 1, 1)),
    offsets,
)
zones = st.sampled_from(["UTC", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Australia/Sydney"])
text = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() == s and s)


def floats(lo: float, hi: float) -> st.SearchStrategy[float]:
    return st.floats(min_value=lo, max_value=hi, allow_nan=False, allow_infinity=False)


users = st.builds(
    S.User,
    user_id=user_ids,
    sex=st.sampled_from(["male", "female"]),
    birth_year=st.integers(1930, 2010),
    height_cm=floats(100, 250),
    weight_kg=floats(25, 350),
    updated_ts=stamps,
    timezone=zones,
    allergies=st.lists(text, max_size=3),
    hr_max_bpm=st.none() | floats(150, 220),
)
devices = st.builds(S.Device, device_id=ids, user_id=user_ids, updated_ts=stamps, model=text)
events = st.builds(
    S.FitnessEvent,
    event_id=ids,
    user_id=user_ids,
    activity_type=st.sampled_from(["walk", "run", "cycle"]),
    event_ts=stamps,
    duration_s=floats(1, 86_400),
    heart_rate_bpm=st.none() | floats(25, 250),
    calories_burned=floats(0, 10_000),
    step_increment=st.integers(0, 200_000),
    timezone=zones,
    distance_m=st.none() | floats(0, 500_000),
    ingest_ts=st.none() | stamps,
)
sleeps = st.builds(
    lambda start, minutes, **kw: S.SleepSession(
        start_ts=start, end_ts=start + timedelta(minutes=minutes), **kw
    ),
    stamps,
    floats(10, 1000),
    session_id=ids,
    user_id=user_ids,
    quality=st.none() | floats(0, 1),
    awakenings=st.none() | st.integers(0, 100),
    hrv_rmssd_ms=st.none() | floats(1, 400),
)
meals = st.builds(
    S.NutritionLog,
    log_id=ids,
    user_id=user_ids,
    meal_type=st.sampled_from(["breakfast", "snack"]),
    log_ts=stamps,
    calories=floats(0, 10_000),
    protein_g=floats(0, 1000),
    description=st.none() | text,
)
feedback = st.builds(
    S.Feedback,
    feedback_id=ids,
    user_id=user_ids,
    feedback_ts=stamps,
    mood=st.integers(1, 5),
    energy=st.integers(1, 5),
    perceived_exertion=st.integers(1, 10),
    note=st.none() | st.text(max_size=200),
)


@settings(max_examples=150, deadline=None)
@given(st.one_of(users, devices, events, sleeps, meals, feedback))
def test_stream_round_trip_is_lossless(record: S.Record) -> None:
    decoded = S.decode(S.encode(record))
    assert decoded == record
    for name in type(record).model_fields:
        value = getattr(record, name)
        if isinstance(value, datetime):
            assert getattr(decoded, name).utcoffset() == value.utcoffset()
        assert type(getattr(decoded, name)) is type(value)
