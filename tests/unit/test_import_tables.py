"""Tables: the export layout, older column variants, and round trips through CSV and Parquet files."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fitness_core.schemas import FitnessEvent, SleepSession, SleepStages, User
from fitness_streaming.exporter import write_csv_table, write_parquet_table
from fitness_streaming.importers import tables
from fitness_streaming.importers.common import Entry, ImportContext

T = datetime(2024, 2, 5, 6, 30, tzinfo=UTC)


def sample_records() -> list:
    return [
        User(
            user_id="dee",
            sex="female",
            birth_year=1988,
            height_cm=170,
            weight_kg=63.5,
            allergies=["nuts"],
            medical_flags=["diabetes"],
            updated_ts=T,
            timezone="Europe/Berlin",
            source="manual",
        ),
        FitnessEvent(
            user_id="dee",
            event_id="evt-1",
            activity_type="run",
            kind="workout",
            event_ts=T,
            duration_s=1800,
            heart_rate_bpm=151.5,
            hr_zone_s=[0, 60, 600, 900, 240],
            calories_burned=380,
            step_increment=5100,
            distance_m=5200.5,
            timezone="Europe/Berlin",
        ),
        SleepSession(
            user_id="dee",
            session_id="slp-1",
            start_ts=T - timedelta(hours=8),
            end_ts=T,
            quality=0.8,
            sleep_stage_breakdown=SleepStages(light=250, deep=90, rem=100, awake=20),
            awakenings=2,
            timezone="Europe/Berlin",
            ingest_ts=T,
        ),
        SleepSession(user_id="dee", session_id="slp-2", start_ts=T, end_ts=T + timedelta(hours=1)),
    ]


def read(*entries: Entry, user: str | None = "dee", tz: str = "UTC") -> tuple[list, ImportContext]:
    ctx = ImportContext(user, tz)
    return list(tables.convert(list(entries), ctx)), ctx


def csv_entry(name: str, text: str) -> Entry:
    return Entry.from_bytes(name, text.encode())


def test_layout_flattens_nested_fields_and_keeps_schema_order() -> None:
    names = [c.name for c in tables.columns(SleepSession)]
    assert names[names.index("efficiency") + 1 : names.index("awakenings")] == [
        "sleep_stage_breakdown.light",
        "sleep_stage_breakdown.deep",
        "sleep_stage_breakdown.rem",
        "sleep_stage_breakdown.awake",
    ]
    kinds = {c.name: c.kind for c in tables.columns(FitnessEvent)}
    assert (kinds["event_ts"], kinds["hr_zone_s"], kinds["step_increment"]) == ("ts", "json", "int")


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_records_written_as_tables_read_back_identical(tmp_path: Path, fmt: str) -> None:
    originals = sample_records()
    entries = []
    for cls in (User, FitnessEvent, SleepSession):
        path = tmp_path / f"{cls.COLLECTION}.{fmt}"
        writer = write_csv_table if fmt == "csv" else write_parquet_table
        writer(path, cls, [r for r in originals if isinstance(r, cls)])
        entries.append(Entry.from_bytes(path.name, path.read_bytes()))
    back, ctx = read(*entries)
    assert ctx.skipped.total == 0 and ctx.rejected == []
    by_id = {r.natural_id: r for r in back}
    for original in originals:
        restored = by_id[original.natural_id]
        expected = original.model_dump(exclude={"ingest_ts"})
        assert restored.model_dump(exclude={"ingest_ts"}) == expected
        assert original.ingest_ts is None or restored.ingest_ts == original.ingest_ts


def test_csv_cells_are_iso_timestamps_and_json_lists(tmp_path: Path) -> None:
    path = tmp_path / "fitness_events.csv"
    write_csv_table(path, FitnessEvent, [sample_records()[1]])
    (row,) = csv.DictReader(path.open())
    assert (row["event_ts"], row["hr_zone_s"], row["perceived_exertion"]) == (
        "2024-02-05T06:30:00.000+00:00",
        "[0.0, 60.0, 600.0, 900.0, 240.0]",
        "",
    )


def test_older_sleep_columns_string_numbers_and_naive_times_are_understood() -> None:
    text = (
        "session_id,user_id,start_ts,end_ts,sleep_quality_score,awakenings,timezone,"
        "sleep_stage_breakdown_light,sleep_stage_breakdown_deep,sleep_stage_breakdown_rem\n"
        's-9,dee,2024-02-04 23:00:00,2024-02-05 07:00:00,82,"3.0",America/Chicago,250," 80 ",100\n'
    )
    (night,), _ctx = read(csv_entry("sleep_sessions.csv", text))
    assert (night.quality, night.awakenings, night.source) == (0.82, 3, "tables")
    assert night.start_ts == datetime(2024, 2, 4, 23, tzinfo=ZoneInfo("America/Chicago"))
    assert night.sleep_stage_breakdown == SleepStages(light=250, deep=80, rem=100)


def test_rows_without_timezone_read_naive_times_in_the_import_timezone() -> None:
    text = 'log_id,meal_type,log_ts,calories,protein_g\nm1,lunch,2024-02-05T12:15:00,640,"31.5"\n'
    (meal,), _ = read(csv_entry("nutrition_logs.csv", text), tz="Asia/Tokyo")
    assert meal.log_ts == datetime(2024, 2, 5, 12, 15, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert (meal.user_id, meal.timezone, meal.protein_g) == ("dee", "Asia/Tokyo", 31.5)


def test_a_nested_field_in_one_json_column_is_accepted() -> None:
    text = (
        "session_id,start_ts,end_ts,sleep_stage_breakdown\n"
        's-1,2024-02-04T23:00:00Z,2024-02-05T06:00:00Z,"{""light"": 200, ""deep"": 60, ""rem"": 90}"\n'
    )
    (night,), _ = read(csv_entry("sleep_sessions.csv", text))
    assert night.sleep_stage_breakdown == SleepStages(light=200, deep=60, rem=90)


def test_rows_without_an_id_get_the_same_derived_id_every_time() -> None:
    text = "activity_type,event_ts,duration_s,step_increment\nwalk,2024-02-05T10:00:00Z,600,900\n"
    (first,), _ = read(csv_entry("fitness_events.csv", text))
    (again,), _ = read(csv_entry("exports/fitness_events-2024.csv", text))
    assert first.event_id == again.event_id and first.event_id.startswith("evt-")


def test_bad_rows_other_users_and_unknown_columns_are_skipped_with_reasons() -> None:
    text = (
        "feedback_id,user_id,feedback_ts,mood,energy,perceived_exertion,colour\n"
        "f1,dee,2024-02-05T20:00:00Z,4,3,5,blue\n"
        "f2,dee,2024-02-05T20:00:00Z,9,3,5,red\n"
        "f3,eve,2024-02-05T20:00:00Z,3,3,5,green\n"
    )
    records, ctx = read(csv_entry("feedback_events.csv", text))
    assert [r.feedback_id for r in records] == ["f1"]
    assert ctx.skipped.counts == {
        "feedback_events.csv line 3: row not imported (mood: Input should be less than or equal to 5)": 1,
        "feedback_events rows of other users (not dee)": 1,
        "unknown column 'colour' in feedback_events (ignored)": 1,
    }


def test_without_a_user_id_every_users_rows_are_read() -> None:
    text = (
        "feedback_id,user_id,feedback_ts,mood,energy,perceived_exertion\nf1,dee,2024-02-05T20:00:00Z,4,3,5\n"
        "f3,eve,2024-02-05T20:00:00Z,3,3,5\n"
    )
    records, _ = read(csv_entry("feedback_events.csv", text), user=None)
    assert [r.user_id for r in records] == ["dee", "eve"]


def test_parquet_naive_timestamps_are_localised(tmp_path: Path) -> None:
    table = pa.table(
        {
            "event_id": ["e1"],
            "activity_type": ["cycle"],
            "event_ts": [datetime(2024, 2, 5, 17, 0)],
            "duration_s": [2400.0],
            "timezone": ["Europe/Madrid"],
        }
    )
    pq.write_table(table, tmp_path / "fitness_events.parquet")
    (ride,), _ = read(
        Entry.from_bytes("fitness_events.parquet", (tmp_path / "fitness_events.parquet").read_bytes())
    )
    assert ride.event_ts == datetime(2024, 2, 5, 16, 0, tzinfo=UTC)


def test_unreadable_files_are_rejected_whole() -> None:
    records, ctx = read(
        Entry.from_bytes("users.csv", b"\xff\xfe\x00bad"),
        Entry.from_bytes("devices.parquet", b"not parquet"),
        Entry.from_bytes("stuff.csv", b"a,b\n1,2\n"),
    )
    assert records == []
    assert [name for name, _ in ctx.rejected] == ["users.csv", "devices.parquet", "stuff.csv"]
    assert ctx.rejected[0][1].startswith("unreadable CSV file")
    assert ctx.rejected[2][1].startswith("not a table of the platform")


def test_a_row_with_a_broken_json_cell_is_reported_with_its_line_and_column() -> None:
    text = (
        'event_id,activity_type,event_ts,duration_s,hr_zone_s\ne1,run,2024-02-05T10:00:00Z,600,"[0, 1"\n'
        "e2,run,2024-02-05T11:00:00Z,600,\n"
    )
    records, ctx = read(csv_entry("fitness_events.csv", text))
    assert [r.event_id for r in records] == ["e2"]
    assert list(ctx.skipped.counts) == ["fitness_events.csv line 2: row not imported (hr_zone_s is not JSON)"]
