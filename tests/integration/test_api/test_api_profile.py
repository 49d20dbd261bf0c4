"""Profiles over HTTP: PUT merges and publishes to fitness:users, the writer stores, GET reads."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from fitness_api.app import create_app
from fitness_core.schemas import User, decode
from fitness_streaming.writer import WriterConfig, run_writer

from .builders import bearer, profile
from .test_api_hostile_input import HOSTILE_VALUES, strict_json

FULL = {
    "birth_year": 1988,
    "height_cm": 182,
    "weight_kg": 77.5,
    "goal": "endurance",
    "timezone": "Asia/Tokyo",
}


def _drain(settings) -> None:
    stats = run_writer(settings, WriterConfig(drain=True, block_ms=100))
    assert stats.drained and stats.dead_lettered == 0


def test_put_publishes_and_the_writer_stores_it_for_get(api, settings, redis_client, user_key) -> None:
    key = user_key("fit-7")
    assert api.get("/users/fit-7/profile", headers=bearer(key)).status_code == 404

    response = api.put("/users/fit-7/profile", json=FULL, headers=bearer(key))
    assert response.status_code == 202, response.text
    body = response.json()
    entries = redis_client.xrange("fitness:users")
    assert len(entries) == 1 and body["entry_id"] == entries[0][0].decode()
    record = decode(entries[0][1])
    assert isinstance(record, User) and (record.user_id, record.source) == ("fit-7", "api")
    assert body["stream"] == "fitness:users" and body["profile"]["height_cm"] == 182

    _drain(settings)
    stored = api.get("/users/fit-7/profile", headers=bearer(key))
    assert stored.status_code == 200
    assert {k: stored.json()[k] for k in FULL} == FULL

    # Partial: one field changes, the rest is kept; the newer profile wins after the drain.
    assert api.put("/users/fit-7/profile", json={"weight_kg": 75}, headers=bearer(key)).status_code == 202
    _drain(settings)
    after = api.get("/users/fit-7/profile", headers=bearer(key)).json()
    assert after["weight_kg"] == 75 and after["height_cm"] == 182 and after["timezone"] == "Asia/Tokyo"


def test_put_merges_over_a_stored_apple_health_profile(api, mongo_db, redis_client, admin_key) -> None:
    mongo_db.users.insert_one(profile("u1").to_document())
    response = api.put("/users/u1/profile", json={"hr_rest_bpm": 55, "age": 30}, headers=bearer(admin_key))
    assert response.status_code == 202, response.text
    record = decode(redis_client.xrange("fitness:users")[0][1])
    assert (record.sex, record.height_cm, record.timezone, record.hr_rest_bpm) == (
        "female",
        168,
        "Europe/Berlin",
        55,
    )
    assert record.updated_ts > profile("u1").updated_ts


def test_access_is_owner_or_admin(api, mongo_db, user_key, admin_key) -> None:
    mongo_db.users.insert_one(profile("u1").to_document())
    assert api.get("/users/u1/profile", headers=bearer(user_key("u1"))).status_code == 200
    assert api.get("/users/u1/profile", headers=bearer(admin_key)).status_code == 200
    assert api.get("/users/u1/profile", headers=bearer(user_key("u2"))).status_code == 403
    assert api.put("/users/u1/profile", json=FULL, headers=bearer(user_key("u2"))).status_code == 403
    assert api.put("/users/u1/profile", json=FULL).status_code == 401
    assert api.get("/users/u1/profile", headers=bearer("fk_wrong")).status_code == 401


def test_bad_values_are_422_naming_the_field(api, redis_client, admin_key) -> None:
    for change, field in (
        ({"height_cm": 20}, "height_cm"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"sex": "other"}, "sex"),
        ({"shoe_size": 44}, "shoe_size"),
    ):
        response = api.put("/users/u1/profile", json={**FULL, **change}, headers=bearer(admin_key))
        assert response.status_code == 422, response.text
        assert [tuple(e["loc"]) for e in response.json()["detail"]] == [("body", field)]
    assert redis_client.xlen("fitness:users") == 0


def test_missing_required_fields_are_422_naming_each(api, redis_client, admin_key) -> None:
    response = api.put("/users/new/profile", json={"height_cm": 170}, headers=bearer(admin_key))
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["detail"]} == {
        ("body", "birth_year"),
        ("body", "weight_kg"),
    }
    assert redis_client.xlen("fitness:users") == 0


def test_a_full_stream_is_503_and_nothing_is_added(settings, redis_client, admin_key) -> None:
    capped = settings.model_copy(update={"stream_maxlen": 2})
    for _ in range(2):
        redis_client.xadd("fitness:users", {"x": "1"})
    with TestClient(create_app(capped)) as client:
        response = client.put("/users/u1/profile", json=FULL, headers=bearer(admin_key))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "fitness:users is at its cap of 2 entries" in response.json()["detail"]
    assert redis_client.xlen("fitness:users") == 2


@st.composite
def hostile_profiles(draw) -> bytes:
    """A valid profile body with some fields (or new ones) hostile, or a hostile value as the body."""
    if draw(st.integers(0, 9)) == 0:
        return draw(HOSTILE_VALUES).encode("utf-8", "surrogatepass")
    fields = {name: json.dumps(value) for name, value in FULL.items()}
    names = st.sampled_from([*FULL, "age", "sex", "hr_rest_bpm", "allergies", "extra", "\\ud800"])
    for name in draw(st.lists(names, min_size=1, max_size=4)):
        fields[name] = draw(HOSTILE_VALUES)
    text = "{" + ",".join(f'"{name}": {value}' for name, value in fields.items()) + "}"
    return text.encode("utf-8", "surrogatepass")


@hypothesis_settings(
    max_examples=200,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=hostile_profiles())
def test_hostile_bodies_never_get_a_server_error(api, admin_key, body) -> None:
    headers = {**bearer(admin_key), "content-type": "application/json"}
    response = api.put("/users/u1/profile", content=body, headers=headers)
    assert response.status_code < 500, response.text
    strict_json(response)
