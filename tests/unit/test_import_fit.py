"""FIT importer: decoded values match the FIT SDK's independent dump; damaged files are rejected."""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from fitness_core.schemas import Device, FitnessEvent
from fitness_streaming.importers import fit
from fitness_streaming.importers.common import Entry, ImportContext, RejectedFile
from tests.fixtures.generated import file_id, fit_file, fit_time

FIXTURES = Path(__file__).parent.parent / "fixtures" / "fit"
RIDE, WALK = FIXTURES / "garmin-edge-820-bike.fit", FIXTURES / "garmin-fenix-5-walk.fit"


def ground_truth(fit_path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((fit_path.parent / f"{fit_path.stem}-records.csv").open()))


def sdk_time(text: str) -> datetime:
    """FitToCSV writes 'Mon Jun 12 09:10:15 PDT 2017' (PDT = UTC-7)."""
    assert " PDT " in text
    local = datetime.strptime(text.replace(" PDT", ""), "%a %b %d %H:%M:%S %Y")
    return (local + timedelta(hours=7)).replace(tzinfo=UTC)


def convert(*entries: Entry, **ctx_args) -> tuple[list, ImportContext]:
    ctx = ImportContext("runner-1", **ctx_args)
    return list(fit.convert(list(entries), ctx)), ctx


def entry(path: Path) -> Entry:
    return Entry.from_bytes(path.name, path.read_bytes())


@pytest.mark.parametrize("path", [RIDE, WALK], ids=["edge-820-ride", "fenix-5-walk"])
def test_decoded_records_match_the_sdk_ground_truth(path: Path) -> None:
    records = [fields for name, fields in fit.messages(path.read_bytes()) if name == "record"]
    expected = ground_truth(path)
    assert len(records) == len(expected)
    for got, want in zip(records, expected, strict=True):
        assert got["timestamp"] == sdk_time(want["timestamp"])
        assert got["heart_rate"] == int(want["heart_rate"])
        assert got["cadence"] == int(want["cadence"])
        assert got["speed"] == pytest.approx(float(want["speed"]), abs=1e-3)
        assert got["distance"] == pytest.approx(float(want["distance"]), abs=1e-2)


@pytest.mark.parametrize("path", [RIDE, WALK], ids=["edge-820-ride", "fenix-5-walk"])
def test_workout_heart_rate_agrees_with_the_ground_truth_samples(path: Path) -> None:
    records, _ = convert(entry(path))
    workout = next(r for r in records if isinstance(r, FitnessEvent))
    beats = [int(row["heart_rate"]) for row in ground_truth(path)]
    assert workout.max_heart_rate_bpm == max(beats)
    assert min(beats) <= workout.heart_rate_bpm <= max(beats)
    assert workout.event_ts == sdk_time(ground_truth(path)[0]["timestamp"])
    assert workout.distance_m == pytest.approx(float(ground_truth(path)[-1]["distance"]), abs=0.01)


def test_ride_time_in_zones_follows_the_samples_and_the_devices_hrmax() -> None:
    records, _ = convert(entry(RIDE))
    workout = next(r for r in records if isinstance(r, FitnessEvent))
    rows = ground_truth(RIDE)
    times = [sdk_time(r["timestamp"]) for r in rows]
    end = times[0] + timedelta(seconds=workout.duration_s)
    expected = [0.0] * 5
    for i, row in enumerate(rows):  # each sample lasts until the next one, within the session
        stop = min(times[i + 1] if i + 1 < len(rows) else end, end)
        zone = int(int(row["heart_rate"]) / 183 * 10) - 5  # the Edge's zones_target HRmax is 183
        if stop > times[i] and zone >= 0:
            expected[zone] += (stop - times[i]).total_seconds()
    assert workout.hr_zone_s == pytest.approx(expected, abs=0.1)
    assert workout.activity_type == "cycle" and workout.step_increment == 0


def test_walk_counts_two_steps_per_stride_and_names_the_watch() -> None:
    records, _ = convert(entry(WALK))
    device = next(r for r in records if isinstance(r, Device))
    workout = next(r for r in records if isinstance(r, FitnessEvent))
    (summary,) = fit.decode(WALK.read_bytes()).sessions
    assert workout.step_increment == 2 * summary["total_strides"]
    assert workout.duration_s == pytest.approx(summary["total_timer_time"])
    assert workout.calories_burned == summary["total_calories"]
    assert (device.kind, device.model, workout.device_id) == ("watch", "garmin fenix5", device.device_id)


def test_ids_are_the_same_for_the_same_file_under_another_name() -> None:
    first, _ = convert(entry(RIDE))
    again, _ = convert(Entry.from_bytes("renamed/copy.fit", RIDE.read_bytes()))
    assert [r.natural_id for r in first] == [r.natural_id for r in again]


def test_developer_data_edge_case_is_tolerated() -> None:
    records, ctx = convert(
        entry(FIXTURES / "invalid" / "elemnt-bolt-no-application-id-inside-developer-data-id.fit")
    )
    workout = next(r for r in records if isinstance(r, FitnessEvent))
    assert ctx.rejected == []
    assert (workout.activity_type, workout.duration_s, workout.distance_m) == ("cycle", 132.0, 963.65)


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (lambda data: data[: len(data) // 2], "truncated FIT file"),
        (lambda data: data[:-8] + bytes([data[-8] ^ 0xFF]) + data[-7:], "checksum mismatch"),
        (lambda data: data[:600] + bytes([data[600] ^ 0xFF]) + data[601:], "corrupt FIT file"),
        (lambda data: b"XXXX" + data[4:], "corrupt FIT file header"),
        (lambda data: data[:8] + b"XXXX" + data[12:], "not a FIT file"),
    ],
    ids=["truncated", "flipped-value-byte", "flipped-structure-byte", "bad-header", "no-signature"],
)
def test_a_damaged_copy_is_rejected_whole_with_the_reason(damage, reason: str) -> None:
    broken = Entry.from_bytes("ride.fit", damage(RIDE.read_bytes()))
    records, ctx = convert(broken, entry(WALK))
    assert len(ctx.rejected) == 1
    assert ctx.rejected[0][0] == "ride.fit" and reason in ctx.rejected[0][1]
    assert {r.source for r in records} == {"fit"} and all(
        getattr(r, "model", "") != "garmin edge_820" for r in records
    )  # only the walk's records
    assert sum(isinstance(r, FitnessEvent) for r in records) == 1


def test_decode_raises_rejected_file_for_an_empty_file() -> None:
    with pytest.raises(RejectedFile, match="FIT"):
        fit.decode(b"")


def monitoring_file(day: datetime) -> bytes:
    """A day of all-day tracking: cumulative walking steps every 15 min, HR every 15 min, a resting HR."""
    messages = [
        file_id(32, day),
        (103, [(253, "uint32", fit_time(day)), (0, "uint32", fit_time(day + timedelta(hours=2)))]),
    ]
    steps = 0
    for quarter in range(4 * 8, 4 * 12):  # 08:00-12:00 UTC
        t = day + timedelta(minutes=15 * quarter)
        steps += 250
        messages.append((55, [(253, "uint32", fit_time(t)), (5, "enum", 6), (3, "uint32", steps)]))
        messages.append((55, [(26, "uint16", (fit_time(t) + 60) & 0xFFFF), (27, "uint8", 90)]))
    messages.append((211, [(253, "uint32", fit_time(day + timedelta(hours=23))), (0, "uint8", 52)]))
    return fit_file(messages)


def activity_file(start: datetime, minutes: int) -> bytes:
    """A 'running' activity file with one session and per-minute HR records."""
    end = start + timedelta(minutes=minutes)
    records = [
        (20, [(253, "uint32", fit_time(start + timedelta(minutes=m))), (3, "uint8", 150)])
        for m in range(minutes + 1)
    ]
    session = (
        18,
        [
            (253, "uint32", fit_time(end)),
            (2, "uint32", fit_time(start)),
            (5, "enum", 1),
            (7, "uint32", minutes * 60_000),
            (8, "uint32", minutes * 60_000),
            (11, "uint16", 300),
            (16, "uint8", 150),
            (17, "uint8", 160),
            (10, "uint32", 2000),
        ],
    )
    return fit_file([file_id(4, start, serial=987654321), *records, session])


def test_monitoring_counters_become_hourly_walking_bouts() -> None:
    day = datetime(2024, 5, 6, tzinfo=UTC)
    records, ctx = convert(Entry.from_bytes("monitor.fit", monitoring_file(day)))
    bouts = {r.event_ts: r for r in records if isinstance(r, FitnessEvent)}
    assert all(b.kind == "bout" and b.activity_type == "walk" for b in bouts.values())
    assert [bouts[day + timedelta(hours=h)].step_increment for h in (8, 9, 10, 11)] == [1000, 1000, 1000, 750]
    assert all(bouts[day + timedelta(hours=h)].heart_rate_bpm == 90 for h in (8, 9, 10, 11))
    # The day's first reading counts since local midnight: monitoring_info puts the device at UTC+2.
    early = [b for ts, b in bouts.items() if ts < day + timedelta(hours=8)]
    assert sum(b.step_increment for b in early) == 250
    assert min(b.event_ts for b in early) == day - timedelta(hours=2)
    assert ctx.skipped.counts["resting heart rate on a day without a sleep session"] == 1


def test_monitoring_steps_during_a_workout_are_not_counted_twice() -> None:
    day = datetime(2024, 5, 6, tzinfo=UTC)
    run = activity_file(day + timedelta(hours=9), 60)  # 09:00-10:00, its own 4000 steps
    records, _ = convert(
        Entry.from_bytes("monitor.fit", monitoring_file(day)), Entry.from_bytes("run.fit", run)
    )
    events = [r for r in records if isinstance(r, FitnessEvent)]
    workout = next(e for e in events if e.kind == "workout")
    bouts = {e.event_ts.hour: e.step_increment for e in events if e.kind == "bout"}
    assert (workout.activity_type, workout.step_increment, workout.duration_s) == ("run", 4000, 3600.0)
    assert 9 not in bouts  # the hour of the run is the workout, not a bout
    assert sum(bouts.values()) < 250 * 16
