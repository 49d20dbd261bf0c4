"""Export (JSON and zip) and deletion of one user's data everywhere, other users untouched."""

from __future__ import annotations

import io
import json
import zipfile

from fitness_api.userdata import USER_COLLECTIONS
from fitness_core.erasure import entry_owner
from fitness_core.plan_cache import plan_cache_key, refresh_plan_cache
from fitness_core.schemas import DeadLetter, encode
from fitness_streaming.publisher import publish_records

from .builders import T0, bearer, raw_records, seed_user


def _export(api, key: str, user_id: str = "alice") -> dict:
    response = api.get(f"/users/{user_id}/export", headers=bearer(key))
    assert response.status_code == 200, response.text
    return response.json()


def test_export_holds_every_stored_document_of_the_user(api, mongo_db, settings, admin_key) -> None:
    counts = seed_user(mongo_db, settings.artifacts_dir, "alice")
    seed_user(mongo_db, settings.artifacts_dir, "bob")
    export = _export(api, admin_key)
    assert export["user_id"] == "alice"
    assert {name: n for name, n in export["counts"].items() if n} == counts
    assert set(export["collections"]) == set(USER_COLLECTIONS)
    docs = [doc for docs in export["collections"].values() for doc in docs]
    assert {doc["user_id"] for doc in docs} == {"alice"}
    event = export["collections"]["fitness_events"][0]
    assert (event["_id"], event["event_ts"], event["duration_s"]) == (
        "ev-alice",
        "2024-03-03T20:00:00Z",
        1800.0,
    )


def test_export_as_json_is_a_download(api, mongo_db, settings, user_key) -> None:
    seed_user(mongo_db, settings.artifacts_dir, "alice")
    response = api.get("/users/alice/export", headers=bearer(user_key("alice")))
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith('attachment; filename="alice-')


def test_export_as_zip_has_one_file_per_collection_and_the_report_pages(
    api, mongo_db, settings, admin_key
) -> None:
    seed_user(mongo_db, settings.artifacts_dir, "alice")
    response = api.get("/users/alice/export", params={"format": "zip"}, headers=bearer(admin_key))
    assert response.headers["content-type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    names = set(archive.namelist())
    assert {"export.json", *(f"{name}.json" for name in USER_COLLECTIONS)} <= names
    assert len(json.loads(archive.read("plans.json"))) == 4
    assert archive.read("report_files/reports/2024-03-04/alice.html").startswith(b"<html>")
    assert json.loads(archive.read("export.json"))["counts"]["users"] == 1


def test_export_of_an_unknown_format_is_422(api, admin_key) -> None:
    response = api.get("/users/alice/export", params={"format": "xml"}, headers=bearer(admin_key))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "format"]


def test_delete_removes_the_user_everywhere_and_reports_counts(
    api, mongo_db, redis_client, settings, admin_key, user_key
) -> None:
    counts = seed_user(mongo_db, settings.artifacts_dir, "alice")
    user_key("alice")
    refresh_plan_cache(mongo_db, redis_client, ["alice"])
    publish_records(redis_client, raw_records("alice") + raw_records("bob"))
    response = api.delete("/users/alice", headers=bearer(admin_key))
    assert response.status_code == 200
    removed = response.json()["removed"]
    assert {name: removed[name] for name in counts} == counts
    assert (
        removed["api_keys"],
        removed["report_files"],
        removed["cache_keys"],
        removed["stream_entries"],
    ) == (1, 1, 2, 5)
    assert not (settings.artifacts_dir / "reports/2024-03-04/alice.html").exists()
    assert redis_client.exists(plan_cache_key("workout", "alice")) == 0


def test_delete_then_export_is_empty_and_other_users_are_untouched(
    api, mongo_db, redis_client, settings, admin_key
) -> None:
    seed_user(mongo_db, settings.artifacts_dir, "alice")
    bob_counts = seed_user(mongo_db, settings.artifacts_dir, "bob")
    publish_records(redis_client, raw_records("alice") + raw_records("bob"))
    bob_before = _export(api, admin_key, "bob")
    api.delete("/users/alice", headers=bearer(admin_key))
    assert set(_export(api, admin_key)["counts"].values()) == {0}
    assert _export(api, admin_key, "bob")["collections"] == bob_before["collections"]
    assert {name: n for name, n in _export(api, admin_key, "bob")["counts"].items() if n} == bob_counts
    assert (settings.artifacts_dir / "reports/2024-03-04/bob.html").exists()
    remaining = [
        fields
        for stream in (
            "fitness:users",
            "fitness:events",
            "fitness:sleep",
            "fitness:nutrition",
            "fitness:feedback",
        )
        for _, fields in redis_client.xrange(stream)
    ]
    assert len(remaining) == 5 and {entry_owner(f) for f in remaining} == {"bob"}
    assert api.get("/workout/bob", headers=bearer(admin_key)).status_code == 200


def test_delete_also_removes_the_users_dead_letters(api, redis_client, admin_key) -> None:
    for user_id in ("alice", "bob"):
        original = encode(raw_records(user_id)[1])
        letter = DeadLetter(
            stream="fitness:events", entry_id="1-0", reason="test", fields=original, failed_ts=T0
        )
        redis_client.xadd("fitness:dlq", encode(letter))
    assert api.delete("/users/alice", headers=bearer(admin_key)).json()["removed"]["stream_entries"] == 1
    assert [entry_owner(f) for _, f in redis_client.xrange("fitness:dlq")] == ["bob"]


def test_deleting_an_unknown_user_removes_nothing(api, admin_key) -> None:
    removed = api.delete("/users/ghost", headers=bearer(admin_key)).json()["removed"]
    assert set(removed.values()) == {0}


def test_stream_entries_of_a_user_whose_id_is_a_prefix_of_another_are_kept(
    api, redis_client, admin_key
) -> None:
    publish_records(redis_client, raw_records("al") + raw_records("alice"))
    assert api.delete("/users/al", headers=bearer(admin_key)).json()["removed"]["stream_entries"] == 5
    assert redis_client.xlen("fitness:events") == 1
