"""A user's data: export everything (JSON or zip), or delete it everywhere."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from starlette.concurrency import run_in_threadpool

from fitness_api.deps import PROTECTED_ERRORS, State, UserAllowed
from fitness_api.models import DeletionReport, UserExport, UserId
from fitness_api.userdata import delete_user, dumps, export_document, export_zip, user_documents

log = logging.getLogger(__name__)
router = APIRouter(tags=["users"])

EXPORT_RESPONSES = {
    200: {
        "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        "description": "every stored record of the user (JSON by default, zip with ?format=zip)",
    },
    **PROTECTED_ERRORS,
}


@router.get(
    "/users/{user_id}/export",
    response_model=UserExport,
    responses=EXPORT_RESPONSES,
    summary="Download every stored record of the user",
)
async def export_user(
    state: State,
    user_id: UserId,
    _access: UserAllowed,
    export_format: Annotated[Literal["json", "zip"], Query(alias="format")] = "json",
) -> Response:
    """Raw records, weekly features, contexts, prescriptions, plans and the report index."""
    exported_at = datetime.now(UTC)
    export = export_document(user_id, await user_documents(state.db, user_id), exported_at)
    stamp = exported_at.strftime("%Y%m%dT%H%M%SZ")
    log.info(
        "user exported",
        extra={"user_id": user_id, "format": export_format, "documents": sum(export["counts"].values())},
    )
    if export_format == "zip":
        content = await run_in_threadpool(export_zip, export, state.settings.artifacts_dir)
        media_type = "application/zip"
    else:
        content = await run_in_threadpool(dumps, export)
        media_type = "application/json"
    disposition = f'attachment; filename="{user_id}-{stamp}.{export_format}"'
    return Response(content=content, media_type=media_type, headers={"Content-Disposition": disposition})


@router.delete(
    "/users/{user_id}",
    response_model=DeletionReport,
    responses=PROTECTED_ERRORS,
    summary="Delete the user everywhere",
)
async def remove_user(state: State, user_id: UserId, _access: UserAllowed) -> DeletionReport:
    """Documents, report pages and index rows, stream entries and dead letters, cached plans."""
    removed = await delete_user(state.db, state.redis, state.settings.artifacts_dir, user_id)
    state.keys.forget_user(user_id)
    state.plans.forget_user(user_id)
    return DeletionReport(user_id=user_id, removed=removed)
