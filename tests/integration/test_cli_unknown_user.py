"""A command asked about a user the store has never seen says so in one line (real MongoDB)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fitness_core import store


def fitness(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "fitness_cli", "--log-level", "WARNING", *args],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize("command", [("report",), ("export", "OUT")])
def test_an_unknown_user_is_named_as_such(
    settings, mongo_db, tmp_path: Path, command: tuple[str, ...]
) -> None:
    mongo_db[store.USERS].insert_one({"_id": "u-known", "user_id": "u-known"})
    args = [str(tmp_path / "out") if a == "OUT" else a for a in command]
    result = fitness(*args, "--user-id", "nope")
    assert result.returncode == 1
    assert result.stderr == "fitness: error: unknown user 'nope': no profile or records stored for this id\n"
    assert not (tmp_path / "out").exists()


def test_a_user_with_records_but_no_features_gets_the_features_message(settings, mongo_db) -> None:
    mongo_db[store.FITNESS_EVENTS].insert_one({"_id": "e1", "user_id": "u-raw", "week": "2025-03-03"})
    result = fitness("report", "--user-id", "u-raw")
    assert result.returncode == 1 and "unknown user" not in result.stderr
    assert "no weekly features stored for user 'u-raw'" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
