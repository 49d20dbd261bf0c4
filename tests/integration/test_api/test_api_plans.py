"""Latest plans (process memo, Redis cache, MongoDB), ETags, history pagination."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from fastapi.testclient import TestClient

from fitness_api.app import create_app
from fitness_core.plan_cache import plan_cache_key, refresh_plan_cache
from fitness_core.plans import PlanDocument

from .builders import T0, bearer, nutrition_plan, profile, workout_plan


def test_root_keeps_the_legacy_greeting(api) -> None:
    response = api.get("/")
    assert response.status_code == 200
    assert response.json() == {"msg": "AI Fitness & Nutrition API up."}


def test_healthz_reports_both_stores_up(api) -> None:
    response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "redis": True, "mongo": True}


def test_workout_returns_the_newest_version_exactly_as_stored(api, mongo_db, admin_key) -> None:
    older, newer = workout_plan("u1", version=1), workout_plan("u1", version=2)
    mongo_db.plans.insert_many([newer, older])
    response = api.get("/workout/u1", headers=bearer(admin_key))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json()["version"] == 2
    assert PlanDocument.model_validate(response.json()) == PlanDocument.model_validate(newer)


def test_nutrition_returns_the_latest_nutrition_plan_not_the_workout(api, mongo_db, admin_key) -> None:
    mongo_db.plans.insert_many([nutrition_plan("u1", version=1), workout_plan("u1", version=5)])
    body = api.get("/nutrition/u1", headers=bearer(admin_key)).json()
    assert body["plan_type"] == "nutrition"
    assert body["version"] == 1
    assert len(body["plan"]["days"]) == 3


def test_unknown_user_is_404_naming_the_user(api, admin_key) -> None:
    response = api.get("/workout/nobody", headers=bearer(admin_key))
    assert response.status_code == 404
    assert response.json() == {"detail": "unknown user 'nobody': no profile and no plan"}


def test_known_user_without_a_plan_is_404_saying_not_yet(api, mongo_db, admin_key) -> None:
    mongo_db.users.insert_one(profile("u2").to_document())
    response = api.get("/nutrition/u2", headers=bearer(admin_key))
    assert response.status_code == 404
    assert response.json() == {"detail": "no nutrition plan for user 'u2' yet"}


def test_matching_if_none_match_gives_304_without_body(api, mongo_db, admin_key) -> None:
    mongo_db.plans.insert_one(workout_plan("u1"))
    first = api.get("/workout/u1", headers=bearer(admin_key))
    etag = first.headers["etag"]
    again = api.get("/workout/u1", headers={**bearer(admin_key), "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag


def test_stale_if_none_match_gives_the_new_version(
    api_without_memo, mongo_db, redis_client, admin_key
) -> None:
    api = api_without_memo
    mongo_db.plans.insert_one(workout_plan("u1", version=1))
    etag = api.get("/workout/u1", headers=bearer(admin_key)).headers["etag"]
    mongo_db.plans.insert_one(workout_plan("u1", version=2))
    refresh_plan_cache(mongo_db, redis_client, ["u1"])
    response = api.get("/workout/u1", headers={**bearer(admin_key), "If-None-Match": f'W/{etag}, "other"'})
    assert response.status_code == 200
    assert response.json()["version"] == 2
    assert response.headers["etag"] != etag


def test_a_miss_fills_the_cache_with_the_served_bytes(api, mongo_db, redis_client, admin_key) -> None:
    mongo_db.plans.insert_one(workout_plan("u1"))
    response = api.get("/workout/u1", headers=bearer(admin_key))
    etag, body = redis_client.hmget(plan_cache_key("workout", "u1"), ["etag", "body"])
    assert body == response.content
    assert etag.decode() == response.headers["etag"]
    assert 0 < redis_client.ttl(plan_cache_key("workout", "u1")) <= 3600


def test_lookups_are_served_from_the_cache_until_it_is_refreshed(
    api_without_memo, mongo_db, redis_client, admin_key
) -> None:
    api = api_without_memo
    mongo_db.plans.insert_one(workout_plan("u1", version=1))
    assert api.get("/workout/u1", headers=bearer(admin_key)).json()["version"] == 1
    mongo_db.plans.insert_one(workout_plan("u1", version=2))
    assert api.get("/workout/u1", headers=bearer(admin_key)).json()["version"] == 1
    assert refresh_plan_cache(mongo_db, redis_client, ["u1"]) == 1
    assert api.get("/workout/u1", headers=bearer(admin_key)).json()["version"] == 2


def test_the_process_memo_serves_a_plan_until_its_ttl_then_rereads_redis(
    settings, mongo_db, redis_client, admin_key
) -> None:
    mongo_db.plans.insert_one(workout_plan("u1", version=1))
    with TestClient(create_app(settings, plan_memo_ttl_s=0.3)) as api:
        assert api.get("/workout/u1", headers=bearer(admin_key)).json()["version"] == 1
        mongo_db.plans.insert_one(workout_plan("u1", version=2))
        refresh_plan_cache(mongo_db, redis_client, ["u1"])
        assert api.get("/workout/u1", headers=bearer(admin_key)).json()["version"] == 1
        time.sleep(0.35)
        assert api.get("/workout/u1", headers=bearer(admin_key)).json()["version"] == 2


def test_deleting_a_user_clears_the_process_memo_at_once(api, mongo_db, admin_key) -> None:
    mongo_db.plans.insert_one(workout_plan("u1"))
    assert api.get("/workout/u1", headers=bearer(admin_key)).status_code == 200
    api.delete("/users/u1", headers=bearer(admin_key))
    assert api.get("/workout/u1", headers=bearer(admin_key)).status_code == 404


def _history(api, key: str, **params) -> dict:
    response = api.get("/plans/u1/history", params=params, headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def test_history_pages_newest_first_with_a_cursor(api, mongo_db, admin_key) -> None:
    mongo_db.plans.insert_many([workout_plan("u1", version=v) for v in range(1, 6)])
    pages, cursor = [], None
    while True:
        page = _history(api, admin_key, limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append([item["version"] for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [[5, 4], [3, 2], [1]]


def test_history_breaks_created_at_ties_without_losing_versions(api, mongo_db, admin_key) -> None:
    same = T0 + timedelta(days=1)
    mongo_db.plans.insert_many([workout_plan("u1", version=v, created_at=same) for v in range(1, 4)])
    first = _history(api, admin_key, limit=2)
    second = _history(api, admin_key, limit=2, cursor=first["next_cursor"])
    ids = [p["_id"] for p in first["items"] + second["items"]]
    assert sorted(ids, reverse=True) == ids and len(set(ids)) == 3
    assert second["next_cursor"] is None


def test_history_filters_by_plan_type(api, mongo_db, admin_key) -> None:
    mongo_db.plans.insert_many(
        [
            workout_plan("u1", version=1),
            nutrition_plan("u1", version=1),
            nutrition_plan("u1", version=2),
            workout_plan("u2", version=1),
        ]
    )
    page = _history(api, admin_key, plan_type="nutrition")
    assert [(p["plan_type"], p["version"]) for p in page["items"]] == [("nutrition", 2), ("nutrition", 1)]
    assert len(_history(api, admin_key)["items"]) == 3


def test_history_rejects_a_malformed_cursor_with_field_error(api, admin_key) -> None:
    response = api.get("/plans/u1/history", params={"cursor": "not-a-cursor"}, headers=bearer(admin_key))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


def test_history_rejects_out_of_range_limit_with_field_error(api, admin_key) -> None:
    response = api.get("/plans/u1/history", params={"limit": 0}, headers=bearer(admin_key))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "limit"]


def test_refresh_plan_cache_writes_every_users_latest_and_drops_stale_keys(mongo_db, redis_client) -> None:
    mongo_db.plans.insert_many(
        [
            workout_plan("u1", version=1),
            workout_plan("u1", version=2),
            nutrition_plan("u1"),
            workout_plan("u2"),
        ]
    )
    redis_client.hset(plan_cache_key("workout", "gone"), mapping={"etag": '"x"', "body": b"{}"})
    assert refresh_plan_cache(mongo_db, redis_client) == 3
    cached = json.loads(redis_client.hget(plan_cache_key("workout", "u1"), "body"))
    assert cached["version"] == 2
    assert redis_client.exists(plan_cache_key("workout", "gone")) == 0
    assert redis_client.exists(plan_cache_key("nutrition", "u2")) == 0
