"""Published guideline numbers used by the rule engine, the planners and their guardrails.

Sources are listed in ``docs/physiology.md`` section 3 (WHO 2020, ACSM, AASM/SRS, NSF,
Paluch 2022, the Compendium of Physical Activities, Mifflin-St Jeor, ISSN) and, for the plan
rules (calorie floor, protein in kidney disease and pregnancy), in ``docs/plans.md``.
"""

from __future__ import annotations

from dataclasses import dataclass

# Aerobic activity (WHO 2020): minutes per week.
AEROBIC_MODERATE_MIN = 150
AEROBIC_MODERATE_MAX = 300
AEROBIC_VIGOROUS_MIN = 75
AEROBIC_VIGOROUS_MAX = 150
STRENGTH_DAYS_MIN = 2
BALANCE_DAYS_MIN_65 = 3

# ACSM dose.
MET_MIN_WEEK_LOW = 500
MET_MIN_WEEK_HIGH = 1000

# Intensity bands as fractions of heart-rate reserve (ACSM).
HRR_LIGHT = (0.30, 0.40)
HRR_MODERATE = (0.40, 0.60)
HRR_VIGOROUS = (0.60, 0.90)

# Steps per day at which the mortality benefit levels off (Paluch 2022).
STEPS_PLATEAU_UNDER_60 = (8000, 10000)
STEPS_PLATEAU_60_PLUS = (6000, 8000)
STEPS_LOW = 5000  # the earlier prototype's "too few steps" threshold

# Sleep (AASM/SRS, NSF).
SLEEP_MIN_H = 7.0
SLEEP_MAX_H_18_64 = 9.0
SLEEP_MAX_H_65 = 8.0
SLEEP_EFFICIENCY_MIN = 0.85
SLEEP_LATENCY_MAX_MIN = 30
SLEEP_QUALITY_LOW = 0.7  # 0-1 quality score below which sleep is flagged
SHORT_SLEEP_H = 6.0  # TST <= 6 h: downgrade next-day intensity (-7.6% performance)

# Workouts per week below which the earlier prototype recommended more.
WORKOUTS_PER_WEEK_MIN = 3

# Progression: no single session > 10% longer than the longest in the last 30 days.
SESSION_SPIKE_MAX = 1.10
WEEKLY_PROGRESSION_SOFT = 0.10

# Acute:chronic workload ratio bands (contested; an observation, not ground truth).
ACWR_SWEET_SPOT = (0.8, 1.3)
ACWR_DANGER = 1.5

# Nutrition: protein g/kg/day by goal, and weight-change limits.
PROTEIN_RDA_G_PER_KG = 0.8
PROTEIN_G_PER_KG = {
    "health": (1.0, 1.6),
    "endurance": (1.4, 2.0),
    "weight_loss": (1.6, 2.4),
}
PROTEIN_65_PLUS_G_PER_KG = (1.0, 1.2)
PROTEIN_CKD_G_PER_KG = (0.55, 0.8)  # CKD G3-G5 not on dialysis: KDOQI/KDIGO 2020 nutrition, KDIGO 2024
PROTEIN_PREGNANCY_G_PER_KG = 1.1  # IOM Dietary Reference Intakes 2005
# Lowest daily intake planned without medical supervision (AHA/ACC/TOS 2013, NIH/NHLBI 1998).
CALORIE_FLOOR_KCAL = {"female": 1200.0, "male": 1500.0}
WEIGHT_LOSS_KG_PER_WEEK = (0.45, 0.9)
KCAL_PER_KG_FAT = 7700


@dataclass(frozen=True)
class Mets:
    """Compendium METs for the activities the platform simulates and plans."""

    walk_slow: float = 3.0  # 2.5 mph
    walk: float = 3.5  # 3.0 mph
    walk_brisk: float = 4.3  # 3.5 mph
    walk_fast: float = 5.0  # 4.0 mph
    run_5mph: float = 8.3
    run_6mph: float = 9.8
    run_7mph: float = 11.0
    run_8mph: float = 11.8
    cycle_leisure: float = 4.0
    cycle_moderate: float = 8.0
    cycle_vigorous: float = 10.0
    strength: float = 3.5
    strength_vigorous: float = 6.0
    yoga: float = 2.5
    sleeping: float = 0.95


METS = Mets()

# Hard refusals: conditions that send the user to a clinician instead of a plan.
REFER_SYMPTOMS = ("chest_pain", "syncope")
CLINICIAN_CONDITIONS = ("pregnancy", "cardiovascular_disease", "diabetes", "kidney_disease")


def moderate_equivalent_minutes(moderate_min: float, vigorous_min: float) -> float:
    """WHO moderate-equivalent minutes: vigorous minutes count double."""
    return moderate_min + 2.0 * vigorous_min


def protein_range_g(weight_kg: float, goal: str, age: int) -> tuple[float, float]:
    """Daily protein range in grams for the goal (older adults at least 1.0-1.2 g/kg)."""
    low, high = PROTEIN_G_PER_KG.get(goal, PROTEIN_G_PER_KG["health"])
    if age >= 65:
        low = max(low, PROTEIN_65_PLUS_G_PER_KG[0])
    return round(low * weight_kg, 1), round(high * weight_kg, 1)


def sleep_range_h(age: int) -> tuple[float, float]:
    """Recommended nightly sleep for the age (7-9 h at 18-64, 7-8 h at 65+)."""
    return (SLEEP_MIN_H, SLEEP_MAX_H_65 if age >= 65 else SLEEP_MAX_H_18_64)


def steps_target(age: int) -> int:
    """Daily steps where the mortality benefit levels off for the age group (lower bound)."""
    return STEPS_PLATEAU_60_PLUS[0] if age >= 60 else STEPS_PLATEAU_UNDER_60[0]
