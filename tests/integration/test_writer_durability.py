"""The streams are the recovery log: a store that panics, fills its disk or loses its unflushed tail
loses no accepted record, and the writer survives it (real Redis, real SecantusDB processes)."""

from __future__ import annotations

import logging
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pymongo
import pytest
import redis

from fitness_cli import services
from fitness_core import schemas as S
from fitness_core.settings import Settings
from fitness_streaming.publisher import publish_records
from fitness_streaming.writer import GROUP, StorageWriter, run_writer
from fitness_streaming.writer.replay import STORE_PROCESS_KEY
from fitness_streaming.writer.store import MongoDocumentStore
from tests.integration.test_writer import assert_stored_exactly, fitness_command, writer_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START = datetime(2026, 1, 5, tzinfo=UTC)
#: The file-size limit of the panicking store: its journal write fails a few batches into the run.
FILE_LIMIT = 3 * 2**19


def feedback(count: int, tag: str = "f") -> list[S.Record]:
    """``count`` check-ins of 50 users, one per user and day."""
    return [
        S.Feedback(
            user_id=f"u-{i % 50}",
            feedback_id=f"{tag}-{i}",
            feedback_ts=START + timedelta(days=i // 50, hours=21),
            mood=1 + i % 5,
            energy=1 + i % 4,
            perceived_exertion=1 + i % 10,
            timezone="Europe/Berlin",
        )
        for i in range(count)
    ]


def start_limited_store(data: Path, port: int, limit: int) -> subprocess.Popen:
    """SecantusDB whose files may not grow beyond ``limit`` bytes (``ulimit -f``).

    CPython ignores SIGXFSZ, so a write past the limit fails with EFBIG: WiredTiger's journal
    write fails and the storage engine panics, after the store acknowledged earlier writes.
    """

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
        os.setsid()

    data.mkdir(parents=True, exist_ok=True)
    log = data.parent / f"secantus-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "secantus",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--storage-path",
                str(data),
                "--log-level",
                "WARNING",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=limited,
        )
    services.wait_for_port(port, proc, "SecantusDB", log, timeout=60)
    return proc


def wait_for(
    condition: Callable[[], bool], timeout: float, what: str, alive: subprocess.Popen | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"the writer exited with code {alive.returncode} while waiting for {what}")
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.1)


def count(db, collection: str) -> int:
    try:
        return db[collection].count_documents({})
    except pymongo.errors.PyMongoError:
        return -1


def acknowledged(client: redis.Redis, stream: str) -> int:
    """Entries of ``stream`` the writer group has acknowledged (delivered and no longer pending)."""
    info = next(g for g in client.xinfo_groups(stream) if g["name"] == GROUP.encode())
    delivered = len(client.xrange(stream, "-", info["last-delivered-id"]))
    return delivered - int(info["pending"])


def settled(read, quiet_s: float = 1.5, timeout_s: float = 30.0) -> int:
    """``read()`` once it has not changed for ``quiet_s`` seconds."""
    value, since, deadline = read(), time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() - since < quiet_s and time.monotonic() < deadline:
        time.sleep(0.1)
        now = read()
        if now != value:
            value, since = now, time.monotonic()
    return value


def test_a_store_that_panics_and_loses_its_unflushed_tail_loses_no_accepted_record(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path
) -> None:
    port, data = services.free_port(), tmp_path / "mongo"
    proc = start_limited_store(data, port, FILE_LIMIT)
    url = f"mongodb://127.0.0.1:{port}/"
    client = pymongo.MongoClient(url, tz_aware=True, serverSelectionTimeoutMS=2000)
    db = client[settings.mongo_db]
    log = data.parent / f"secantus-{port}.log"
    err_path = tmp_path / "writer.err"
    records = feedback(4000)
    writer = None
    try:
        publish_records(redis_client, records)
        with open(err_path, "w") as err_file:
            writer = subprocess.Popen(
                fitness_command("write", "--block-ms", "100", "--batch", "500"),
                stdout=subprocess.PIPE,
                stderr=err_file,
                text=True,
                env={**os.environ, "MONGO_URI": url},
            )
        wait_for(
            lambda: "WT_PANIC" in log.read_text(errors="replace"),
            120,
            "the store's journal write to fail",
            alive=writer,
        )
        proc.kill()  # a panicked WiredTiger must exit and restart
        proc.wait(30)
        # what the writer acknowledged for writes the store confirmed before it died (pipelined
        # batches are acknowledged a moment after their write returns: wait until that settles)
        acked_at_panic = settled(lambda: acknowledged(redis_client, "fitness:feedback"))
        proc, _ = services.start_mongo(data, port)  # same port and data folder, no file-size limit
        after_restart = count(db, "feedback_events")
        print(
            f"accepted {len(records)}; acknowledged when the store panicked {acked_at_panic}; "
            f"in the store after its restart {after_restart}"
        )

        wait_for(
            lambda: (
                count(db, "feedback_events") == len(records)
                and acknowledged(redis_client, "fitness:feedback") == len(records)
            ),
            180,
            "every accepted record to be stored",
            alive=writer,
        )
        writer.send_signal(signal.SIGTERM)
        writer.communicate(timeout=60)
        err = err_path.read_text()
        print(f"finally stored {count(db, 'feedback_events')}")

        assert writer.returncode == 0, err[-3000:]
        assert "Traceback" not in err, err[-3000:]
        assert redis_client.xlen(S.DLQ_STREAM) == 0
        assert_stored_exactly(db, records)
        # a write during the restart either waits in server selection or fails: one line each way
        assert err.count("mongodb unavailable") == err.count("mongodb available again") <= 1
        [replayed] = [line for line in err.splitlines() if 'reason="store restarted"' in line]
        # the replay wrote back what the store had lost of the acknowledged entries (counting it
        # from outside races the writer, which resumes as soon as the store is back)
        assert int(re.search(r"newly_stored=(\d+)", replayed).group(1)) > 0
    finally:
        if writer is not None and writer.poll() is None:
            writer.kill()
            writer.wait()
        client.close()
        proc.kill()
        proc.wait(30)


# --- restart detection, replay on demand -------------------------------------------------


def replay_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage() == "replayed the retention window"]


def test_a_writer_started_after_the_store_restarted_replays_what_the_store_lost(
    settings: Settings, redis_client: redis.Redis, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port, data = services.free_port(), tmp_path / "mongo"
    proc, info = services.start_mongo(data, port)
    store_settings = Settings.load(mongo_uri=info.url)
    client = pymongo.MongoClient(info.url, tz_aware=True)
    db = client[settings.mongo_db]
    records = feedback(600)
    try:
        publish_records(redis_client, records)
        config = writer_config()
        with caplog.at_level(logging.INFO, logger="fitness.writer"):
            assert run_writer(store_settings, config).stored_total == 600
            first_process = redis_client.get(STORE_PROCESS_KEY)
            assert run_writer(store_settings, config).replays == 0  # same store process: nothing to replay

            proc.terminate()
            proc.wait(30)
            proc, _ = services.start_mongo(data, port)
            db.feedback_events.delete_many(
                {"_id": {"$in": [r.natural_id for r in records[-150:]]}}
            )  # its lost tail
            caplog.clear()
            stats = run_writer(store_settings, config)
        assert redis_client.get(STORE_PROCESS_KEY) != first_process
        assert (stats.entries, stats.replays, stats.replayed, stats.replay_stored) == (0, 1, 600, 150)
        [line] = replay_lines(caplog)
        assert (line.reason, line.entries, line.newly_stored) == ("store restarted", 600, 150)
        assert_stored_exactly(db, records)
        assert redis_client.xlen(S.DLQ_STREAM) == 0
    finally:
        client.close()
        proc.terminate()
        proc.wait(30)


def test_replay_since_writes_the_retained_window_again_without_acknowledging_or_dead_lettering(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    records = feedback(300)
    publish_records(redis_client, records)
    redis_client.xadd("fitness:feedback", {"schema": "feedback/1", "data": "{not json"})
    run_writer(settings, writer_config())
    groups_before = redis_client.xinfo_groups("fitness:feedback")
    assert redis_client.xlen(S.DLQ_STREAM) == 1
    mongo_db.feedback_events.delete_many({"_id": {"$in": [r.natural_id for r in records[:120]]}})

    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    nothing = subprocess.run(
        fitness_command("write", "--replay-since", future), capture_output=True, text=True, timeout=60
    )
    assert nothing.returncode == 0, nothing.stderr
    assert nothing.stdout.startswith("replayed 0 entries: 0 stored again")

    done = subprocess.run(
        fitness_command("write", "--replay-since", "2h"), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("replayed 301 entries: 120 stored again, 180 already stored")
    assert done.stderr.count("replayed the retention window") == 1
    assert_stored_exactly(mongo_db, records)
    assert redis_client.xlen(S.DLQ_STREAM) == 1  # the bad message is not dead-lettered again
    assert redis_client.xinfo_groups("fitness:feedback") == groups_before  # nothing acknowledged or delivered


# --- the free-disk guard -----------------------------------------------------------------


def test_the_free_disk_guard_pauses_writing_until_the_store_disk_has_room(
    redis_client: redis.Redis, mongo_db, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The reading is the real one (``shutil.disk_usage`` of the data folder); the minimum is moved."""
    records = feedback(400)
    publish_records(redis_client, records)
    free_mb = shutil.disk_usage(tmp_path).free // 2**20
    writer = StorageWriter(
        redis_client,
        MongoDocumentStore(mongo_db, data_dir=tmp_path),
        writer_config(min_free_mb=free_mb + 1024),
    )
    writer.disk.poll_s = 0.1
    with caplog.at_level(logging.INFO, logger="fitness.writer"):
        thread = threading.Thread(target=writer.run)
        thread.start()
        try:
            wait_for(lambda: writer.disk.paused, 20, "writing to pause")
            time.sleep(0.5)
            assert mongo_db.feedback_events.count_documents({}) == 0
            assert redis_client.xpending("fitness:feedback", GROUP)["pending"] > 0  # held, not dropped
            writer.disk.min_free = 0  # room again (as if space was freed)
            thread.join(60)
        finally:
            writer.stop.set()
            thread.join(10)
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("store disk almost full, writing paused") == 1
    assert messages.count("store disk has room again, writing resumed") == 1
    assert writer.stats.drained and writer.stats.disk_pauses == 1
    assert_stored_exactly(mongo_db, records)
    assert redis_client.xlen(S.DLQ_STREAM) == 0


def test_without_a_data_folder_or_disk_figures_from_the_server_there_is_no_guard(mongo_db) -> None:
    assert MongoDocumentStore(mongo_db).disk_space() is None  # SecantusDB's dbStats has no fsUsedSize
    free, total = MongoDocumentStore(mongo_db, data_dir=Path(".")).disk_space()
    assert 0 < free <= total
