"""The storage writer's Prometheus metrics against real Redis and SecantusDB.

In process, the counters match what the writer stored and the backlog gauges what Redis reports;
as a process, `fitness write --metrics-port` serves them over HTTP while it works, and a taken
port ends in one line.
"""

from __future__ import annotations

import signal
import socket
import subprocess
import time

import httpx
import pytest
import redis
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from fitness_cli.services import free_port
from fitness_core import schemas as S
from fitness_streaming.publisher import publish_records
from fitness_streaming.writer import GROUP, StorageWriter
from fitness_streaming.writer.metrics import WriterMetrics
from fitness_streaming.writer.store import MongoDocumentStore
from tests.integration.test_writer import fitness_command, population, writer_config

pytestmark = pytest.mark.integration

BAD_JSON = {"schema": "fitness_event/1", "data": "{truncated"}


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus text exposition, by (name, sorted labels)."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def total(found: dict, name: str) -> float:
    return sum(value for (sample, _), value in found.items() if sample == name)


def registry_samples(registry: CollectorRegistry) -> dict:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in registry.collect()
        for s in family.samples
    }


def test_the_counters_and_gauges_match_what_the_writer_did(redis_client: redis.Redis, mongo_db) -> None:
    records = population(users=3, days=3, seed=21)
    publish_records(redis_client, records)
    for _ in range(2):
        redis_client.xadd("fitness:events", BAD_JSON)
    registry = CollectorRegistry()
    metrics = WriterMetrics(registry, refresh_every_s=0)
    # before the writer runs: the backlog as Redis reports it
    metrics.refresh_when_due(redis_client, force=True)
    before = registry_samples(registry)
    events_length = redis_client.xlen("fitness:events")
    assert before[("fitness_writer_stream_length", (("stream", "fitness:events"),))] == events_length > 2
    assert (
        before[("fitness_writer_group_lag", (("stream", "fitness:events"),))] == events_length
    )  # all unread

    writer = StorageWriter(redis_client, MongoDocumentStore(mongo_db), writer_config(), metrics=metrics)
    stats = writer.run()
    metrics.refresh_when_due(redis_client, force=True)
    found = registry_samples(registry)

    for collection, stored in stats.stored.items():
        assert found[("fitness_writer_records_stored_total", (("collection", collection),))] == stored
        assert mongo_db[collection].count_documents({}) == stored
    assert total(found, "fitness_writer_records_stored_total") == stats.stored_total > 0
    assert total(found, "fitness_writer_entries_total") == stats.entries == len(records) + 2
    assert found[("fitness_writer_dead_lettered_total", ())] == 2
    assert found[("fitness_writer_records_already_stored_total", ())] == stats.already_stored
    assert found[("fitness_writer_batch_duration_seconds_count", ())] == stats.batches > 0
    for stream in S.STREAMS:
        assert found[("fitness_writer_group_lag", (("stream", stream),))] == 0
        assert found[("fitness_writer_group_pending", (("stream", stream),))] == 0
    assert found[("fitness_writer_dlq_length", ())] == 2
    assert found[("fitness_writer_backlog_updated_timestamp_seconds", ())] > time.time() - 60

    result = StorageWriter(
        redis_client, MongoDocumentStore(mongo_db), writer_config(), metrics=metrics
    ).replay("on demand", start_ms=0)
    found = registry_samples(registry)
    assert found[("fitness_writer_replays_total", (("reason", "on demand"),))] == 1
    assert found[("fitness_writer_replayed_entries_total", ())] == result.entries > 0
    assert found[("fitness_writer_replay_stored_total", ())] == result.newly_stored == 0


def test_fitness_write_serves_its_metrics_over_http_while_it_works(
    settings, redis_client: redis.Redis, mongo_db
) -> None:
    port = free_port()
    writer = subprocess.Popen(
        fitness_command("write", "--block-ms", "100", "--metrics-port", str(port)),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        deadline = time.monotonic() + 60
        while True:
            try:
                first = httpx.get(url, timeout=5)
                break
            except httpx.TransportError:
                assert writer.poll() is None, writer.communicate()[1][-2000:]
                assert time.monotonic() < deadline, "the metrics endpoint never answered"
                time.sleep(0.1)
        assert first.status_code == 200
        assert "fitness_writer_batch_duration_seconds" in first.text

        records = population(users=2, days=2, seed=22)
        publish_records(redis_client, records)
        redis_client.xadd("fitness:sleep", BAD_JSON | {"schema": "sleep_session/1"})
        stored_docs = 0
        while time.monotonic() < deadline:
            found = samples(httpx.get(url, timeout=5).text)
            stored_docs = sum(mongo_db[cls.COLLECTION].count_documents({}) for cls in S.RECORD_TYPES)
            lag = sum(v for (name, _), v in found.items() if name == "fitness_writer_group_lag")
            if (
                total(found, "fitness_writer_entries_total") == len(records) + 1
                and lag == 0
                and found.get(("fitness_writer_dlq_length", ())) == 1
            ):
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"the metrics never caught up: {found}")
        assert total(found, "fitness_writer_records_stored_total") == stored_docs
        assert found[("fitness_writer_dead_lettered_total", ())] == 1
        assert sum(v for (name, _), v in found.items() if name == "fitness_writer_group_pending") == 0
        assert redis_client.xinfo_groups("fitness:events")[0]["name"].decode() == GROUP
        assert ("process_cpu_seconds_total", ()) in found  # the client library's process metrics
    finally:
        writer.send_signal(signal.SIGTERM)
        _, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err[-2000:]


def test_a_taken_metrics_port_ends_in_one_line(settings) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        run = subprocess.run(
            fitness_command("write", "--metrics-port", str(port)), capture_output=True, text=True, timeout=60
        )
    assert run.returncode == 1
    lines = run.stderr.strip().splitlines()
    assert lines == [f"fitness: error: cannot serve metrics on 127.0.0.1:{port}: Address already in use"], (
        run.stderr
    )
