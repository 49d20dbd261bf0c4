"""Weekly features from reduced inputs: each feature's definition, checked against hand-computed values."""

from __future__ import annotations

import math
import statistics
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from fitness_assets.features.inputs import (
    ActivityGroup,
    CheckInRecord,
    DayIntake,
    Effort,
    NightRecord,
    UserWeekInputs,
)
from fitness_assets.features.weekly import (
    SRPE_TRIMP_PER_AU,
    active_minutes,
    build_weekly_features,
    coverage,
    energy,
    feedback,
    hr_zone_minutes,
    inputs_hash,
    macros,
    night,
    physiology_of,
    sleep,
    srpe_scale,
    steps,
    training_load,
    trimp_of,
    workouts,
)
from fitness_core.weeks import WeekKeyError, parse_week, previous_weeks, week_days

WEEK = "2025-03-03"
DAYS = week_days(WEEK)
PRIOR_DAYS = [d for w in previous_weeks(WEEK, 3) for d in week_days(w)]
NOW = datetime(2025, 3, 10, 3, 0, tzinfo=UTC)
PROFILE = {
    "sex": "male",
    "birth_year": 1985,
    "height_cm": 180.0,
    "weight_kg": 80.0,
    "hr_max_bpm": 190.0,
    "hr_rest_bpm": 60.0,
    "steps_goal": 8000,
    "timezone": "Europe/Berlin",
    "goal": "endurance",
}


def phys(**profile):
    return physiology_of({**PROFILE, **profile}, date(2025, 3, 3), [])


def group(
    day: str,
    activity: str = "run",
    workout: bool = True,
    *,
    count: int = 1,
    minutes: float = 30,
    steps: int = 0,
    kcal: float = 0.0,
    zones=(0.0,) * 5,
    max_hr: float | None = None,
    longest: float | None = None,
) -> ActivityGroup:
    return ActivityGroup(
        date=day,
        activity_type=activity,
        workout=workout,
        count=count,
        seconds=minutes * 60,
        steps=steps,
        kcal=kcal,
        zone_s=tuple(zones),
        max_hr=max_hr,
        longest_s=(longest or minutes) * 60,
    )


def effort(
    day: str, minutes: float, hr: float | None = None, rpe: int | None = None, *, workout: bool = True
) -> Effort:
    return Effort(date=day, seconds=minutes * 60, hr=hr, rpe=rpe, activity_type="run", workout=workout)


def night_record(
    day: str,
    onset: str,
    minutes: float,
    *,
    tz: str = "Europe/Berlin",
    stages=None,
    efficiency=None,
    quality=None,
    rhr=None,
    hrv=None,
) -> NightRecord:
    wake = date.fromisoformat(day)
    hour, minute = map(int, onset.split(":"))
    start_day = wake - timedelta(days=1) if hour >= 12 else wake
    start = datetime(
        start_day.year, start_day.month, start_day.day, hour, minute, tzinfo=ZoneInfo(tz)
    ).astimezone(UTC)
    return NightRecord(
        date=day,
        timezone=tz,
        start_ts=start,
        end_ts=start + timedelta(minutes=minutes),
        quality=quality,
        efficiency=efficiency,
        stages=stages,
        awakenings=1,
        latency_min=10.0,
        resting_hr=rhr,
        hrv=hrv,
    )


# --- week keys ---------------------------------------------------------------------------------


def test_a_monday_is_a_week_key():
    assert parse_week("2025-03-03") == date(2025, 3, 3)


def test_a_tuesday_is_refused_naming_the_weeks_monday():
    with pytest.raises(WeekKeyError, match=r"'2025-03-04' is a Tuesday.*2025-03-03"):
        parse_week("2025-03-04")


def test_a_key_that_is_not_a_date_is_refused():
    with pytest.raises(WeekKeyError, match="not a date"):
        parse_week("last-week")


def test_week_days_run_monday_to_sunday():
    assert DAYS == [
        "2025-03-03",
        "2025-03-04",
        "2025-03-05",
        "2025-03-06",
        "2025-03-07",
        "2025-03-08",
        "2025-03-09",
    ]


# --- physiology constants ----------------------------------------------------------------------


def test_measured_hr_max_and_profile_resting_hr_are_used_as_given():
    p = phys()
    assert (p.hr_max_bpm, p.hr_max_method, p.hr_rest_bpm, p.hr_rest_method) == (
        190.0,
        "measured",
        60.0,
        "profile",
    )


def test_without_measured_hr_max_tanaka_uses_the_age_in_the_weeks_year():
    p = phys(hr_max_bpm=None)
    assert p.age == 40
    assert p.hr_max_bpm == pytest.approx(208 - 0.7 * 40)
    assert p.hr_max_method == "Tanaka 208 - 0.7 x age"


def test_without_profile_resting_hr_the_median_overnight_value_of_the_week_is_used():
    nights = [night_record(d, "23:00", 420, rhr=r) for d, r in zip(DAYS, (50.0, 62.0, 54.0), strict=False)]
    p = physiology_of({**PROFILE, "hr_rest_bpm": None}, date(2025, 3, 3), nights)
    assert (p.hr_rest_bpm, p.hr_rest_method) == (54.0, "overnight median")


def test_without_any_profile_population_defaults_are_used_and_bmr_is_unknown():
    p = physiology_of(None, date(2025, 3, 3), [])
    assert (p.hr_max_bpm, p.hr_max_method) == (pytest.approx(180.0), "population default")
    assert (p.hr_rest_bpm, p.hr_rest_method) == (65.0, "population default")
    assert p.bmr_kcal is None


def test_bmr_is_mifflin_st_jeor():
    assert phys().bmr_kcal == pytest.approx(10 * 80 + 6.25 * 180 - 5 * 40 + 5)


# --- training load -----------------------------------------------------------------------------


def test_trimp_of_an_hour_at_74_percent_hrr_is_about_118_for_a_man():
    hr = 60 + 0.74 * (190 - 60)
    assert trimp_of(effort(DAYS[0], 60, hr), phys()) == pytest.approx(
        60 * 0.74 * 0.64 * math.exp(1.92 * 0.74)
    )
    assert trimp_of(effort(DAYS[0], 60, hr), phys()) == pytest.approx(117.7, abs=0.1)


def test_session_rpe_scale_defaults_to_the_population_value_with_fewer_than_three_pairs():
    assert srpe_scale([effort(DAYS[0], 30, 150, 5), effort(DAYS[1], 30, 150, 5)], phys()) == (
        SRPE_TRIMP_PER_AU,
        "population default",
    )


def test_session_rpe_scale_is_fitted_through_the_origin_on_the_users_own_events():
    p = phys()
    pairs = [effort(DAYS[i], 30 + 10 * i, 150, 5) for i in range(3)]
    scale, method = srpe_scale(pairs, p)
    trimps = [trimp_of(e, p) for e in pairs]
    aus = [5 * (30 + 10 * i) for i in range(3)]
    assert method == "user regression"
    assert scale == pytest.approx(
        sum(t * a for t, a in zip(trimps, aus, strict=True)) / sum(a * a for a in aus)
    )


def test_events_without_hr_count_session_rpe_times_the_scale():
    inputs = UserWeekInputs("u1", efforts=[effort(DAYS[2], 40, None, 5)])
    load = training_load(inputs, phys(), DAYS, PRIOR_DAYS)
    assert load.daily == [0.0, 0.0, round(200 * SRPE_TRIMP_PER_AU, 2), 0.0, 0.0, 0.0, 0.0]
    assert (load.srpe_au, load.hr_trimp) == (200.0, 0.0)


def test_acwr_is_this_weeks_mean_daily_load_over_the_three_previous_weeks():
    p = phys()
    hr = 60 + 0.5 * 130
    unit = trimp_of(effort(DAYS[0], 30, hr), p)
    inputs = UserWeekInputs(
        "u1",
        efforts=[effort(d, 45, hr) for d in DAYS],  # 1.5 x the earlier daily load
        prior_efforts=[effort(d, 30, hr) for d in PRIOR_DAYS],
    )
    load = training_load(inputs, p, DAYS, PRIOR_DAYS)
    assert load.chronic_daily_mean == pytest.approx(unit, abs=0.01)
    assert load.acwr == pytest.approx(1.5, abs=0.001)


def test_acwr_is_unknown_without_earlier_load():
    load = training_load(UserWeekInputs("u1", efforts=[effort(DAYS[0], 30, 150)]), phys(), DAYS, PRIOR_DAYS)
    assert load.acwr is None
    assert load.chronic_daily_mean == 0.0


def test_monotony_and_strain_follow_foster_on_the_daily_loads():
    p = phys()
    inputs = UserWeekInputs("u1", efforts=[effort(DAYS[0], 60, 150), effort(DAYS[3], 30, 150)])
    load = training_load(inputs, p, DAYS, PRIOR_DAYS)
    daily = [trimp_of(effort(DAYS[0], 60, 150), p), 0, 0, trimp_of(effort(DAYS[3], 30, 150), p), 0, 0, 0]
    assert load.monotony == pytest.approx(statistics.fmean(daily) / statistics.pstdev(daily), abs=0.001)
    assert load.strain == pytest.approx(sum(daily) * load.monotony, rel=1e-3)


# --- intensity, steps, workouts ----------------------------------------------------------------


def test_intensity_bands_split_at_40_and_60_percent_of_hr_reserve():
    hr = lambda x: 60 + x * 130  # noqa: E731
    minutes = active_minutes(
        [
            effort(DAYS[0], 10, hr(0.39)),
            effort(DAYS[0], 20, hr(0.40)),
            effort(DAYS[0], 30, hr(0.60)),
            effort(DAYS[0], 5, None),
        ],
        phys(),
    )
    assert (minutes.light, minutes.moderate, minutes.vigorous, minutes.unclassified) == (
        10.0,
        20.0,
        30.0,
        5.0,
    )
    assert minutes.moderate_equivalent == 20.0 + 2 * 30.0
    assert minutes.total == 65.0


def test_steps_are_summed_per_local_day_and_averaged_over_days_with_data():
    s = steps(
        [
            group(DAYS[0], "walk", False, steps=6000),
            group(DAYS[0], "run", True, steps=3000),
            group(DAYS[2], "walk", False, steps=9000),
        ],
        DAYS,
        goal=8000,
    )
    assert s.daily == [9000, None, 9000, None, None, None, None]  # no step records: no data, not 0
    assert (s.total, s.mean_per_day, s.days_goal_met) == (18000, 9000.0, 2)


def test_a_workout_without_steps_is_no_step_data_but_a_bout_of_zero_steps_is_a_measured_zero():
    s = steps(
        [
            group(DAYS[0], "run", True, steps=0),
            group(DAYS[1], "walk", False, steps=0),
            group(DAYS[2], "run", True, steps=4000),
        ],
        DAYS,
        goal=8000,
    )
    assert s.daily == [None, 0, 4000, None, None, None, None]
    assert (s.total, s.mean_per_day, s.days_goal_met) == (4000, 2000.0, 0)


def test_a_week_with_only_a_gps_track_has_no_steps_at_all():
    s = steps([group(DAYS[3], "run", True, steps=0)], DAYS, goal=8000)
    assert (s.daily, s.total, s.mean_per_day, s.days_goal_met) == ([None] * 7, None, None, None)


def test_hr_zone_minutes_need_an_event_with_heart_rate():
    without = UserWeekInputs("u1", groups=[group(DAYS[0])], efforts=[effort(DAYS[0], 30)])
    measured = UserWeekInputs("u1", groups=[group(DAYS[0])], efforts=[effort(DAYS[0], 30, hr=90)])
    zoned = UserWeekInputs(
        "u1", groups=[group(DAYS[0], zones=(600.0, 0, 0, 0, 0))], efforts=[effort(DAYS[0], 30)]
    )
    assert hr_zone_minutes(without) is None
    assert hr_zone_minutes(measured) == [0.0] * 5  # heart rate below zone 1: a measured zero
    assert hr_zone_minutes(zoned) == [10.0, 0.0, 0.0, 0.0, 0.0]


def test_workouts_count_sessions_by_type_and_weight_heart_rate_by_duration():
    w = workouts(
        [
            group(DAYS[0], "run", minutes=30, max_hr=170),
            group(DAYS[1], "strength", count=2, minutes=90, longest=50),
            group(DAYS[1], "walk", False, minutes=40),
        ],
        [
            effort(DAYS[0], 30, 150),
            effort(DAYS[1], 40, 120),
            effort(DAYS[1], 50, None),
            effort(DAYS[1], 40, 100, workout=False),
        ],
        DAYS,
    )
    assert (w.count, w.minutes, w.days, w.strength_days) == (3, 120.0, 2, 1)
    assert {t: (s.count, s.minutes) for t, s in w.by_type.items()} == {
        "run": (1, 30.0),
        "strength": (2, 90.0),
    }
    assert w.avg_hr_bpm == pytest.approx((150 * 30 + 120 * 40) / 70, abs=0.05)
    assert (w.max_hr_bpm, w.longest_min) == (170.0, 50.0)
    assert w.daily_longest_min == [30.0, 50.0, 0.0, 0.0, 0.0, 0.0, 0.0]


# --- sleep -------------------------------------------------------------------------------------


def test_a_night_with_stages_is_asleep_for_light_deep_and_rem():
    n, onset = night(
        night_record(
            DAYS[1], "23:15", 480, stages={"light": 240.0, "deep": 90.0, "rem": 100.0, "awake": 50.0}
        )
    )
    assert (n.in_bed_min, n.asleep_min, n.onset_local) == (480.0, 430.0, "23:15")
    assert n.efficiency == pytest.approx(430 / 480, abs=1e-4)
    assert (n.stages.light, n.stages.deep, n.stages.rem) == (
        round(240 / 430, 4),
        round(90 / 430, 4),
        round(100 / 430, 4),
    )
    assert n.stages.awake == round(50 / 480, 4)
    assert onset.tzinfo is not None


def test_a_night_without_stages_is_asleep_for_time_in_bed_times_efficiency():
    n, _ = night(night_record(DAYS[1], "22:00", 500, efficiency=0.9))
    assert (n.asleep_min, n.efficiency, n.stages) == (450.0, 0.9, None)


def test_sleep_consistency_compares_onsets_across_midnight():
    s = sleep([night_record(DAYS[1], "23:30", 420), night_record(DAYS[2], "00:30", 420)])
    assert s.onset_sd_min == 30.0


def test_short_nights_are_six_hours_or_less_asleep():
    s = sleep(
        [
            night_record(DAYS[1], "23:00", 360),
            night_record(DAYS[2], "23:00", 361),
            night_record(DAYS[3], "23:00", 300),
        ]
    )
    assert (s.count, s.short_nights) == (3, 2)
    assert s.mean_asleep_min == pytest.approx((360 + 361 + 300) / 3, abs=0.01)


def test_stage_shares_of_the_week_weight_nights_by_minutes():
    s = sleep(
        [
            night_record(
                DAYS[1], "23:00", 500, stages={"light": 300.0, "deep": 100.0, "rem": 100.0, "awake": 0.0}
            ),
            night_record(
                DAYS[2], "23:00", 100, stages={"light": 100.0, "deep": 0.0, "rem": 0.0, "awake": 0.0}
            ),
        ]
    )
    assert (s.stage_shares.light, s.stage_shares.deep, s.stage_shares.rem) == (
        round(400 / 600, 4),
        round(100 / 600, 4),
        round(100 / 600, 4),
    )


def test_a_single_night_has_no_consistency_figure():
    assert sleep([night_record(DAYS[1], "23:00", 420)]).onset_sd_min is None


# --- energy, macros, feedback, coverage --------------------------------------------------------


def test_calories_in_are_unknown_on_days_without_a_meal_and_out_is_bmr_plus_active():
    e = energy(
        [group(DAYS[0], kcal=400.0), group(DAYS[1], kcal=100.0)],
        [DayIntake(DAYS[0], 3, 2500.0, 100.0, 300.0, 80.0)],
        bmr=1800.0,
        days=DAYS,
    )
    assert e.daily_in == [2500.0, None, None, None, None, None, None]
    assert e.daily_out[:3] == [2200.0, 1900.0, 1800.0]
    assert (e.mean_in, e.mean_balance) == (2500.0, 300.0)
    assert e.mean_out == pytest.approx((2200 + 1900 + 1800 * 5) / 7, abs=0.01)


def test_macros_are_daily_means_with_energy_shares_at_4_4_9_kcal_per_gram():
    m = macros(
        [DayIntake(DAYS[0], 3, 2000.0, 100.0, 200.0, 50.0), DayIntake(DAYS[1], 2, 1000.0, 60.0, 100.0, 30.0)],
        80.0,
    )
    assert (m.meals, m.protein_g, m.carbs_g, m.fat_g) == (5, 80.0, 150.0, 40.0)
    assert m.protein_g_per_kg == 1.0
    total = 80 * 4 + 150 * 4 + 40 * 9
    assert (m.protein_share, m.fat_share) == (round(320 / total, 4), round(360 / total, 4))


def test_feedback_means_skip_missing_answers_and_the_latest_check_in_wins():
    first = CheckInRecord(DAYS[0], datetime(2025, 3, 3, 20, tzinfo=UTC), 2, 3, 6, None, 4)
    last = CheckInRecord(DAYS[1], datetime(2025, 3, 4, 20, tzinfo=UTC), 4, 5, 4, 8, 8)
    f = feedback([last, first])
    assert (f.count, f.mood, f.soreness, f.readiness) == (2, 3.0, 8.0, 6.0)
    assert f.latest.ts == last.ts


def test_coverage_counts_days_per_stream_and_their_union():
    inputs = UserWeekInputs(
        "u1",
        groups=[group(DAYS[0]), group(DAYS[0], "walk", False), group(DAYS[2])],
        nights=[night_record(DAYS[3], "23:00", 420)],
        intake=[DayIntake(DAYS[0], 1, 500.0, 0, 0, 0)],
    )
    c = coverage(inputs)
    assert (c.activity, c.sleep, c.nutrition, c.feedback, c.any) == (2, 1, 1, 0, 3)


# --- the document ------------------------------------------------------------------------------


def test_a_user_without_records_gets_an_empty_but_valid_document():
    doc = build_weekly_features(UserWeekInputs("u1", profile=PROFILE), WEEK, NOW)
    assert doc.id == f"{WEEK}:u1"
    assert doc.steps.daily == [None] * 7 and doc.hr_zone_min is None and doc.sleep.short_nights is None
    assert (doc.load.total, doc.load.acwr, doc.sleep.count, doc.sleep.mean_asleep_min) == (0.0, None, 0, None)
    assert doc.energy.daily_in == [None] * 7
    assert doc.coverage.any == 0
    assert doc.timezone == "Europe/Berlin"


def test_the_inputs_hash_ignores_order_but_not_values():
    a = UserWeekInputs("u1", efforts=[effort(DAYS[0], 30, 150), effort(DAYS[1], 20, 140)], profile=PROFILE)
    b = UserWeekInputs("u1", efforts=[effort(DAYS[1], 20, 140), effort(DAYS[0], 30, 150)], profile=PROFILE)
    c = UserWeekInputs("u1", efforts=[effort(DAYS[1], 20, 141), effort(DAYS[0], 30, 150)], profile=PROFILE)
    assert inputs_hash(a, WEEK) == inputs_hash(b, WEEK) != inputs_hash(c, WEEK)
