"""``user_contexts``: the one document per user and week that the planners read.

Built only from stored ``weekly_features`` (this week and the 4 before it) and the ``users``
profile, so it is cheap and needs no raw data.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from fitness_assets.documents import WriteSummary, inputs_hash, replace_week
from fitness_assets.features.inputs import read_profiles
from fitness_assets.features.models import CompactWeek, Flags, Profile, UserContext, WeeklyFeatures
from fitness_assets.features.trends import BASELINE_WEEKS, compact, trends
from fitness_assets.isolation import UserFailures, each_user
from fitness_core import guidelines, physiology, store
from fitness_core.weeks import last_day, parse_week, previous_weeks

if TYPE_CHECKING:
    from pymongo.database import Database

CONTEXT_VERSION = "user_contexts/2"  # 2: weeks without a source are left out of its trends
RECENT_WEEKS = 4
LONGEST_SESSION_DAYS = 30
#: Weeks read before the context's week: the trend baseline, which also covers the 30-day window.
HISTORY_WEEKS = BASELINE_WEEKS
# Flag thresholds: readiness < 5 and resting HR > baseline + 5 bpm are baseline B3's hold rules
# (physiology.md 2); soreness >= 7 of 10 is our own threshold.
LOW_READINESS = 5.0
HIGH_SORENESS = 7.0
RESTING_HR_RISE_BPM = 5.0
log = logging.getLogger(__name__)


def activity_level(workout_days: int) -> str:
    """The TDEE activity level from the week's workout days (Harris-Benedict descriptions)."""
    if workout_days == 0:
        return "sedentary"
    if workout_days <= 2:
        return "light"
    if workout_days <= 5:
        return "moderate"
    return "very"


def profile_of(user: dict[str, Any], features: WeeklyFeatures) -> Profile:
    """The planner-facing profile: the user's settings plus this week's physiology constants."""
    phys = features.physiology
    level = activity_level(features.workouts.days)
    return Profile(
        age=phys.age,
        sex=phys.sex,
        goal=user.get("goal") or "health",
        diet_preference=user.get("diet_preference") or "omnivore",
        allergies=list(user.get("allergies") or []),
        medical_flags=list(user.get("medical_flags") or []),
        weight_kg=phys.weight_kg,
        height_cm=phys.height_cm,
        hr_max_bpm=round(phys.hr_max_bpm, 1),
        hr_max_method=phys.hr_max_method,
        hr_rest_bpm=round(phys.hr_rest_bpm, 1),
        hr_rest_method=phys.hr_rest_method,
        steps_goal=int(user.get("steps_goal") or 8000),
        timezone=features.timezone,
        bmr_kcal=round(phys.bmr_kcal, 1) if phys.bmr_kcal is not None else None,
        activity_level=level,
        tdee_kcal=round(float(physiology.tdee(phys.bmr_kcal, level)), 1)
        if phys.bmr_kcal is not None
        else None,
    )


def longest_session_min(history: list[WeeklyFeatures], week: str) -> float:
    """Longest workout in the 30 local days ending on the week's Sunday, from daily maxima."""
    sunday = last_day(week)
    first_day = (sunday - timedelta(days=LONGEST_SESSION_DAYS - 1)).isoformat()
    return max(
        (
            minutes
            for f in history
            for day, minutes in zip(f.days, f.workouts.daily_longest_min, strict=True)
            if first_day <= day <= sunday.isoformat()
        ),
        default=0.0,
    )


def flags_of(current: WeeklyFeatures, baseline: list[CompactWeek], profile: Profile) -> Flags:
    """Readiness, soreness, sleep, resting-HR, load and medical flags, with the rule behind each."""
    reasons: list[str] = []
    fb = current.feedback
    latest = fb.latest
    readiness = [v for v in (fb.readiness, latest.readiness if latest else None) if v is not None]
    low_readiness = any(v < LOW_READINESS for v in readiness)
    if low_readiness:
        reasons.append(
            f"readiness below {LOW_READINESS:g} (week mean {fb.readiness}, latest {latest.readiness if latest else None})"
        )
    soreness = [v for v in (fb.soreness, latest.soreness_level if latest else None) if v is not None]
    high_soreness = any(v >= HIGH_SORENESS for v in soreness)
    if high_soreness:
        reasons.append(f"soreness {HIGH_SORENESS:g}/10 or more (week mean {fb.soreness})")
    asleep = current.sleep.mean_asleep_min
    short_sleep = asleep is not None and asleep <= guidelines.SHORT_SLEEP_H * 60
    if short_sleep:
        reasons.append(f"mean sleep {asleep / 60:.1f} h <= {guidelines.SHORT_SLEEP_H:g} h")
    rhr_base = [w.resting_hr_bpm for w in baseline if w.resting_hr_bpm is not None]
    rhr = current.sleep.resting_hr_bpm
    elevated = (
        bool(rhr_base) and rhr is not None and rhr > sum(rhr_base) / len(rhr_base) + RESTING_HR_RISE_BPM
    )
    if elevated:
        reasons.append(
            f"resting HR {rhr} > baseline {sum(rhr_base) / len(rhr_base):.1f} + {RESTING_HR_RISE_BPM:g}"
        )
    acwr = current.load.acwr
    acwr_high = acwr is not None and acwr >= guidelines.ACWR_DANGER
    if acwr_high:
        reasons.append(f"acute:chronic load {acwr} >= {guidelines.ACWR_DANGER}")
    refer = sorted(set(profile.medical_flags) & set(guidelines.REFER_SYMPTOMS))
    if refer:
        reasons.append(f"reported {', '.join(refer)}: refer to a clinician")
    return Flags(
        low_readiness=low_readiness,
        high_soreness=high_soreness,
        short_sleep=short_sleep,
        elevated_resting_hr=elevated,
        acwr_high=acwr_high,
        refer_to_clinician=bool(refer),
        reasons=reasons,
    )


def context_inputs(user: dict[str, Any], history: list[WeeklyFeatures]) -> dict[str, Any]:
    """What a context depends on: its code, the user's profile and the provenance of its feature weeks."""
    return {
        "version": CONTEXT_VERSION,
        "profile": {k: v for k, v in sorted(user.items()) if k != "_id"},
        "features": [(f.week, f.provenance.inputs_hash, f.provenance.code_version) for f in history],
    }


def build_user_context(
    user: dict[str, Any], history: list[WeeklyFeatures], week: str, created_at: datetime
) -> UserContext:
    """The context of ``week`` from the user's profile and their feature weeks up to ``week``.

    ``history`` is oldest first and must end with ``week``; earlier weeks may be missing.
    """
    current = history[-1]
    if current.week != week:
        raise ValueError(f"the feature history of {current.user_id} ends with {current.week}, not {week}")
    weeks = [compact(f) for f in history]
    baseline = [w for w in weeks[:-1] if w.week >= previous_weeks(week, BASELINE_WEEKS)[0]]
    profile = profile_of(user, current)
    latest = max((f.feedback.latest for f in history if f.feedback.latest), key=lambda c: c.ts, default=None)
    sleep_min = current.sleep.mean_asleep_min
    return UserContext(
        _id=f"{week}:{current.user_id}",
        week=week,
        user_id=current.user_id,
        profile=profile,
        recent_weeks=weeks[-RECENT_WEEKS:],
        trends=trends(weeks[-1], baseline),
        latest_feedback=latest,
        longest_session_30d_min=longest_session_min(history, week),
        sleep_h_recent=round(sleep_min / 60.0, 2) if sleep_min is not None else None,
        flags=flags_of(current, baseline, profile),
        created_at=created_at,
        provenance={
            "code_version": CONTEXT_VERSION,
            "inputs_hash": inputs_hash(context_inputs(user, history)),
        },
    )


def read_feature_history(db: Database, week: str, weeks: int) -> dict[str, list[dict[str, Any]]]:
    """Per user with features in ``week``: their raw documents of ``week`` and the ``weeks`` before,
    oldest first (validated per user by :func:`user_contexts_for`, so one bad document skips one user)."""
    keys = [*previous_weeks(week, weeks), week]
    history: dict[str, list[dict[str, Any]]] = {}
    for doc in db[store.WEEKLY_FEATURES].find({"week": {"$in": keys}}):
        history.setdefault(doc.get("user_id"), []).append(doc)
    for docs in history.values():
        docs.sort(key=lambda d: str(d.get("week")))
    return {u: docs for u, docs in history.items() if docs[-1].get("week") == week}


def user_contexts_for(
    db: Database, week: str, now: datetime | None = None, failures: UserFailures | None = None
) -> tuple[list[UserContext], list[str]]:
    """The contexts of ``week``, and the users left out because they have no profile.

    A user whose feature documents or profile make the context raise is recorded in ``failures``
    and skipped.
    """
    parse_week(week)
    created_at = now or datetime.now(UTC)
    failures = failures if failures is not None else UserFailures("user_contexts")
    history = read_feature_history(db, week, HISTORY_WEEKS)
    profiles = read_profiles(db, sorted(history, key=str))
    missing = sorted(set(history) - set(profiles), key=str)
    if missing:
        log.warning("users without a profile get no context", extra={"week": week, "users": len(missing)})

    def build(user_id: str) -> UserContext:
        features = [WeeklyFeatures.model_validate(d) for d in history[user_id]]
        return build_user_context(profiles[user_id], features, week, created_at)

    return each_user(sorted(profiles, key=str), str, build, failures), missing


def materialize_user_contexts(
    db: Database, week: str, failures: UserFailures | None = None
) -> tuple[list[UserContext], WriteSummary, list[str]]:
    """Compute ``week``'s contexts and replace the week in ``user_contexts`` (idempotent)."""
    store.ensure_indexes(db)
    contexts, missing = user_contexts_for(db, week, failures=failures)
    return contexts, replace_week(db[store.USER_CONTEXTS], week, contexts), missing
