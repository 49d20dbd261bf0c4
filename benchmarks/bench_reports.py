"""Weekly reports for one partition of many users, rendered from in-memory documents.

Per user, the input is what the ``weekly_reports`` asset reads from MongoDB: this week's and the
4 earlier weeks' ``weekly_features`` documents (as dicts) and a profile. Timed in the same run:
building the report inputs (document validation included), the rule engine, charts + template,
writing the pages and the index; and, as the floor any renderer must pay, writing the same bytes
to the same number of files. The target is 1,000 users in under 60 s.
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path

from fitness_assets.features.models import WeeklyFeatures
from fitness_assets.reporting import rules
from fitness_assets.reporting.data import report_data
from fitness_assets.reporting.publish import PublishedWeek, write_index, write_reports, write_text_atomic
from fitness_assets.reporting.render import render_report, template
from fitness_assets.reporting.sample import sample_weeks
from fitness_core.report_index import template as index_template

WEEK = date(2025, 3, 3)
TARGET_S_PER_1000 = 60.0
DISTINCT_USERS = 200


def _documents(users: int, distinct: int) -> list[tuple[dict, list[dict]]]:
    """(profile, five weekly_features dicts oldest first) per user; ``distinct`` synthetic users
    are generated and reused under new user ids (generation costs far more than rendering)."""
    generated = []
    for i in range(min(users, distinct)):
        profile, weeks = sample_weeks(f"u{i:05d}", WEEK, seed=i)
        generated.append((profile, [w.model_dump(by_alias=True) for w in weeks]))
    population = []
    for i in range(users):
        profile, weeks = generated[i % len(generated)]
        user = f"u{i:05d}"
        population.append((profile, [{**w, "_id": f"{w['week']}:{user}", "user_id": user} for w in weeks]))
    return population


def run(quick: bool) -> dict:
    users = 100 if quick else 1000
    started = time.perf_counter()
    population = _documents(users, DISTINCT_USERS)
    setup_s = time.perf_counter() - started
    template("report.html.j2")  # compile once, as a long-running process does
    index_template()

    t0 = time.perf_counter()
    inputs = [
        report_data(
            WeeklyFeatures.model_validate(docs[-1]),
            [WeeklyFeatures.model_validate(d) for d in docs[:-1]],
            person=profile,
        )
        for profile, docs in population
    ]
    t1 = time.perf_counter()
    for data in inputs:
        rules.evaluate(data)
    t2 = time.perf_counter()
    per_report = []
    sizes = []
    for data in inputs:
        r0 = time.perf_counter()
        sizes.append(len(render_report(data).html.encode()))
        per_report.append(time.perf_counter() - r0)
    t3 = time.perf_counter()

    out = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    try:
        w0 = time.perf_counter()
        created = datetime.now(UTC)
        published = write_reports(
            out,
            WEEK.isoformat(),
            inputs,
            created_at=created,
            published=PublishedWeek(week=WEEK.isoformat(), index_path=f"reports/{WEEK}/index.html"),
        )
        write_index(out, published, created_at=created)
        publish_s = time.perf_counter() - w0
        floor = out / "floor"
        payload = "x" * int(statistics.fmean(sizes))
        f0 = time.perf_counter()
        for data in inputs:
            write_text_atomic(floor / f"{data.user_id}.html", payload)
        floor_s = time.perf_counter() - f0
    finally:
        shutil.rmtree(out, ignore_errors=True)

    build_s, rules_s, render_s = t1 - t0, t2 - t1, t3 - t2
    end_to_end_s = build_s + publish_s  # inputs from documents, then render + write every page and the index
    per_1000 = end_to_end_s * 1000 / users
    return {
        "users": users,
        "distinct_synthetic_users": min(users, DISTINCT_USERS),
        "setup_s (synthetic documents, not timed below)": round(setup_s, 2),
        "build_inputs_s": round(build_s, 3),
        "rules_s": round(rules_s, 3),
        "render_s": round(render_s, 3),
        "render_ms_per_report": {
            "median": round(statistics.median(per_report) * 1000, 2),
            "p95": round(sorted(per_report)[int(0.95 * len(per_report))] * 1000, 2),
        },
        "write_pages_and_index_s": round(publish_s, 3),
        "end_to_end_s": round(end_to_end_s, 3),
        "end_to_end_s_per_1000_users": round(per_1000, 2),
        "target_s_per_1000_users": TARGET_S_PER_1000,
        "fraction_of_target": round(per_1000 / TARGET_S_PER_1000, 4),
        "io_floor_s (same bytes, same number of files)": round(floor_s, 3),
        "end_to_end_vs_io_floor": round(end_to_end_s / floor_s, 1) if floor_s else None,
        "html_kb": {"median": round(statistics.median(sizes) / 1024, 1), "max": round(max(sizes) / 1024, 1)},
        "recommendation_mix": published.mix,
        "meets_target": per_1000 < TARGET_S_PER_1000,
    }
