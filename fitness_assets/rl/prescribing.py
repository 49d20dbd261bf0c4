"""A week of prescriptions (collection ``weekly_prescriptions``): the current policy, or the best
baseline when there is none, applied to every user with a context of the partition.

Partition W (the week that just closed) prescribes week W + 7 days: the document ``_id`` is
``{W+7}:{user_id}`` and ``week`` is W + 7, which is what ``workout_plans`` of partition W reads.
Inputs are read with one query per collection; re-running a partition rewrites only documents
whose inputs changed and removes those of users no longer in it. No Dagster here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import ValidationError

from fitness_assets.documents import inputs_hash, replace_week
from fitness_assets.features.models import UserContext, WeeklyFeatures
from fitness_assets.isolation import UserFailures, each_user, in_batches
from fitness_assets.rl import registry
from fitness_assets.rl.cohort import SimConfig
from fitness_assets.rl.report import BASELINES
from fitness_assets.rl.serving import (
    UserHistory,
    dose,
    observation_features,
    one_week_baseline,
    sim_config_of,
)
from fitness_core import store
from fitness_core.plans import PrescriptionDocument
from fitness_core.schemas import describe_validation_error
from fitness_core.weeks import next_week, previous_weeks

if TYPE_CHECKING:
    from pymongo.database import Database

log = logging.getLogger(__name__)

PRESCRIPTIONS_VERSION = "weekly_prescriptions/1"
BOUND_TOLERANCE = 0.05  # rounding of stored minutes and %HRR


# --- inputs --------------------------------------------------------------------------------------


def read_histories(db: Database, week: str, failures: UserFailures | None = None) -> list[UserHistory]:
    """Every user with a context of ``week``: the context, up to five weeks of features and the
    prescription for ``week`` (one query per collection), validated once here; a user whose
    documents do not validate is recorded in ``failures`` and left out."""
    contexts = {c["user_id"]: c for c in db[store.USER_CONTEXTS].find({"week": week})}
    users = sorted(contexts, key=str)
    weeks = [*previous_weeks(week, 4), week]
    features: dict[str, list[dict[str, Any]]] = {u: [] for u in users}
    for doc in db[store.WEEKLY_FEATURES].find({"week": {"$in": weeks}, "user_id": {"$in": users}}):
        features[doc["user_id"]].append(doc)
    previous = {
        d["user_id"]: d for d in db[store.PRESCRIPTIONS].find({"week": week, "user_id": {"$in": users}})
    }

    def history(user: str) -> UserHistory:
        before = previous.get(user)
        return UserHistory(
            user,
            UserContext.model_validate(contexts[user]),
            {doc["week"]: WeeklyFeatures.model_validate(doc) for doc in features[user]},
            PrescriptionDocument.model_validate(before) if before is not None else None,
        )

    return each_user(
        users, str, history, failures if failures is not None else UserFailures("weekly_prescriptions")
    )


# --- which policy --------------------------------------------------------------------------------


@dataclass
class PolicyChoice:
    """The policy that prescribes this week, the baseline shown beside it, and why."""

    policy: Any
    source: str  # policy version, or the baseline's name when falling back
    version: str | None
    baseline_key: str
    baseline: Any
    config: SimConfig
    fallback: str | None = None  # why no PPO policy prescribes
    knobs: dict = field(default_factory=dict)


def best_baseline_key(evaluation: dict) -> str:
    """The best baseline (B0-B4) of an evaluation table, by mean return."""
    best = (evaluation.get("comparisons") or {}).get("best_baseline")
    if best:
        return best["baseline"]
    rows = evaluation.get("rows") or {}
    return max((k for k in BASELINES if k in rows), key=lambda k: rows[k]["mean_return"])


def measured_baselines(
    locate: Callable[[str], Path], config: SimConfig, validation_users: int, test_users: int
) -> tuple[dict[str, dict], dict]:
    """Baseline knobs tuned on validation users (cached in the artifact store) and their evaluation."""
    from fitness_assets.rl.report import evaluate
    from fitness_assets.rl.tuning import baselines_from_knobs, load_or_tune_baselines

    knobs = load_or_tune_baselines(locate(registry.KNOBS_FILE), config, validation_users)
    return knobs, evaluate(baselines_from_knobs(knobs, config), test_users, config=config)


def choose_policy(
    db: Database, locate: Callable[[str], Path], validation_users: int = 1000, test_users: int = 1000
) -> PolicyChoice:
    """The current PPO policy with its best baseline beside it; without one (or without its files),
    the best baseline of the newest evaluated policy, or of baselines measured now."""
    from fitness_assets.rl.tuning import baselines_from_knobs

    current = registry.current_policy(db)
    reference = current or registry.latest_policy(db)
    if reference is not None and reference.get("evaluation"):
        config = sim_config_of(reference.get("config", {}).get("sim_config"))
        knobs, evaluation = reference.get("baseline_knobs") or {}, reference["evaluation"]
    else:
        config = SimConfig()
        knobs, evaluation = measured_baselines(locate, config, validation_users, test_users)
    key = best_baseline_key(evaluation)
    baseline = baselines_from_knobs(knobs, config)[key]
    if current is not None:
        try:
            ppo = load_ppo(current, locate)
            return PolicyChoice(
                ppo, current["version"], current["version"], key, baseline, config, knobs=knobs
            )
        except FileNotFoundError as exc:
            fallback = f"current policy {current['version']} cannot be loaded ({exc})"
    elif reference is not None:
        fallback = f"no current policy (the newest, {reference['version']}, is {reference['status']})"
    else:
        fallback = "no policy trained yet"
    fallback_policy = baselines_from_knobs(knobs, config)[key]
    return PolicyChoice(fallback_policy, baseline.name, None, key, baseline, config, fallback, knobs)


def load_ppo(doc: dict[str, Any], locate: Callable[[str], Path]) -> Any:
    """The PPO policy of a registry document, from its files in the artifact store."""
    from fitness_assets.rl.policy import PPOPolicy

    paths = doc.get("paths") or {}
    if not paths.get("checkpoint") or not paths.get("vecnormalize"):
        raise FileNotFoundError("the registry document names no checkpoint")
    return PPOPolicy.load(locate(paths["checkpoint"]), locate(paths["vecnormalize"]), name=doc["version"])


# --- documents -----------------------------------------------------------------------------------


def prescription_inputs(history: UserHistory, choice: PolicyChoice) -> dict[str, Any]:
    """Everything a user's prescription depends on: code, context, features, last prescription, policy."""
    return {
        "code": PRESCRIPTIONS_VERSION,
        "context": history.context.provenance,
        "features": sorted(
            ((w, f.provenance) for w, f in history.features.items()), key=lambda item: item[0]
        ),
        "previous": history.previous.provenance if history.previous is not None else None,
        "policy": choice.source,
        "baseline": [choice.baseline_key, choice.knobs.get(choice.baseline_key)],
    }


def _targets(plan: dict[str, np.ndarray], i: int) -> dict[str, float]:
    return {
        "target_hrr": round(float(plan["intensity_hrr"][i]), 3),
        "weekly_minutes": round(float(plan["weekly_minutes"][i]), 1),
        "sessions": float(plan["sessions"][i]),
    }


def prescription_documents(
    histories: list[UserHistory], week: str, choice: PolicyChoice, now: datetime
) -> list[PrescriptionDocument]:
    """One ``weekly_prescriptions`` document per user: the policy's dose and the baseline's beside it."""
    if not histories:
        return []
    features = observation_features(histories, week, choice.config)
    policy = choice.policy
    if choice.version is None:
        policy = one_week_baseline(policy, features, choice.config)
    chosen = dose(policy, features, choice.config)
    beside = dose(one_week_baseline(choice.baseline, features, choice.config), features, choice.config)
    plan_week = next_week(week)
    block = (choice.config.episode_weeks - features["weeks_remaining"]).astype(int)
    documents = []
    for i, history in enumerate(histories):
        targets = _targets(chosen, i)
        documents.append(
            PrescriptionDocument(
                _id=f"{plan_week}:{history.user_id}",
                user_id=history.user_id,
                week=plan_week,
                target_hrr=targets["target_hrr"],
                weekly_minutes=targets["weekly_minutes"],
                sessions=int(targets["sessions"]),
                source=choice.source,
                baseline=_targets(beside, i),
                partition=week,
                policy_version=choice.version,
                baseline_policy=choice.baseline_key,
                baseline_name=choice.baseline.name,
                fallback=choice.fallback,
                session_minutes=round(float(chosen["session_minutes"][i]), 1),
                action=[round(float(a), 4) for a in chosen["action"][i]],
                block_week=int(block[i]),
                entered_program=history.previous is None,
                created_at=now,
                provenance={
                    "code_version": PRESCRIPTIONS_VERSION,
                    "policy_version": choice.source,
                    "inputs_hash": inputs_hash(prescription_inputs(history, choice)),
                },
            )
        )
    return documents


@dataclass
class WeekPrescriptions:
    """What one partition's run prescribed."""

    partition: str
    week: str
    choice: PolicyChoice
    documents: list[PrescriptionDocument]
    written: int = 0
    unchanged: int = 0
    deleted: int = 0
    failures: UserFailures = field(default_factory=lambda: UserFailures("weekly_prescriptions"))


def prescribe_week(
    db: Database,
    week: str,
    locate: Callable[[str], Path],
    now: datetime,
    validation_users: int = 1000,
    test_users: int = 1000,
) -> WeekPrescriptions:
    """Prescribe week ``week`` + 7 for every user with a context of ``week`` and store it."""
    store.ensure_indexes(db)
    failures = UserFailures("weekly_prescriptions")
    histories = read_histories(db, week, failures)
    choice = choose_policy(db, locate, validation_users, test_users)
    # One vectorized call for the week; a user whose history makes it raise is found and skipped.
    documents = [
        doc
        for part in in_batches(
            histories,
            lambda h: h.user_id,
            lambda batch: prescription_documents(batch, week, choice, now),
            failures,
        )
        for doc in part
    ]
    documents.sort(key=lambda d: d.id)
    plan_week = next_week(week)
    result = WeekPrescriptions(week, plan_week, choice, documents, failures=failures)
    write = replace_week(db[store.PRESCRIPTIONS], plan_week, [d.to_document() for d in documents])
    result.written, result.unchanged, result.deleted = write.written, write.unchanged, write.deleted
    log.info(
        "prescriptions stored",
        extra={
            "partition": week,
            "week": plan_week,
            "source": choice.source,
            "users": len(documents),
            "written": result.written,
            "unchanged": result.unchanged,
            "deleted": result.deleted,
            "failed_users": len(failures),
        },
    )
    return result


# --- guideline bounds ----------------------------------------------------------------------------


def guideline_violations(
    doc: PrescriptionDocument | Mapping[str, Any], longest_30d: float, config: SimConfig | None = None
) -> list[str]:
    """Why a stored prescription (and the baseline's targets beside it) leaves the guideline bounds:
    %HRR 0.40-0.85, 60-600 min/week, 3-6 sessions, no session over 1.1x the longest in 30 days."""
    doc = doc if isinstance(doc, PrescriptionDocument) else PrescriptionDocument.model_validate(doc)
    config = config or SimConfig()
    (hrr_lo, hrr_hi), (min_lo, min_hi) = config.intensity_bounds, config.minutes_bounds
    cap = config.shield_ratio * max(longest_30d, config.shield_floor_min)
    problems = []
    policy = {"target_hrr": doc.target_hrr, "weekly_minutes": doc.weekly_minutes, "sessions": doc.sessions}
    for label, targets in (("policy", policy), ("baseline", doc.baseline or {})):
        hrr, minutes, sessions = (
            targets.get("target_hrr"),
            targets.get("weekly_minutes"),
            targets.get("sessions"),
        )
        if hrr is None or minutes is None or sessions is None:
            problems.append(f"{label}: missing targets")
            continue
        if not hrr_lo - 1e-9 <= hrr <= hrr_hi + 1e-9:
            problems.append(f"{label}: intensity {hrr:.3f} HRR outside {hrr_lo}-{hrr_hi}")
        if not min_lo - BOUND_TOLERANCE <= minutes <= min_hi + BOUND_TOLERANCE:
            problems.append(f"{label}: {minutes:.1f} min/week outside {min_lo:g}-{min_hi:g}")
        if not 3 <= sessions <= 6:
            problems.append(f"{label}: {sessions:g} sessions outside 3-6")
        elif minutes / sessions > cap + BOUND_TOLERANCE:
            problems.append(
                f"{label}: sessions of {minutes / sessions:.1f} min exceed {cap:.1f} "
                f"(1.1x the longest of 30 days, {longest_30d:.0f} min)"
            )
    return problems


@dataclass
class WeekFinding:
    """The stored prescriptions of a partition against its contexts and the guideline bounds."""

    partition: str
    week: str
    checked: int = 0
    missing: list[str] = field(default_factory=list)  # users with a context and no prescription
    failing: dict[str, list[str]] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return not self.missing and not self.failing


def check_week(db: Database, week: str, isolated: Iterable[str] = ()) -> WeekFinding:
    """One prescription per user with a context of ``week`` (but the ``isolated`` users, skipped
    with a recorded reason), each inside the guideline bounds (the 30-day longest session taken
    from the context, not from the prescription)."""
    plan_week = next_week(week)
    longest: dict[str, float] = {}
    for raw in db[store.USER_CONTEXTS].find({"week": week}):
        try:
            longest[raw["user_id"]] = UserContext.model_validate(raw).longest_session_30d_min
        except ValidationError:  # the prescription asset skipped (and recorded) this user
            continue
    finding = WeekFinding(week, plan_week)
    seen = set()
    for raw in db[store.PRESCRIPTIONS].find({"week": plan_week}):
        finding.checked += 1
        seen.add(raw["user_id"])
        try:
            doc = PrescriptionDocument.model_validate(raw)
        except ValidationError as exc:
            finding.failing[raw["user_id"]] = [
                f"weekly_prescriptions document invalid: {describe_validation_error(exc)}"
            ]
            continue
        problems = guideline_violations(doc, longest.get(doc.user_id, 0.0))
        if problems:
            finding.failing[doc.user_id] = problems
    finding.missing = sorted(set(longest) - seen - set(isolated), key=str)
    return finding
