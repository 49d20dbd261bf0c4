"""fitness_assets.documents against the real MongoDB-protocol server: the replace-a-week write and
inserting versions that may already be stored."""

from __future__ import annotations

import pytest

from fitness_assets.documents import insert_absent, replace_week

pytestmark = pytest.mark.integration
WEEK = "2025-03-03"


def doc(user: str, digest: str, week: str = WEEK) -> dict:
    return {"_id": f"{week}:{user}", "week": week, "user_id": user, "provenance": {"inputs_hash": digest}}


def test_replacing_a_week_writes_only_what_changed_and_drops_who_left(mongo_db):
    collection = mongo_db.weekly_test
    collection.insert_one(doc("other", "x", week="2025-03-10"))  # another week is never touched
    first = replace_week(collection, WEEK, [doc("a", "1"), doc("b", "1"), doc("c", "1")])
    assert (first.inserted, first.replaced, first.unchanged, first.deleted, first.written) == (3, 0, 0, 0, 3)
    collection.update_one({"_id": f"{WEEK}:a"}, {"$set": {"marker": True}})
    again = replace_week(collection, WEEK, [doc("a", "1"), doc("b", "2"), doc("d", "1")])
    assert (again.inserted, again.replaced, again.unchanged, again.deleted) == (1, 1, 1, 1)
    assert collection.find_one({"_id": f"{WEEK}:a"})["marker"] is True  # unchanged: not rewritten
    assert collection.find_one({"_id": f"{WEEK}:b"})["provenance"] == {"inputs_hash": "2"}
    assert sorted(d["user_id"] for d in collection.find({"week": WEEK})) == ["a", "b", "d"]
    assert collection.count_documents({"week": "2025-03-10"}) == 1


def test_inserting_versions_leaves_stored_ones_and_names_them(mongo_db):
    collection = mongo_db.versions_test
    assert insert_absent(collection, []) == []
    assert insert_absent(collection, [{"_id": "v1", "n": 1}]) == []
    assert insert_absent(collection, [{"_id": "v0"}, {"_id": "v1", "n": 2}, {"_id": "v2"}]) == [1]
    assert collection.find_one({"_id": "v1"})["n"] == 1
    assert collection.count_documents({}) == 3
