"""Authentication and access control: who may call what, and how keys are created and stored."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from fastapi.testclient import TestClient

from fitness_api.app import create_app
from fitness_api.auth import hash_key, key_document
from fitness_cli.services import free_port
from fitness_core.settings import Settings
from fitness_core.store import API_KEYS

from .builders import bearer, seed_user

# (method, path template, expected status for an authorized caller on a seeded user)
PROTECTED = [
    ("GET", "/workout/{u}", 200),
    ("GET", "/nutrition/{u}", 200),
    ("GET", "/plans/{u}/history", 200),
    ("GET", "/reports/{u}", 200),
    ("GET", "/reports/{u}/latest", 200),
    ("GET", "/reports/{u}/2024-03-04", 200),
    ("POST", "/feedback/{u}", 202),
    ("GET", "/users/{u}/export", 200),
    ("DELETE", "/users/{u}", 200),
]
FEEDBACK = {"energy": 3, "mood": 4, "perceived_exertion": 5}


@pytest.fixture
def seeded(mongo_db, settings) -> None:
    for user_id in ("alice", "bob"):
        seed_user(mongo_db, settings.artifacts_dir, user_id)


def _call(api: TestClient, method: str, path: str, headers: dict[str, str]):
    return api.request(
        method, path.format(u="alice"), headers=headers, json=FEEDBACK if method == "POST" else None
    )


@pytest.mark.parametrize(("method", "path", "ok"), PROTECTED)
def test_no_key_is_401_with_bearer_challenge(api, seeded, method, path, ok) -> None:
    response = _call(api, method, path, {})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "missing API key" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path", "ok"), PROTECTED)
def test_unknown_key_is_401(api, seeded, method, path, ok) -> None:
    response = _call(api, method, path, bearer("fk_not-a-real-key"))
    assert response.status_code == 401
    assert response.json() == {"detail": "invalid API key"}


@pytest.mark.parametrize(("method", "path", "ok"), PROTECTED)
def test_another_users_key_is_403(api, seeded, user_key, method, path, ok) -> None:
    response = _call(api, method, path, bearer(user_key("bob")))
    assert response.status_code == 403
    assert response.json() == {"detail": "this API key does not give access to that user"}


@pytest.mark.parametrize(("method", "path", "ok"), PROTECTED)
def test_the_users_own_key_is_allowed(api, seeded, user_key, method, path, ok) -> None:
    assert _call(api, method, path, bearer(user_key("alice"))).status_code == ok


@pytest.mark.parametrize(("method", "path", "ok"), PROTECTED)
def test_an_admin_key_reaches_every_user(api, seeded, admin_key, method, path, ok) -> None:
    assert _call(api, method, path, bearer(admin_key)).status_code == ok


def test_root_and_healthz_need_no_key(api) -> None:
    assert api.get("/").status_code == 200
    assert api.get("/healthz").status_code == 200


def test_keys_are_stored_only_as_sha256_hashes(mongo_db, user_key) -> None:
    key = user_key("alice")
    stored = mongo_db[API_KEYS].find_one({})
    assert stored["key_hash"] == hash_key(key) and len(stored["key_hash"]) == 64
    assert key not in str(stored)
    assert (stored["user_id"], stored["admin"]) == ("alice", False)


@pytest.mark.parametrize(("user_id", "admin"), [(None, False), ("alice", True)])
def test_a_key_is_either_for_one_user_or_admin(user_id, admin) -> None:
    with pytest.raises(ValueError, match="either bound to one user_id or an admin key"):
        key_document("h", user_id=user_id, admin=admin, label=None)


def test_a_key_for_an_invalid_user_id_is_refused() -> None:
    with pytest.raises(ValueError, match="invalid user id"):
        key_document("h", user_id="bad id/..", admin=False, label=None)


def test_deleted_users_keys_stop_working_at_once(api, seeded, user_key) -> None:
    key = user_key("alice")
    assert api.get("/workout/alice", headers=bearer(key)).status_code == 200
    assert api.delete("/users/alice", headers=bearer(key)).status_code == 200
    assert api.get("/workout/alice", headers=bearer(key)).status_code == 401


def test_keys_never_appear_in_logs(api, seeded, user_key, caplog) -> None:
    key = user_key("alice")
    with caplog.at_level("DEBUG"):
        api.get("/workout/alice", headers=bearer(key))
        api.post("/feedback/alice", json=FEEDBACK, headers=bearer(key))
        api.get("/workout/alice", headers=bearer("fk_wrong"))
    assert caplog.records, "the API logs its events"
    assert key not in caplog.text and "fk_wrong" not in caplog.text


def _fitness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fitness_cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )


def test_cli_creates_a_user_key_that_the_api_accepts(api, seeded, settings) -> None:
    created = _fitness("apikey", "create", "--user-id", "alice", "--label", "phone")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert "not shown again" in created.stderr
    assert api.get("/workout/alice", headers=bearer(key)).status_code == 200
    assert api.get("/workout/bob", headers=bearer(key)).status_code == 403


def test_cli_creates_an_admin_key(api, seeded) -> None:
    created = _fitness("apikey", "create", "--admin")
    assert created.returncode == 0, created.stderr
    assert api.get("/workout/bob", headers=bearer(created.stdout.strip())).status_code == 200


@pytest.mark.parametrize("args", [["--admin", "--user-id", "alice"], []])
def test_cli_needs_exactly_one_of_user_or_admin(settings, args) -> None:
    result = _fitness("apikey", "create", *args)
    assert result.returncode == 1
    assert result.stderr.strip() == "fitness: error: give exactly one of --user-id U or --admin"


def test_cli_refuses_an_invalid_user_id_in_one_line(settings) -> None:
    result = _fitness("apikey", "create", "--user-id", "no spaces")
    assert result.returncode == 1
    assert "invalid user id 'no spaces'" in result.stderr and "Traceback" not in result.stderr


def test_healthz_is_503_when_redis_is_down(settings) -> None:
    down = Settings.load(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(down)) as api:
        response = api.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "redis": False, "mongo": True}


def test_healthz_is_503_when_mongodb_is_down(settings) -> None:
    down = Settings.load(mongo_uri=f"mongodb://127.0.0.1:{free_port()}/")
    with TestClient(create_app(down)) as api:
        response = api.get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "redis": True, "mongo": False}


def test_requests_needing_an_unreachable_store_are_503_not_500(settings, admin_key) -> None:
    down = Settings.load(redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(down)) as api:
        response = api.get("/workout/alice", headers=bearer(admin_key))
    assert response.status_code == 503
    assert response.json() == {"detail": "Redis is unavailable, try again shortly"}
