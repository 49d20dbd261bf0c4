"""Which stream entries and index rows belong to a user: decoded records by ``user_id``, anything
that does not decode by the id as a whole token; the index rebuilt from its manifest."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from fitness_core.erasure import entry_names_user, entry_owner, mention_pattern
from fitness_core.report_index import (
    INDEX_FILE,
    MANIFEST_FILE,
    TEMPLATES,
    IndexEntry,
    IndexManifest,
    drop_user_rows,
    read_manifest,
    render_index,
    write_week_index,
)
from fitness_core.schemas import DeadLetter, Feedback, encode

T0 = datetime(2025, 3, 3, 20, tzinfo=UTC)
WEEK = "2025-03-03"


def feedback(user_id: str, note: str | None = None) -> dict[bytes, bytes]:
    record = Feedback(
        user_id=user_id,
        feedback_id=f"fb-{user_id}",
        feedback_ts=T0,
        mood=4,
        energy=3,
        perceived_exertion=5,
        note=note,
    )
    return {k.encode(): v.encode() for k, v in encode(record).items()}


def letter(fields: dict[str, str]) -> dict[bytes, bytes]:
    envelope = DeadLetter(
        stream="fitness:feedback", entry_id="1-0", reason="test", fields=fields, failed_ts=T0
    )
    return {k.encode(): v.encode() for k, v in encode(envelope).items()}


def names(fields: dict, user_id: str) -> bool:
    return entry_names_user(fields, user_id, mention_pattern(user_id))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("u1", True),
        ("owner=u1;", True),
        ('"u1"', True),
        ("u1 and more", True),
        ("u1/x", True),
        ("u12", False),
        ("xu1", False),
        ("u1.x", False),
        ("a:u1", False),
        ("u1-2", False),
        ("u_1", False),
    ],
)
def test_the_id_counts_only_as_a_whole_token(text: str, found: bool) -> None:
    assert bool(mention_pattern("u1").search(text.encode())) is found


def test_a_decoded_record_belongs_to_its_user_id_only() -> None:
    assert entry_owner(feedback("u1")) == "u1"
    assert names(feedback("u1"), "u1") and not names(feedback("u12"), "u1")
    assert not names(feedback("u12", note="ran with u1"), "u1")  # another person's record, kept


def test_a_dead_letter_belongs_to_the_user_of_its_original_record() -> None:
    original = {k.decode(): v.decode() for k, v in feedback("u1").items()}
    assert entry_owner(letter(original)) == "u1"
    assert names(letter(original), "u1") and not names(letter(original), "u12")


@pytest.mark.parametrize(
    "fields",
    [
        {"schema": "feedback/1", "data": '{"user_id": "u1", "mood": '},  # broken JSON
        {"schema": "feedback/1", "data": '{"user_id": "u1", "mood": 99}'},  # fails validation
        {"schema": "mystery/9", "data": "owner=u1;"},  # unknown schema
        {"data": "u1"},  # no schema
        {"schema": "feedback/1", "data": '{"user_id": "\\u0075\\u0031", "mood": '},  # escaped id
    ],
)
def test_an_entry_that_does_not_decode_belongs_to_every_user_it_names(fields: dict[str, str]) -> None:
    raw = {k.encode(): v.encode() for k, v in fields.items()}
    assert entry_owner(raw) is None
    assert names(raw, "u1") and not names(raw, "u12") and not names(raw, "u")
    assert names(letter(fields), "u1") and not names(letter(fields), "u12")  # and its dead letter


def test_an_escaped_id_in_a_valid_record_is_still_its_owner() -> None:
    raw = feedback("u1")
    raw[b"data"] = raw[b"data"].replace(b'"u1"', b'"\\u0075\\u0031"')
    assert names(raw, "u1")


# --- the index --------------------------------------------------------------------------------


def entry(user_id: str, high: int = 0) -> IndexEntry:
    return IndexEntry(user_id, f"{user_id}.html", "On track", {"high": high, "medium": 0, "low": 1})


def test_the_index_page_is_rendered_from_its_manifest(tmp_path: Path) -> None:
    manifest = IndexManifest(week=WEEK, generated_at=T0, entries=[entry("u1"), entry("u12", high=2)])
    page = write_week_index(tmp_path, manifest)
    assert read_manifest(page.parent / MANIFEST_FILE) == manifest
    assert page.read_text() == render_index(WEEK, manifest.entries, generated_at=T0)
    assert re.findall(r'<a href="([^"]+)">', page.read_text()) == ["u12.html", "u1.html"]


def test_dropping_a_users_rows_rewrites_every_week_and_only_their_rows(tmp_path: Path) -> None:
    for week in ("2025-02-24", WEEK):
        write_week_index(
            tmp_path, IndexManifest(week=week, generated_at=T0, entries=[entry("u1"), entry("u12")])
        )
    legacy = tmp_path / "reports" / "2025-02-17"
    legacy.mkdir(parents=True)
    (legacy / INDEX_FILE).write_text("<html>u1</html>")
    assert drop_user_rows(tmp_path, "u1") == (2, ["2025-02-17"])
    for week in ("2025-02-24", WEEK):
        folder = tmp_path / "reports" / week
        assert [e.user_id for e in read_manifest(folder / MANIFEST_FILE).entries] == ["u12"]
        page = (folder / INDEX_FILE).read_text()
        assert (
            re.findall(r'<a href="([^"]+)">', page) == ["u12.html"]
            and "Generated 2025-03-03 20:00 UTC" in page
        )
    assert drop_user_rows(tmp_path, "u1") == (0, ["2025-02-17"])


def test_a_manifest_that_is_not_one_leaves_the_week_to_the_caller(tmp_path: Path) -> None:
    folder = tmp_path / "reports" / WEEK
    folder.mkdir(parents=True)
    (folder / INDEX_FILE).write_text("<html></html>")
    (folder / MANIFEST_FILE).write_text(json.dumps({"week": WEEK, "entries": "nope"}))
    assert drop_user_rows(tmp_path, "u1") == (0, [WEEK])


def test_the_index_and_the_reports_share_one_stylesheet() -> None:
    reporting = Path(__file__).parents[2] / "fitness_assets" / "reporting" / "templates"
    assert (TEMPLATES / "_style.css.j2").exists() and not (reporting / "_style.css.j2").exists()
