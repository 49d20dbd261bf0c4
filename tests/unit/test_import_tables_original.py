"""The original tracker's exported tables: layout detection, the mapping of each column, bad rows.

The fixture files (tests/fixtures/tables_original/) are written in that layout: six users (genders
female, male, ``prefer_not_to_say``, ``other``, ``MALE``; goals ``lose_weight``, ``gain_muscle`` and
an unknown one), five devices and five sleep sessions with stage sequences; one bad row per file and
one unknown column (``referral_code``).
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fitness_core.schemas import Device, SleepSession, SleepStages, User
from fitness_streaming.importers import tables
from fitness_streaming.importers import tables_original as original
from fitness_streaming.importers.common import Entry, ImportContext

FIXTURES = Path(__file__).parent.parent / "fixtures" / "tables_original"
SEX_REQUIRED = User.model_fields["sex"].is_required()
PERSONAL = ("Ada Quill", "ada.quill@example.org", "google", "GB", "Bo Tern", "bo.tern@example.org")


def fixture_entries(*names: str) -> list[Entry]:
    return [Entry.from_bytes(name, (FIXTURES / name).read_bytes()) for name in names]


def read(entries: list[Entry], tz: str = "UTC", user: str | None = None) -> tuple[dict, ImportContext]:
    ctx = ImportContext(user, tz)
    return {r.natural_id: r for r in tables.convert(entries, ctx)}, ctx


@pytest.fixture(scope="module")
def imported() -> tuple[dict, ImportContext]:
    return read(fixture_entries("users.csv", "devices.csv", "sleep_sessions.csv"))


def is_platform(name: str, cls: type = User) -> bool:
    kinds = {c.name: c.kind for c in tables.columns(cls)}
    nested = {n.split(".", 1)[0] for n in kinds if "." in n}
    return tables.platform_column(name, kinds, nested)


# --- layout -----------------------------------------------------------------------------------


@pytest.mark.parametrize("collection", ["users", "devices", "sleep_sessions"])
def test_the_original_header_is_detected_and_the_platform_export_is_not(collection: str) -> None:
    cls = {"users": User, "devices": Device, "sleep_sessions": SleepSession}[collection]
    with (FIXTURES / f"{collection}.csv").open() as handle:
        header = next(csv.reader(handle))
    assert original.detect(collection, header, lambda n: is_platform(n, cls)) is original.LAYOUTS[collection]
    export_header = [c.name for c in tables.columns(cls)]
    assert original.detect(collection, export_header, lambda n: is_platform(n, cls)) is None


def test_older_platform_sleep_columns_stay_in_the_platform_layout() -> None:
    header = [
        "session_id",
        "user_id",
        "start_ts",
        "end_ts",
        "sleep_quality_score",
        "awakenings",
        "sleep_stage_breakdown_light",
        "sleep_stage_breakdown_deep",
    ]
    assert original.detect("sleep_sessions", header, lambda n: is_platform(n, SleepSession)) is None
    assert original.detect("fitness_events", ["event_id", "gender"], lambda n: False) is None


# --- users ------------------------------------------------------------------------------------


def test_users_map_onto_the_profile(imported: tuple[dict, ImportContext]) -> None:
    records, _ = imported
    ada, bo, eli = records["u1001"], records["u1002"], records["u1005"]
    assert (ada.sex, ada.birth_year, ada.height_cm, ada.weight_kg, ada.hr_rest_bpm, ada.goal) == (
        "female",
        1990,
        168.0,
        71.5,
        62.0,
        "weight_loss",
    )
    assert (ada.timezone, ada.updated_ts, ada.source) == (
        "Europe/London",
        datetime(2024, 1, 3, 9, 15, tzinfo=UTC),
        "tables",
    )
    assert (bo.sex, bo.goal, bo.weight_kg) == ("male", "health", 84.2)  # gain_muscle: the closest goal
    assert (eli.sex, eli.goal) == ("male", "health")  # MALE is male; an unknown goal keeps the default
    assert eli.updated_ts == datetime(2024, 1, 12, 7, 0, tzinfo=UTC)


def test_genders_without_a_place_in_the_profile_are_never_guessed(
    imported: tuple[dict, ImportContext],
) -> None:
    records, ctx = imported
    if SEX_REQUIRED:  # the profile cannot hold "not set": the row is reported, not guessed
        assert "u1003" not in records and "u1004" not in records
        assert (
            ctx.skipped.counts[
                "users.csv line 4: row not imported (gender 'prefer_not_to_say' gives no sex and "
                "the profile requires male or female; it is never guessed)"
            ]
            == 1
        )
        assert (
            ctx.skipped.counts[
                "users.csv line 5: row not imported (gender 'other' gives no sex and the profile "
                "requires male or female; it is never guessed)"
            ]
            == 1
        )
    else:
        assert records["u1003"].sex is None and records["u1004"].sex is None
        assert (
            ctx.skipped.counts["users rows with gender 'prefer_not_to_say': sex left not set (never guessed)"]
            == 1
        )
        assert ctx.skipped.counts["users rows with gender 'other': sex left not set (never guessed)"] == 1


def test_goal_types_map_onto_the_goal_vocabulary_and_unknown_ones_are_reported() -> None:
    fields = [
        original.LAYOUTS["users"].map({"goal_type": g, "gender": "female"}, ZoneInfo("UTC"))
        for g in ("lose_weight", "gain_muscle", "Improve Endurance", "run_a_marathon")
    ]
    assert [f.fields.get("goal") for f in fields] == ["weight_loss", "health", "endurance", None]
    assert fields[3].notes == [
        "users rows with unknown goal_type 'run_a_marathon': goal left at the default 'health'"
    ]


def test_personal_columns_are_reported_as_dropped_and_never_read(
    imported: tuple[dict, ImportContext],
) -> None:
    records, ctx = imported
    assert (
        ctx.skipped.counts[
            "dropped columns user_name, email, auth_provider, country_code of users: "
            "personal data the platform does not store"
        ]
        == 1
    )
    assert ctx.skipped.counts["unknown column 'referral_code' in users (ignored)"] == 1
    stored = json.dumps([r.model_dump(mode="json") for r in records.values()])
    assert not [value for value in PERSONAL if f'"{value}"' in stored]


def test_a_bad_date_of_birth_is_reported_with_its_line_without_the_date(
    imported: tuple[dict, ImportContext],
) -> None:
    records, ctx = imported
    assert "u1006" not in records
    assert (
        ctx.skipped.counts["users.csv line 7: row not imported (date_of_birth is not a YYYY-MM-DD date)"] == 1
    )
    assert not [reason for reason in ctx.skipped.counts if "12/05/1992" in reason]


def test_a_validation_error_names_the_original_column() -> None:
    text = (
        "user_id,gender,date_of_birth,height_cm,weight_kg_start,signup_ts\n"
        "u9,female,1990-01-01,170,5,2024-01-01T00:00:00Z\n"
    )
    records, ctx = read([Entry.from_bytes("users.csv", text.encode())])
    assert records == {}
    assert list(ctx.skipped.counts) == [
        "users.csv line 2: row not imported (weight_kg (from weight_kg_start): Input should be greater than or "
        "equal to 25)"
    ]


# --- devices ----------------------------------------------------------------------------------


def test_devices_take_the_newest_of_their_times_and_map_type_and_firmware(
    imported: tuple[dict, ImportContext],
) -> None:
    records, ctx = imported
    watch, band, phone, ring = (records[f"d-200{n}"] for n in (1, 2, 3, 4))
    assert (watch.kind, watch.model, watch.firmware, watch.user_id) == (
        "watch",
        "Forerunner 255",
        "19.18",
        "u1001",
    )
    assert watch.updated_ts == datetime(2024, 3, 2, 6, 40, tzinfo=UTC)  # last_seen_ts is the newest
    assert band.updated_ts == datetime(2024, 3, 2, 7, 5, tzinfo=UTC)  # last_sync_ts is the newest
    assert (band.kind, phone.kind, ring.kind) == ("band", "phone", "other")
    assert phone.updated_ts == datetime(2024, 3, 2, 5, 0, tzinfo=UTC)  # an empty last_sync_ts is left out
    assert ctx.skipped.counts["devices rows with unknown device_type 'ring': stored as 'other'"] == 1
    assert (
        ctx.skipped.counts[
            "dropped column battery_pct of devices: a battery level at one moment, which the "
            "platform does not store"
        ]
        == 1
    )
    assert (
        ctx.skipped.counts["devices.csv line 6: row not imported (last_seen_ts is not an ISO 8601 time)"] == 1
    )
    assert "d-2005" not in records


def test_a_device_without_any_time_is_a_bad_row() -> None:
    text = "device_id,user_id,device_type,model,first_seen_ts,last_seen_ts,last_sync_ts\nd1,u1,watch,X,,,\n"
    records, ctx = read([Entry.from_bytes("devices.csv", text.encode())])
    assert records == {} and list(ctx.skipped.counts) == [
        "devices.csv line 2: row not imported (first_seen_ts, last_seen_ts and last_sync_ts are all empty "
        "(the device needs a time))"
    ]


# --- sleep sessions ---------------------------------------------------------------------------


def test_stage_sequences_become_minutes_per_stage(imported: tuple[dict, ImportContext]) -> None:
    records, ctx = imported
    ada, bo, cy = records["s-3001"], records["s-3002"], records["s-3003"]
    assert ada.sleep_stage_breakdown == SleepStages(light=235, deep=75, rem=150, awake=20)
    assert (ada.quality, ada.efficiency, ada.device_id, ada.resting_heart_rate_bpm) == (
        0.82,
        0.915,
        "d-2001",
        None,
    )
    assert bo.sleep_stage_breakdown == SleepStages(light=200, deep=90, rem=130, awake=30)  # "wake" is awake
    assert cy.sleep_stage_breakdown == SleepStages(light=240, deep=70, rem=120, awake=0)  # "nap" not counted
    assert (
        ctx.skipped.counts[
            "sleep_sessions rows with unknown stage 'nap' in sleep_stage_seq (its minutes are not counted)"
        ]
        == 1
    )
    assert (
        ctx.skipped.counts[
            "dropped column avg_hr_bpm of sleep_sessions: the night's average heart rate is not "
            "the resting heart rate the platform stores"
        ]
        == 1
    )
    assert (
        ctx.skipped.counts["sleep_sessions.csv line 6: row not imported (sleep_stage_seq is not JSON)"] == 1
    )


def test_naive_sleep_times_are_read_in_their_users_zone_from_the_users_table(
    imported: tuple[dict, ImportContext],
) -> None:
    records, _ = imported
    bo = records["s-3002"]  # 23:10 in New York (users.csv), not in the import's UTC
    assert (bo.start_ts, bo.timezone) == (datetime(2024, 3, 2, 4, 10, tzinfo=UTC), "America/New_York")
    alone, _ = read(fixture_entries("sleep_sessions.csv"), tz="Europe/Paris")
    assert alone["s-3002"].start_ts == datetime(
        2024, 3, 1, 22, 10, tzinfo=UTC
    )  # --timezone without users.csv
    assert alone["s-3003"].timezone == "Europe/Paris"


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ('[{"stage": "deep", "start": 50, "end": 10}]', "sleep_stage_seq item 1 ends before it starts"),
        ('[{"stage": "deep", "start": 0}]', "sleep_stage_seq item 1 is not a {stage, start, end} object"),
        ('{"stage": "deep"}', "sleep_stage_seq is not a list of {stage, start, end}"),
        ('[{"stage": "deep", "start": 0, "end": "late"}]', "sleep_stage_seq item 1 end is not a number"),
    ],
)
def test_malformed_stage_sequences_are_bad_rows(cell: str, reason: str) -> None:
    text = (
        "session_id,start_ts,end_ts,sleep_stage_seq\n"
        + ",".join(
            ["s1", "2024-03-01T22:00:00Z", "2024-03-02T06:00:00Z", '"' + cell.replace('"', '""') + '"']
        )
        + "\n"
    )
    records, ctx = read([Entry.from_bytes("sleep_sessions.csv", text.encode())], user="u1")
    assert records == {} and list(ctx.skipped.counts) == [
        f"sleep_sessions.csv line 2: row not imported ({reason})"
    ]


def test_percentages_outside_0_100_are_bad_rows() -> None:
    text = (
        "session_id,start_ts,end_ts,sleep_quality_score,efficiency_pct\n"
        "s1,2024-03-01T22:00:00Z,2024-03-02T06:00:00Z,80,140\n"
    )
    records, ctx = read([Entry.from_bytes("sleep_sessions.csv", text.encode())], user="u1")
    assert records == {} and list(ctx.skipped.counts) == [
        "sleep_sessions.csv line 2: row not imported (efficiency_pct 140 is outside 0-100)"
    ]


# --- Parquet, many bad rows, ragged rows ------------------------------------------------------


def test_typed_parquet_tables_in_the_original_layout_read_like_the_csv(
    tmp_path: Path, imported: tuple[dict, ImportContext]
) -> None:
    csv_records, _ = imported
    users = pa.table(
        {
            "user_id": [1001],
            "user_name": ["Ada Quill"],
            "email": ["ada.quill@example.org"],
            "auth_provider": ["google"],
            "date_of_birth": pa.array([date(1990, 5, 17)], pa.date32()),
            "gender": ["female"],
            "height_cm": [168.0],
            "weight_kg_start": [71.5],
            "resting_hr_baseline": [62],
            "timezone": ["Europe/London"],
            "goal_type": ["lose_weight"],
            "signup_ts": pa.array([datetime(2024, 1, 3, 9, 15)], pa.timestamp("ms", "UTC")),
            "country_code": ["GB"],
        }
    )
    stages = [
        {"stage": "light", "start": 0, "end": 95},
        {"stage": "deep", "start": 95, "end": 170},
        {"stage": "rem", "start": 170, "end": 230},
        {"stage": "awake", "start": 230, "end": 240},
        {"stage": "light", "start": 240, "end": 380},
        {"stage": "rem", "start": 380, "end": 470},
        {"stage": "awake", "start": 470, "end": 480},
    ]
    sleep = pa.table(
        {
            "session_id": ["s-3001"],
            "user_id": [1001],
            "device_id": ["d-2001"],
            "start_ts": pa.array([datetime(2024, 3, 1, 22, 30)], pa.timestamp("ms")),
            "end_ts": pa.array([datetime(2024, 3, 2, 6, 30)], pa.timestamp("ms")),
            "sleep_quality_score": [82],
            "sleep_stage_seq": [stages],
            "avg_hr_bpm": [58.5],
            "efficiency_pct": [91.5],
        }
    )
    pq.write_table(users, tmp_path / "users.parquet")
    pq.write_table(sleep, tmp_path / "sleep_sessions.parquet")
    records, ctx = read([Entry.from_bytes(p.name, p.read_bytes()) for p in sorted(tmp_path.iterdir())])
    assert records["1001"].model_dump(exclude={"user_id", "ingest_ts"}) == csv_records["u1001"].model_dump(
        exclude={"user_id", "ingest_ts"}
    )
    assert records["s-3001"].model_dump(exclude={"user_id", "ingest_ts"}) == csv_records["s-3001"].model_dump(
        exclude={"user_id", "ingest_ts"}
    )
    assert (
        ctx.skipped.counts[
            "dropped column avg_hr_bpm of sleep_sessions: the night's average heart rate is not "
            "the resting heart rate the platform stores"
        ]
        == 1
    )


def test_a_bad_parquet_row_is_reported_by_its_row_number(tmp_path: Path) -> None:
    table = pa.table(
        {
            "device_id": ["d1", "d2"],
            "user_id": ["u1", "u1"],
            "device_type": ["watch", "band"],
            "last_sync_ts": ["2024-03-01T08:00:00Z", "soon"],
        }
    )
    pq.write_table(table, tmp_path / "devices.parquet")
    records, ctx = read([Entry.from_bytes("devices.parquet", (tmp_path / "devices.parquet").read_bytes())])
    assert list(records) == ["d1"]
    assert list(ctx.skipped.counts) == [
        "devices.parquet row 2: row not imported (last_sync_ts is not an ISO 8601 time)"
    ]


def test_many_bad_rows_are_listed_up_to_a_limit_then_counted_by_reason() -> None:
    rows = "".join(f"d{n},u1,watch,X,,,\n" for n in range(tables.ROWS_LISTED + 5))
    text = "device_id,user_id,device_type,model,first_seen_ts,last_seen_ts,last_sync_ts\n" + rows
    _, ctx = read([Entry.from_bytes("devices.csv", text.encode())])
    listed = [reason for reason in ctx.skipped.counts if reason.startswith("devices.csv line ")]
    assert len(listed) == tables.ROWS_LISTED and listed[0].startswith("devices.csv line 2: ")
    assert (
        ctx.skipped.counts[
            "devices.csv: further rows not imported (first_seen_ts, last_seen_ts and last_sync_ts "
            "are all empty (the device needs a time))"
        ]
        == 5
    )


def test_a_row_with_more_cells_than_the_header_is_a_bad_row() -> None:
    text = (
        "device_id,user_id,device_type,last_sync_ts\nd1,u1,watch,2024-03-01T08:00:00Z\n"
        "d2,u1,watch,2024-03-01T08:00:00Z,extra\n"
    )
    records, ctx = read([Entry.from_bytes("devices.csv", text.encode())])
    assert list(records) == ["d1"]
    assert list(ctx.skipped.counts) == [
        "devices.csv line 3: row not imported (more cells than the header's 4 columns)"
    ]


def test_with_a_user_id_only_that_users_rows_are_read() -> None:
    records, ctx = read(fixture_entries("devices.csv", "sleep_sessions.csv"), user="u1002")
    assert sorted(records) == ["d-2002", "s-3002"]
    assert ctx.skipped.counts["devices rows of other users (not u1002)"] == 4
