"""Weekly HTML reports: the index, the latest one, one week's, the history page and the admin index.

The ``.html`` paths are declared before ``/reports/{user_id}`` and ``/reports/{user_id}/{week}`` so
``index.html``, ``latest.html`` and ``history.html`` are never read as a user id or a week.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from fastapi.responses import HTMLResponse
from starlette.concurrency import run_in_threadpool

from fitness_api import history, report_admin
from fitness_api.artifacts import report_file
from fitness_api.auth import Identity
from fitness_api.cache import etag_matches, not_modified, tagged
from fitness_api.deps import (
    NOT_FOUND,
    NOT_MODIFIED,
    PROTECTED_ERRORS,
    AppState,
    State,
    UserAllowed,
    as_json_content,
)
from fitness_api.models import IfNoneMatch, ReportIndex, UserId, Week
from fitness_core.plan_cache import etag_of
from fitness_core.store import PRESCRIPTIONS, REPORTS, USER_CONTEXTS, WEEKLY_FEATURES

router = APIRouter(tags=["reports"])

HTML = "text/html; charset=utf-8"
REPORT_RESPONSES = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "the report page"},
    **as_json_content({**PROTECTED_ERRORS, **NOT_FOUND, **NOT_MODIFIED}),
}
NEWEST_WEEK_FIRST = [("week", -1), ("created_at", -1), ("_id", -1)]


def report_etag(document: dict[str, Any], size: int, mtime_ns: int) -> str:
    """ETag of a report version: its id, creation time and the file's size and mtime."""
    return etag_of(f"{document['_id']}|{document.get('created_at')}|{size}|{mtime_ns}".encode())


async def _report_response(
    state: AppState, query: dict[str, Any], not_found: str, if_none_match: str | None
) -> Response:
    document = await state.db[REPORTS].find_one(query, sort=NEWEST_WEEK_FIRST)
    if document is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, not_found)
    path = report_file(state.settings.artifacts_dir, str(document.get("path", "")))
    stat = await run_in_threadpool(lambda: path.stat() if path is not None and path.is_file() else None)
    if path is None or stat is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"the report file of week {document.get('week')} is missing from the artifact store",
        )
    etag = report_etag(document, stat.st_size, stat.st_mtime_ns)
    if etag_matches(if_none_match, etag):
        return not_modified(etag)
    return tagged(await run_in_threadpool(path.read_bytes), etag, HTML)


AdminOnly = Annotated[
    Identity,
    Depends(
        report_admin.AdminAccess(
            auto_error=False, scheme_name="ApiKey", description="An API key: `Authorization: Bearer <key>`"
        )
    ),
]
HISTORY_FIELDS = {
    "week": 1,
    "steps": 1,
    "active_minutes": 1,
    "workouts.minutes": 1,
    "load": 1,
    "coverage": 1,
    "sleep.mean_asleep_min": 1,
    "sleep.resting_hr_bpm": 1,
    "sleep.hrv_rmssd_ms": 1,
}


@router.get(
    "/reports/index.html",
    response_class=HTMLResponse,
    responses=as_json_content({**PROTECTED_ERRORS, 404: {**NOT_FOUND[404], "description": "no such index"}}),
    summary="The week's report index (admin): search by user-id prefix, paged",
)
async def admin_index(
    state: State,
    _admin: AdminOnly,
    week: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$", description="default: newest")] = None,
    q: Annotated[str, Query(max_length=128, description="user-id prefix")] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    """The rows of the week's stored manifest (most urgent first), 50 per page, with links to the pages."""
    found = await run_in_threadpool(report_admin.index_page, state.settings.artifacts_dir, week, q, page)
    return HTMLResponse(report_admin.render(found))


@router.get(
    "/reports/{user_id}/history.html",
    response_class=HTMLResponse,
    responses=as_json_content({**PROTECTED_ERRORS, **NOT_FOUND}),
    summary="The user's trends over every stored week (inline SVG charts)",
)
async def history_page(state: State, user_id: UserId, _access: UserAllowed) -> HTMLResponse:
    """Steps, active minutes, load and ACWR, sleep, resting HR and HRV per week, with the stored
    targets (steps goal, planned minutes); gaps where there is no data."""
    features = await state.db[WEEKLY_FEATURES].find({"user_id": user_id}, HISTORY_FIELDS).to_list()
    contexts = (
        await state.db[USER_CONTEXTS]
        .find({"user_id": user_id}, {"week": 1, "profile.steps_goal": 1})
        .to_list()
    )
    if not features and not contexts:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no stored weeks for user {user_id!r}")
    planned = (
        await state.db[PRESCRIPTIONS].find({"user_id": user_id}, {"week": 1, "weekly_minutes": 1}).to_list()
    )
    return HTMLResponse(history.render(user_id, history.trends(features, contexts, planned)))


@router.get(
    "/reports/{user_id}/latest.html",
    response_class=HTMLResponse,
    responses=REPORT_RESPONSES,
    summary="The latest weekly HTML report (same as /latest)",
)
async def latest_report_html(
    state: State, user_id: UserId, _access: UserAllowed, if_none_match: IfNoneMatch = None
) -> Response:
    """The newest week's report page, with an ETag."""
    return await latest_report(state, user_id, _access, if_none_match)


@router.get(
    "/reports/{user_id}/{week}.html",
    response_class=HTMLResponse,
    responses=REPORT_RESPONSES,
    summary="One week's HTML report (same as /{week})",
)
async def weekly_report_html(
    state: State, user_id: UserId, _access: UserAllowed, week: Week, if_none_match: IfNoneMatch = None
) -> Response:
    """The report of the week starting on ``week`` (a Monday), with an ETag."""
    return await weekly_report(state, user_id, _access, week, if_none_match)


@router.get(
    "/reports/{user_id}",
    response_model=ReportIndex,
    responses=PROTECTED_ERRORS,
    summary="The user's reports, newest week first",
)
async def report_index(state: State, user_id: UserId, _access: UserAllowed) -> dict[str, Any]:
    """Every stored report version (status line and recommendations; the HTML via the week)."""
    return {"items": await state.db[REPORTS].find({"user_id": user_id}, sort=NEWEST_WEEK_FIRST).to_list()}


@router.get(
    "/reports/{user_id}/latest",
    response_class=HTMLResponse,
    responses=REPORT_RESPONSES,
    summary="The latest weekly HTML report",
)
async def latest_report(
    state: State, user_id: UserId, _access: UserAllowed, if_none_match: IfNoneMatch = None
) -> Response:
    """The newest week's report page, with an ETag."""
    return await _report_response(
        state, {"user_id": user_id}, f"no report for user {user_id!r} yet", if_none_match
    )


@router.get(
    "/reports/{user_id}/{week}",
    response_class=HTMLResponse,
    responses=REPORT_RESPONSES,
    summary="One week's HTML report",
)
async def weekly_report(
    state: State, user_id: UserId, _access: UserAllowed, week: Week, if_none_match: IfNoneMatch = None
) -> Response:
    """The report of the week starting on ``week`` (a Monday), with an ETag."""
    return await _report_response(
        state,
        {"user_id": user_id, "week": week},
        f"no report for user {user_id!r} and week {week}",
        if_none_match,
    )
