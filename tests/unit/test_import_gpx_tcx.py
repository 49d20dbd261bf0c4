"""GPX and TCX importers: workouts with heart rate where the file has it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import tcxparser

from fitness_core.schemas import Device, FitnessEvent
from fitness_streaming.importers import gpx, tcx
from fitness_streaming.importers.common import Entry, ImportContext
from tests.fixtures.generated import gpx_track

FIXTURES = Path(__file__).parent.parent / "fixtures"
TCX_RUN, TCX_NO_HR = FIXTURES / "tcx" / "test.tcx", FIXTURES / "tcx" / "no_hr.tcx"


def convert(module, *entries: Entry, **ctx_args) -> tuple[list, ImportContext]:
    ctx = ImportContext("bea", **ctx_args)
    return list(module.convert(list(entries), ctx)), ctx


def entry(path: Path) -> Entry:
    return Entry.from_bytes(path.name, path.read_bytes())


def test_tcx_run_keeps_the_laps_totals_and_the_trackpoint_heart_rate() -> None:
    records, _ = convert(tcx, entry(TCX_RUN))
    (device,) = [r for r in records if isinstance(r, Device)]
    (run,) = [r for r in records if isinstance(r, FitnessEvent)]
    parsed = tcxparser.TCXParser(str(TCX_RUN))
    assert (run.kind, run.activity_type, run.event_ts) == ("workout", "run", datetime(2012, 12, 26, 21, 29, 53, tzinfo=UTC))
    assert run.duration_s == pytest.approx(1992.78) and run.calories_burned == 379
    assert run.distance_m == pytest.approx(1609.34399414 * 2 + 1470.5546875, abs=0.01)
    assert run.max_heart_rate_bpm == 189 == parsed.hr_max
    assert run.heart_rate_bpm == pytest.approx(sum(parsed.hr_values()) / len(parsed.hr_values()), abs=0.05)
    assert (device.kind, device.model, run.device_id) == ("watch", "Forerunner 410 Software Version 2.20", device.device_id)


def test_tcx_time_in_zones_needs_an_hrmax_and_stays_within_the_duration() -> None:
    without, _ = convert(tcx, entry(TCX_RUN))
    with_max, _ = convert(tcx, entry(TCX_RUN), hr_max_bpm=190.0)
    run = next(r for r in with_max if isinstance(r, FitnessEvent))
    assert next(r for r in without if isinstance(r, FitnessEvent)).hr_zone_s is None
    assert 0.9 * run.duration_s < sum(run.hr_zone_s) <= run.duration_s
    assert run.hr_zone_s[4] > 0  # the 189 bpm peak is above 90 % of 190


def test_tcx_without_heart_rate_is_the_same_workout_without_hr() -> None:
    with_hr, _ = convert(tcx, entry(TCX_RUN))
    (bare,) = [r for r in convert(tcx, entry(TCX_NO_HR), hr_max_bpm=190.0)[0] if isinstance(r, FitnessEvent)]
    assert bare.event_id == next(r for r in with_hr if isinstance(r, FitnessEvent)).event_id
    assert (bare.heart_rate_bpm, bare.max_heart_rate_bpm, bare.hr_zone_s) == (None, None, None)


def test_tcx_that_is_not_an_activity_is_rejected() -> None:
    records, ctx = convert(tcx, Entry.from_bytes("x.tcx", b"<TrainingCenterDatabase/>"))
    assert records == [] and ctx.rejected[0][1].startswith("not a TCX activity")


def test_gpx_track_with_heart_rate_becomes_a_workout() -> None:
    start = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    beats = [120] * 30 + [165] * 30  # 10 s apart: 5 min at 120, 5 min at 165
    records, _ = convert(gpx, Entry.from_bytes("run.gpx", gpx_track(start, beats).encode()), hr_max_bpm=200.0)
    (run,) = records
    assert (run.activity_type, run.event_ts, run.duration_s) == ("run", start, 590.0)
    assert (run.heart_rate_bpm, run.max_heart_rate_bpm) == (142.5, 165.0)
    assert run.hr_zone_s == [0.0, 300.0, 0.0, 290.0, 0.0]
    assert run.distance_m == pytest.approx(59 * 0.0002 * 111_195, rel=0.01)


def test_gpx_times_without_offset_are_utc_as_the_gpx_schema_says() -> None:
    start = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
    naive = gpx_track(start, [130] * 10, naive=True).encode()
    (run,), _ = convert(gpx, Entry.from_bytes("run.gpx", naive), timezone="Asia/Tokyo")
    assert run.event_ts == start


def test_gpx_sample_files_have_no_workout_and_say_why() -> None:
    records, ctx = convert(gpx, entry(FIXTURES / "gpx" / "gpx_with_garmin_extension.gpx"),
                           entry(FIXTURES / "gpx" / "gpx1.1_with_all_fields.gpx"))
    assert records == [] and ctx.rejected == []
    assert ctx.skipped.counts["GPX waypoints (not workouts)"] == 3
    assert ctx.skipped.counts["GPX tracks with fewer than two timed points"] == 2


def test_gpx_with_an_entity_declaration_is_rejected() -> None:
    hostile = b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY x "y">]><gpx version="1.1">&x;</gpx>'
    records, ctx = convert(gpx, Entry.from_bytes("evil.gpx", hostile))
    assert records == [] and "hostile XML rejected" in ctx.rejected[0][1]


def test_same_activity_as_gpx_and_tcx_has_one_id() -> None:
    start = datetime(2012, 12, 26, 21, 29, 53, tzinfo=UTC)
    track = gpx_track(start, [140] * 20).encode()
    (from_gpx,), _ = convert(gpx, Entry.from_bytes("run.gpx", track))
    from_tcx = next(r for r in convert(tcx, entry(TCX_RUN))[0] if isinstance(r, FitnessEvent))
    assert from_gpx.event_id == from_tcx.event_id
    assert from_gpx.end_ts - from_gpx.event_ts == timedelta(seconds=190)
