"""A real user's stored history as the environment's observation, and next week's dose from it.

The simulator's observation (``observation.observe``) reads a few fields of a ``Cohort``;
``ObservedUsers`` carries the same fields filled from stored documents instead: the last five
``weekly_features`` (daily training load, longest workout per day, nights, readiness), the week's
``user_contexts`` profile, and the prescription the user followed this week (which holds the
current plan, the previous action and the position in the 16-week block), each read as its typed
document (:class:`WeeklyFeatures`, :class:`UserContext`, :class:`PrescriptionDocument`). Approximations, where
stored data has no counterpart of a simulated quantity, are listed in ``APPROXIMATIONS``.

A policy (PPO or a baseline) is then applied exactly as in the simulator: the action mapping, the
session template and the spike shield (``policy.prescriptions``). No Dagster and no MongoDB here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np

from fitness_assets.features.models import UserContext, WeeklyFeatures
from fitness_assets.rl.baselines import OpenLoopSchedule, TenPercentRule, planning_week
from fitness_assets.rl.cohort import GOALS, LOAD_DAYS, SimConfig
from fitness_assets.rl.observation import observe
from fitness_assets.rl.policy import prescriptions
from fitness_assets.rl.simulator import LAMBDA_ACUTE, LAMBDA_CHRONIC, prescribe
from fitness_core.physiology import DEFAULT_AGE, POP_TAU_FATIGUE, POP_TAU_FITNESS, hr_max_tanaka, vo2max_norm
from fitness_core.plans import PrescriptionDocument
from fitness_core.weeks import last_day

HISTORY_WEEKS = LOAD_DAYS // 7  # the week that closed and the four before it
UNKNOWN_SEX = 0.5  # between the two one-hot values the policy was trained on
RUN_TYPES = ("run",)

APPROXIMATIONS: tuple[str, ...] = (
    "daily load: weekly_features load.daily (Banister TRIMP per event, session-RPE scaled without HR), "
    "zero on days without a document",
    "session minutes: each day's longest workout (workouts.daily_longest_min), so the 30-day longest session "
    "matches user_contexts.longest_session_30d_min",
    "EWMA acute/chronic and CTL/ATL: the simulator's recursions over the stored 35 days, started at the "
    "first week's mean load",
    "resting HR, lnRMSSD, sleep and efficiency: per night (wake-up date); readiness: the week's feedback mean on "
    "each of its days; nights without data count as missing (missing_7d)",
    "injury flag and days left: not recorded by the platform, always 0",
    "VO2max estimate: the population norm for age and sex (fitness_core.physiology.vo2max_norm)",
    "goal: the profile's goal, or the training population's goal when the policy never saw that one",
    "current plan, previous action, planned sessions, block week: from the prescription the user followed "
    "this week; without one the user enters the program (the simulator's entry plan, block week 0)",
    "weeks remaining: 16-week blocks that follow each other, counted by the prescription chain",
)


@dataclass
class UserHistory:
    """One user's stored inputs for a partition."""

    user_id: str
    context: UserContext  # user_contexts of the partition week
    features: dict[str, WeeklyFeatures]  # weekly_features by week, up to HISTORY_WEEKS
    previous: PrescriptionDocument | None = None  # the prescription for the partition week


@dataclass
class ObservedParams:
    """The two user constants ``observe`` reads from the (otherwise hidden) parameters."""

    age: np.ndarray
    female: np.ndarray


@dataclass
class ObservedUsers:
    """The ``Cohort`` fields ``observation.observe`` reads, filled from stored documents."""

    params: ObservedParams
    loads: np.ndarray  # (n, LOAD_DAYS) daily TRIMP, oldest first
    minutes: np.ndarray  # (n, LOAD_DAYS) longest session of each day
    rhr: np.ndarray
    ln_rmssd: np.ndarray
    tst: np.ndarray
    efficiency: np.ndarray
    readiness: np.ndarray
    ewma_acute: np.ndarray
    ewma_chronic: np.ndarray
    ctl: np.ndarray
    atl: np.ndarray
    last_planned: np.ndarray
    last_completed: np.ndarray
    injury_days: np.ndarray
    plan_intensity: np.ndarray
    plan_minutes: np.ndarray
    plan_sessions: np.ndarray
    goal: np.ndarray
    hr_max_est: np.ndarray
    vo2_estimate: np.ndarray
    week: np.ndarray  # block week of the prescribed week (weeks remaining = episode weeks - week)
    run: np.ndarray
    prev_action: np.ndarray

    def __len__(self) -> int:
        return len(self.goal)


def window_days(week: str) -> list[str]:
    """The LOAD_DAYS local dates ending on the Sunday of ``week``, oldest first."""
    last = last_day(week)
    return [(last - timedelta(days=LOAD_DAYS - 1 - i)).isoformat() for i in range(LOAD_DAYS)]


def smoothed(loads: np.ndarray, smoothing: float) -> np.ndarray:
    """The simulator's daily exponential smoothing over ``loads``, started at the first week's mean."""
    value = loads[:, :7].mean(axis=1)
    for day in range(loads.shape[1]):
        value = (1.0 - smoothing) * value + smoothing * loads[:, day]
    return value


def _daily_signals(history: UserHistory, days: list[str]) -> dict[str, np.ndarray]:
    """Per-day arrays of one user over ``days``: load, longest session, and the wellness signals."""
    index = {day: i for i, day in enumerate(days)}
    series = {
        name: np.full(len(days), np.nan) for name in ("rhr", "ln_rmssd", "tst", "efficiency", "readiness")
    }
    loads, longest = np.zeros(len(days)), np.zeros(len(days))
    for features in history.features.values():
        readiness = features.feedback.readiness
        for day, load, minutes in zip(
            features.days, features.load.daily, features.workouts.daily_longest_min, strict=True
        ):
            if day in index:
                loads[index[day]], longest[index[day]] = load, minutes
                if readiness is not None:
                    series["readiness"][index[day]] = readiness
        for night in features.sleep.nights:
            i = index.get(night.date)
            if i is None:
                continue
            hrv = night.hrv_rmssd_ms
            values = {
                "rhr": night.resting_hr_bpm,
                "ln_rmssd": math.log(hrv) if hrv else None,
                "tst": night.asleep_min / 60.0,
                "efficiency": night.efficiency,
            }
            for name, value in values.items():
                if value is not None:
                    series[name][i] = value
    return {"loads": loads, "minutes": longest, **series}


def _run_share(history: UserHistory) -> float:
    """Share of workout minutes that were runs over the stored weeks."""
    total = run = 0.0
    for features in history.features.values():
        for activity, summary in features.workouts.by_type.items():
            total += summary.minutes
            run += summary.minutes if activity in RUN_TYPES else 0.0
    return run / total if total > 0 else 0.0


def _goal_index(goal: str | None, config: SimConfig) -> int:
    """The profile's goal, or the training population's main goal when the policy never saw it."""
    trained = np.asarray(config.goal_mix) > 0
    index = GOALS.index(goal) if goal in GOALS else GOALS.index("health")
    return index if trained[index] else int(np.argmax(config.goal_mix))


def observed_users(histories: list[UserHistory], week: str, config: SimConfig) -> ObservedUsers:
    """The observation inputs of every user in ``histories`` at the end of ``week``."""
    days = window_days(week)
    daily = [_daily_signals(h, days) for h in histories]
    stack = {name: np.array([d[name] for d in daily]) for name in daily[0]} if daily else {}
    n = len(histories)
    profile = [h.context.profile for h in histories]
    age = np.array([float(p.age or DEFAULT_AGE) for p in profile])
    female = np.array([{"female": 1.0, "male": 0.0}.get(p.sex or "", UNKNOWN_SEX) for p in profile])
    this_week = [h.features.get(week) for h in histories]
    done = np.array([float(f.workouts.count) if f else 0.0 for f in this_week])
    done_minutes = np.array([float(f.workouts.minutes) if f else 0.0 for f in this_week])
    loads = stack.get("loads", np.zeros((0, LOAD_DAYS)))
    users = ObservedUsers(
        params=ObservedParams(age=age, female=female),
        loads=loads,
        minutes=stack.get("minutes", np.zeros((0, LOAD_DAYS))),
        rhr=stack.get("rhr"),
        ln_rmssd=stack.get("ln_rmssd"),
        tst=stack.get("tst"),
        efficiency=stack.get("efficiency"),
        readiness=stack.get("readiness"),
        ewma_acute=smoothed(loads, LAMBDA_ACUTE),
        ewma_chronic=smoothed(loads, LAMBDA_CHRONIC),
        ctl=smoothed(loads, 1 - np.exp(-1 / POP_TAU_FITNESS)),
        atl=smoothed(loads, 1 - np.exp(-1 / POP_TAU_FATIGUE)),
        last_planned=np.minimum(done, 7.0),
        last_completed=np.minimum(done, 7.0),
        injury_days=np.zeros(n),
        plan_intensity=np.full(n, config.start_intensity),
        plan_minutes=np.zeros(n),
        plan_sessions=np.zeros(n, dtype=np.int64),
        goal=np.array([_goal_index(p.goal, config) for p in profile], dtype=np.int64),
        hr_max_est=np.array(
            [float(p.hr_max_bpm or hr_max_tanaka(a)) for p, a in zip(profile, age, strict=True)]
        ),
        vo2_estimate=np.asarray(vo2max_norm(age, female > 0.5), dtype=float),
        week=np.zeros(n, dtype=np.int64),
        run=np.array([_run_share(h) >= 0.5 for h in histories]),
        prev_action=np.zeros((n, 2)),
    )
    _continue_plans(users, histories, done_minutes, config)
    return users


def _continue_plans(
    users: ObservedUsers, histories: list[UserHistory], done_minutes: np.ndarray, config: SimConfig
) -> None:
    """The current plan: the prescription followed this week, else the simulator's entry plan."""
    lo, hi = config.minutes_bounds
    entry = np.clip(np.maximum(config.start_minutes, done_minutes), lo, hi)
    longest = users.minutes[:, -30:].max(axis=1) if len(users) else np.zeros(0)
    sessions, length = prescribe(entry, longest, config)
    users.plan_sessions, users.plan_minutes = sessions, sessions * length
    for i, h in enumerate(histories):
        prev = h.previous
        if prev is None:
            continue
        users.plan_intensity[i] = prev.target_hrr
        users.plan_minutes[i] = prev.weekly_minutes
        users.plan_sessions[i] = prev.sessions
        users.prev_action[i] = prev.action or (0.0, 0.0)
        users.week[i] = (prev.block_week + 1) % config.episode_weeks
        users.last_planned[i] = float(prev.sessions)
        users.last_completed[i] = min(users.last_completed[i], float(prev.sessions))


def observation_features(histories: list[UserHistory], week: str, config: SimConfig) -> dict[str, np.ndarray]:
    """``observation.observe`` on the stored histories (named features, natural units)."""
    return observe(observed_users(histories, week, config), config)  # type: ignore[arg-type]


# --- applying a policy -------------------------------------------------------------------------


class RecordingPolicy:
    """A policy wrapper that remembers the actions it took (stored as the next week's previous action)."""

    def __init__(self, policy: Any) -> None:
        self.policy, self.name, self.actions = policy, getattr(policy, "name", "policy"), np.zeros((0, 2))

    def act(self, features: dict[str, np.ndarray]) -> np.ndarray:
        self.actions = np.asarray(self.policy.act(features), dtype=float)
        return self.actions


def one_week_baseline(baseline: Any, features: dict[str, np.ndarray], config: SimConfig) -> Any:
    """A baseline reset at the users' current plans as if it had followed them since the block
    started: the 10% rule's base and the open-loop schedule's start are rebased from this week's
    plan (undoing last week's deload or taper), so one call gives its next week."""
    baseline.reset(features)
    week = planning_week(features, config)
    started = week >= 1
    plan = features["plan_minutes"]
    if isinstance(baseline, OpenLoopSchedule):
        factor = baseline.schedule()[np.clip(week - 1, 0, config.episode_weeks - 1)]
        baseline.start = np.where(started, plan / factor, plan)
    elif isinstance(baseline, TenPercentRule):
        previous = week - 1
        deloaded = (baseline.deload_every > 0) & ((previous + 1) % max(baseline.deload_every, 1) == 0)
        tapered = previous >= config.episode_weeks - baseline.taper_weeks
        factor = np.where(tapered, 1.0 - baseline.taper, np.where(deloaded, 1.0 - baseline.deload, 1.0))
        baseline.base = np.where(started & (factor > 0), plan / np.maximum(factor, 1e-9), plan)
    return baseline


def dose(policy: Any, features: dict[str, np.ndarray], config: SimConfig) -> dict[str, np.ndarray]:
    """Next week's targets (``policy.prescriptions``) plus the action that produced them."""
    recorder = RecordingPolicy(policy)
    plan = prescriptions(recorder, features, config)
    return {**plan, "action": recorder.actions}


def sim_config_of(stored: dict[str, Any] | None) -> SimConfig:
    """The simulator config a policy was trained with (tuples restored), or the default."""
    if not stored:
        return SimConfig()
    known = SimConfig.__dataclass_fields__
    return SimConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items() if k in known})
