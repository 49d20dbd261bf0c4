"""Prometheus metrics of the API, served at ``/metrics`` (prometheus-client's default registry).

Requests are timed by one pure-ASGI middleware, labelled by the route *template* the router matched
(``/workout/{user_id}``, never the user id itself), so the label set stays small and carries no
personal data; paths no route matches share the label ``unmatched``. The histogram's ``_count`` is
the request count. Plan lookups count which tier answered them (process memo, Redis, MongoDB).

The plan lookups are the benchmarked hot path, so the middleware keeps its cost to a clock read,
one dict lookup for the labelled child and one ``observe``; the plan counters are pre-labelled.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)

from fitness_api.docs import DOCS_ASSETS

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

UNMATCHED = "unmatched"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
#: Latency buckets in seconds: a memo hit answers in well under a millisecond, MongoDB in a few.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUEST_SECONDS = Histogram(
    "fitness_api_request_duration_seconds",
    "Time from request to the end of the response, by method, route template and status code",
    ["method", "route", "status"],
    buckets=BUCKETS,
)
PLAN_LOOKUPS = Counter(
    "fitness_api_plan_lookups",
    "Latest-plan lookups by the tier that answered: memo (this process), redis (shared cache), "
    "mongodb (cache miss, read from the store and cached), none (no plan stored)",
    ["source"],
)
PLAN_FROM_MEMO = PLAN_LOOKUPS.labels("memo")
PLAN_FROM_REDIS = PLAN_LOOKUPS.labels("redis")
PLAN_FROM_MONGODB = PLAN_LOOKUPS.labels("mongodb")
PLAN_NOT_FOUND = PLAN_LOOKUPS.labels("none")


class RequestMetrics:
    """ASGI middleware timing every HTTP request into :data:`REQUEST_SECONDS`.

    Outermost, so requests refused before routing (413, 431) are counted too; an exception that
    escapes the app is counted as a 500 (Starlette's error middleware answers it so).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def send_and_note_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_and_note_status)
        finally:
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or _unrouted(scope["path"])
            method = scope["method"] if scope["method"] in METHODS else "other"
            key = (method, route, status)
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = REQUEST_SECONDS.labels(method, route, str(status))
            child.observe(elapsed)


def _unrouted(path: str) -> str:
    """The label of a request no API route answered: the docs assets (a mount, which leaves no route
    in the scope), or anything else."""
    return DOCS_ASSETS if path.startswith(DOCS_ASSETS + "/") else UNMATCHED


def exposition(registry: CollectorRegistry = REGISTRY) -> tuple[bytes, str]:
    """The registry in the Prometheus text format, and its content type."""
    return generate_latest(registry), CONTENT_TYPE_LATEST
