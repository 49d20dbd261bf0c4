"""API test fixtures: the app on the test's Redis and MongoDB, and API keys."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient

from fitness_api.app import create_app
from fitness_api.auth import create_api_key
from fitness_core.settings import Settings


@pytest.fixture
def api(settings: Settings) -> Iterator[TestClient]:
    """The API, lifespan included, bound to this test's stores."""
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def api_without_memo(settings: Settings) -> Iterator[TestClient]:
    """The API answering every plan lookup from Redis (or MongoDB), never from process memory."""
    with TestClient(create_app(settings, plan_memo_ttl_s=0)) as client:
        yield client


@pytest.fixture
def admin_key(mongo_db) -> str:
    return create_api_key(mongo_db, admin=True, label="tests")


@pytest.fixture
def user_key(mongo_db) -> Callable[[str], str]:
    """A new key bound to the given user."""
    return lambda user_id: create_api_key(mongo_db, user_id=user_id)
