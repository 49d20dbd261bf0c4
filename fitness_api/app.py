"""The FastAPI application: ``create_app(settings)`` and ``serve`` (uvicorn, uvloop, httptools).

Requests the API refuses never become a 500: bodies over 16 KiB get 413, heads over 16 KiB 431
(``limits``, and in the server itself, ``protocol``), invalid input a 422 that is always valid JSON
(``errors``), an unreachable store 503.

The API only serves what the asset graph materialized, plus feedback into the stream. One MongoDB
client and one Redis pool per process, opened in the lifespan and closed at shutdown.

The docs pages (``/docs``, ``/redoc``) load Swagger UI and ReDoc from the assets the fastapi-offline
package ships, served by the API itself: they work without internet and fetch nothing from a CDN
(:mod:`fitness_api.docs`).
Prometheus metrics are at ``/metrics`` (:mod:`fitness_api.metrics`).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pymongo.errors
import redis.asyncio as aioredis
import redis.exceptions
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi_offline import FastAPIOffline
from pymongo import AsyncMongoClient

from fitness_api.cache import PLAN_MEMO_TTL_S, PlanMemo
from fitness_api.deps import AppState
from fitness_api.docs import DOCS_ASSETS, add_docs_pages
from fitness_api.errors import validation_error
from fitness_api.limits import MAX_BODY_BYTES, MAX_HEADER_BYTES, BodySizeLimit, HeaderSizeLimit
from fitness_api.metrics import RequestMetrics, exposition
from fitness_api.routes import feedback, meta, plans, profile, reports, users
from fitness_core.settings import Settings

log = logging.getLogger(__name__)

STORE_TIMEOUT_MS = 2000
TITLE = "AI Fitness & Nutrition API"


def open_state(settings: Settings, plan_memo_ttl_s: float = PLAN_MEMO_TTL_S) -> AppState:
    """The process-wide clients, with short timeouts so an outage answers 503 rather than hangs."""
    mongo: AsyncMongoClient = AsyncMongoClient(
        settings.mongo_uri,
        tz_aware=True,
        serverSelectionTimeoutMS=STORE_TIMEOUT_MS,
        connectTimeoutMS=STORE_TIMEOUT_MS,
        appname="fitness-api",
    )
    redis_client = aioredis.Redis.from_url(
        settings.redis_dsn,
        socket_timeout=STORE_TIMEOUT_MS / 1000,
        socket_connect_timeout=STORE_TIMEOUT_MS / 1000,
    )
    return AppState(settings=settings, mongo=mongo, redis=redis_client, plans=PlanMemo(plan_memo_ttl_s))


async def _store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    store = "MongoDB" if isinstance(exc, pymongo.errors.PyMongoError) else "Redis"
    log.warning(
        "store unavailable", extra={"store": store, "path": request.url.path, "error": type(exc).__name__}
    )
    return JSONResponse(
        {"detail": f"{store} is unavailable, try again shortly"}, status.HTTP_503_SERVICE_UNAVAILABLE
    )


def create_app(
    settings: Settings | None = None,
    *,
    max_body_bytes: int = MAX_BODY_BYTES,
    plan_memo_ttl_s: float = PLAN_MEMO_TTL_S,
) -> FastAPI:
    """A new application bound to ``settings`` (default: from the environment).

    ``plan_memo_ttl_s`` bounds how long this process serves a plan from memory (0: always Redis).
    """
    settings = settings or Settings.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.fitness = open_state(settings, plan_memo_ttl_s)
        try:
            yield
        finally:
            await app.state.fitness.redis.aclose()
            await app.state.fitness.mongo.close()

    app = FastAPIOffline(
        title=TITLE,
        version="1.0.0",
        summary="Materialized workout and nutrition plans, weekly reports, feedback, data export and deletion.",
        lifespan=lifespan,
        docs_url=None,  # FastAPIOffline then only mounts its bundled assets; the pages are ours
        redoc_url=None,
        static_url=DOCS_ASSETS,
    )
    add_docs_pages(app)
    for error in (
        pymongo.errors.ConnectionFailure,
        redis.exceptions.ConnectionError,
        redis.exceptions.TimeoutError,
    ):
        app.add_exception_handler(error, _store_unavailable)
    app.add_exception_handler(RequestValidationError, validation_error)
    for module in (meta, plans, reports, feedback, users, profile):
        app.include_router(module.router)
    app.add_api_route("/metrics", _metrics, include_in_schema=False)
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.add_middleware(HeaderSizeLimit, max_bytes=MAX_HEADER_BYTES)  # checked before the body limit
    app.add_middleware(RequestMetrics)  # outermost: times every request, refused ones included
    return app


async def _metrics() -> Response:
    """Prometheus scrape endpoint: request, plan-lookup and process metrics (no personal data)."""
    body, content_type = exposition()
    return Response(body, media_type=content_type)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory fitness_api.app:app_from_env``."""
    return create_app(Settings.load())


def serve(
    settings: Settings,
    host: str = "127.0.0.1",
    port: int | None = None,
    *,
    plan_memo_ttl_s: float = PLAN_MEMO_TTL_S,
    access_log: bool = False,
) -> None:
    """Run the API with uvicorn (one worker; run more processes behind a proxy to scale)."""
    import uvicorn

    from fitness_api.protocol import HeadLimitedHttpToolsProtocol

    log.info(
        "api starting", extra={"host": host, "port": port or settings.port, "plan_memo_s": plan_memo_ttl_s}
    )
    uvicorn.run(
        create_app(settings, plan_memo_ttl_s=plan_memo_ttl_s),
        host=host,
        port=port or settings.port,
        loop="uvloop",
        http=HeadLimitedHttpToolsProtocol,  # httptools, plus the 431 bound on request heads
        access_log=access_log,
        log_config=None,
        server_header=False,
    )
