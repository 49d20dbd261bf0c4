"""Shared importer machinery: format detection, entries, the activity ledger, sleep sessions, the runner."""

from __future__ import annotations

import zipfile
from contextlib import ExitStack
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from fitness_cli.main import main
from fitness_streaming.importers import InputError, import_path
from fitness_streaming.importers.activity import STEPS, ActivityLedger, WorkoutDraft, hr_zone_seconds
from fitness_streaming.importers.common import Entry, ImportContext
from fitness_streaming.importers.sleep import NightlyMetrics, SleepSegment, sessions_from_segments
from fitness_streaming.importers.sources import detect, entries_from_path, plan

FIXTURES = Path(__file__).parent.parent / "fixtures"
H = 3600.0
DAY = datetime(2024, 4, 1, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("name", "head", "expected"),
    [
        ("ride.FIT", b"", "fit"),
        ("noext", b"\x0e\x20\x00\x00\x00\x00\x00\x00.FIT", "fit"),
        ("apple_health_export/export.xml", b"<?xml?><!DOCTYPE HealthData [", "apple"),
        ("run.xml", b"<?xml?><TrainingCenterDatabase>", "tcx"),
        ("route.gpx", b"<gpx>", "gpx"),
        ("sleep-2023-01-01.json", b'[{"logId": 1, "dateOfSleep": "2023-01-01"}]', "fitbit"),
        ("fitness_events.csv", b"event_id,user_id", "tables"),
        ("sleep_sessions-part2.parquet", b"PAR1", "tables"),
        ("notes.csv", b"a,b", None),
        ("photo.jpg", b"\xff\xd8", None),
    ],
)
def test_detect_recognises_each_format_by_name_and_first_bytes(
    name: str, head: bytes, expected: str | None
) -> None:
    assert detect(Entry.from_bytes(name, head), head) == expected


def test_apple_companion_files_go_with_the_export_and_other_files_are_set_aside() -> None:
    entries = [
        Entry.from_bytes(n, b"<gpx>" if n.endswith(".gpx") else b"x")
        for n in (
            "apple_health_export/export.xml",
            "apple_health_export/workout-routes/r.gpx",
            "other/walk.gpx",
            "a.txt",
        )
    ]
    groups, others = plan(entries)
    assert [e.name for e in groups["apple"]] == [
        "apple_health_export/export.xml",
        "apple_health_export/workout-routes/r.gpx",
    ]
    assert [e.name for e in groups["gpx"]] == ["other/walk.gpx"]
    assert [e.name for e in others] == ["a.txt"]


def test_an_explicit_format_keeps_only_its_files_but_trusts_a_single_file() -> None:
    mixed = [Entry.from_bytes("a.fit", b""), Entry.from_bytes("b.gpx", b"<gpx>")]
    assert [e.name for e in plan(mixed, "gpx")[0]["gpx"]] == ["b.gpx"]
    assert list(plan([Entry.from_bytes("track.dat", b"")], "gpx")[0]) == ["gpx"]


def test_entries_of_a_folder_skip_hidden_files_and_zips_are_read_in_place(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "walk.gpx").write_text("<gpx/>")
    (tmp_path / ".DS_Store").write_text("x")
    with ExitStack() as stack:
        assert [e.name for e in entries_from_path(tmp_path, stack)] == ["sub/walk.gpx"]
    archive = tmp_path / "export.zip"
    with zipfile.ZipFile(archive, "w") as out:
        out.writestr("apple_health_export/export.xml", "<HealthData/>")
        out.writestr("__MACOSX/apple_health_export/._export.xml", "junk")
    with ExitStack() as stack:
        (member,) = entries_from_path(archive, stack)
        assert (member.name, member.read_bytes()) == ("apple_health_export/export.xml", b"<HealthData/>")


def test_a_missing_path_is_an_input_error() -> None:
    with pytest.raises(InputError, match="no such file or folder"), ExitStack() as stack:
        entries_from_path(Path("/nonexistent/export.zip"), stack)


def test_a_sample_spanning_an_hour_boundary_is_split_by_time() -> None:
    ledger = ActivityLedger()
    ledger.add(STEPS, DAY + 10 * H - 300, DAY + 10 * H + 300, 600)  # 09:55-10:05
    bouts = list(ledger.events(ImportContext("u"), "fit"))
    assert [(b.event_ts.hour, b.step_increment, b.duration_s) for b in bouts] == [
        (9, 300, 300.0),
        (10, 300, 300.0),
    ]


def test_the_better_ranked_device_wins_each_five_minute_slot() -> None:
    ledger = ActivityLedger()
    ledger.add(STEPS, DAY, DAY + 600, 1000, rank=1)  # phone, 00:00-00:10
    ledger.add(STEPS, DAY, DAY + 300, 400, rank=0)  # watch, 00:00-00:05 only
    (bout,) = ledger.events(ImportContext("u"), "apple_health")
    assert bout.step_increment == 400 + 500


def test_samples_in_a_workout_go_to_the_workout() -> None:
    run = WorkoutDraft(DAY + 7 * H, DAY + 8 * H, "run")
    ledger = ActivityLedger([run])
    assert ledger.add(STEPS, DAY + 7.5 * H, DAY + 7.5 * H + 60, 170, rank=2)
    ledger.add_heart_rate(DAY + 7.5 * H, 160)
    ledger.add_heart_rate(DAY + 9 * H, 90)
    ctx = ImportContext("u")
    events = list(ledger.events(ctx, "fitbit"))
    assert [(e.kind, e.step_increment, e.heart_rate_bpm) for e in events] == [("workout", 170, 160.0)]
    assert ctx.skipped.counts["heart-rate samples outside workouts in hours without steps"] == 1


def test_a_heart_rate_sample_stands_for_at_most_a_minute() -> None:
    zones = hr_zone_seconds([0.0, 10.0, 600.0], [150.0, 150.0, 185.0], 0.0, 660.0, 200.0)
    assert zones == [0.0, 0.0, 10.0 + 60.0, 0.0, 60.0]


def test_sleep_segments_an_hour_apart_are_two_sessions_and_resting_hr_goes_to_the_longest() -> None:
    night = [SleepSegment(DAY - 2 * H, DAY + 4 * H, "light"), SleepSegment(DAY + 4 * H, DAY + 5 * H, "deep")]
    nap = [SleepSegment(DAY + 14 * H, DAY + 14.5 * H, "asleep")]
    ctx = ImportContext("u")
    drafts = sessions_from_segments(night + nap, ctx)
    assert [(d.start, d.end) for d in drafts] == [(DAY - 2 * H, DAY + 5 * H), (DAY + 14 * H, DAY + 14.5 * H)]
    nightly = NightlyMetrics()
    nightly.resting[date(2024, 4, 1)].append(51.0)
    nightly.resting[date(2024, 4, 2)].append(53.0)
    nightly.attach(drafts, ctx)
    assert [d.resting_heart_rate_bpm for d in drafts] == [51.0, None]
    assert ctx.skipped.counts["resting heart rate on a day without a sleep session"] == 1


def test_the_same_data_of_two_users_gets_two_ids() -> None:
    assert ImportContext("u1").record_id("evt", "workout", "t") != ImportContext("u2").record_id(
        "evt", "workout", "t"
    )
    assert ImportContext("u1").record_id("evt", "workout", "t") == ImportContext("u1").record_id(
        "evt", "workout", "t"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"user_id": None}, "--user-id is required"),
        ({"user_id": "bad id!"}, "invalid user id"),
        ({"user_id": "u", "timezone": "Mars/Olympus"}, "unknown timezone 'Mars/Olympus'"),
        ({"user_id": "u", "fmt": "tables"}, "no tables files found"),
    ],
)
def test_import_path_refuses_bad_input_with_one_clear_line(kwargs: dict, message: str) -> None:
    user_id = kwargs.pop("user_id")
    with pytest.raises(InputError, match=message):
        import_path(FIXTURES / "gpx", user_id, **kwargs)


def test_cli_dry_run_prints_records_per_type_and_skip_reasons() -> None:
    result = CliRunner().invoke(
        main,
        ["import", str(FIXTURES / "tcx"), "--user-id", "u1", "--dry-run", "--no-progress"],
        env={"MONGO_URI": "mongodb://127.0.0.1:1"},
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("3 records converted (dry run, nothing published) from 2 file(s) [tcx]")
    assert "  devices          1" in lines and "  fitness_events   2" in lines  # one run, twice: one id


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--format", "garmin"], 2, "Invalid value for '--format'"),
        (["--timezone", "Nowhere/Town"], 1, "fitness: error: unknown timezone 'Nowhere/Town'"),
        (["--hr-max", "500"], 2, "Invalid value for '--hr-max'"),
    ],
)
def test_cli_bad_options_end_in_one_line(args: list[str], code: int, message: str) -> None:
    result = CliRunner().invoke(
        main,
        ["import", str(FIXTURES / "tcx"), "--user-id", "u1", "--dry-run", *args],
        env={"MONGO_URI": "mongodb://127.0.0.1:1"},
    )
    assert result.exit_code == code
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_cli_unreadable_path_is_one_line() -> None:
    result = CliRunner().invoke(
        main,
        ["import", "/nonexistent/x.fit", "--user-id", "u1", "--dry-run"],
        env={"MONGO_URI": "mongodb://127.0.0.1:1"},
    )
    assert result.exit_code == 1
    assert result.stderr.strip() == "fitness: error: no such file or folder: /nonexistent/x.fit"


def test_cli_reports_rejected_files_and_exits_non_zero(tmp_path: Path) -> None:
    (tmp_path / "good.tcx").write_bytes((FIXTURES / "tcx" / "test.tcx").read_bytes())
    (tmp_path / "bad.fit").write_bytes(b"\x0e\x20" + bytes(6) + b".FIT" + bytes(20))
    result = CliRunner().invoke(
        main,
        ["import", str(tmp_path), "--user-id", "u1", "--dry-run"],
        env={"MONGO_URI": "mongodb://127.0.0.1:1"},
    )
    assert result.exit_code == 1
    assert "rejected 1 file(s):" in result.stdout and "  bad.fit: " in result.stdout
    assert "fitness_events   1" in result.stdout
    assert result.stderr.strip().endswith("1 file(s) rejected (listed above); everything else was imported")


def test_progress_counts_every_byte_read_of_every_format(tmp_path: Path) -> None:
    for part in ("fit", "tcx", "gpx", "fitbit"):
        for path in (FIXTURES / part).glob("*.*"):
            (tmp_path / path.name).write_bytes(path.read_bytes())
    (tmp_path / "export.xml").write_bytes(
        (FIXTURES / "apple_health" / "apple-health-parser_export.xml").read_bytes()
    )
    (tmp_path / "feedback_events.csv").write_text(
        "feedback_id,feedback_ts,mood,energy,perceived_exertion\nf1,2024-02-05T20:00:00Z,4,3,5\n"
    )
    quiet = import_path(tmp_path, "u1")
    shown = import_path(tmp_path, "u1", progress=True)
    assert shown.records == quiet.records and shown.skipped == quiet.skipped
    assert shown.rejected == quiet.rejected == []
