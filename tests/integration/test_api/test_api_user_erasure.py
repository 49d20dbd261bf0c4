"""Deleting a user leaves no trace anywhere: every MongoDB document, every Redis key of every type
(streams, dead letters, pending entries, caches) and every artifact file, checked as text after a
real publish, a real storage-writer run and the API's DELETE over the ASGI test client; a second
user whose id extends the first one's keeps everything."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import redis

from fitness_assets.reporting.publish import publish_week
from fitness_assets.reporting.sample import sample_plan_documents, sample_weeks
from fitness_core import store
from fitness_core.plan_cache import refresh_plan_cache
from fitness_core.report_index import MANIFEST_FILE, read_manifest
from fitness_core.schemas import STREAMS
from fitness_streaming.publisher import publish_records
from fitness_streaming.writer import GROUP, WriterConfig, run_writer

from .builders import bearer, raw_records, seed_user

pytestmark = pytest.mark.integration

ALICE, BOB = "u-q1", "u-q12"
#: Alice's id anywhere (also inside derived ids such as ``ev-u-q1``), except as the start of Bob's.
ALICE_TEXT = re.compile(rb"u-q1(?!2)")
BOB_TEXT = re.compile(rb"u-q12")
WEEKS = (date(2025, 2, 24), date(2025, 3, 3))
AUDIT_GROUP = "audit"


# --- what is stored, as text ------------------------------------------------------------------


def mongo_texts(db) -> Iterator[tuple[str, bytes]]:
    """Every document of every collection, all fields, as JSON text."""
    for name in sorted(db.list_collection_names()):
        for document in db[name].find():
            yield name, json.dumps(document, default=str, sort_keys=True).encode()


def redis_texts(client: redis.Redis) -> Iterator[tuple[bytes, bytes]]:
    """Every Redis key with each of its values (strings, hashes, lists, sets, sorted sets, streams)."""
    for key in sorted(client.scan_iter(count=1000)):
        kind = client.type(key)
        yield key, key
        if kind == b"string":
            yield key, client.get(key)
        elif kind == b"hash":
            for field, value in client.hgetall(key).items():
                yield key, field + b"=" + value
        elif kind == b"list":
            yield from ((key, v) for v in client.lrange(key, 0, -1))
        elif kind == b"set":
            yield from ((key, v) for v in client.smembers(key))
        elif kind == b"zset":
            yield from ((key, v) for v, _ in client.zrange(key, 0, -1, withscores=True))
        elif kind == b"stream":
            for entry_id, fields in client.xrange(key):
                yield key, entry_id + b" " + b" ".join(k + b"=" + v for k, v in fields.items())
        else:
            raise AssertionError(f"unexpected Redis type {kind!r} of {key!r}")


def artifact_texts(root: Path) -> Iterator[tuple[str, bytes]]:
    """Every file under the artifact store: its relative path, then its bytes."""
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        relative = path.relative_to(root).as_posix()
        yield relative, relative.encode()
        yield relative, path.read_bytes()


def hits(texts: Iterator[tuple[object, bytes]], pattern: re.Pattern[bytes]) -> list[tuple[object, bytes]]:
    return [(where, text[:200]) for where, text in texts if pattern.search(text)]


def pending_ids(client: redis.Redis, stream: str, group: str) -> set[bytes]:
    return {p["message_id"] for p in client.xpending_range(stream, group, min="-", max="+", count=10_000)}


# --- the scenario -------------------------------------------------------------------------------


def store_person(db, artifacts_dir: Path, user_id: str, seed: int) -> None:
    """Raw records, derived documents, plans (builders), and five weeks of real weekly features."""
    seed_user(db, artifacts_dir, user_id)
    _, documents = sample_weeks(user_id, WEEKS[-1], seed=seed)
    db[store.WEEKLY_FEATURES].insert_many([d.model_dump(by_alias=True) for d in documents])
    db[store.PLANS].insert_many(sample_plan_documents(user_id, WEEKS[-1]))


def malformed(user_id: str) -> list[dict[str, str]]:
    """Messages the writer cannot decode, naming the user: broken JSON, an unknown schema."""
    return [
        {
            "schema": "fitness_event/1",
            "data": f'{{"user_id": "{user_id}", "event_id": "bad", "heart_rate_bpm": 4',
        },
        {"schema": "mystery/9", "data": f"owner={user_id};"},
    ]


@pytest.fixture
def everywhere(api, mongo_db, redis_client, settings, user_key) -> Path:
    """Both users stored, published (two weeks of pages, indexes, manifests), cached, keyed, and in
    the streams: malformed messages already dead-lettered by the writer, valid entries pending."""
    artifacts = settings.artifacts_dir
    for seed, user_id in enumerate((ALICE, BOB)):
        store_person(mongo_db, artifacts, user_id, seed)
        user_key(user_id)
    for week in WEEKS:
        publish_week(mongo_db, artifacts, week.isoformat(), progress=False)
    refresh_plan_cache(mongo_db, redis_client, [ALICE, BOB])
    for user_id in (ALICE, BOB):
        for fields in malformed(user_id):
            redis_client.xadd("fitness:events", fields)
    stats = run_writer(settings, WriterConfig(drain=True, block_ms=100, claim_idle_ms=500))
    assert stats.dead_lettered == 4
    publish_records(redis_client, raw_records(ALICE) + raw_records(BOB))
    redis_client.xreadgroup(GROUP, "stalled", dict.fromkeys(STREAMS, ">"), count=100)  # pending, never acked
    redis_client.xgroup_create("fitness:events", AUDIT_GROUP, id="0")
    redis_client.xreadgroup(AUDIT_GROUP, "auditor", {"fitness:events": ">"}, count=100)
    return artifacts


def test_deleting_a_user_leaves_no_trace_in_any_store(
    api, mongo_db, redis_client, admin_key, everywhere: Path
) -> None:
    artifacts = everywhere
    before = {
        "mongo": hits(mongo_texts(mongo_db), ALICE_TEXT),
        "redis": hits(redis_texts(redis_client), ALICE_TEXT),
        "artifacts": hits(artifact_texts(artifacts), ALICE_TEXT),
    }
    assert all(before.values()), "the scenario stores Alice everywhere"
    assert any(b"dlq" in key for key, _ in before["redis"])
    assert any(path.endswith("index.html") for path, _ in before["artifacts"])
    assert any(path.endswith(MANIFEST_FILE) for path, _ in before["artifacts"])
    bob_before = {
        "mongo": sorted(t for _, t in mongo_texts(mongo_db) if BOB_TEXT.search(t)),
        "redis": sorted(t for _, t in redis_texts(redis_client) if BOB_TEXT.search(t)),
        "pages": {p: t for p, t in artifact_texts(artifacts) if p.endswith(f"{BOB}.html")},
    }

    response = api.delete(f"/users/{ALICE}", headers=bearer(admin_key))

    assert response.status_code == 200, response.text
    removed = response.json()["removed"]
    # 5 valid + 2 malformed + 2 dead letters; pending: 5 in the writer group, 3 in the audit group
    assert (removed["stream_entries"], removed["pending_entries"]) == (9, 8)
    assert (removed["report_files"], removed["index_rows"]) == (3, 2)
    assert hits(mongo_texts(mongo_db), ALICE_TEXT) == []
    assert hits(redis_texts(redis_client), ALICE_TEXT) == []
    assert hits(artifact_texts(artifacts), ALICE_TEXT) == []

    assert sorted(t for _, t in mongo_texts(mongo_db) if BOB_TEXT.search(t)) == bob_before["mongo"]
    assert sorted(t for _, t in redis_texts(redis_client) if BOB_TEXT.search(t)) == bob_before["redis"]
    assert {p: t for p, t in artifact_texts(artifacts) if p.endswith(f"{BOB}.html")} == bob_before["pages"]
    for stream, group in [(s, GROUP) for s in STREAMS] + [("fitness:events", AUDIT_GROUP)]:
        alive = {entry_id for entry_id, _ in redis_client.xrange(stream)}
        assert pending_ids(redis_client, stream, group) <= alive, (stream, group)
    assert len(pending_ids(redis_client, "fitness:events", AUDIT_GROUP)) == 3  # Bob's three stay pending
    for week in WEEKS:
        folder = artifacts / "reports" / week.isoformat()
        index = (folder / "index.html").read_text()
        assert re.findall(r'<a href="([^"]+)">', index) == [f"{BOB}.html"]
        assert "1 report(s)." in index
        assert [e.user_id for e in read_manifest(folder / MANIFEST_FILE).entries] == [BOB]


def test_deleting_the_longer_id_keeps_the_prefix_users_stream_entries(
    api, redis_client, admin_key, everywhere: Path
) -> None:
    alice_before = sorted(t for _, t in redis_texts(redis_client) if ALICE_TEXT.search(t))
    assert api.delete(f"/users/{BOB}", headers=bearer(admin_key)).status_code == 200
    assert hits(redis_texts(redis_client), BOB_TEXT) == []
    assert sorted(t for _, t in redis_texts(redis_client) if ALICE_TEXT.search(t)) == alice_before
    assert pending_ids(redis_client, "fitness:events", AUDIT_GROUP)


def test_deleting_again_removes_nothing_more(api, admin_key, everywhere: Path) -> None:
    assert api.delete(f"/users/{ALICE}", headers=bearer(admin_key)).status_code == 200
    removed = api.delete(f"/users/{ALICE}", headers=bearer(admin_key)).json()["removed"]
    assert set(removed.values()) == {0}


def test_an_index_published_before_manifests_is_rebuilt_from_the_report_documents(
    api, mongo_db, settings, admin_key, everywhere: Path
) -> None:
    artifacts = everywhere
    week = WEEKS[0].isoformat()
    folder = artifacts / "reports" / week
    published = (folder / "index.html").read_text()
    (folder / MANIFEST_FILE).unlink()  # as an older release left it: the page alone
    bob_row = re.search(rf'<tr><th scope="row"><a href="{BOB}.html">.*?</tr>', published)[0]
    assert api.delete(f"/users/{ALICE}", headers=bearer(admin_key)).json()["removed"]["index_rows"] == 2
    index = (folder / "index.html").read_text()
    assert re.findall(r'<a href="([^"]+)">', index) == [f"{BOB}.html"] and bob_row in index
    assert not ALICE_TEXT.search(index.encode())
    assert [e.user_id for e in read_manifest(folder / MANIFEST_FILE).entries] == [BOB]


def test_a_page_written_by_fitness_report_without_a_document_is_removed(
    api, settings, admin_key, everywhere: Path
) -> None:
    from fitness_assets.reporting.publish import write_user_report

    path, _ = write_user_report(settings, ALICE, (WEEKS[0] - timedelta(days=7)).isoformat())
    assert path.is_file()
    assert api.delete(f"/users/{ALICE}", headers=bearer(admin_key)).json()["removed"]["report_files"] == 4
    assert not path.exists()
    assert hits(artifact_texts(everywhere), ALICE_TEXT) == []


def test_fitness_user_delete_removes_the_same_as_the_api(mongo_db, redis_client, everywhere: Path) -> None:
    command = [str(Path(sys.executable).parent / "fitness"), "user", "delete", "--user-id", ALICE]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert refused.returncode == 1 and refused.stderr.strip().endswith("add --yes to confirm")
    done = subprocess.run([*command, "--yes", "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    removed = json.loads(done.stdout)["removed"]
    assert (removed["stream_entries"], removed["pending_entries"], removed["index_rows"]) == (9, 8, 2)
    assert hits(mongo_texts(mongo_db), ALICE_TEXT) == []
    assert hits(redis_texts(redis_client), ALICE_TEXT) == []
    assert hits(artifact_texts(everywhere), ALICE_TEXT) == []
