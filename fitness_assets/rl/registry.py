"""The policy registry (collection ``policies``): training a candidate into the artifact store, the
promotion gate, and which policy is current.

A registry document records one trained policy: version, status, training config, the data
snapshot at training time, the evaluation table, artifact paths, the gate's verdict and
provenance. Status moves ``candidate`` -> ``current`` (the gate passed; the previous current
becomes ``retired``) or ``candidate`` -> ``rejected`` (it lost; the current policy is untouched).
No Dagster here: ``fitness_assets/defs/ml`` calls these functions.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fitness_assets.rl.report import BASELINES, LEARNED, SAFETY_MARGIN_PP, beats_baseline
from fitness_assets.rl.train import PRESETS, Preset
from fitness_core import store

if TYPE_CHECKING:
    from pymongo.database import Database

log = logging.getLogger(__name__)

CODE_VERSION = "training_policy/1"
CANDIDATE, CURRENT, REJECTED, RETIRED = "candidate", "current", "rejected", "retired"
POLICY_FOLDER = "policies"
KNOBS_FILE = f"{POLICY_FOLDER}/baseline_knobs.json"
NEWEST_FIRST = [("created_at", -1)]

#: The ``tuned`` hyperparameters on a budget for the demo: 400k steps (320k did not beat B4) and
#: 500 validation users for checkpoint selection and baseline tuning (half the time of 1,000).
DEMO_PRESET = replace(PRESETS["tuned"], timesteps=400_000, validation_users=500)


def preset_named(name: str) -> Preset:
    """A training preset by name: ``demo`` or one of ``fitness_assets.rl.train.PRESETS``."""
    presets = {"demo": DEMO_PRESET, **PRESETS}
    if name not in presets:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(presets)}")
    return presets[name]


def code_version() -> str:
    """This code's version as recorded in registry documents."""
    try:
        package = metadata.version("fitness-tracker")
    except metadata.PackageNotFoundError:
        package = "unknown"
    return f"{CODE_VERSION} (fitness-tracker {package})"


def new_version(preset: str, seed: int, now: datetime, run_id: str | None = None) -> str:
    """A unique, sortable policy version, e.g. ``ppo-tuned-s0-20250310T030000Z-1a2b3c4d``."""
    suffix = f"-{run_id[:8]}" if run_id else ""
    return f"ppo-{preset}-s{seed}-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}{suffix}"


# --- the data snapshot and the retraining decision ---------------------------------------------


def after(week: str | None) -> dict[str, Any]:
    """The weekly_features filter for weeks after ``week`` (every week when None)."""
    return {"week": {"$gt": week}} if week else {}


def newest_feature_week(db: Database, after_week: str | None = None) -> str | None:
    """The newest week with weekly features (after ``after_week``: an index range, not a scan)."""
    doc = db[store.WEEKLY_FEATURES].find_one(after(after_week), {"week": 1}, sort=[("week", -1)])
    return doc["week"] if doc else None


def data_snapshot(db: Database, now: datetime) -> dict[str, Any]:
    """What the store held when a policy was trained: weekly_features documents and the newest week."""
    return {
        "weekly_features": db[store.WEEKLY_FEATURES].count_documents({}),
        "newest_week": newest_feature_week(db),
        "taken_at": now,
    }


def new_feature_documents(db: Database, after_week: str | None) -> int:
    """weekly_features documents of weeks after ``after_week`` (all of them when None); an indexed count."""
    return db[store.WEEKLY_FEATURES].count_documents(after(after_week))


@dataclass(frozen=True)
class RetrainingDecision:
    """Whether enough new weekly data arrived since the current policy's snapshot (or the last request)."""

    request: bool
    reason: str
    since_week: str | None
    newest_week: str | None
    new_documents: int
    current_version: str | None


def retraining_decision(
    db: Database, last_requested_week: str | None, min_new_documents: int
) -> RetrainingDecision:
    """Count weekly_features documents newer than the current policy's snapshot week, or than the
    newest week of the last request when that is later (a lost or failed retraining is not asked
    for again until as much new data again has arrived)."""
    current = current_policy(db)
    snapshot_week = (current or {}).get("data_snapshot", {}).get("newest_week") if current else None
    since = max((w for w in (snapshot_week, last_requested_week) if w), default=None)
    new = new_feature_documents(db, since)
    version = current["version"] if current else None
    reference = f"week {since}" if since else "the start"
    basis = f"current policy {version}" if version else "no current policy"
    if new >= min_new_documents:
        reason = f"{new} weekly_features documents after {reference} ({basis}); threshold {min_new_documents}"
        return RetrainingDecision(True, reason, since, newest_feature_week(db, since), new, version)
    reason = (
        f"only {new} weekly_features documents after {reference} ({basis}); "
        f"retraining waits for {min_new_documents}"
    )
    return RetrainingDecision(False, reason, since, None, new, version)


# --- the gate ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Gate:
    """The promotion gate's verdict on an evaluation table, with the reason for each failed criterion."""

    passed: bool
    reasons: list[str] = field(default_factory=list)
    min_relative_gain: float = 0.0

    def summary(self) -> str:
        return "beats the best baseline" if self.passed else "; ".join(self.reasons)


def gate(table: dict, min_relative_gain: float = 0.0) -> Gate:
    """``report.beats_baseline`` on ``table``, explained: which criterion failed, by how much."""
    comparisons = table.get("comparisons", {})
    best, safety = comparisons.get("best_baseline"), comparisons.get("best_of_B0_B3")
    reasons: list[str] = []
    if best is None or safety is None:
        reasons.append(
            f"the evaluation has no paired comparison of {LEARNED} with the baselines {', '.join(BASELINES)}"
        )
    else:
        if not best["ci_low"] > 0.0:
            reasons.append(
                f"{LEARNED} minus {best['baseline']} is {best['difference']:+.2f}, 95% CI low "
                f"{best['ci_low']:+.2f} not above 0"
            )
        if not best["relative"] >= min_relative_gain:
            reasons.append(
                f"relative gain {best['relative']:+.1%} below the required {min_relative_gain:+.1%}"
            )
        for metric in ("injury", "dropout"):
            worse = safety[f"{metric}_pp"]
            if not worse <= SAFETY_MARGIN_PP:
                reasons.append(
                    f"{metric} {worse:+.1f} pp vs {safety['baseline']} (at most +{SAFETY_MARGIN_PP:g})"
                )
    passed = beats_baseline(table, min_relative_gain)
    if passed != (not reasons):  # the explanation must never disagree with the gate itself
        raise AssertionError(f"gate explanation {reasons} disagrees with beats_baseline={passed}")
    return Gate(passed, reasons, min_relative_gain)


def gate_of(doc: dict[str, Any]) -> Gate:
    """The gate recomputed from a registry document's stored evaluation (never its stored verdict)."""
    threshold = float((doc.get("gate") or {}).get("min_relative_gain", 0.0))
    return gate(doc.get("evaluation") or {}, threshold)


# --- registry reads and writes -----------------------------------------------------------------


def current_policy(db: Database) -> dict[str, Any] | None:
    """The current policy's registry document (the newest, should two ever be current)."""
    return db[store.POLICIES].find_one({"status": CURRENT}, sort=NEWEST_FIRST)


def latest_policy(db: Database, status: str | None = None) -> dict[str, Any] | None:
    """The newest registry document (of ``status`` when given)."""
    return db[store.POLICIES].find_one({"status": status} if status else {}, sort=NEWEST_FIRST)


def policy(db: Database, version: str) -> dict[str, Any] | None:
    return db[store.POLICIES].find_one({"version": version})


def promote(db: Database, version: str, now: datetime) -> str | None:
    """Make ``version`` current if its stored evaluation passes the gate, then retire every other
    current; returns the version it replaced. A failing gate raises ``ValueError``."""
    doc = policy(db, version)
    if doc is None:
        raise ValueError(f"no policy {version!r} in the registry")
    verdict = gate_of(doc)
    if not verdict.passed:
        raise ValueError(f"policy {version} does not beat the best baseline: {verdict.summary()}")
    previous = current_policy(db)
    # New current first, then retire the others: readers take the newest current, never none.
    db[store.POLICIES].update_one({"version": version}, {"$set": {"status": CURRENT, "promoted_at": now}})
    db[store.POLICIES].update_many(
        {"status": CURRENT, "version": {"$ne": version}},
        {"$set": {"status": RETIRED, "retired_at": now, "replaced_by": version}},
    )
    replaced = previous["version"] if previous and previous["version"] != version else None
    log.info("policy promoted", extra={"version": version, "replaced": replaced})
    return replaced


@dataclass(frozen=True)
class GateFinding:
    """The gate recomputed for a stored policy, and whether its registry status agrees with it."""

    version: str | None
    passed: bool
    summary: str
    doc: dict[str, Any] | None = None
    verdict: Gate | None = None
    current_version: str | None = None


def check_gate(db: Database, version: str | None) -> GateFinding:
    """The promotion gate recomputed from the stored evaluation table of ``version`` (the newest
    policy when None), and the registry status agreeing with it (current exactly when it passes)."""
    doc = policy(db, version) if version else latest_policy(db)
    if doc is None:
        return GateFinding(version, False, f"no registry document for policy {version or '(none)'}")
    verdict = gate_of(doc)
    current = current_policy(db)
    current_version = current["version"] if current else None
    consistent = (doc["status"] == CURRENT) == verdict.passed
    if verdict.passed and consistent:
        summary = f"{doc['version']} beats the best baseline and is current"
    elif verdict.passed:
        summary = f"{doc['version']} beats the best baseline but its status is {doc['status']}"
    else:
        stays = f"{current_version} stays current" if current_version else "no policy is current"
        summary = f"{doc['version']} is {doc['status']}: {verdict.summary()}; {stays}"
    return GateFinding(doc["version"], verdict.passed and consistent, summary, doc, verdict, current_version)


def reject(db: Database, version: str, verdict: Gate, now: datetime) -> None:
    """Mark ``version`` rejected with the gate's reasons; the current policy stays current."""
    db[store.POLICIES].update_one(
        {"version": version, "status": CANDIDATE},
        {"$set": {"status": REJECTED, "rejected_at": now, "rejected_because": verdict.reasons}},
    )
    log.info("policy rejected", extra={"version": version, "reasons": len(verdict.reasons)})


# --- training a candidate ----------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingRequest:
    """What to train: a preset (optionally with another budget), the seed and the evaluation sizes."""

    preset: str = "tuned"
    timesteps: int | None = None
    seed: int = 0
    test_users: int = 1000
    validation_users: int | None = None  # default: the preset's
    min_relative_gain: float = 0.0


@dataclass
class TrainedPolicy:
    """A registry document after training, evaluation and the gate (``document`` as stored)."""

    document: dict[str, Any]
    gate: Gate
    replaced: str | None = None

    @property
    def version(self) -> str:
        return self.document["version"]

    @property
    def promoted(self) -> bool:
        return self.document["status"] == CURRENT


def finite(value: Any) -> Any:
    """``value`` with NaN and infinities replaced by None (for JSON metadata)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def whole_rollouts(preset: Preset, timesteps: int | None) -> int:
    """The budget rounded up to whole PPO rollouts (n_envs x n_steps): PPO collects whole rollouts
    anyway, and a budget below one rollout would drive the linearly decayed learning rate negative."""
    rollout = preset.n_envs * preset.n_steps
    budget = int(timesteps or preset.timesteps)
    return -(-budget // rollout) * rollout


def relative_to(path: str | Path, root: Path) -> str:
    return Path(path).resolve().relative_to(root).as_posix()


def train_candidate(
    db: Database,
    locate: Callable[[str], Path],
    request: TrainingRequest,
    *,
    run_id: str | None = None,
    now: datetime | None = None,
    progress: bool = False,
) -> TrainedPolicy:
    """Train and evaluate a policy into ``policies/<version>/`` of the artifact store (``locate``
    maps a relative path to a file there), register it as a candidate, then promote or reject it."""
    from fitness_assets.rl.train import train_and_evaluate
    from fitness_assets.rl.tuning import load_or_tune_baselines

    preset = preset_named(request.preset)
    if request.validation_users is not None:
        preset = replace(preset, validation_users=request.validation_users)
    now = now or datetime.now(UTC)
    store.ensure_indexes(db)
    version = new_version(request.preset, request.seed, now, run_id)
    root = locate(".").resolve()
    out = locate(f"{POLICY_FOLDER}/{version}/training.json").parent
    snapshot = data_snapshot(db, now)
    outcome = train_and_evaluate(
        preset,
        whole_rollouts(preset, request.timesteps),
        request.seed,
        out,
        request.test_users,
        progress,
        validation_users=preset.validation_users,
    )
    training = outcome["training"]
    knobs_path = out.parent / Path(KNOBS_FILE).name
    knobs = load_or_tune_baselines(knobs_path, n_users=preset.validation_users)  # cached by the run above
    verdict = gate(outcome["evaluation"], request.min_relative_gain)
    document = {
        "_id": version,
        "version": version,
        "status": CANDIDATE,
        "config": {
            **asdict(request),
            "preset_hyperparameters": asdict(preset),
            "timesteps": training["config"]["timesteps"],
            "sim_config": training["config"]["sim_config"],
        },
        "data_snapshot": snapshot,
        "evaluation": outcome["evaluation"],
        "baseline_knobs": knobs,
        "gate": {
            "passed": verdict.passed,
            "reasons": verdict.reasons,
            "min_relative_gain": request.min_relative_gain,
        },
        "paths": {
            "checkpoint": relative_to(training["checkpoint"], root),
            "vecnormalize": relative_to(training["vecnormalize"], root),
            "report_md": relative_to(outcome["report_md"], root),
            "report_json": relative_to(outcome["report_json"], root),
            "tensorboard": relative_to(out / "tensorboard", root),
            "baseline_knobs": relative_to(knobs_path, root),
        },
        "curve": training["curve"],
        "training": {"wall_s": training["wall_s"], "steps_per_s": training["steps_per_s"]},
        "created_at": now,
        "code_version": code_version(),
        "run_id": run_id,
    }
    db[store.POLICIES].insert_one(document)
    replaced = None
    if verdict.passed:
        replaced = promote(db, version, now)
    else:
        reject(db, version, verdict, now)
    stored = policy(db, version)
    assert stored is not None
    return TrainedPolicy(stored, verdict, replaced)
