"""Hostile files through the real `fitness import` command: one line, non-zero exit, nothing published, bounded memory.

Each file is generated in the test (bombs from highly compressible data, so the zips stay small)
and imported by a fresh `fitness import` process against the test's Redis; its peak RSS comes
from ``os.wait4`` on that very process. Before the limits existed these files peaked at
1.2 GB (Apple bomb), 10.8 GB (Fitbit bomb, 1 GB expanded), 1.5 GB (150 MB truncated JSON) and
0.5 GB (300 MB of XML whitespace), and a deeply nested JSON ended in a RecursionError traceback.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from fitness_cli.main import main
from fitness_core.schemas import RECORD_TYPES
from fitness_core.settings import Settings
from tests.support.peak_rss import Run, fitness_import

pytestmark = pytest.mark.integration
MB = 1 << 20
RSS_LIMIT_MB = 300
APPLE_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<HealthData locale="en_US">\n'
    b'<ExportDate value="2024-01-01 00:00:00 +0000"/>\n'
)
HR_ITEM = b'{"dateTime":"01/01/24 00:00:00","value":{"bpm":60,"confidence":2}},'


def stream_entries(client: redis.Redis) -> int:
    return sum(client.xlen(cls.STREAM) for cls in RECORD_TYPES)


def zip_member(path: Path, name: str, head: bytes, filler: bytes, size: int, tail: bytes) -> Path:
    """A zip holding one member of ``size`` bytes: ``head``, ``filler`` repeated, ``tail`` (written streamed)."""
    chunk = filler * (8 * MB // len(filler))
    with (
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive,
        archive.open(name, "w", force_zip64=True) as member,
    ):
        member.write(head)
        for _ in range(size // len(chunk)):
            member.write(chunk)
        member.write(tail)
    return path


def assert_refused(run: Run, client: redis.Redis, *phrases: str) -> None:
    assert run.code == 1, run
    assert len(run.errors) == 1 and run.errors[0].startswith("fitness: error: "), run.errors
    assert "Traceback" not in run.stderr
    for phrase in phrases:
        assert phrase in run.errors[0], run.errors[0]
    assert stream_entries(client) == 0
    print(f"peak RSS of the import: {run.peak_rss_mb:.0f} MB")  # shown with -rP
    assert run.peak_rss_mb < RSS_LIMIT_MB, run.peak_rss_mb


@pytest.mark.slow
def test_an_apple_zip_bomb_is_refused_from_its_directory(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    bomb = zip_member(
        tmp_path / "export.zip",
        "apple_health_export/export.xml",
        APPLE_HEAD,
        b" ",
        1100 * MB,
        b"</HealthData>\n",
    )
    assert bomb.stat().st_size < 2 * MB
    run = fitness_import(bomb, tmp_path)
    assert_refused(
        run,
        redis_client,
        "export.zip refused: apple_health_export/export.xml expands",
        "(IMPORT_MAX_RATIO): a zip bomb",
    )


@pytest.mark.slow
def test_an_apple_bomb_within_the_ratio_is_stopped_by_the_xml_text_limit(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    bomb = zip_member(
        tmp_path / "export.zip",
        "apple_health_export/export.xml",
        APPLE_HEAD,
        b" \n\t",
        600 * MB,
        b"</HealthData>\n",
    )
    run = fitness_import(bomb, tmp_path, IMPORT_MAX_RATIO="100000")
    assert_refused(
        run,
        redis_client,
        "nothing imported: apple_health_export/export.xml: more than 8 MB of XML without an element",
        "IMPORT_MAX_TEXT_MB",
    )


def test_a_fitbit_zip_bomb_is_refused_from_its_directory(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    bomb = zip_member(
        tmp_path / "takeout.zip",
        "Takeout/Fitbit/Global Export Data/heart_rate-2024-01-01.json",
        b"[",
        HR_ITEM,
        256 * MB,
        HR_ITEM[:-1] + b"]",
    )
    run = fitness_import(bomb, tmp_path)
    assert_refused(
        run,
        redis_client,
        "takeout.zip refused: Takeout/Fitbit/Global Export Data/heart_rate-2024-01-01.json expands",
        "(IMPORT_MAX_RATIO): a zip bomb",
    )


def test_a_fitbit_bomb_within_the_ratio_is_stopped_by_the_json_text_limit(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    bomb = zip_member(
        tmp_path / "takeout.zip",
        "Takeout/Fitbit/heart_rate-2024-01-01.json",
        b'[{"dateTime":"01/01/24 00:00:00","value":{"bpm":60,"note":"',
        b"A",
        512 * MB,
        b'"}}]',
    )
    run = fitness_import(bomb, tmp_path, IMPORT_MAX_RATIO="100000")
    assert_refused(
        run,
        redis_client,
        "nothing imported: Takeout/Fitbit/heart_rate-2024-01-01.json: a JSON string "
        "or number longer than 8 MB (IMPORT_MAX_TEXT_MB)",
    )


@pytest.mark.slow
def test_a_150_mb_truncated_json_is_rejected_in_bounded_memory(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "heart_rate-2024-01-02.json"
    chunk = HR_ITEM * (MB // len(HR_ITEM))
    with path.open("wb") as out:
        out.write(b"[")
        for _ in range(150):
            out.write(chunk)
        out.write(HR_ITEM[:30])  # cut in the middle of an item
    assert path.stat().st_size > 150 * 10**6
    run = fitness_import(path, tmp_path)
    assert_refused(
        run,
        redis_client,
        "nothing imported: heart_rate-2024-01-02.json: unreadable Fitbit heart file "
        "(truncated or malformed JSON: parse error: premature EOF)",
    )


def test_a_deeply_nested_json_is_rejected_naming_the_limit(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "sleep-2024-01-01.json"
    path.write_bytes(b'[{"dateOfSleep": "2024-01-01", "levels": ' + b"[" * 200_000 + b"]" * 200_000 + b"}]")
    run = fitness_import(path, tmp_path)
    assert_refused(
        run,
        redis_client,
        "nothing imported: sleep-2024-01-01.json: JSON nested deeper than 64 levels (IMPORT_MAX_JSON_DEPTH)",
    )


def test_a_huge_whitespace_xml_text_is_rejected_naming_the_limit(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    path = tmp_path / "export.xml"
    with path.open("wb") as out:
        out.write(APPLE_HEAD + b"<Record>")
        for _ in range(64):
            out.write(b" \n\t" * (MB // 3))
        out.write(b"</Record></HealthData>\n")
    run = fitness_import(path, tmp_path)
    assert_refused(
        run,
        redis_client,
        "nothing imported: export.xml: more than 8 MB of XML without an element",
        "IMPORT_MAX_TEXT_MB)",
    )


def test_implausible_dates_and_heart_rates_are_counted_and_the_rest_published(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    from tests.unit.test_import_limits import gpx

    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "old.gpx").write_text(gpx("1900-01-01"))
    (folder / "future.gpx").write_text(gpx("2100-01-01"))
    (folder / "run.gpx").write_text(gpx("2024-05-01", bpms=(120, 400, 140)))
    result = CliRunner().invoke(main, ["import", str(folder), "--user-id", "ivy", "--no-progress"])
    assert result.exit_code == 0, result.output
    assert (
        "dropped 3 implausible: heart_rate out of range 25-250: 1; timestamp before 2000-01-01 (workouts): 1; "
        "timestamp more than a day in the future (workouts): 1"
    ) in result.stdout.splitlines()
    entries = redis_client.xrange("fitness:events")
    assert len(entries) == 1 and b'"event_ts":"2024-05-01T07:00:00' in entries[0][1][b"data"]
