"""A simulated population of planning inputs: physiology.md 1.6 users with plausible profiles.

Hidden physiology (age, sex, HRmax, resting HR) comes from ``fitness_core.physiology.
sample_population``; the profile fields planning reads (goal, diet, allergies, medical flags,
body size, recent training, recovery check-ins) and a prescription spanning the policy's whole
action range are drawn around it. Used by the planning tests and ``benchmarks/bench_plans.py``.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from fitness_assets.planning.context import MEASURED_METHOD, PlanningContext
from fitness_core import physiology
from fitness_core.physiology import TANAKA_METHOD
from fitness_core.plans import Prescription

WEEK = date(2025, 3, 3)
GOALS = ("health", "endurance", "weight_loss")
DIETS = ("omnivore", "vegetarian", "vegan", "pescatarian")
DIET_P = (0.6, 0.15, 0.1, 0.15)
# The streaming simulator's allergen words first, then other spellings people use.
ALLERGIES = (
    "peanut",
    "tree_nut",
    "gluten",
    "lactose",
    "shellfish",
    "egg",
    "soy",
    "tree nuts",
    "milk",
    "wheat",
    "fish",
    "sesame",
    "kiwi",
)
FLAGS = ("pregnancy", "cardiovascular_disease", "diabetes", "kidney_disease", "chest_pain", "syncope")
ACTIVITY_LEVELS = tuple(physiology.ACTIVITY_FACTORS)


def _allergies(rng: np.random.Generator) -> tuple[str, ...]:
    count = rng.choice(4, p=[0.7, 0.2, 0.07, 0.03])
    return tuple(str(a) for a in rng.choice(ALLERGIES, size=count, replace=False))


def population(n: int, seed: int = 7, week: date = WEEK) -> list[tuple[PlanningContext, Prescription]]:
    """``n`` (context, prescription) pairs for one week, reproducible from ``seed``."""
    rng = np.random.default_rng(seed)
    users = physiology.sample_population(n, rng)
    pairs = []
    for i in range(n):
        female = bool(users.female[i])
        age = int(users.age[i])
        weight = float(np.clip(rng.normal(68 if female else 82, 13), 42, 160))
        height = float(np.clip(rng.normal(163 if female else 177, 7), 145, 205))
        measured = rng.random() < 0.2
        hr_max = float(users.hr_max[i]) if measured else float(physiology.hr_max_tanaka(age))
        bmr = float(physiology.bmr_mifflin(weight, height, age, female))
        flags = (str(rng.choice(FLAGS)),) if rng.random() < 0.06 else ()
        ctx = PlanningContext(
            user_id=f"user-{seed}-{i:05d}",
            week=week,
            age=age,
            sex="female" if female else "male",
            goal=str(rng.choice(GOALS)),
            diet_preference=str(rng.choice(DIETS, p=DIET_P)),
            allergies=_allergies(rng),
            medical_flags=flags,
            weight_kg=round(weight, 1),
            height_cm=round(height, 1),
            hr_max_bpm=round(hr_max, 1),
            hr_max_method=MEASURED_METHOD if measured else TANAKA_METHOD,
            hr_rest_bpm=round(float(users.hr_rest[i]), 1),
            bmr_kcal=round(bmr, 1),
            tdee_kcal=round(float(physiology.tdee(bmr, str(rng.choice(ACTIVITY_LEVELS)))), 1),
            longest_session_30d_min=None
            if rng.random() < 0.1
            else round(float(np.clip(rng.lognormal(3.8, 0.5), 5, 240)), 1),
            weekly_minutes_recent=tuple(round(float(m), 1) for m in rng.uniform(0, 400, 4)),
            sleep_h_recent=round(float(np.clip(rng.normal(7.2, 0.9), 4, 10)), 2),
            soreness=int(rng.integers(1, 11)) if rng.random() < 0.8 else None,
            readiness=int(rng.integers(1, 11)) if rng.random() < 0.8 else None,
        )
        prescription = Prescription(
            user_id=ctx.user_id,
            week=week,
            target_hrr=round(float(rng.uniform(0.30, 0.90)), 3),
            weekly_minutes=round(float(rng.uniform(0, 600)), 1),
            sessions=int(rng.integers(0, 8)),
            source="simulated-policy",
        )
        pairs.append((ctx, prescription))
    return pairs


def example_context(**changes: object) -> PlanningContext:
    """One healthy 40-year-old man (HRmax 180, HRrest 60, longest session 50 min), with ``changes``."""
    base: dict[str, object] = dict(
        user_id="u-1",
        week=WEEK,
        age=40,
        sex="male",
        goal="health",
        weight_kg=80.0,
        height_cm=180.0,
        hr_max_bpm=180.0,
        hr_rest_bpm=60.0,
        bmr_kcal=1755.0,
        tdee_kcal=2106.0,
        longest_session_30d_min=50.0,
    )
    return PlanningContext(**{**base, **changes})


def example_prescription(**changes: object) -> Prescription:
    """Four sessions, 150 min at 50% HRR for ``example_context``'s user and week, with ``changes``."""
    base: dict[str, object] = dict(
        user_id="u-1", week=WEEK, target_hrr=0.5, weekly_minutes=150.0, sessions=4, source="ppo-3"
    )
    return Prescription(**{**base, **changes})
