"""Feedback: validated by the API, published to fitness:feedback, stored by the storage writer."""

from __future__ import annotations

from collections import Counter

from fastapi.testclient import TestClient

from fitness_api.app import create_app
from fitness_api.publishing import RETRY_AFTER_S
from fitness_core.schemas import Feedback, decode
from fitness_streaming.writer import WriterConfig, run_writer

from .builders import bearer, profile

GOOD = {"energy": 4, "mood": 3, "perceived_exertion": 7, "soreness_level": 2, "note": "legs heavy"}


def _only_entry(redis_client) -> Feedback:
    entries = redis_client.xrange("fitness:feedback")
    assert len(entries) == 1
    record = decode(entries[0][1])
    assert isinstance(record, Feedback)
    return record


def test_feedback_is_accepted_and_published_as_a_valid_record(api, redis_client, admin_key) -> None:
    response = api.post("/feedback/u1", json=GOOD, headers=bearer(admin_key))
    assert response.status_code == 202
    body = response.json()
    record = _only_entry(redis_client)
    assert body == {
        "feedback_id": record.feedback_id,
        "stream": "fitness:feedback",
        "entry_id": redis_client.xrange("fitness:feedback")[0][0].decode(),
    }
    assert (record.user_id, record.energy, record.mood, record.perceived_exertion) == ("u1", 4, 3, 7)
    assert (record.soreness_level, record.note, record.source) == (2, "legs heavy", "api")
    assert record.feedback_ts == record.ingest_ts


def test_feedback_takes_the_users_timezone_from_the_profile(api, mongo_db, redis_client, admin_key) -> None:
    mongo_db.users.insert_one(profile("u1", timezone="America/New_York").to_document())
    api.post("/feedback/u1", json=GOOD, headers=bearer(admin_key))
    assert _only_entry(redis_client).timezone == "America/New_York"


def test_each_submission_gets_its_own_id(api, redis_client, admin_key) -> None:
    ids = {
        api.post("/feedback/u1", json=GOOD, headers=bearer(admin_key)).json()["feedback_id"] for _ in range(3)
    }
    assert len(ids) == 3


def test_out_of_range_values_are_422_naming_each_field(api, redis_client, admin_key) -> None:
    response = api.post(
        "/feedback/u1", json={**GOOD, "energy": 6, "perceived_exertion": 0}, headers=bearer(admin_key)
    )
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {
        ("body", "energy"),
        ("body", "perceived_exertion"),
    }
    assert redis_client.xlen("fitness:feedback") == 0


def test_missing_and_unknown_fields_are_422(api, admin_key) -> None:
    response = api.post(
        "/feedback/u1", json={"energy": 3, "mood": 3, "fatigue": 2}, headers=bearer(admin_key)
    )
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {
        ("body", "perceived_exertion"),
        ("body", "fatigue"),
    }


def test_a_body_over_16_kib_is_413(api, redis_client, admin_key) -> None:
    response = api.post(
        "/feedback/u1",
        content=b'{"note": "' + b"x" * 20_000 + b'"}',
        headers={**bearer(admin_key), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json() == {"detail": "request body larger than 16384 bytes"}
    assert redis_client.xlen("fitness:feedback") == 0


def test_a_chunked_body_over_the_limit_is_413_too(api, admin_key) -> None:
    chunks = (b"x" * 4096 for _ in range(8))
    response = api.post(
        "/feedback/u1", content=chunks, headers={**bearer(admin_key), "Content-Type": "application/json"}
    )
    assert response.status_code == 413


def test_feedback_reaches_mongodb_once_the_writer_drains(api, mongo_db, settings, admin_key) -> None:
    feedback_id = api.post("/feedback/u1", json=GOOD, headers=bearer(admin_key)).json()["feedback_id"]
    stats = run_writer(settings, WriterConfig(drain=True, block_ms=100))
    assert stats.drained and stats.stored_total == 1
    stored = mongo_db.feedback_events.find_one({"_id": feedback_id})
    assert (stored["user_id"], stored["energy"], stored["note"], stored["source"]) == (
        "u1",
        4,
        "legs heavy",
        "api",
    )
    assert stored["local_date"] == stored["feedback_ts"].date().isoformat()


def test_at_the_stream_cap_feedback_is_refused_with_503_and_every_202_is_stored(
    settings, mongo_db, redis_client, admin_key
) -> None:
    """No writer running and a cap of 1,000: 1,500 submissions, and accepted == stored exactly."""
    capped = settings.model_copy(update={"stream_maxlen": 1000})
    with TestClient(create_app(capped)) as api:
        responses = [api.post("/feedback/u1", json=GOOD, headers=bearer(admin_key)) for _ in range(1500)]
    codes = Counter(r.status_code for r in responses)
    assert codes == {202: 1000, 503: 500}
    refused = [r for r in responses if r.status_code == 503]
    assert {r.headers["Retry-After"] for r in refused} == {str(RETRY_AFTER_S)}
    assert refused[0].json() == {
        "detail": "fitness:feedback is at its cap of 1,000 entries (the storage writer is behind); "
        f"nothing was recorded, retry in {RETRY_AFTER_S} s"
    }
    accepted = {r.json()["feedback_id"] for r in responses if r.status_code == 202}
    assert redis_client.xlen("fitness:feedback") == 1000

    stats = run_writer(capped, WriterConfig(drain=True, block_ms=100))
    assert stats.drained and stats.dead_lettered == 0
    assert {doc["_id"] for doc in mongo_db.feedback_events.find({}, {"_id": 1})} == accepted


def test_the_503_at_the_cap_is_documented_with_retry_after(api) -> None:
    spec = api.get("/openapi.json").json()["paths"]["/feedback/{user_id}"]["post"]["responses"]["503"]
    assert "at its cap" in spec["description"]
    assert spec["headers"]["Retry-After"]["schema"] == {"type": "integer"}
