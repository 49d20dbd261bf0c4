"""`/metrics`: request latency by route template and status, and which tier answered plan lookups."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from fitness_api.metrics import REQUEST_SECONDS

from .builders import bearer, workout_plan

COUNT = "fitness_api_request_duration_seconds_count"


def scrape(api) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = api.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def requests(found: dict, route: str, status: int, method: str = "GET") -> float:
    return found.get((COUNT, (("method", method), ("route", route), ("status", str(status)))), 0.0)


def lookups(found: dict, source: str) -> float:
    return found[("fitness_api_plan_lookups_total", (("source", source),))]


def test_requests_are_counted_by_route_template_and_status_never_by_user_id(api, mongo_db, admin_key) -> None:
    mongo_db.plans.insert_one(workout_plan("u-metrics"))
    before = scrape(api)
    assert api.get("/").status_code == 200
    assert api.get("/workout/u-metrics", headers=bearer(admin_key)).status_code == 200
    assert api.get("/workout/u-metrics").status_code == 401
    assert api.get("/nutrition/u-metrics", headers=bearer(admin_key)).status_code == 404
    assert api.get("/no/such/path/u-metrics").status_code == 404
    assert api.get("/", headers={"X-Big": "x" * 20_000}).status_code == 431
    after = scrape(api)

    for route, status, times in [
        ("/", 200, 1),
        ("/workout/{user_id}", 200, 1),
        ("/workout/{user_id}", 401, 1),
        ("/nutrition/{user_id}", 404, 1),
        ("unmatched", 404, 1),
        ("unmatched", 431, 1),
    ]:
        assert requests(after, route, status) - requests(before, route, status) == times, (route, status)
    assert "u-metrics" not in api.get("/metrics").text
    # the histogram has latency buckets, and the +Inf bucket equals the count
    labels = (("le", "+Inf"), ("method", "GET"), ("route", "/"), ("status", "200"))
    assert after[("fitness_api_request_duration_seconds_bucket", labels)] == requests(after, "/", 200)
    assert after[("fitness_api_request_duration_seconds_sum", labels[1:])] > 0


def test_plan_lookups_count_the_tier_that_answered(api, mongo_db, redis_client, admin_key) -> None:
    mongo_db.plans.insert_one(workout_plan("u-tiers"))
    before = scrape(api)
    for _ in range(3):  # MongoDB (then cached in Redis and the memo), then the memo twice
        assert api.get("/workout/u-tiers", headers=bearer(admin_key)).status_code == 200
    api.app.state.fitness.plans.clear()  # another process: its memo is cold, Redis is warm
    assert api.get("/workout/u-tiers", headers=bearer(admin_key)).status_code == 200
    assert api.get("/nutrition/u-tiers", headers=bearer(admin_key)).status_code == 404
    after = scrape(api)
    assert {
        source: lookups(after, source) - lookups(before, source)
        for source in ("memo", "redis", "mongodb", "none")
    } == {"memo": 2, "redis": 1, "mongodb": 1, "none": 1}


def test_docs_assets_are_one_label_and_metrics_are_not_in_the_schema(api) -> None:
    assert api.get("/static-offline-docs/swagger-ui.css").status_code == 200
    found = scrape(api)
    assert requests(found, "/static-offline-docs", 200) >= 1
    assert "/metrics" not in api.get("/openapi.json").json()["paths"]
    routes = {labels[1][1] for (name, labels) in found if name == COUNT}
    assert all(route.startswith("/") or route == "unmatched" for route in routes)
    assert REQUEST_SECONDS._labelnames == ("method", "route", "status")
