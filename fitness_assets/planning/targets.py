"""The numbers a plan must respect, computed from the context and the prescription only.

Both planners (the LLM through its prompt, the deterministic rules) aim at these targets and the
guardrails check plans against them, so every bound lives here once. Sources: physiology.md 3
(Karvonen zones, ACSM intensity bands, the 10% session-spike rule, the sleep-loss downgrade,
Mifflin-St Jeor, protein by goal, the hard refusals) and docs/plans.md "Rules and their sources"
(the week's layout: hard days apart, a full rest day, strength days; the calorie floor; protein
for kidney disease and pregnancy).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from fitness_assets.planning.context import PlanningContext
from fitness_core import guidelines, physiology
from fitness_core.plans import HeartRateZone, Prescription

WORKOUT_DAYS = 7
NUTRITION_DAYS = 3

MINUTES_TOLERANCE = 0.10  # weekly minutes may differ from the target by 10% ...
MINUTES_TOLERANCE_FLOOR = 5.0  # ... or 5 minutes, whichever is larger
BPM_TOLERANCE = 2  # rounding slack on stated heart rates
DEFAULT_LONGEST_MIN = 30.0  # longest session assumed when the last 30 days show none
MIN_SESSION_MIN = 10.0
SESSION_HR_HALF_WIDTH = 0.05  # a session's HR range is target %HRR +- 5 points, cut to the target's band
EASY_HRR = 0.50  # sessions between two hard days in a vigorous week: mid-moderate (0.45-0.55 HRR)
FULL_REST_DAYS_MIN = 1  # at least one day without any session
STRENGTH_GOALS = ("health", "weight_loss")  # WHO 2020: muscle strengthening on 2 or more days a week

# RPE on the CR-10 scale the plans use, by ACSM band (ACSM 2021 Borg 6-20: light 9-11, moderate
# 12-13, vigorous 14-17; on a 0-10 scale moderate is 5-6 and vigorous 7-8, PAG 2018).
RPE_CR10: dict[str, tuple[int, int]] = {
    "rest": (1, 2),
    "light": (2, 4),
    "moderate": (5, 6),
    "vigorous": (7, 8),
}
RPE_BY_BAND = {"rest": 1, "light": 3, "moderate": 5, "vigorous": 7}
HARD_RPE = RPE_CR10["vigorous"][0]  # a session at RPE 7 or more, or labelled vigorous, makes a hard day

# Soreness >= 7 or readiness < 5 (of 10) -> rest days and no vigorous work; the same thresholds
# raise the high_soreness/low_readiness flags of user_contexts.
SORENESS_REST = 7
READINESS_REST = 5
RECOVERY_REST_DAYS = 2
DOWNGRADED_HRR = 0.55  # target %HRR when intensity must come down (recovery, short sleep)
MODERATE_MAX_HRR = guidelines.HRR_MODERATE[1] - 0.01

REFERRAL_WALK_SESSIONS = 3
REFERRAL_WALK_MIN = 20.0
REFERRAL_WALK_HRR = 0.35

CALORIES_TOLERANCE = 0.10  # each day's intake vs the target
CALORIE_TARGET_TOLERANCE = 0.05  # the plan's stated target vs ours
PROTEIN_TOLERANCE_G = 2.0
CALORIES_SCHEMA_MIN = 800.0  # NutritionPlan.calories_target lower bound
# Lowest intake planned without medical supervision: the low end of the weight-loss eating plans of
# the AHA/ACC/TOS 2013 guideline and NIH/NHLBI guidance (1,200-1,500 kcal women, 1,500-1,800 men).
CALORIE_FLOOR_KCAL = guidelines.CALORIE_FLOOR_KCAL
CALORIE_FLOOR_UNKNOWN_SEX = guidelines.CALORIE_FLOOR_KCAL["female"]
# Protein for the clinician conditions, g/kg/day, first matching flag wins (docs/plans.md).
CLINICIAN_PROTEIN_G_PER_KG: dict[str, tuple[float, float]] = {
    "kidney_disease": guidelines.PROTEIN_CKD_G_PER_KG,
    "pregnancy": (guidelines.PROTEIN_PREGNANCY_G_PER_KG, 1.3),  # the upper bound is this project's margin
}
CLINICIAN_PROTEIN_DEFAULT = (guidelines.PROTEIN_RDA_G_PER_KG, 1.0)  # RDA, held near it until a clinician says

STOP_AND_REFER = (
    "Reported chest pain or fainting: stop exercising and see a doctor before any training. "
    "This week is rest only."
)
SEE_CLINICIAN = (
    "A medical condition is on file: this week holds only rest and light walking. "
    "Ask your clinician before starting harder training."
)
SEE_CLINICIAN_NUTRITION = (
    "A medical condition is on file: protein is kept at {low:g}-{high:g} g/kg and calories at maintenance. "
    "Ask your clinician or a registered dietitian before any high-protein or low-calorie diet."
)

# Kinds of day in a week's layout.
REST, STRENGTH, KEY, EASY = "rest", "strength", "key", "easy"


@dataclass(frozen=True)
class WorkoutTargets:
    """Every number a 7-day workout plan for this user and week must respect."""

    week: date
    hr_max_bpm: int
    hr_max_method: str
    hr_rest_bpm: int
    zones: tuple[HeartRateZone, ...]
    session_cap_min: float
    rest_dates: tuple[date, ...]
    training_days: int
    weekly_minutes: float
    minutes_tolerance: float
    target_hrr: float
    max_hrr: float
    session_hr_bpm: tuple[int, int]
    referral: str | None
    adjustments: tuple[str, ...]
    layout: tuple[str, ...] = ()  # the rules planner's kind of each day (rest, strength, key, easy)
    easy_hr_bpm: tuple[int, int] | None = None  # range of the easy days of a vigorous week
    strength_days_min: int = 0

    @property
    def hard_week(self) -> bool:
        """Sessions at the prescribed intensity are vigorous: they must not fall on consecutive days."""
        return self.intensity == "vigorous"

    @property
    def key_sessions_min(self) -> int:
        """Aerobic sessions the week must hold at the prescribed intensity."""
        return self.layout.count(KEY)

    @property
    def dates(self) -> list[date]:
        return [self.week + timedelta(days=i) for i in range(WORKOUT_DAYS)]

    @property
    def intensity(self) -> str:
        return physiology.intensity_band(self.target_hrr)

    @property
    def vigorous_allowed(self) -> bool:
        return self.max_hrr >= guidelines.HRR_VIGOROUS[0]

    def bpm(self, fraction_hrr: float) -> int:
        """Karvonen heart rate at a fraction of this user's heart-rate reserve."""
        return round(physiology.karvonen_hr(fraction_hrr, float(self.hr_rest_bpm), float(self.hr_max_bpm)))

    def hrr(self, bpm: float) -> float:
        """Fraction of heart-rate reserve of a heart rate (not clipped)."""
        return (bpm - self.hr_rest_bpm) / max(self.hr_max_bpm - self.hr_rest_bpm, 1)


@dataclass(frozen=True)
class NutritionTargets:
    """Every number a 3-day nutrition plan for this user must respect."""

    start: date
    calories_target: float
    calories_floor: float  # the basal metabolic rate
    protein_g_range: tuple[float, float]
    diet_preference: str
    allergies: tuple[str, ...]
    referral: str | None
    guideline_floor: float = 0.0  # 1,200/1,500 kcal (women/men); 0 when a clinician holds the plan

    @property
    def dates(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(NUTRITION_DAYS)]

    @property
    def target_band(self) -> tuple[float, float]:
        """The calorie target +-10% (what each day must hit, floors aside)."""
        return round(self.calories_target * (1 - CALORIES_TOLERANCE)), round(
            self.calories_target * (1 + CALORIES_TOLERANCE)
        )

    @property
    def daily_calories_range(self) -> tuple[float, float]:
        """Where each day must land: the target band, never under the BMR or the calorie floor."""
        low = max(self.calories_floor, self.guideline_floor, self.calories_target * (1 - CALORIES_TOLERANCE))
        return round(low), round(self.calories_target * (1 + CALORIES_TOLERANCE))


def karvonen_zones(hr_max: int, hr_rest: int) -> tuple[HeartRateZone, ...]:
    """The ACSM light/moderate/vigorous bands as Karvonen heart-rate zones."""
    bands = (
        ("light", guidelines.HRR_LIGHT),
        ("moderate", guidelines.HRR_MODERATE),
        ("vigorous", guidelines.HRR_VIGOROUS),
    )
    return tuple(
        HeartRateZone(
            name=name,
            low_bpm=round(physiology.karvonen_hr(lo, float(hr_rest), float(hr_max))),
            high_bpm=round(physiology.karvonen_hr(hi, float(hr_rest), float(hr_max))),
        )
        for name, (lo, hi) in bands
    )


def recovery_reasons(ctx: PlanningContext) -> tuple[list[str], list[str]]:
    """Why rest days are needed, and why intensity must come down (each a list of reasons)."""
    rest: list[str] = []
    if ctx.soreness is not None and ctx.soreness >= SORENESS_REST:
        rest.append(f"soreness {ctx.soreness:g}/10 (>= {SORENESS_REST})")
    if ctx.readiness is not None and ctx.readiness < READINESS_REST:
        rest.append(f"readiness {ctx.readiness:g}/10 (< {READINESS_REST})")
    downgrade = list(rest)
    if ctx.sleep_h_recent is not None and ctx.sleep_h_recent <= guidelines.SHORT_SLEEP_H:
        downgrade.append(f"sleep {ctx.sleep_h_recent:.1f} h/night (<= {guidelines.SHORT_SLEEP_H:g} h)")
    return rest, downgrade


def workout_targets(ctx: PlanningContext, prescription: Prescription) -> WorkoutTargets:
    """The week's workout envelope: the prescription bounded by safety rules for this user."""
    if prescription.user_id != ctx.user_id or prescription.week != ctx.week:
        raise ValueError(
            f"prescription is for {prescription.user_id} week {prescription.week}, "
            f"the context for {ctx.user_id} week {ctx.week}"
        )
    hr_max, hr_rest = round(ctx.hr_max_bpm), round(ctx.hr_rest_bpm)
    longest = ctx.longest_session_30d_min or DEFAULT_LONGEST_MIN
    cap = round(guidelines.SESSION_SPIKE_MAX * longest, 1)
    whole_cap = math.floor(cap)
    rest_why, downgrade_why = recovery_reasons(ctx)
    full_rest = max(RECOVERY_REST_DAYS if rest_why else 0, FULL_REST_DAYS_MIN)
    rest_dates = tuple(ctx.week + timedelta(days=i) for i in range(RECOVERY_REST_DAYS)) if rest_why else ()
    referral = _workout_referral(ctx)
    target_hrr, max_hrr = prescription.target_hrr, guidelines.HRR_VIGOROUS[1]
    if downgrade_why:
        target_hrr, max_hrr = min(target_hrr, DOWNGRADED_HRR), MODERATE_MAX_HRR
    sessions, planned = prescription.sessions, prescription.weekly_minutes
    if referral is not None:
        sessions, planned = (
            (0, 0.0) if referral == STOP_AND_REFER else (REFERRAL_WALK_SESSIONS, REFERRAL_WALK_MIN * 3)
        )
        target_hrr, max_hrr = REFERRAL_WALK_HRR, guidelines.HRR_LIGHT[1] - 0.01
    days = min(sessions, WORKOUT_DAYS - full_rest) if whole_cap >= 1 else 0
    shortest = min(MIN_SESSION_MIN, whole_cap) if whole_cap >= 1 else 1
    days = min(days, int(planned // shortest))
    minutes = float(round(min(planned, days * whole_cap))) if days else 0.0
    adjustments = []
    if referral is None and days < sessions and sessions > WORKOUT_DAYS - full_rest:
        adjustments.append(f"{days} of the prescribed {sessions} sessions: the week keeps a full rest day")
    if rest_why:
        adjustments.append(f"first {RECOVERY_REST_DAYS} days are rest: {', '.join(rest_why)}")
    if downgrade_why and prescription.target_hrr > target_hrr:
        adjustments.append(f"intensity lowered to {target_hrr:.0%} HRR: {', '.join(downgrade_why)}")
    if referral is None and minutes < prescription.weekly_minutes - 0.5:
        adjustments.append(
            f"{minutes:.0f} of the prescribed {prescription.weekly_minutes:.0f} min: "
            f"sessions capped at {whole_cap} min (110% of the longest in 30 days, {longest:.0f} min)"
        )
    band_low, band_high = BANDS[physiology.intensity_band(target_hrr)]
    low = max(guidelines.HRR_LIGHT[0], band_low, target_hrr - SESSION_HR_HALF_WIDTH)
    high = min(max_hrr, band_high, target_hrr + SESSION_HR_HALF_WIDTH)
    hr = (
        round(physiology.karvonen_hr(low, float(hr_rest), float(hr_max))),
        round(physiology.karvonen_hr(high, float(hr_rest), float(hr_max))),
    )
    hard = physiology.intensity_band(target_hrr) == "vigorous"
    easy = None
    if hard:
        easy = (
            round(physiology.karvonen_hr(EASY_HRR - SESSION_HR_HALF_WIDTH, float(hr_rest), float(hr_max))),
            round(physiology.karvonen_hr(EASY_HRR + SESSION_HR_HALF_WIDTH, float(hr_rest), float(hr_max))),
        )
    strength = strength_days_min(ctx.goal, days) if referral is None else 0
    layout = week_layout(days, strength, hard, len(rest_dates))
    return WorkoutTargets(
        week=ctx.week,
        hr_max_bpm=hr_max,
        hr_max_method=ctx.hr_max_method,
        hr_rest_bpm=hr_rest,
        zones=karvonen_zones(hr_max, hr_rest),
        session_cap_min=cap,
        rest_dates=rest_dates,
        training_days=days,
        weekly_minutes=minutes,
        minutes_tolerance=max(MINUTES_TOLERANCE * minutes, MINUTES_TOLERANCE_FLOOR),
        target_hrr=round(target_hrr, 3),
        max_hrr=round(max_hrr, 3),
        session_hr_bpm=hr,
        referral=referral,
        adjustments=tuple(adjustments),
        layout=layout,
        easy_hr_bpm=easy,
        strength_days_min=strength,
    )


BANDS = {
    "light": guidelines.HRR_LIGHT,
    "moderate": guidelines.HRR_MODERATE,
    "vigorous": guidelines.HRR_VIGOROUS,
}


def strength_days_min(goal: str, training_days: int) -> int:
    """Strength days the week must hold: 2 for health and weight loss (WHO 2020), 1 for endurance,
    always leaving at least one aerobic day (two for endurance)."""
    if goal in STRENGTH_GOALS:
        return min(guidelines.STRENGTH_DAYS_MIN, max(training_days - 1, 0))
    return min(1, max(training_days - 2, 0))


def spread(count: int, slots: int) -> list[int]:
    """``count`` indices out of ``slots``, every other day first (0 first, never past the last slot)."""
    return [math.ceil(i * slots / count) for i in range(count)] if count else []


def week_layout(training_days: int, strength: int, hard: bool, rest_first: int) -> tuple[str, ...]:
    """Each day's kind: sessions spread over the open days (after ``rest_first`` recovery days),
    strength days spread from the end, and in a hard week an aerobic day right after a hard one
    becomes an easy day (never two hard days in a row)."""
    open_days = list(range(rest_first, WORKOUT_DAYS))
    trained = [open_days[i] for i in spread(training_days, len(open_days))]
    strength_at = {trained[training_days - 1 - i] for i in spread(strength, training_days)}
    kinds = [REST] * WORKOUT_DAYS
    for day in trained:
        if day in strength_at:
            kinds[day] = STRENGTH
        elif hard and day > 0 and kinds[day - 1] == KEY:
            kinds[day] = EASY
        else:
            kinds[day] = KEY
    return tuple(kinds)


def _workout_referral(ctx: PlanningContext) -> str | None:
    """The hard refusal for this user's medical flags, if any (physiology.md 3)."""
    flags = set(ctx.medical_flags)
    if flags & set(guidelines.REFER_SYMPTOMS):
        return STOP_AND_REFER
    if flags & set(guidelines.CLINICIAN_CONDITIONS):
        return SEE_CLINICIAN
    return None


def nutrition_targets(ctx: PlanningContext) -> NutritionTargets:
    """Energy and protein targets: TDEE (minus a safe deficit for weight loss), never below BMR."""
    age, weight, bmr, tdee = ctx.age, ctx.weight_kg, ctx.bmr_kcal, ctx.tdee_kcal
    if age is None or weight is None or bmr is None or tdee is None:
        missing = [n for n in ("age", "weight_kg", "bmr_kcal", "tdee_kcal") if getattr(ctx, n) is None]
        raise ValueError(
            f"a nutrition plan for {ctx.user_id} needs {', '.join(missing)} (incomplete profile)"
        )
    clinician = bool(set(ctx.medical_flags) & set(guidelines.CLINICIAN_CONDITIONS))
    calories = tdee
    if ctx.goal == "weight_loss" and not clinician:
        deficit = guidelines.WEIGHT_LOSS_KG_PER_WEEK[0] * guidelines.KCAL_PER_KG_FAT / 7
        calories = tdee - deficit
    floor = math.ceil(bmr)
    # A clinical condition holds intake at maintenance under a clinician: no guideline floor on top.
    guideline_floor = 0.0 if clinician else calorie_floor(ctx.sex)
    target = max(math.ceil(calories / 10) * 10, floor, guideline_floor, CALORIES_SCHEMA_MIN)
    referral = None
    if clinician:
        low, high = clinician_protein_g_per_kg(ctx.medical_flags)
        protein = (round(low * weight, 1), round(high * weight, 1))
        referral = SEE_CLINICIAN_NUTRITION.format(low=low, high=high)
    else:
        protein = guidelines.protein_range_g(weight, ctx.goal, age)
    return NutritionTargets(
        start=ctx.week,
        calories_target=float(target),
        calories_floor=float(floor),
        protein_g_range=protein,
        diet_preference=ctx.diet_preference,
        allergies=tuple(a.strip().lower() for a in ctx.allergies if a.strip()),
        referral=referral,
        guideline_floor=guideline_floor,
    )


def calorie_floor(sex: str | None) -> float:
    """The lowest daily intake planned without a clinician (AHA/ACC/TOS 2013, NIH/NHLBI)."""
    return CALORIE_FLOOR_KCAL.get(sex or "", CALORIE_FLOOR_UNKNOWN_SEX)


def clinician_protein_g_per_kg(flags: tuple[str, ...]) -> tuple[float, float]:
    """Protein for a clinician condition: kidney disease first (its upper bound is the binding one)."""
    for flag, grams in CLINICIAN_PROTEIN_G_PER_KG.items():
        if flag in flags:
            return grams
    return CLINICIAN_PROTEIN_DEFAULT
