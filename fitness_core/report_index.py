"""A week's report index: the rows as a JSON manifest, the page rendered from them.

Reporting writes ``reports/<week>/index.json`` (one row per report) and renders
``reports/<week>/index.html`` from it. Deleting a user rewrites the manifest without their row and
renders the page again, so the page never has to be edited as HTML. It lives in the shared kernel
because both the reporting assets and the API (which never imports them) write the index.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Literal, get_args
from urllib.parse import quote

import jinja2
from pydantic import BaseModel, ConfigDict

from fitness_core.plans import Priority

TEMPLATES = Path(__file__).parent / "templates"
INDEX_FILE = "index.html"
MANIFEST_FILE = "index.json"
REPORTS_FOLDER = "reports"
PRIORITIES: tuple[str, ...] = get_args(Priority)


@dataclass(frozen=True)
class IndexEntry:
    """One row of the index: who, where the report is (relative link), its status, counts per priority."""

    user_id: str
    href: str
    status: str
    mix: dict[str, int]


class IndexManifest(BaseModel):
    """``index.json``: everything the week's index page shows, and nothing else."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    week: str
    generated_at: datetime | None = None
    entries: list[IndexEntry]


def report_href(user_id: str) -> str:
    """The link from the index to a report page (the pages sit next to the index)."""
    return quote(f"{user_id}.html")


def priority_mix(priorities: Iterable[object]) -> dict[str, int]:
    """How many recommendations of each priority (every priority present, possibly 0)."""
    listed = list(priorities)
    return {p: listed.count(p) for p in PRIORITIES}


def week_label(monday: date) -> str:
    """ "Mon 3 Mar - Sun 9 Mar 2025" for the week starting on ``monday``."""
    end = monday + timedelta(days=6)
    return f"{monday:%a} {monday.day} {monday:%b} - {end:%a} {end.day} {end:%b %Y}"


@lru_cache(maxsize=1)
def template() -> jinja2.Template:
    """The index template, compiled once per process (autoescaped, strict about undefined names)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template(INDEX_FILE + ".j2")


def attention_order(entry: IndexEntry) -> tuple:
    """Most high-priority recommendations first, then medium, then low, then by user id."""
    return (*(-entry.mix[p] for p in PRIORITIES), entry.user_id)


def render_index(week: str, entries: Sequence[IndexEntry], *, generated_at: datetime | None = None) -> str:
    """The index page of a week, most urgent reports first."""
    return template().render(
        week_label=week_label(date.fromisoformat(week)),
        entries=sorted(entries, key=attention_order),
        mix={p: sum(e.mix[p] for e in entries) for p in PRIORITIES},
        generated_at=f"{generated_at:%Y-%m-%d %H:%M} UTC" if generated_at else None,
    )


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so readers see the old file or the new one, never a partial one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def week_folder(artifacts_dir: Path, week: str) -> Path:
    return artifacts_dir / REPORTS_FOLDER / week


def read_manifest(path: Path) -> IndexManifest:
    """A manifest file; raises ValueError (pydantic's) when it is not one."""
    return IndexManifest.model_validate_json(path.read_bytes())


def write_week_index(artifacts_dir: Path, manifest: IndexManifest) -> Path:
    """Write the manifest, then the page rendered from it (each atomically); returns the page's path."""
    folder = week_folder(artifacts_dir, manifest.week)
    body = manifest.model_dump(mode="json")
    write_text_atomic(folder / MANIFEST_FILE, json.dumps(body, ensure_ascii=False, indent=1) + "\n")
    page = folder / INDEX_FILE
    write_text_atomic(page, render_index(manifest.week, manifest.entries, generated_at=manifest.generated_at))
    return page


def drop_user_rows(artifacts_dir: Path, user_id: str) -> tuple[int, list[str]]:
    """Remove the user's row from every week's manifest and re-render those weeks' pages.

    Returns the rows removed and the weeks whose page has no manifest to rewrite (published before
    manifests existed, or with an unreadable one): the caller rebuilds those from what it stores.
    """
    removed, without_manifest = 0, []
    root = artifacts_dir / REPORTS_FOLDER
    for folder in sorted(p for p in root.glob("*") if p.is_dir()) if root.is_dir() else []:
        manifest_path = folder / MANIFEST_FILE
        try:
            manifest = read_manifest(manifest_path)
        except (OSError, ValueError):
            manifest = None
        if manifest is None or manifest.week != folder.name:
            if (folder / INDEX_FILE).is_file():
                without_manifest.append(folder.name)
            continue
        kept = [e for e in manifest.entries if e.user_id != user_id]
        if len(kept) != len(manifest.entries):
            removed += len(manifest.entries) - len(kept)
            write_week_index(artifacts_dir, manifest.model_copy(update={"entries": kept}))
    return removed, without_manifest
