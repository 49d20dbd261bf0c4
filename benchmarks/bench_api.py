"""Plans API under load: plan lookups for random users vs the trivial ``GET /`` of the same server.

Starts its own SecantusDB and Redis, seeds users with a workout and a nutrition plan and one API key
each, fills the plan cache with ``refresh_plan_cache`` (timed), then serves the API with ``fitness
api`` (uvicorn, uvloop, httptools, one worker) in its own process and asks for every user's plans
once (steady state: keys and plans cached in the process). A load generator in another
process (``wrk`` when installed, else a small asyncio client) holds a fixed number of keep-alive
connections on loopback, alternating in rounds between ``GET /`` (the ceiling) and ``GET /workout/{u}``
or ``GET /nutrition/{u}`` for random users with each user's own key, so both see the same machine
load. Reported: requests/s, p50 (median of rounds) and p99 (worst round) latency, non-2xx count,
the server's CPU time per request, and the plans/ceiling ratio (median over rounds) against the
targets (>= 0.5, p99 < 50 ms). On a shared machine the CPU-per-request ratio is the steadier one. The full
run repeats this on a second server with ``--plan-memo-s 0``, where every lookup asks Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import multiprocessing
import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import pymongo
import redis

from fitness_api.auth import hash_key, key_document
from fitness_cli import services
from fitness_core.plan_cache import refresh_plan_cache
from fitness_core.store import API_KEYS, PLANS, ensure_indexes
from tests.integration.test_api.builders import nutrition_plan, workout_plan

CONNECTIONS = 32
TARGET_RATIO = 0.5
TARGET_P99_MS = 50.0

WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('\\nRESULT {"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,'
    .. '"p50_us":%d,"p99_us":%d}\\n', summary.requests, summary.duration, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
"""


def seed(db: pymongo.database.Database, users: int) -> list[tuple[str, str]]:
    """Users with two plans each and their own API key; returns (user_id, key) pairs."""
    ensure_indexes(db)
    pairs = [(f"u-{i:05d}", "fk_" + secrets.token_urlsafe(32)) for i in range(users)]
    for start in range(0, users, 500):
        chunk = pairs[start : start + 500]
        db[PLANS].insert_many(
            [doc for user_id, _ in chunk for doc in (workout_plan(user_id), nutrition_plan(user_id))]
        )
        db[API_KEYS].insert_many(
            [key_document(hash_key(key), user_id=u, admin=False, label="bench") for u, key in chunk]
        )
    return pairs


def wrk_script(pairs: list[tuple[str, str]] | None) -> str:
    """Lua for wrk: random user and plan type per request (or plain GET /), JSON summary at the end."""
    if pairs is None:
        return WRK_DONE
    table = ",".join(f'{{"{u}","Bearer {k}"}}' for u, k in pairs)
    return (
        f"""
local users = {{{table}}}
local kinds = {{"/workout/", "/nutrition/"}}
request = function()
  local u = users[math.random(#users)]
  return wrk.format("GET", kinds[math.random(2)] .. u[1], {{["Authorization"] = u[2]}})
end
"""
        + WRK_DONE
    )


def run_wrk(
    base_url: str, pairs: list[tuple[str, str]] | None, seconds: float, workdir: Path
) -> dict[str, Any]:
    script = workdir / ("plans.lua" if pairs else "root.lua")
    script.write_text(wrk_script(pairs))
    out = subprocess.run(
        ["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "-s", str(script), base_url + "/"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    ).stdout
    raw = json.loads(out.split("RESULT ", 1)[1].splitlines()[0])
    return summarize(
        raw["requests"],
        raw["duration_us"] / 1e6,
        raw["p50_us"] / 1000,
        raw["p99_us"] / 1000,
        raw["non_2xx"] + raw["socket_errors"],
    )


def combine(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one endpoint: overall req/s, median p50, worst p99, all errors, server CPU per request."""
    seconds = sum(r["requests"] / r["req_per_s"] for r in runs)
    requests = sum(r["requests"] for r in runs)
    combined = summarize(
        requests,
        seconds,
        statistics.median(r["p50_ms"] for r in runs),
        max(r["p99_ms"] for r in runs),
        sum(r["errors"] for r in runs),
    )
    combined["server_cpu_us_per_request"] = round(sum(r["server_cpu_s"] for r in runs) / requests * 1e6, 1)
    return combined


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def summarize(requests: int, seconds: float, p50_ms: float, p99_ms: float, errors: int) -> dict[str, Any]:
    return {
        "requests": requests,
        "req_per_s": round(requests / seconds, 1),
        "p50_ms": round(p50_ms, 2),
        "p99_ms": round(p99_ms, 2),
        "errors": errors,
    }


async def _python_connection(
    port: int, targets: list[tuple[str, str | None]], until: float, latencies: list[float], errors: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < until:
            path, auth = random.choice(targets)
            head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n" + (
                f"Authorization: {auth}\r\n" if auth else ""
            )
            started = time.perf_counter()
            writer.write((head + "\r\n").encode())
            headers = await reader.readuntil(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in headers.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not headers.startswith(b"HTTP/1.1 2"):
                errors[0] += 1
    finally:
        writer.close()


def _python_worker(port: int, targets: list[tuple[str, str | None]], seconds: float, queue: Any) -> None:
    latencies: list[float] = []
    errors = [0]

    async def main() -> None:
        until = time.perf_counter() + seconds
        await asyncio.gather(
            *(_python_connection(port, targets, until, latencies, errors) for _ in range(CONNECTIONS))
        )

    started = time.perf_counter()
    asyncio.run(main())
    queue.put((latencies, errors[0], time.perf_counter() - started))


def run_python(port: int, pairs: list[tuple[str, str]] | None, seconds: float) -> dict[str, Any]:
    """The fallback load generator: one asyncio process with the same number of connections."""
    targets: list[tuple[str, str | None]] = (
        [("/", None)]
        if pairs is None
        else [(f"/{kind}/{u}", f"Bearer {k}") for u, k in pairs for kind in ("workout", "nutrition")]
    )
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_python_worker, args=(port, targets, seconds, queue))
    process.start()
    latencies, errors, elapsed = queue.get(timeout=seconds + 60)
    process.join()
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000

    return summarize(len(latencies), elapsed, pct(0.50), pct(0.99), errors)


def start_api(env: dict[str, str], port: int, log: Path, plan_memo_s: float) -> subprocess.Popen:
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "fitness_cli",
                "--log-level",
                "WARNING",
                "api",
                "--port",
                str(port),
                "--plan-memo-s",
                str(plan_memo_s),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    services.wait_for_port(port, proc, "fitness api", log, timeout=60)
    return proc


def warm_up(port: int, pairs: list[tuple[str, str]]) -> None:
    """Every user's two plans once, so the measured rounds see the steady state (keys and plans cached)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for user_id, key in pairs:
        for kind in ("workout", "nutrition"):
            connection.request("GET", f"/{kind}/{user_id}", headers={"Authorization": f"Bearer {key}"})
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"warm-up GET /{kind}/{user_id} answered {response.status}")
    connection.close()


def measure_server(
    env: dict[str, str],
    pairs: list[tuple[str, str]],
    plan_memo_s: float,
    n_rounds: int,
    seconds: float,
    workdir: Path,
) -> dict[str, Any]:
    """Alternating rounds of GET / and plan lookups against one fresh API process."""
    port = services.free_port()
    api = start_api(env, port, workdir / f"api-{port}.log", plan_memo_s)
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10).read()
        warm_up(port, pairs)

        def measure(target: list[tuple[str, str]] | None) -> dict[str, Any]:
            cpu_before = process_cpu_s(api.pid)
            if shutil.which("wrk"):
                result = run_wrk(f"http://127.0.0.1:{port}", target, seconds, workdir)
            else:
                result = run_python(port, target, seconds)
            result["server_cpu_s"] = process_cpu_s(api.pid) - cpu_before
            return result

        rounds = [(measure(None), measure(pairs)) for _ in range(n_rounds)]
    finally:
        api.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            api.wait(15)
    root, plans = combine([r for r, _ in rounds]), combine([p for _, p in rounds])
    ratio = statistics.median(p["req_per_s"] / r["req_per_s"] for r, p in rounds)
    return {
        "plan_memo_s": plan_memo_s,
        "root": root,
        "plans": plans,
        "plans_vs_root": round(ratio, 3),
        "plans_vs_root_by_server_cpu": round(
            root["server_cpu_us_per_request"] / plans["server_cpu_us_per_request"], 3
        ),
        "meets_targets": ratio >= TARGET_RATIO and plans["p99_ms"] < TARGET_P99_MS and plans["errors"] == 0,
    }


def run(quick: bool) -> dict[str, Any]:
    users = 200 if quick else 1000
    n_rounds, seconds = (3, 1.0) if quick else (5, 3.0)
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    mongo_proc, mongo = services.start_mongo(None)
    redis_proc, redis_info = services.start_redis(workdir / "redis", persist=False)
    try:
        client: pymongo.MongoClient = pymongo.MongoClient(mongo.url, tz_aware=True)
        pairs = seed(client["bench_api"], users)
        started = time.perf_counter()
        cached = refresh_plan_cache(client["bench_api"], redis.Redis.from_url(redis_info.url))
        refresh_s = time.perf_counter() - started
        env = {
            **os.environ,
            "REDIS_URL": redis_info.url,
            "MONGO_URI": mongo.url,
            "MONGO_DB": "bench_api",
            "ARTIFACTS_DIR": str(workdir / "artifacts"),
            "FITNESS_VAR_DIR": str(workdir / "var"),
        }
        served = measure_server(env, pairs, 60.0, n_rounds, seconds, workdir)
        result = {
            "load_generator": "wrk" if shutil.which("wrk") else "python-asyncio",
            "connections": CONNECTIONS,
            "rounds": n_rounds,
            "seconds_per_endpoint_and_round": seconds,
            "users": users,
            "cache_refresh": {
                "entries": cached,
                "seconds": round(refresh_s, 3),
                "entries_per_s": round(cached / refresh_s, 1),
            },
            **served,
            "targets": {"plans_vs_root_min": TARGET_RATIO, "plans_p99_ms_max": TARGET_P99_MS},
        }
        if not quick:  # the same lookups when every one asks Redis (no process memo)
            result["redis_only"] = measure_server(env, pairs, 0.0, n_rounds, seconds, workdir)
        client.close()
        return result
    finally:
        for proc in (redis_proc, mongo_proc):
            proc.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(15)
        shutil.rmtree(workdir, ignore_errors=True)
