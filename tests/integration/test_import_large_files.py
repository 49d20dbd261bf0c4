"""GPX, TCX and FIT files near the per-file cap through the real `fitness import`: one workout, bounded memory.

Each file is generated in the test, streamed to disk (GPX and TCX with about 150,000 trackpoints
with heart rate, just under ``IMPORT_MAX_FILE_MB``), and imported by a fresh `fitness import`
process against the test's Redis; its peak RSS comes from ``os.wait4`` on that very process
(:mod:`tests.support.peak_rss`). Parsed whole (gpxpy, tcxparser's lxml tree, every FIT message
kept as a dict) these files peaked at 689 MB (GPX), 407 MB (TCX) and 482 MB (FIT); read as streams,
at 104, 105 and 160 MB.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest
import redis
from fitdecode.utils import compute_crc

from fitness_core.schemas import Device, FitnessEvent, decode
from fitness_core.settings import Settings
from tests.support.peak_rss import Run, fitness_import

pytestmark = pytest.mark.integration
MB = 1 << 20
RSS_LIMIT_MB = 300
FILE_CAP_MB = 32
START = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)


def heart_rate(i: int) -> int:
    return 120 + (i * 7) % 61  # 120-180 bpm


def write_gpx(out: IO[bytes], points: int) -> None:
    """One GPX 1.1 track of ``points`` one-second trackpoints heading north, with Garmin heart rate."""
    out.write(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
        b'xmlns="http://www.topografix.com/GPX/1/1" '
        b'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">\n'
        b"<trk><name>Ultra</name><type>running</type><trkseg>\n"
    )
    for i in range(points):
        stamp = (START + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        out.write(
            f'<trkpt lat="{47.0 + i * 0.00002:.7f}" lon="8.5000000"><ele>{400 + i % 50}.0</ele>'
            f"<time>{stamp}</time><extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{heart_rate(i)}"
            "</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>\n".encode()
        )
    out.write(b"</trkseg></trk></gpx>\n")


TCX_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<TrainingCenterDatabase '
    b'xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
    b'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">\n<Activities>\n'
)


def write_tcx(out: IO[bytes], points: int, per_lap: int = 1000) -> None:
    """One running Activity of ``points`` one-second trackpoints with heart rate, in laps of ``per_lap``."""
    out.write(TCX_HEAD + f'<Activity Sport="Running"><Id>{START:%Y-%m-%dT%H:%M:%SZ}</Id>\n'.encode())
    for first in range(0, points, per_lap):
        count = min(per_lap, points - first)
        out.write(
            f'<Lap StartTime="{START + timedelta(seconds=first):%Y-%m-%dT%H:%M:%SZ}"><TotalTimeSeconds>'
            f"{count}.0</TotalTimeSeconds><DistanceMeters>{count * 2.5}</DistanceMeters><Calories>"
            f"{count // 50}</Calories><Track>\n".encode()
        )
        for i in range(first, first + count):
            out.write(
                f"<Trackpoint><Time>{START + timedelta(seconds=i):%Y-%m-%dT%H:%M:%SZ}</Time><Position>"
                f"<LatitudeDegrees>{47.0 + i * 0.00002:.7f}</LatitudeDegrees><LongitudeDegrees>8.5000000"
                "</LongitudeDegrees></Position>"
                f"<HeartRateBpm><Value>{heart_rate(i)}</Value></HeartRateBpm></Trackpoint>\n".encode()
            )
        out.write(
            b"</Track><Extensions><ns3:LX><ns3:Steps>"
            + str(count).encode()
            + b"</ns3:Steps></ns3:LX></Extensions></Lap>\n"
        )
    out.write(
        b"<Creator><Name>Forerunner 965</Name><UnitId>3412345678</UnitId></Creator></Activity>\n"
        b"</Activities></TrainingCenterDatabase>\n"
    )


FIT_EPOCH_S = 631_065_600
#: record: timestamp, position lat/long, altitude, heart rate, cadence, distance, speed, power, temperature,
#: and a 200-byte field of unknown meaning (as devices write), so that the file holds fewer, larger records.
RECORD_FIELDS = (
    (253, 4, 0x86),
    (0, 4, 0x85),
    (1, 4, 0x85),
    (2, 2, 0x84),
    (3, 1, 0x02),
    (4, 1, 0x02),
    (5, 4, 0x86),
    (6, 2, 0x84),
    (7, 2, 0x84),
    (13, 1, 0x01),
    (200, 200, 0x0D),
)
RECORD = struct.Struct("<BIiiHBBIHHb200s")


def fit_definition(local: int, global_num: int, fields: tuple[tuple[int, int, int], ...]) -> bytes:
    return struct.pack("<BBBHB", 0x40 | local, 0, 0, global_num, len(fields)) + b"".join(
        struct.pack("<BBB", *field) for field in fields
    )


def write_fit(out: IO[bytes], records: int) -> None:
    """A FIT activity file: file_id, ``records`` one-second records with heart rate, one running session."""
    start = int(START.timestamp()) - FIT_EPOCH_S
    body = bytearray(
        fit_definition(0, 0, ((0, 1, 0x00), (1, 2, 0x84), (2, 2, 0x84), (3, 4, 0x8C), (4, 4, 0x86)))
    )
    body += struct.pack("<BBHHII", 0, 4, 1, 2697, 987654321, start)
    body += fit_definition(1, 20, RECORD_FIELDS)
    filler = bytes(range(200))
    for i in range(records):
        body += RECORD.pack(
            1,
            start + i,
            561_000_000 + i * 240,
            101_000_000,
            2500 + i % 500,
            heart_rate(i),
            85,
            i * 250,
            2500,
            200,
            20,
            filler,
        )
    session = (
        (253, 4, 0x86),
        (2, 4, 0x86),
        (5, 1, 0x00),
        (7, 4, 0x86),
        (8, 4, 0x86),
        (9, 4, 0x86),
        (11, 2, 0x84),
        (16, 1, 0x02),
        (17, 1, 0x02),
        (10, 4, 0x86),
    )
    body += fit_definition(2, 18, session)
    body += struct.pack(
        "<BIIBIIIHBBI",
        2,
        start + records - 1,
        start,
        1,
        (records - 1) * 1000,
        (records - 1) * 1000,
        (records - 1) * 250,
        records // 10,
        150,
        180,
        records // 2,
    )
    header = struct.pack("<BBHI4s", 14, 0x20, 2132, len(body), b".FIT")
    header += struct.pack("<H", compute_crc(header))
    out.write(header)
    out.write(body)
    out.write(struct.pack("<H", compute_crc(body, crc=compute_crc(header))))


def fill_to_the_cap(path: Path, write, per_mb: int) -> int:
    """Write the file with as many points as fit just under the cap (``per_mb``: an estimate per MB)."""
    count = (FILE_CAP_MB - 1) * per_mb
    with path.open("wb") as out:
        write(out, count)
    assert (FILE_CAP_MB - 2) * MB < path.stat().st_size <= FILE_CAP_MB * MB, path.stat().st_size
    return count


def imported(redis_client: redis.Redis) -> tuple[list[FitnessEvent], list[Device]]:
    events = [decode(fields) for _, fields in redis_client.xrange(FitnessEvent.STREAM)]
    devices = [decode(fields) for _, fields in redis_client.xrange(Device.STREAM)]
    return events, devices


def assert_one_workout(run: Run, redis_client: redis.Redis, seconds: int) -> FitnessEvent:
    assert run.code == 0, run.errors
    assert "Traceback" not in run.stderr
    events, _ = imported(redis_client)
    assert [e.kind for e in events] == ["workout"], events
    (workout,) = events
    assert (workout.user_id, workout.event_ts, workout.activity_type) == ("ivy", START, "run")
    assert workout.duration_s == min(seconds, 86_400)
    assert (workout.max_heart_rate_bpm, 120 < workout.heart_rate_bpm < 180) == (180, True)
    print(f"peak RSS of the import: {run.peak_rss_mb:.0f} MB")  # shown with -rP
    assert run.peak_rss_mb < RSS_LIMIT_MB, run.peak_rss_mb
    return workout


@pytest.mark.slow
def test_a_gpx_track_at_the_file_cap_imports_in_bounded_memory(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    points = fill_to_the_cap(tmp_path / "ultra.gpx", write_gpx, 5000)
    assert points > 140_000
    workout = assert_one_workout(fitness_import(tmp_path / "ultra.gpx", tmp_path), redis_client, points - 1)
    assert workout.distance_m == pytest.approx((points - 1) * 0.00002 * 111_195, rel=0.01)


@pytest.mark.slow
def test_a_tcx_activity_at_the_file_cap_imports_in_bounded_memory(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    points = fill_to_the_cap(tmp_path / "ultra.tcx", write_tcx, 4700)
    assert points > 140_000
    workout = assert_one_workout(fitness_import(tmp_path / "ultra.tcx", tmp_path), redis_client, points)
    assert (workout.distance_m, workout.step_increment) == (points * 2.5, points)
    assert workout.calories_burned == sum(min(1000, points - first) // 50 for first in range(0, points, 1000))
    (device,) = imported(redis_client)[1]
    assert (device.model, workout.device_id) == ("Forerunner 965", device.device_id)


@pytest.mark.slow
def test_a_fit_activity_at_the_file_cap_imports_in_bounded_memory(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    records = fill_to_the_cap(tmp_path / "ultra.fit", write_fit, MB // RECORD.size)
    workout = assert_one_workout(fitness_import(tmp_path / "ultra.fit", tmp_path), redis_client, records - 1)
    assert workout.distance_m == (records - 1) * 2.5
