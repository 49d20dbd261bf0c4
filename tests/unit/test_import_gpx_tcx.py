"""GPX and TCX importers: workouts with heart rate where the file has it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import gpxpy
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
    assert (run.kind, run.activity_type, run.event_ts) == (
        "workout",
        "run",
        datetime(2012, 12, 26, 21, 29, 53, tzinfo=UTC),
    )
    assert run.duration_s == pytest.approx(1992.78) and run.calories_burned == 379
    assert run.distance_m == pytest.approx(1609.34399414 * 2 + 1470.5546875, abs=0.01)
    assert run.max_heart_rate_bpm == 189 == parsed.hr_max
    assert run.heart_rate_bpm == pytest.approx(sum(parsed.hr_values()) / len(parsed.hr_values()), abs=0.05)
    assert (device.kind, device.model, run.device_id) == (
        "watch",
        "Forerunner 410 Software Version 2.20",
        device.device_id,
    )


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
    records, ctx = convert(
        gpx,
        entry(FIXTURES / "gpx" / "gpx_with_garmin_extension.gpx"),
        entry(FIXTURES / "gpx" / "gpx1.1_with_all_fields.gpx"),
    )
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


# --- read as a stream ---------------------------------------------------------------------------

GPX_NS = (
    'xmlns="http://www.topografix.com/GPX/1/1" '
    'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1"'
)


def trkpt(lat: float, lon: float, time: str | None = None, bpm: object = None, inner: str = "") -> str:
    hr = (
        f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{bpm}</gpxtpx:hr></gpxtpx:TrackPointExtension>"
        "</extensions>"
        if bpm is not None
        else ""
    )
    return (
        f'<trkpt lat="{lat}" lon="{lon}">{inner}' + (f"<time>{time}</time>" if time else "") + f"{hr}</trkpt>"
    )


def test_gpx_distance_and_heart_rate_are_those_gpxpy_reads_from_the_same_file() -> None:
    """Segments apart, untimed points, a jump of more than 0.2 degrees (haversine), times with offsets."""
    first = "".join(
        trkpt(47 + i * 0.0003, 8.5 + i * 0.0001, f"2024-06-01T12:00:{i:02d}Z", 120 + i) for i in range(20)
    )
    gap = trkpt(47.01, 8.51) + trkpt(47.3, 8.9, "2024-06-01T14:01:00+02:00", 300)  # untimed, then far away
    second = "".join(
        trkpt(47.3 + i * 0.0002, 8.9, f"2024-06-01T12:0{2 + i}:00.5Z", "n/a" if i == 1 else 140)
        for i in range(3)
    )
    text = (
        f'<?xml version="1.0"?><gpx version="1.1" creator="t" {GPX_NS}><wpt lat="1" lon="2"/><trk>'
        f"<name>Evening</name><type>cycling</type><trkseg>{first}{gap}</trkseg><trkseg>{second}</trkseg>"
        "</trk></gpx>"
    )
    (ride,), ctx = convert(gpx, Entry.from_bytes("ride.gpx", text.encode()))
    track = gpxpy.parse(text).tracks[0]
    beats = [
        b for b in (gpx_point_hr(p) for s in track.segments for p in s.points if p.time) if b is not None
    ]
    assert ride.distance_m == round(track.length_2d(), 2)
    assert (ride.activity_type, ride.max_heart_rate_bpm) == ("cycle", max(b for b in beats if b <= 250))
    assert ride.heart_rate_bpm == round(sum(b for b in beats if b <= 250) / (len(beats) - 1), 1)
    assert ctx.dropped.counts["heart_rate out of range 25-250"] == 1
    assert ctx.skipped.counts["GPX waypoints (not workouts)"] == 1


def gpx_point_hr(point) -> float | None:
    for extension in point.extensions:
        for element in extension.iter():
            if element.tag.rsplit("}", 1)[-1] == "hr":
                try:
                    return float(element.text)
                except ValueError:
                    return None
    return None


@pytest.mark.parametrize(
    ("point", "reason"),
    [
        (
            '<trkpt lon="8.5"><time>2024-06-01T12:00:00Z</time></trkpt>',
            "malformed GPX: a track point without lat",
        ),
        ('<trkpt lat="north" lon="8.5"/>', "malformed GPX: a track point with lat='north'"),
        (
            '<trkpt lat="47" lon="8.5"><ele>high</ele></trkpt>',
            "malformed GPX: invalid <ele> 'high' in a track point",
        ),
    ],
    ids=["no-lat", "bad-lat", "bad-elevation"],
)
def test_a_gpx_with_a_malformed_point_is_rejected_whole(point: str, reason: str) -> None:
    good = gpx_track(datetime(2024, 6, 1, 12, 0, tzinfo=UTC), [120] * 10)
    text = good.replace("</trkseg></trk>", f"</trkseg></trk><trk><trkseg>{point}</trkseg></trk>")
    records, ctx = convert(gpx, Entry.from_bytes("bad.gpx", text.encode()))
    assert records == [] and ctx.rejected == [("bad.gpx", reason)] and not ctx.skipped.counts


@pytest.mark.parametrize("module", [gpx, tcx], ids=["gpx", "tcx"])
def test_xml_nested_absurdly_deep_is_rejected_in_one_line(module) -> None:
    records, ctx = convert(module, Entry.from_bytes("deep.xml", b"<a>" * 100_000 + b"</a>" * 100_000))
    assert records == [] and ctx.rejected == [
        ("deep.xml", "XML nested deeper than 64 levels (not a track file)")
    ]


def test_a_tcx_keeps_the_first_activity_only_and_counts_the_others() -> None:
    run = TCX_RUN.read_bytes()
    start, end = run.index(b"<Activity "), run.index(b"</Activity>") + len(b"</Activity>")
    other = (
        run[start:end]
        .replace(b"<Value>189</Value>", b"<Value>201</Value>")
        .replace(b"2012-12-26", b"2012-12-27")
    )
    records, ctx = convert(tcx, Entry.from_bytes("two.tcx", run[:end] + other + run[end:]))
    (workout,) = [r for r in records if isinstance(r, FitnessEvent)]
    assert ctx.skipped.counts["further activities in one TCX file (only the first is read)"] == 1
    assert (workout.event_ts.day, workout.max_heart_rate_bpm) == (26, 189)  # nothing of the second activity


def test_a_tcx_with_an_unreadable_trackpoint_time_is_rejected_in_one_line() -> None:
    broken = TCX_RUN.read_bytes().replace(b"<Time>2012-12-26T21:29:53Z</Time>", b"<Time>yesterday</Time>", 1)
    records, ctx = convert(tcx, Entry.from_bytes("bad.tcx", broken))
    assert records == [] and ctx.rejected == [
        ("bad.tcx", "not a TCX activity (invalid trackpoint Time 'yesterday')")
    ]
