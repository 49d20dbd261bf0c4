"""The admin's report index: one week's rows from its stored manifest, searched and paged.

The rows come from ``reports/<week>/index.json`` (:mod:`fitness_core.report_index`, written by the
reporting assets), so the API lists exactly what was published without reading any report page.
The page is plain HTML: a GET form for the week and the user-id prefix, and links for the pages.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlencode

from fastapi import HTTPException, Request, status
from fastapi.security import HTTPBearer
from markupsafe import escape

from fitness_api.auth import Identity, identify
from fitness_api.deps import state_of
from fitness_core.report_index import (
    MANIFEST_FILE,
    REPORTS_FOLDER,
    IndexEntry,
    attention_order,
    read_manifest,
    week_folder,
)

PAGE_SIZE = 50


class AdminAccess(HTTPBearer):
    """Only an admin key passes (401 without a valid key, 403 for a user's key)."""

    async def __call__(self, request: Request) -> Identity:  # type: ignore[override]
        credentials = await super().__call__(request)
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "missing API key: send 'Authorization: Bearer <key>'", challenge
            )
        state = state_of(request)
        identity = await identify(state.db, state.keys, credentials.credentials)
        if identity is None:
            raise HTTPException(status.HTTP_401_UNAUTHORIZED, "invalid API key", challenge)
        if not identity.admin:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "this page needs an admin API key")
        return identity


def published_weeks(artifacts_dir: Path) -> list[str]:
    """The weeks with a stored manifest, newest first."""
    root = artifacts_dir / REPORTS_FOLDER
    if not root.is_dir():
        return []
    return sorted((p.parent.name for p in root.glob(f"*/{MANIFEST_FILE}")), reverse=True)


@dataclass(frozen=True)
class IndexPage:
    week: str
    weeks: list[str]
    q: str
    page: int
    pages: int
    total: int
    rows: list[IndexEntry]


def index_page(artifacts_dir: Path, week: str | None, q: str, page: int) -> IndexPage:
    """The rows of ``week`` (default: the newest) whose user id starts with ``q``, one page of them."""
    weeks = published_weeks(artifacts_dir)
    chosen = week or (weeks[0] if weeks else None)
    if chosen is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no report index has been published yet")
    path = week_folder(artifacts_dir, chosen) / MANIFEST_FILE
    if not path.is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no report index for week {chosen}")
    rows = sorted((e for e in read_manifest(path).entries if e.user_id.startswith(q)), key=attention_order)
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    if page > pages:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"page {page} is past the last page ({pages})")
    start = (page - 1) * PAGE_SIZE
    return IndexPage(chosen, weeks, q, page, pages, len(rows), rows[start : start + PAGE_SIZE])


def _link(week: str, q: str, page: int) -> str:
    return "/reports/index.html?" + urlencode({"week": week, "q": q, "page": page})


def render(p: IndexPage) -> str:
    """The page: the form, the table (most urgent first, as in the published index) and the pager."""
    options = "".join(
        f'<option value="{escape(w)}"{" selected" if w == p.week else ""}>{escape(w)}</option>'
        for w in p.weeks
    )
    rows = "".join(
        "<tr>"
        f'<td><a href="/reports/{quote(e.user_id)}/{escape(p.week)}.html">{escape(e.user_id)}</a></td>'
        f'<td><a href="/reports/{quote(e.user_id)}/history.html">history</a></td>'
        f"<td>{escape(e.status)}</td>" + "".join(f"<td>{n}</td>" for n in e.mix.values()) + "</tr>"
        for e in p.rows
    )
    priorities = "".join(f"<th>{escape(k)}</th>" for k in (p.rows[0].mix if p.rows else {}))
    pager = []
    if p.page > 1:
        pager.append(f'<a rel="prev" href="{escape(_link(p.week, p.q, p.page - 1))}">previous</a>')
    pager.append(f"page {p.page} of {p.pages}")
    if p.page < p.pages:
        pager.append(f'<a rel="next" href="{escape(_link(p.week, p.q, p.page + 1))}">next</a>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">'
        f"<title>Reports of week {escape(p.week)}</title>"
        "<style>body{font-family:system-ui,sans-serif;margin:2rem}td,th{padding:.2rem .6rem;text-align:left}"
        "</style></head><body>"
        f"<h1>Reports of week {escape(p.week)}</h1>"
        '<form method="get" action="/reports/index.html">'
        f'<label>Week <select name="week">{options}</select></label> '
        f'<label>User id starts with <input name="q" value="{escape(p.q)}"></label> '
        '<button type="submit">Search</button></form>'
        f"<p>{p.total} reports</p>"
        f"<table><thead><tr><th>user</th><th></th><th>status</th>{priorities}</tr></thead>"
        f"<tbody>{rows}</tbody></table>"
        f"<nav>{' '.join(pager)}</nav></body></html>"
    )
