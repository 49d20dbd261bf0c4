"""Dead letters on real Redis and SecantusDB: one per source entry however many consumers processed it,
and the `fitness dlq` commands (list, show, replay, purge)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from fitness_cli import services
from fitness_cli.main import main
from fitness_core import schemas as S
from fitness_core.settings import Settings
from fitness_streaming.publisher import publish_records
from fitness_streaming.writer import WriterConfig, run_writer
from fitness_streaming.writer.batch import transform
from fitness_streaming.writer.group import GroupConsumer
from fitness_streaming.writer.status import GROUP
from tests.integration.test_writer import assert_stored_exactly, events, fitness_command, population

pytestmark = pytest.mark.integration

BAD_JSON = {"schema": "fitness_event/1", "data": "{truncated"}


def dead_letters(client: redis.Redis) -> list[S.DeadLetter]:
    return [S.DeadLetter.model_validate_json(f[b"data"]) for _, f in client.xrange(S.DLQ_STREAM)]


@pytest.fixture
def redis62(tmp_path: Path) -> Iterator[redis.Redis]:
    proc, info = services.start_redis(tmp_path / "redis62", persist=False)
    yield redis.Redis.from_url(info.url)
    proc.terminate()
    proc.wait(10)


@pytest.fixture(params=["redis7", "redis62"])
def any_redis(request: pytest.FixtureRequest) -> redis.Redis:
    return request.getfixturevalue("redis_client" if request.param == "redis7" else "redis62")


# --- one dead letter per source entry -----------------------------------------------------------


def test_an_entry_processed_by_two_consumers_gets_one_dead_letter(any_redis: redis.Redis) -> None:
    bad = [any_redis.xadd("fitness:events", BAD_JSON).decode() for _ in range(3)]
    publish_records(any_redis, events(population(users=1, days=2), 4))
    first = GroupConsumer(any_redis, "first", claim_idle_ms=1)
    first.ensure_groups()
    held = transform(first.read_new(block=False), consumer="first")
    assert len(held.dead_letters) == 3
    time.sleep(0.01)  # past the claim idle time: the first consumer looks dead
    second = GroupConsumer(any_redis, "second", claim_idle_ms=1)
    reclaimed = transform(second.claim_stale(), consumer="second")
    assert sorted(e.entry_id for e in reclaimed.entries) == sorted(e.entry_id for e in held.entries)

    assert second.acknowledge(reclaimed) == 3
    assert first.acknowledge(held) == 0  # the first consumer wakes up and finishes its batch
    assert second.acknowledge(reclaimed) == 0  # a retry whose first reply was lost
    letters = dead_letters(any_redis)
    assert sorted(letter.entry_id for letter in letters) == sorted(bad)
    assert {letter.consumer for letter in letters} == {"second"}
    assert any_redis.xpending("fitness:events", GROUP)["pending"] == 0


def test_a_stopped_writer_resumed_after_another_reclaimed_its_entries_adds_no_second_dead_letter(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    """`fitness write` A is SIGSTOPped holding entries past --claim-idle-ms, B reclaims and drains, then
    A gets SIGCONT and finishes its batch: one dead letter per malformed message."""
    records = population(users=30, days=21, seed=8)
    injected = []
    for start in range(0, len(records), 100):  # 1% malformed, spread over every batch
        publish_records(redis_client, records[start : start + 100])
        injected.append(redis_client.xadd("fitness:events", BAD_JSON).decode())
    options = ("--block-ms", "100", "--claim-idle-ms", "1000", "--batch", "200", "--drain")
    a = subprocess.Popen(
        fitness_command("write", *options), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    consumer_a = None
    deadline = time.monotonic() + 30
    while consumer_a is None and time.monotonic() < deadline:  # stop A as soon as it holds entries
        try:
            holding = [c for c in redis_client.xinfo_consumers("fitness:events", GROUP) if c["pending"]]
        except redis.ResponseError:
            holding = []
        if holding:
            os.kill(a.pid, signal.SIGSTOP)
            consumer_a = holding[0]["name"].decode()
        time.sleep(0.005)
    assert consumer_a is not None, "writer A never held entries"
    try:
        b = subprocess.run(fitness_command("write", *options), capture_output=True, text=True, timeout=180)
        assert b.returncode == 0, b.stderr[-2000:]
        held_by_a = {
            c["name"].decode(): c["pending"] for c in redis_client.xinfo_consumers("fitness:events", GROUP)
        }
        assert held_by_a.get(consumer_a, 0) == 0  # B reclaimed everything A held
    finally:
        os.kill(a.pid, signal.SIGCONT)
    _, err = a.communicate(timeout=120)
    assert a.returncode == 0, err[-2000:]

    letters = dead_letters(redis_client)
    assert len(letters) == len(injected) == len({(x.stream, x.entry_id) for x in letters})
    assert sorted(x.entry_id for x in letters) == sorted(injected)
    assert any((x.deliveries or 0) >= 2 for x in letters)  # some were processed by both writers
    assert_stored_exactly(mongo_db, records)


# --- fitness dlq ----------------------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["--log-level", "WARNING", *args], prog_name="fitness")
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def letters(settings: Settings, redis_client: redis.Redis) -> list[str]:
    """Three dead letters (two events, one sleep) made by the real writer; their DLQ ids."""
    event = events(population(users=1, days=1, seed=2), 1)[0]
    good = S.encode(event)
    broken = json.loads(good["data"]) | {"heart_rate_bpm": 400}
    redis_client.xadd("fitness:events", {"schema": good["schema"], "data": json.dumps(broken)})
    redis_client.xadd("fitness:events", BAD_JSON)
    redis_client.xadd("fitness:sleep", {"schema": "sleep_session/7", "data": "{}"})
    run_writer(settings, WriterConfig(drain=True, block_ms=100))
    return [eid.decode() for eid, _ in redis_client.xrange(S.DLQ_STREAM)]


def test_dlq_list_shows_each_letter_and_filters_by_stream(letters: list[str]) -> None:
    code, out, _ = run_cli("dlq", "list")
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 4
    assert lines[0].startswith(f"{letters[0]}  fitness:events ") and "heart_rate_bpm" in lines[0]
    assert lines[-1] == "3 dead letter(s) shown, 3 in fitness:dlq"
    code, out, _ = run_cli("dlq", "list", "--stream", "fitness:sleep", "--json")
    shown = json.loads(out)
    assert code == 0 and [x["id"] for x in shown] == [letters[2]]
    assert shown[0]["reason"] == "unknown schema 'sleep_session/7'"
    assert shown[0]["fields"] == {"schema": "sleep_session/7", "data": "{}"}
    _, out, _ = run_cli("dlq", "list", "--limit", "1", "--json")
    assert [x["id"] for x in json.loads(out)] == letters[:1]
    code, _, err = run_cli("dlq", "list", "--stream", "fitness:nope")
    assert code == 1 and "--stream 'fitness:nope' is not a record stream" in err


def test_dlq_show_prints_one_letter_in_full(letters: list[str]) -> None:
    code, out, _ = run_cli("dlq", "show", letters[1])
    shown = json.loads(out)
    assert code == 0 and shown["id"] == letters[1] and shown["stream"] == "fitness:events"
    assert shown["fields"] == BAD_JSON and shown["reason"].startswith("fitness_event/1: invalid JSON")
    code, _, err = run_cli("dlq", "show", "1-1")
    assert code == 1 and err.strip() == "fitness: error: no dead letter 1-1 in fitness:dlq"


def test_dlq_replay_re_adds_the_original_message_and_the_writer_stores_it(
    settings: Settings, letters: list[str], redis_client: redis.Redis, mongo_db
) -> None:
    # The rule that rejected the first letter is fixed: here, its message is mended in place.
    letter = dead_letters(redis_client)[0]
    mended = json.loads(letter.fields["data"]) | {"heart_rate_bpm": 140}
    fixed = S.DeadLetter(**(letter.model_dump() | {"fields": {**letter.fields, "data": json.dumps(mended)}}))
    redis_client.xdel(S.DLQ_STREAM, letters[0])
    mended_id = redis_client.xadd(S.DLQ_STREAM, S.encode(fixed)).decode()

    code, out, _ = run_cli("dlq", "replay", mended_id)
    assert code == 0 and out.startswith("replayed 1 dead letter(s) into their streams")
    assert redis_client.xlen(S.DLQ_STREAM) == 2
    run_writer(settings, WriterConfig(drain=True, block_ms=100))
    stored = mongo_db.fitness_events.find_one({"_id": mended["event_id"]})
    assert stored is not None and stored["heart_rate_bpm"] == 140

    code, out, _ = run_cli("dlq", "replay", "--all", "--stream", "fitness:sleep")
    assert code == 0 and out.startswith("replayed 1 dead letter(s)")
    assert [x.stream for x in dead_letters(redis_client)] == ["fitness:events"]
    run_writer(settings, WriterConfig(drain=True, block_ms=100))  # still unknown: back in the DLQ, once
    assert sorted(x.stream for x in dead_letters(redis_client)) == ["fitness:events", "fitness:sleep"]


def test_dlq_replay_goes_through_the_stream_cap(settings: Settings, letters: list[str], redis_client) -> None:
    from fitness_core.streams import capped_add
    from fitness_streaming import dlq

    capped_add(redis_client, "fitness:events", [{"x": str(i)} for i in range(98)], cap=None)
    with pytest.raises(Exception, match="fitness:events is at its cap of 100 entries"):
        dlq.replay(redis_client, 100, [letters[0], letters[1]], max_wait_s=0.3)
    assert redis_client.xlen("fitness:events") == 100 and redis_client.xlen(S.DLQ_STREAM) == 3


def test_dlq_purge_asks_for_yes_then_deletes(letters: list[str], redis_client: redis.Redis) -> None:
    code, _, err = run_cli("dlq", "purge", "--all")
    assert code == 1 and "add --yes" in err and redis_client.xlen(S.DLQ_STREAM) == 3
    code, _, err = run_cli("dlq", "purge", "--yes")
    assert code == 1 and "or pass --all" in err
    code, out, _ = run_cli("dlq", "purge", letters[0], "--yes")
    assert code == 0 and out.strip() == "purged 1 dead letter(s)"
    assert [eid.decode() for eid, _ in redis_client.xrange(S.DLQ_STREAM)] == letters[1:]
    code, out, _ = run_cli("dlq", "purge", "--all", "--yes")
    assert code == 0 and out.strip() == "purged 2 dead letter(s)" and redis_client.xlen(S.DLQ_STREAM) == 0
