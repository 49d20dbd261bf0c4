"""``fitness profile set|show`` against the real Redis, SecantusDB and storage writer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime

from fitness_core import store
from fitness_core.schemas import User, decode
from fitness_streaming.writer import WriterConfig, run_writer


def fitness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fitness_cli", "--log-level", "WARNING", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _drain(settings) -> int:
    stats = run_writer(settings, WriterConfig(drain=True, block_ms=100))
    assert stats.drained and stats.dead_lettered == 0
    return stats.stored_total


def test_set_then_drain_then_show_round_trips(settings, redis_client, mongo_db) -> None:
    result = fitness(
        "profile", "set", "--user-id", "gpx-1", "--age", "34", "--sex", "female", "--height-cm", "171",
        "--weight-kg", "64.5", "--resting-hr", "52", "--goal", "endurance", "--diet", "vegetarian",
        "--allergies", "peanut, shellfish", "--timezone", "Europe/Berlin",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("published profile of gpx-1 to fitness:users: ")
    entries = redis_client.xrange("fitness:users")
    assert len(entries) == 1
    record = decode(entries[0][1])
    assert isinstance(record, User)
    assert (record.birth_year, record.height_cm, record.weight_kg) == (datetime.now(UTC).year - 34, 171, 64.5)
    assert (record.hr_rest_bpm, record.goal, record.diet_preference) == (52, "endurance", "vegetarian")
    assert (record.allergies, record.timezone, record.source) == (
        ["peanut", "shellfish"],
        "Europe/Berlin",
        "manual",
    )

    assert _drain(settings) == 1
    shown = fitness("profile", "show", "--user-id", "gpx-1", "--json")
    assert shown.returncode == 0, shown.stderr
    stored = json.loads(shown.stdout)
    assert (stored["user_id"], stored["height_cm"], stored["weight_kg"]) == ("gpx-1", 171, 64.5)
    assert stored["allergies"] == ["peanut", "shellfish"] and stored["sex"] == "female"

    # A second set changes one field and keeps the rest; the newer profile wins in the store.
    again = fitness("profile", "set", "--user-id", "gpx-1", "--weight-kg", "63")
    assert again.returncode == 0, again.stderr
    assert _drain(settings) == 1
    document = mongo_db[store.USERS].find_one({"_id": "gpx-1"})
    assert (document["weight_kg"], document["height_cm"], document["goal"]) == (63, 171, "endurance")
    assert document["timezone"] == "Europe/Berlin" and document["hr_rest_bpm"] == 52
    text = fitness("profile", "show", "--user-id", "gpx-1")
    assert text.returncode == 0 and "weight_kg" in text.stdout and "63" in text.stdout


def test_impossible_values_are_one_line_naming_the_flag(settings, redis_client) -> None:
    base = ("profile", "set", "--user-id", "u1", "--birth-year", "1990", "--weight-kg", "70")
    for flags, named in (
        (("--height-cm", "20"), "--height-cm: "),
        (("--height-cm", "170", "--resting-hr", "5"), "--resting-hr: "),
        (("--height-cm", "170", "--timezone", "Mars/Olympus"), "--timezone: "),
    ):
        result = fitness(*base, *flags)
        assert result.returncode == 1
        assert result.stderr.startswith(f"fitness: error: {named}"), result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    bad_choice = fitness(*base, "--height-cm", "170", "--sex", "other")
    assert bad_choice.returncode == 2 and "--sex" in bad_choice.stderr
    assert redis_client.xlen("fitness:users") == 0


def test_missing_required_fields_name_the_flags_to_add(settings, redis_client, mongo_db) -> None:
    result = fitness("profile", "set", "--user-id", "fit-1", "--height-cm", "180")
    assert result.returncode == 2
    assert result.stderr == (
        "fitness: error: profile of 'fit-1' is incomplete: add --birth-year (or --age), --weight-kg\n"
    )
    assert redis_client.xlen("fitness:users") == 0

    # Stored fields count: with a stored profile, one flag is enough.
    mongo_db[store.USERS].insert_one(
        {"_id": "fit-1", "user_id": "fit-1", "birth_year": 1980, "height_cm": 175.0, "weight_kg": 80.0}
    )
    ok = fitness("profile", "set", "--user-id", "fit-1", "--weight-kg", "78")
    assert ok.returncode == 0, ok.stderr
    assert decode(redis_client.xrange("fitness:users")[0][1]).height_cm == 175


def test_show_of_an_unknown_user(settings, mongo_db) -> None:
    result = fitness("profile", "show", "--user-id", "nobody")
    assert result.returncode == 1
    assert result.stderr == "fitness: error: unknown user 'nobody': no profile stored\n"
