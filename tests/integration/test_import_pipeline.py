"""Imports through the real pipeline: Redis Streams, the storage writer, MongoDB, and the table export."""

from __future__ import annotations

import shutil
from functools import partial
from pathlib import Path

import pymongo
import pytest
import redis
from click.testing import CliRunner

from fitness_cli.main import main
from fitness_core.schemas import RECORD_TYPES, decode
from fitness_core.settings import Settings
from fitness_streaming.exporter import export_tables
from fitness_streaming.importers import import_path
from fitness_streaming.importers.runner import stored_user
from fitness_streaming.publisher import publish_records
from fitness_streaming.writer import WriterConfig, run_writer

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parent.parent / "fixtures"
DRAIN = WriterConfig(drain=True, block_ms=100, claim_idle_ms=500, backoff_base_s=0.05, backoff_cap_s=0.5)


def wearable_folder(tmp_path: Path) -> Path:
    """FIT, TCX, GPX, Fitbit and Apple Health samples together, as a user might drop them in one folder."""
    folder = tmp_path / "exports"
    for part in ("fit", "tcx", "fitbit", "apple_health/healthkit-to-sqlite_zip"):
        shutil.copytree(FIXTURES / part, folder / part.replace("/", "_"))
    return folder


def counts(db) -> dict[str, int]:
    return {cls.COLLECTION: db[cls.COLLECTION].count_documents({}) for cls in RECORD_TYPES}


def test_published_messages_decode_to_the_imported_records(redis_client: redis.Redis) -> None:
    captured: list = []
    import_path(
        FIXTURES / "fit",
        "ivy",
        publish=lambda records: publish_records(redis_client, captured_all(records, captured)),
    )
    sent = {r.natural_id: r for r in captured}
    stream_entries = [entry for cls in RECORD_TYPES for entry in redis_client.xrange(cls.STREAM)]
    assert len(stream_entries) == len(captured) > 0
    for _, fields in stream_entries:
        record = decode(fields)
        assert record == sent[record.natural_id]


def captured_all(records, into: list):
    for record in records:
        into.append(record)
        yield record


def test_importing_the_same_folder_twice_stores_everything_once(
    settings: Settings, redis_client: redis.Redis, mongo_db, tmp_path: Path
) -> None:
    folder = wearable_folder(tmp_path)
    publish = partial(publish_records, redis_client)
    first = import_path(folder, "ivy", timezone="America/Los_Angeles", publish=publish)
    stats = run_writer(settings, DRAIN)
    stored = counts(mongo_db)
    assert stats.dead_lettered == 0 and first.rejected == []
    assert stored["fitness_events"] > 0 and stored["sleep_sessions"] > 0 and stored["devices"] > 0
    assert sum(stored.values()) <= first.total  # the same run in two TCX files is one record

    shutil.copytree(folder, tmp_path / "moved")  # a moved copy is the same data
    second = import_path(tmp_path / "moved", "ivy", timezone="America/Los_Angeles", publish=publish)
    again = run_writer(settings, DRAIN)
    assert second.total == first.total
    assert counts(mongo_db) == stored
    assert again.stored_total == 0 and again.already_stored == second.total


def test_export_then_import_round_trips_every_document(
    settings: Settings,
    redis_client: redis.Redis,
    mongo_client: pymongo.MongoClient,
    mongo_db,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    publish = partial(publish_records, redis_client)
    (tmp_path / "apple").mkdir()
    shutil.copy(
        FIXTURES / "apple_health" / "apple-health-parser_export.xml", tmp_path / "apple" / "export.xml"
    )
    for source in (FIXTURES / "fit", FIXTURES / "fitbit", tmp_path / "apple"):
        import_path(source, "ivy", timezone="Europe/Amsterdam", publish=publish)
    run_writer(settings, DRAIN)
    original = {
        cls.COLLECTION: {d["_id"]: d for d in mongo_db[cls.COLLECTION].find()} for cls in RECORD_TYPES
    }

    for fmt in ("csv", "parquet"):
        out = tmp_path / fmt
        report = export_tables(mongo_db, out, fmt)
        assert report.rows == {name: len(docs) for name, docs in original.items()} and not report.invalid
        copy_db = f"{settings.mongo_db}_{fmt}"
        monkeypatch.setenv("MONGO_DB", copy_db)
        redis_client.flushdb()
        import_path(out, None, fmt="tables", publish=publish)
        run_writer(Settings.load(), DRAIN)
        restored = {
            cls.COLLECTION: {d["_id"]: d for d in mongo_client[copy_db][cls.COLLECTION].find()}
            for cls in RECORD_TYPES
        }
        mongo_client.drop_database(copy_db)
        assert restored == original, fmt


def test_cli_import_publishes_and_export_writes_the_tables(
    settings: Settings, redis_client: redis.Redis, mongo_db, tmp_path: Path
) -> None:
    runner = CliRunner()
    result = runner.invoke(
        main, ["import", str(FIXTURES / "tcx" / "test.tcx"), "--user-id", "ivy", "--no-progress"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("2 records published from 1 file(s) [tcx]")
    assert redis_client.xlen("fitness:events") == 1 and redis_client.xlen("fitness:devices") == 1
    run_writer(settings, DRAIN)
    result = runner.invoke(main, ["export", str(tmp_path / "out"), "--format", "parquet", "--user-id", "ivy"])
    assert result.exit_code == 0, result.output
    assert "wrote 2 rows" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{cls.COLLECTION}.parquet" for cls in RECORD_TYPES
    )


def test_stored_profile_lookup_reads_the_user_and_tolerates_an_unreachable_store(
    settings: Settings, redis_client: redis.Redis, mongo_db, tmp_path: Path
) -> None:
    (tmp_path / "apple").mkdir()
    body = (
        (FIXTURES / "apple_health" / "apple-health-parser_export.xml")
        .read_text()
        .replace(
            "</HealthData>",
            '<Record type="HKQuantityTypeIdentifierHeight" sourceName="Scale" unit="cm" startDate="2024-01-01 08:00:00 +0200"'
            ' endDate="2024-01-01 08:00:00 +0200" value="181"/>'
            '<Record type="HKQuantityTypeIdentifierBodyMass" sourceName="Scale" unit="kg" startDate="2024-01-02 08:00:00 +0200"'
            ' endDate="2024-01-02 08:00:00 +0200" value="77.2"/></HealthData>',
        )
    )
    (tmp_path / "apple" / "export.xml").write_text(body)
    lookup = partial(stored_user, settings.mongo_uri, settings.mongo_db)
    assert lookup("ivy") == (None, True)
    import_path(tmp_path / "apple", "ivy", lookup_user=lookup, publish=partial(publish_records, redis_client))
    run_writer(settings, DRAIN)
    user, found = lookup("ivy")
    assert found and (user.sex, user.birth_year, user.height_cm, user.weight_kg) == (
        "male",
        1990,
        181.0,
        77.2,
    )
    assert stored_user("mongodb://127.0.0.1:1", "x", "ivy", timeout_ms=200) == (None, False)
