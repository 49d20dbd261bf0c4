"""`fitness api` serves the app over real HTTP (uvicorn) and stops cleanly on SIGTERM."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from fitness_cli.services import free_port, wait_for_port

from .builders import bearer, workout_plan


def test_fitness_api_serves_plans_over_http(settings, mongo_db, admin_key, tmp_path: Path) -> None:
    mongo_db.plans.insert_one(workout_plan("u1"))
    port = free_port()
    log = tmp_path / "api.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "fitness_cli", "api", "--port", str(port)],
            env=os.environ.copy(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, server, "fitness api", log)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
            assert client.get("/").json() == {"msg": "AI Fitness & Nutrition API up."}
            assert client.get("/healthz").status_code == 200
            plan = client.get("/workout/u1", headers=bearer(admin_key))
            assert plan.status_code == 200 and plan.json()["user_id"] == "u1"
            again = client.get(
                "/workout/u1", headers={**bearer(admin_key), "If-None-Match": plan.headers["etag"]}
            )
            assert again.status_code == 304
            assert client.get("/docs").status_code == 200
    finally:
        server.terminate()
        server.wait(15)
    output = log.read_text()
    assert "Application shutdown complete" in output  # uvicorn then re-raises SIGTERM as its exit status
    assert admin_key not in output
