"""A rendered weekly report: the features' numbers, comparisons, escaping, self-containment."""

from __future__ import annotations

import html as htmllib
import re
from datetime import UTC, date, datetime

import pytest
from markupsafe import escape

from fitness_assets.reporting import sections
from fitness_assets.reporting.data import report_data
from fitness_assets.reporting.index import IndexEntry, render_index
from fitness_assets.reporting.plans import plan_summary
from fitness_assets.reporting.render import render_report, report_document, report_path
from fitness_assets.reporting.sample import sample_plan_documents, sample_weeks

WEEK = date(2025, 3, 3)
NOTE = "<script>alert('note')</script> knees sore"
ALLERGY = "<img src=x onerror=alert(1)>"


@pytest.fixture(scope="module")
def weeks():
    return sample_weeks("u-render", WEEK, seed=11)


@pytest.fixture(scope="module")
def report(weeks):
    profile, documents = weeks
    person = {**profile, "allergies": [ALLERGY, "peanuts"]}
    plans = [plan_summary(d) for d in sample_plan_documents("u-render", WEEK, excluded=(ALLERGY,))]
    data = report_data(
        documents[-1],
        documents[:-1],
        person=person,
        notes=[NOTE],
        workout_plan=plans[0],
        nutrition_plan=plans[1],
    )
    return data, render_report(data, generated_at=datetime(2025, 3, 10, 6, 0, tzinfo=UTC)).html


def card(page: str, label: str) -> tuple[str, list[str]]:
    """The value and the comparison lines of the header card with ``label``."""
    match = re.search(
        rf'<span class="label">{re.escape(htmllib.escape(label))}</span>'
        rf'<span class="value">([^<]*)</span>(.*?)</li>',
        page,
        re.S,
    )
    assert match, f"no card {label!r}"
    comparisons = [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(
            r'<span class="cmp[^"]*">(.*?)</span>\s*(?=<span class="cmp|$)', match.group(2), re.S
        )
    ]
    return htmllib.unescape(match.group(1)), comparisons


def test_header_cards_show_the_numbers_of_the_features_document(report) -> None:
    data, page = report
    f = data.features
    assert card(page, "Steps per day")[0] == f"{f.steps.mean_per_day:,.0f}"
    assert card(page, "Workouts")[0] == str(f.workouts.count)
    assert card(page, "Training load (TRIMP)")[0] == f"{f.load.total:,.0f}"
    assert card(page, "Acute:chronic load ratio")[0] == f"{f.load.acwr:.2f}"
    assert card(page, "Sleep per night")[0] == f"{f.sleep.mean_asleep_min / 60:.1f} h"
    assert card(page, "Sleep efficiency")[0] == f"{f.sleep.mean_efficiency:.0%}"
    assert card(page, "Resting heart rate")[0] == f"{f.sleep.resting_hr_bpm:.0f} bpm"
    assert card(page, "Calories eaten per day")[0] == f"{f.energy.mean_in:,.0f} kcal"
    assert card(page, "Protein per day")[0] == f"{f.macros.protein_g:.0f} g"
    assert card(page, "Mood (1-5)")[0] == f"{f.feedback.mood:.1f}"


def test_steps_are_compared_with_last_week_and_the_4_week_baseline(report, weeks) -> None:
    _, page = report
    steps = [d.steps.mean_per_day for d in weeks[1]]
    delta_last = round(steps[-1] - steps[-2])
    delta_base = round(steps[-1] - sum(steps[:-1]) / 4)
    _, comparisons = card(page, "Steps per day")
    word = {True: "▲ up", False: "▼ down"}
    assert comparisons[0].startswith(f"{word[delta_last > 0]} {abs(delta_last):,}")
    assert comparisons[0].endswith("vs last week (better)" if delta_last > 0 else "vs last week (worse)")
    assert comparisons[1].startswith(f"{word[delta_base > 0]} {abs(delta_base):,}")
    assert "vs 4-week baseline" in comparisons[1]


def test_coverage_is_shown_before_any_interpretation(report) -> None:
    data, page = report
    coverage = page.index('id="coverage-h"')
    assert coverage < page.index('id="glance-h"') < page.index('id="recs-h"')
    row = re.search(r'<th scope="row">activity</th><td class="num">(\d) of 7</td>', page)
    assert row and int(row.group(1)) == data.features.coverage.activity


def test_daily_steps_appear_in_the_chart_description(report) -> None:
    data, page = report
    desc = re.search(r"<desc[^>]*>(Steps \(steps\):[^<]*)</desc>", page).group(1)
    for day, steps in zip(data.days, data.features.steps.daily, strict=True):
        if steps:
            assert f"{day:%a %d} {steps:,}" in desc


def test_recommendations_show_rule_value_and_threshold(report) -> None:
    data, page = report
    from fitness_assets.reporting.rules import evaluate

    recs = evaluate(data)
    assert recs, "the sample week should trigger at least one rule"
    for rec in recs:
        assert f"Rule {rec.rule}: value {rec.value:,.2f}, threshold {rec.threshold:,.2f}." in page
        assert f'<span class="priority priority-{rec.priority}">{rec.priority.upper()}</span>' in page


def test_hostile_strings_in_notes_allergies_and_plans_are_escaped(report) -> None:
    _, page = report
    assert "<script" not in page.lower() and "<img" not in page.lower()
    assert f"<li>{escape(NOTE)}</li>" in page
    assert page.count(str(escape(ALLERGY))) == 2  # allergies on file and the plan's "left out"


def test_the_page_is_self_contained(report) -> None:
    _, page = report
    assert not re.search(r"<(script|iframe|object|embed|img)\b", page, re.I)
    tags = re.findall(r"<[a-zA-Z][^>]*>", page)
    assert [t for t in tags if re.search(r"\s(src|href)\s*=", t)] == [
        '<link rel="icon" href="data:,">'
    ]  # no favicon request
    assert "url(" not in page and "@import" not in page
    assert set(re.findall(r"https?://[^\s\"'<>]+", page)) == {"http://www.w3.org/2000/svg"}


def test_every_chart_has_a_title_and_a_description(report) -> None:
    _, page = report
    svgs = re.findall(r"<svg\b.*?</svg>", page, re.S)
    assert len(svgs) == 10
    for svg in svgs:
        assert 'role="img"' in svg and re.search(
            r"<title id=[^>]+>[^<]+</title><desc id=[^>]+>[^<]+</desc>", svg
        )


def test_the_page_has_one_h1_and_a_heading_per_section(report) -> None:
    _, page = report
    assert page.count("<h1") == 1
    headings = re.findall(r"<h2 id=\"[^\"]+\">([^<]+)</h2>", page)
    assert headings == [
        "Data coverage",
        "The week at a glance",
        "Recommendations",
        "Activity",
        "Workouts and heart-rate zones",
        "Training load",
        "Sleep and recovery",
        "Nutrition",
        "How you felt",
        "Current plans",
    ]


def test_current_plans_are_summarized(report) -> None:
    _, page = report
    assert "Workout plan for the week of 2025-03-10" in page
    assert "Mon 10 Mar: Easy run (run), 30 min moderate, HR 110-135 bpm" in page
    assert "2,050 kcal/day" in page


def test_the_disclaimer_says_the_report_is_not_medical_advice(report) -> None:
    _, page = report
    assert "Not medical advice." in page and "does not diagnose" in page


def test_rendering_is_deterministic(report) -> None:
    data, page = report
    assert render_report(data, generated_at=datetime(2025, 3, 10, 6, 0, tzinfo=UTC)).html == page


def test_a_first_week_says_there_is_nothing_to_compare_with(weeks) -> None:
    profile, documents = weeks
    page = render_report(report_data(documents[-1], [], person=profile)).html
    assert card(page, "Workouts")[1] == ["– no data for last week", "– no earlier weeks"]
    assert "No workout or nutrition plan has been made for you yet." in page


@pytest.mark.parametrize(
    ("current", "other", "better", "expected"),
    [
        (110, 100, "up", ("▲", "up", "10 (+10%)", "good")),
        (90, 100, "up", ("▼", "down", "10 (-10%)", "bad")),
        (90, 100, "down", ("▼", "down", "10 (-10%)", "good")),
        (100.4, 100, "up", ("=", "same", "", "neutral")),
        (110, None, "up", ("–", "no data", "", "neutral")),
        (110, 100, None, ("▲", "up", "10 (+10%)", "neutral")),
    ],
)
def test_compare_gives_arrow_word_delta_and_tone(current, other, better, expected) -> None:
    c = sections.compare(sections.Metric("x", "X", better=better), current, other, "last week")
    assert (c.arrow, c.word, c.delta, c.tone) == expected


def test_a_change_in_a_percentage_is_in_points() -> None:
    metric = sections.Metric("sleep_efficiency", "Sleep efficiency", "%", better="up")
    assert sections.compare(metric, 0.91, 0.88, "last week").text == "up 3 pts vs last week"


def test_report_document_points_at_the_file_and_keeps_the_recommendations(report) -> None:
    data, _ = report
    rendered = render_report(data)
    doc = report_document(rendered, created_at=datetime(2025, 3, 10, tzinfo=UTC))
    assert doc.path == "reports/2025-03-03/u-render.html"
    assert doc.recommendations == rendered.recommendations and doc.status == rendered.status
    assert doc.id == report_document(render_report(data), created_at=datetime(2026, 1, 1, tzinfo=UTC)).id


def test_a_user_id_that_is_not_a_file_name_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be used as a file name"):
        report_path("2025-03-03", "../etc/passwd")


def test_index_links_every_report_most_urgent_first_with_escaped_status() -> None:
    entries = [
        IndexEntry("u-calm", "u-calm.html", "On track", {"high": 0, "medium": 0, "low": 1}),
        IndexEntry("u-urgent", "u-urgent.html", "<b>2 high</b>", {"high": 2, "medium": 0, "low": 0}),
    ]
    page = render_index("2025-03-03", entries)
    assert re.findall(r'<a href="([^"]+)">', page) == ["u-urgent.html", "u-calm.html"]
    assert "&lt;b&gt;2 high&lt;/b&gt;" in page and "<b>" not in page
    assert "Weekly reports, Mon 3 Mar - Sun 9 Mar 2025" in page


def test_a_week_with_only_sleep_data_reads_no_data_for_activity(weeks) -> None:
    profile, documents = weeks
    features = documents[-1].model_copy(deep=True)
    features.coverage.activity = 0
    features.steps.daily = [0] * 7
    features.load.daily = [0.0] * 7
    features.energy.daily_active = [0.0] * 7
    features.workouts.daily_longest_min = [0.0] * 7
    data = report_data(features, documents[:-1], person=profile)
    page = render_report(data).html
    assert card(page, "Steps per day")[0] == "no data"
    assert card(page, "Workouts")[0] == "no data"
    assert card(page, "Sleep per night")[0] == f"{features.sleep.mean_asleep_min / 60:.1f} h"
    desc = re.search(r"<desc[^>]*>(Steps \(steps\):[^<]*)</desc>", page).group(1)
    assert desc.count("no data") == 7
