"""Planning targets: the prescription bounded by the safety rules of physiology.md 3."""

from __future__ import annotations

from datetime import timedelta

import pytest

from fitness_assets.planning.targets import (
    SEE_CLINICIAN,
    SEE_CLINICIAN_NUTRITION,
    STOP_AND_REFER,
    karvonen_zones,
    nutrition_targets,
    workout_targets,
)
from fitness_core import guidelines
from tests.support.planning_population import WEEK, example_context, example_prescription

context = example_context
prescription = example_prescription


def test_zones_are_the_acsm_bands_through_karvonen():
    zones = karvonen_zones(180, 60)
    assert [(z.name, z.low_bpm, z.high_bpm) for z in zones] == [
        ("light", 96, 108),  # 60 + 0.30 * 120, 60 + 0.40 * 120
        ("moderate", 108, 132),
        ("vigorous", 132, 168),
    ]


def test_sessions_are_capped_at_110_percent_of_the_longest_in_30_days():
    t = workout_targets(context(longest_session_30d_min=50.0), prescription(weekly_minutes=300, sessions=4))
    assert t.session_cap_min == 55.0
    assert t.training_days == 4
    assert t.weekly_minutes == 220.0  # 4 x 55, not the prescribed 300
    assert any("capped at 55 min" in a for a in t.adjustments)


def test_unknown_longest_session_assumes_30_minutes():
    t = workout_targets(context(longest_session_30d_min=None), prescription(weekly_minutes=200, sessions=5))
    assert t.session_cap_min == 33.0
    assert t.weekly_minutes == 165.0


def test_prescription_within_the_cap_is_kept():
    t = workout_targets(context(), prescription(target_hrr=0.62, weekly_minutes=150, sessions=4))
    assert (t.weekly_minutes, t.training_days, t.target_hrr, t.intensity) == (150.0, 4, 0.62, "vigorous")
    assert t.session_hr_bpm == (132, 140)  # Karvonen at 60% (the vigorous zone's floor) and 67% HRR
    assert t.rest_dates == () and t.adjustments == ()


@pytest.mark.parametrize("feedback", [{"soreness": 7}, {"readiness": 4}, {"readiness": 4.5}])
def test_soreness_or_low_readiness_demand_two_rest_days_and_no_vigorous_work(feedback):
    t = workout_targets(context(**feedback), prescription(target_hrr=0.7, sessions=6))
    assert t.rest_dates == (WEEK, WEEK + timedelta(days=1))
    assert t.training_days == 5
    assert t.target_hrr == 0.55
    assert not t.vigorous_allowed


def test_moderate_feedback_changes_nothing():
    t = workout_targets(context(soreness=6, readiness=5), prescription(target_hrr=0.7))
    assert t.rest_dates == () and t.target_hrr == 0.7 and t.vigorous_allowed


def test_short_sleep_lowers_intensity_without_rest_days():
    t = workout_targets(context(sleep_h_recent=5.8), prescription(target_hrr=0.75))
    assert t.rest_dates == ()
    assert t.target_hrr == 0.55
    assert any("sleep 5.8 h" in a for a in t.adjustments)


def test_chest_pain_stops_training_and_refers():
    t = workout_targets(context(medical_flags=("chest_pain",)), prescription(weekly_minutes=300, sessions=5))
    assert (t.training_days, t.weekly_minutes, t.referral) == (0, 0.0, STOP_AND_REFER)


def test_a_clinician_condition_allows_only_light_walking():
    t = workout_targets(context(medical_flags=("diabetes",)), prescription(target_hrr=0.8, sessions=6))
    assert (t.training_days, t.weekly_minutes, t.referral) == (3, 60.0, SEE_CLINICIAN)
    assert t.intensity == "light"


def test_a_prescription_for_another_user_or_week_is_refused():
    with pytest.raises(ValueError, match="prescription is for u-2"):
        workout_targets(context(), prescription(user_id="u-2"))
    with pytest.raises(ValueError, match="week 2025-03-10"):
        workout_targets(context(), prescription(week=WEEK + timedelta(days=7)))


def test_weight_loss_eats_a_safe_deficit_below_tdee():
    t = nutrition_targets(context(goal="weight_loss", tdee_kcal=2600.0, bmr_kcal=1700.0))
    deficit = guidelines.WEIGHT_LOSS_KG_PER_WEEK[0] * guidelines.KCAL_PER_KG_FAT / 7  # 495 kcal
    assert t.calories_target == 2110.0 == -(-(2600 - deficit) // 10) * 10
    assert t.protein_g_range == (128.0, 192.0)  # 1.6-2.4 g/kg x 80 kg


def test_calories_never_go_below_bmr():
    t = nutrition_targets(context(goal="weight_loss", bmr_kcal=1755.4, tdee_kcal=2106.0))
    assert t.calories_target == t.calories_floor == 1756.0


def test_kidney_disease_keeps_protein_at_0_55_to_0_8_g_per_kg_and_calories_at_maintenance():
    t = nutrition_targets(context(goal="weight_loss", medical_flags=("kidney_disease",)))
    assert t.protein_g_range == (44.0, 64.0)  # KDIGO: 0.55-0.8 g/kg x 80 kg, non-dialysis CKD
    assert t.calories_target == 2110.0  # TDEE rounded up, no deficit
    assert t.referral == SEE_CLINICIAN_NUTRITION.format(low=0.55, high=0.8)
    assert "0.55-0.8 g/kg" in t.referral
