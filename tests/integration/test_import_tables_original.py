"""The original tracker's exported tables through the real pipeline: ``fitness import --format tables``,
Redis Streams, the storage writer and MongoDB (SecantusDB), and no personal data anywhere on the way."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from fitness_cli.main import main
from fitness_core.schemas import STREAMS, User
from fitness_core.settings import Settings
from fitness_streaming.exporter import export_tables
from fitness_streaming.importers import import_path
from fitness_streaming.writer import WriterConfig, run_writer

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).parent.parent / "fixtures" / "tables_original"
DRAIN = WriterConfig(drain=True, block_ms=100, claim_idle_ms=500, backoff_base_s=0.05, backoff_cap_s=0.5)
SEX_REQUIRED = User.model_fields["sex"].is_required()
#: Every personal cell of the fixture users.csv (names, e-mails, sign-in providers, countries, the
#: referral code of the unknown column, full dates of birth): none may be published or stored.
PERSONAL = [
    "Ada Quill",
    "Bo Tern",
    "Cy Wren",
    "Dee Finch",
    "Eli Rook",
    "Fay Lark",
    "@example.org",
    "google",
    '"apple"',
    '"email"',
    '"GB"',
    '"US"',
    '"DE"',
    '"JP"',
    '"FR"',
    '"ES"',
    "SPRING24",
    "1990-05-17",
    "1985-11-02",
    "1979-02-28",
    "2001-07-09",
    "1995-03-12",
    "12/05/1992",
]


def leaks(text: str) -> list[str]:
    return [value for value in PERSONAL if value in text]


def test_the_original_tables_import_store_and_report_what_was_left_out(
    settings: Settings, redis_client: redis.Redis, mongo_db, tmp_path: Path
) -> None:
    result = CliRunner().invoke(main, ["import", str(FIXTURES), "--format", "tables", "--no-progress"])
    assert result.exit_code == 0, result.output
    users = 3 if SEX_REQUIRED else 5
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{users + 8} records published from 3 file(s) [tables]")
    assert (
        "  devices          4" in lines
        and "  sleep_sessions   4" in lines
        and f"  users            {users}" in lines
    )
    summary = "\n".join(lines)
    for expected in (
        "dropped columns user_name, email, auth_provider, country_code of users: personal data the platform "
        "does not store",
        "dropped column battery_pct of devices: a battery level at one moment, which the platform does not store",
        "dropped column avg_hr_bpm of sleep_sessions: the night's average heart rate is not the resting heart "
        "rate the platform stores",
        "unknown column 'referral_code' in users (ignored)",
        "users.csv line 7: row not imported (date_of_birth is not a YYYY-MM-DD date)",
        "devices.csv line 6: row not imported (last_seen_ts is not an ISO 8601 time)",
        "sleep_sessions.csv line 6: row not imported (sleep_stage_seq is not JSON)",
        "users rows with unknown goal_type 'run_a_marathon': goal left at the default 'health'",
        "devices rows with unknown device_type 'ring': stored as 'other'",
        "sleep_sessions rows with unknown stage 'nap' in sleep_stage_seq (its minutes are not counted)",
    ):
        assert f"  {expected}" in summary, expected
    if SEX_REQUIRED:
        assert "users.csv line 4: row not imported (gender 'prefer_not_to_say' gives no sex" in summary
        assert "users.csv line 5: row not imported (gender 'other' gives no sex" in summary

    entries = [
        {k.decode(): json.loads(v) if k == b"data" else v.decode() for k, v in fields.items()}
        for stream in STREAMS
        for _, fields in redis_client.xrange(stream)
    ]
    assert len(entries) == users + 8
    assert leaks(json.dumps(entries)) == []

    stats = run_writer(settings, DRAIN)
    assert stats.dead_lettered == 0
    stored = {
        name: {d["_id"]: d for d in mongo_db[name].find()} for name in ("users", "devices", "sleep_sessions")
    }
    assert leaks(json.dumps(stored, default=str)) == []
    assert not [
        d
        for docs in stored.values()
        for d in docs.values()
        if {
            "user_name",
            "email",
            "auth_provider",
            "country_code",
            "referral_code",
            "battery_pct",
            "avg_hr_bpm",
        }
        & d.keys()
    ]

    ada = stored["users"]["u1001"]
    assert {
        k: ada[k] for k in ("sex", "birth_year", "height_cm", "weight_kg", "hr_rest_bpm", "goal", "timezone")
    } == {
        "sex": "female",
        "birth_year": 1990,
        "height_cm": 168.0,
        "weight_kg": 71.5,
        "hr_rest_bpm": 62.0,
        "goal": "weight_loss",
        "timezone": "Europe/London",
    }
    assert ada["updated_ts"].replace(tzinfo=UTC) == datetime(2024, 1, 3, 9, 15, tzinfo=UTC)
    assert (stored["users"]["u1002"]["goal"], stored["users"]["u1005"]["goal"]) == ("health", "health")
    assert sorted(stored["users"]) == (
        ["u1001", "u1002", "u1005"] if SEX_REQUIRED else ["u1001", "u1002", "u1003", "u1004", "u1005"]
    )

    assert sorted(stored["devices"]) == ["d-2001", "d-2002", "d-2003", "d-2004"]
    watch = stored["devices"]["d-2001"]
    assert (watch["kind"], watch["firmware"], watch["updated_ts"].replace(tzinfo=UTC)) == (
        "watch",
        "19.18",
        datetime(2024, 3, 2, 6, 40, tzinfo=UTC),
    )
    assert stored["devices"]["d-2004"]["kind"] == "other"

    assert sorted(stored["sleep_sessions"]) == ["s-3001", "s-3002", "s-3003", "s-3004"]
    night = stored["sleep_sessions"]["s-3002"]  # naive times in the user's zone (America/New_York)
    assert night["sleep_stage_breakdown"] == {"light": 200.0, "deep": 90.0, "rem": 130.0, "awake": 30.0}
    assert (night["quality"], night["efficiency"], night["local_date"]) == (0.74, 0.88, "2024-03-02")
    assert night["start_ts"].replace(tzinfo=UTC) == datetime(2024, 3, 2, 4, 10, tzinfo=UTC)
    assert stored["sleep_sessions"]["s-3001"]["sleep_stage_breakdown"] == {
        "light": 235.0,
        "deep": 75.0,
        "rem": 150.0,
        "awake": 20.0,
    }

    # What was stored exports in the platform's own layout, which reads back without a remark.
    export_tables(mongo_db, tmp_path / "export", "csv")
    again = import_path(tmp_path / "export", None, fmt="tables")
    assert not again.skipped and again.records == {"users": users, "devices": 4, "sleep_sessions": 4}


def test_importing_the_original_tables_twice_stores_nothing_new(
    settings: Settings, redis_client: redis.Redis, mongo_db
) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(main, ["import", str(FIXTURES), "--format", "tables", "--no-progress"])
        assert result.exit_code == 0, result.output
    stats = run_writer(settings, DRAIN)
    users = 3 if SEX_REQUIRED else 5
    assert stats.stored_total == users + 8 and stats.already_stored == users + 8
