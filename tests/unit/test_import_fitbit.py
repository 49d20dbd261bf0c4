"""Fitbit importer: Web API sample responses and Google Takeout files, local times in --timezone."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from fitness_core.schemas import FitnessEvent, SleepSession
from fitness_streaming.importers import fitbit
from fitness_streaming.importers.common import Entry, ImportContext

FIXTURES = Path(__file__).parent.parent / "fixtures" / "fitbit"
NEW_YORK = ZoneInfo("America/New_York")


def convert(
    *entries: Entry, tz: str = "America/New_York", hr_max: float | None = None
) -> tuple[list, ImportContext]:
    ctx = ImportContext("cy", tz, hr_max_bpm=hr_max)
    return list(fitbit.convert(list(entries), ctx)), ctx


def fixture(name: str) -> Entry:
    return Entry.from_bytes(name, (FIXTURES / name).read_bytes())


def takeout(name: str, content: object) -> Entry:
    return Entry.from_bytes(f"Takeout/Fitbit/Global Export Data/{name}", json.dumps(content).encode())


def test_sleep_logs_keep_fitbits_efficiency_latency_and_restless_periods() -> None:
    records, _ = convert(fixture("fitbit-sleep-date.json"))
    main = next(r for r in records if isinstance(r, SleepSession) and r.duration_min > 100)
    assert main.start_ts == datetime(2016, 12, 13, 1, 16, tzinfo=NEW_YORK)
    assert main.end_ts == datetime(2016, 12, 13, 3, 14, tzinfo=NEW_YORK)
    assert (main.efficiency, main.latency_min, main.awakenings) == (0.95, 0.0, 3)
    assert main.sleep_stage_breakdown is None  # 'classic' logs have no light/deep/REM


def test_logged_activities_become_workouts_in_the_local_timezone() -> None:
    records, ctx = convert(fixture("fitbit-activities-date-multiple-in-activities-list.json"))
    run = next(r for r in records if r.activity_type == "run")
    assert run.event_ts == datetime(2015, 6, 23, 11, 55, tzinfo=NEW_YORK)
    assert (run.duration_s, run.calories_burned, run.step_increment) == (1440.0, 150.0, 6761)
    assert run.distance_m == pytest.approx(6437.38)
    assert ctx.skipped.counts["Fitbit logged activities without a duration"] == 1


def test_intraday_steps_and_heart_rate_make_hourly_bouts() -> None:
    records, _ctx = convert(
        fixture("fitbit-activities-steps-1d-1m-intraday.json"),
        fixture("fitbit-activities-heart-1d-1m-intraday.json"),
    )
    bouts = {b.event_ts: b for b in records if isinstance(b, FitnessEvent)}
    midnight = datetime(2015, 8, 21, tzinfo=NEW_YORK)
    first, afternoon = bouts[midnight], bouts[midnight + timedelta(hours=14)]
    assert (first.step_increment, first.heart_rate_bpm, first.max_heart_rate_bpm) == (7, 64.2, 65.0)
    assert (afternoon.step_increment, afternoon.heart_rate_bpm, afternoon.duration_s) == (52, None, 60.0)
    assert len(bouts) == 2


def test_the_same_files_in_another_timezone_move_in_utc() -> None:
    new_york, _ = convert(fixture("fitbit-sleep-date.json"))
    paris, _ = convert(fixture("fitbit-sleep-date.json"), tz="Europe/Paris")
    assert [r.start_ts - p.start_ts for r, p in zip(new_york, paris, strict=True)] == [timedelta(hours=6)] * 2
    assert [r.session_id for r in new_york] == [p.session_id for p in paris]


def takeout_night() -> list[Entry]:
    log = {
        "logId": 777,
        "dateOfSleep": "2023-01-02",
        "startTime": "2023-01-01T23:00:00.000",
        "endTime": "2023-01-02T07:00:00.000",
        "type": "stages",
        "efficiency": 93,
        "minutesToFallAsleep": 12,
        "levels": {
            "summary": {
                "deep": {"count": 4, "minutes": 80},
                "light": {"count": 20, "minutes": 250},
                "rem": {"count": 6, "minutes": 100},
                "wake": {"count": 18, "minutes": 50},
            }
        },
    }
    return [
        takeout("sleep-2023-01-01.json", [log]),
        takeout(
            "resting_heart_rate-2023-01-02.json",
            [
                {"dateTime": "01/02/23 00:00:00", "value": {"date": "01/02/23", "value": 57.4, "error": 5.1}},
                {"dateTime": "01/03/23 00:00:00", "value": {"date": "01/03/23", "value": 0, "error": 0}},
            ],
        ),
        Entry.from_bytes(
            "Heart Rate Variability/Daily Heart Rate Variability Summary - 2023-01-(02).csv",
            b"timestamp,rmssd,nremhr,entropy\n2023-01-02T00:00:00,41.5,55.2,2.9\n",
        ),
        Entry.from_bytes(
            "Sleep/sleep_score.csv",
            b"sleep_log_entry_id,timestamp,overall_score,composition_score\n777,2023-01-02T07:05:00Z,84,20\n",
        ),
    ]


def test_takeout_sleep_gets_stages_score_resting_hr_and_hrv() -> None:
    records, ctx = convert(*takeout_night())
    (night,) = records
    assert night.sleep_stage_breakdown.model_dump() == {
        "light": 250.0,
        "deep": 80.0,
        "rem": 100.0,
        "awake": 50.0,
    }
    assert (night.quality, night.efficiency, night.latency_min, night.awakenings) == (0.84, 0.93, 12.0, 18)
    assert (night.resting_heart_rate_bpm, night.hrv_rmssd_ms) == (57.4, 41.5)
    assert ctx.rejected == []


def test_takeout_heart_rate_inside_an_exercise_gives_its_zones() -> None:
    exercise = {
        "logId": 5,
        "activityName": "Bike",
        "startTime": "01/05/23 17:00:00",
        "duration": 600000,
        "activeDuration": 600000,
        "calories": 90,
        "averageHeartRate": 150,
    }
    beats = [
        {"dateTime": f"01/05/23 17:0{m}:{s:02d}", "value": {"bpm": 170, "confidence": 3}}
        for m in range(10)
        for s in range(0, 60, 15)
    ]
    beats.append({"dateTime": "01/05/23 18:30:00", "value": {"bpm": 80, "confidence": 0}})
    steps = [
        {"dateTime": "01/05/23 17:03:00", "value": "40"},
        {"dateTime": "01/05/23 18:10:00", "value": "900"},
    ]
    records, ctx = convert(
        takeout("exercise-0.json", [exercise]),
        takeout("heart_rate-2023-01-05.json", beats),
        takeout("steps-2023-01-05.json", steps),
        hr_max=180.0,
    )
    events = {e.kind: e for e in records}
    ride = events["workout"]
    assert (ride.activity_type, ride.heart_rate_bpm, ride.max_heart_rate_bpm) == ("cycle", 150.0, 170.0)
    assert (ride.step_increment, ride.hr_zone_s) == (40, [0.0, 0.0, 0.0, 0.0, 600.0])  # 170 > 90 % of 180
    assert events["bout"].step_increment == 900
    assert events["bout"].event_ts == datetime(2023, 1, 5, 18, tzinfo=NEW_YORK)
    assert ctx.skipped.counts["Fitbit heart-rate readings with zero confidence"] == 1


def test_a_malformed_file_is_rejected_and_the_others_still_count() -> None:
    broken = Entry.from_bytes("sleep-2023-02-01.json", b'[{"logId": 1, "dateOfSleep": ')
    records, ctx = convert(broken, *takeout_night())
    assert len(records) == 1
    assert ctx.rejected[0][0] == "sleep-2023-02-01.json" and ctx.rejected[0][1].startswith(
        "unreadable Fitbit sleep"
    )


def test_files_of_other_kinds_are_skipped_not_guessed() -> None:
    records, ctx = convert(
        takeout("weight-2023-01-01.json", [{"weight": 180.2, "date": "01/01/23"}]),
        Entry.from_bytes("notes.json", b'{"hello": 1}'),
    )
    assert records == []
    assert ctx.skipped.counts["Fitbit weight logs (the export does not state their unit)"] == 1
    assert ctx.skipped.counts["JSON/CSV files that are not a known Fitbit export"] == 1


def test_local_time_reads_both_fitbit_notations() -> None:
    ctx = ImportContext("cy", "Europe/Paris")
    assert fitbit.local_time(ctx, "07/14/21 23:05:09") == fitbit.local_time(ctx, "2021-07-14T23:05:09.000")
    assert fitbit.local_time(ctx, "07/14/21 23:05:09").utcoffset() == timedelta(hours=2)
    assert date(2021, 7, 14) == fitbit.local_time(ctx, "07/14/21 23:05:09").date()


ACCOUNT_CSV = b"""Body
Date,Weight,BMI,Fat
"2021-07-12","180.2","25.1","0"

Activities
Date,Calories Burned,Steps,Distance,Floors,Minutes Sedentary,Minutes Lightly Active,Minutes Fairly Active,Minutes Very Active,Activity Calories
"2021-07-12","2,410","9,512","7.1","10","800","210","25","30","1,020"
"2021-07-13","2,100","52","0.04","0","1200","5","0","0","40"

Sleep
Start Time,End Time,Minutes Asleep,Minutes Awake,Number of Awakenings,Time in Bed,Minutes REM Sleep,Minutes Light Sleep,Minutes Deep Sleep
"2021-07-12 11:12PM","2021-07-13 7:02AM","420","50","4","470","90","250","80"
"2021-07-13 1:00PM","2021-07-13 1:40PM","35","5","1","40","N/A","N/A","N/A"
"""


def test_account_export_csv_gives_sleep_with_stages_and_daily_walking_totals() -> None:
    steps = takeout("steps-2021-07-13.json", [{"dateTime": "07/13/21 09:00:00", "value": "60"}])
    records, ctx = convert(Entry.from_bytes("fitbit_export_20210714.csv", ACCOUNT_CSV), steps)
    night, nap = sorted((r for r in records if isinstance(r, SleepSession)), key=lambda r: r.start_ts)
    assert (night.start_ts, night.end_ts) == (
        datetime(2021, 7, 12, 23, 12, tzinfo=NEW_YORK),
        datetime(2021, 7, 13, 7, 2, tzinfo=NEW_YORK),
    )
    assert night.sleep_stage_breakdown.model_dump() == {
        "light": 250.0,
        "deep": 80.0,
        "rem": 90.0,
        "awake": 50.0,
    }
    assert (night.efficiency, night.awakenings) == (round(420 / 470, 3), 4)
    assert nap.sleep_stage_breakdown is None
    bouts = {(b.event_ts, b.step_increment, b.duration_s) for b in records if isinstance(b, FitnessEvent)}
    assert bouts == {
        (datetime(2021, 7, 12, tzinfo=NEW_YORK), 9512, 265 * 60.0),
        (datetime(2021, 7, 13, 9, tzinfo=NEW_YORK), 60, 60.0),
    }  # the 13th has intraday steps
    assert ctx.skipped.counts["Fitbit account export Body rows (not imported)"] == 1
    assert ctx.skipped.counts["Fitbit daily totals of days with intraday samples (the samples are used)"] == 1


def test_google_exercises_csv_is_read_in_utc_with_tracker_totals() -> None:
    text = (
        b"exercise_id,exercise_start,exercise_end,utc_offset,activity_name,tracker_total_calories,"
        b"tracker_total_steps,tracker_total_distance_mm,tracker_avg_heart_rate\n"
        b"91,2024-05-02T16:00:00Z,2024-05-02T16:40:00Z,-04:00,Run,410,6100,7200000,152\n"
    )
    (run,), _ = convert(Entry.from_bytes("Health Fitness Data/UserExercises.csv", text))
    assert (run.activity_type, run.event_ts, run.duration_s) == (
        "run",
        datetime(2024, 5, 2, 12, tzinfo=NEW_YORK),
        2400.0,
    )
    assert (run.calories_burned, run.step_increment, run.distance_m, run.heart_rate_bpm) == (
        410.0,
        6100,
        7200.0,
        152.0,
    )
