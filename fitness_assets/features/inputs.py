"""What the feature math needs from one user's week, already reduced by the store.

Two readers fill the same :class:`UserWeekInputs`: :mod:`.pipelines` (MongoDB aggregation, the
work done in the store) and :mod:`.frames` (pull the raw documents, group in pandas). The
per-event ``Effort`` rows survive the reduction on purpose: training load and intensity are
non-linear in each event's heart rate with per-user constants, so they are computed in Python with
``fitness_core.physiology`` rather than duplicated in a query language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from fitness_core import store

if TYPE_CHECKING:
    from pymongo.database import Database

#: The raw fields each reader needs, per collection (nothing else leaves the store).
EVENT_FIELDS = (
    "user_id",
    "local_date",
    "activity_type",
    "kind",
    "duration_s",
    "heart_rate_bpm",
    "max_heart_rate_bpm",
    "hr_zone_s",
    "calories_burned",
    "step_increment",
    "perceived_exertion",
)
SLEEP_FIELDS = (
    "user_id",
    "local_date",
    "timezone",
    "start_ts",
    "end_ts",
    "quality",
    "efficiency",
    "sleep_stage_breakdown",
    "awakenings",
    "latency_min",
    "resting_heart_rate_bpm",
    "hrv_rmssd_ms",
)
NUTRITION_FIELDS = ("user_id", "local_date", "calories", "protein_g", "carbs_g", "fat_g")
FEEDBACK_FIELDS = (
    "user_id",
    "local_date",
    "feedback_ts",
    "mood",
    "energy",
    "perceived_exertion",
    "soreness_level",
    "readiness",
)
PROFILE_FIELDS = (
    "sex",
    "birth_year",
    "height_cm",
    "weight_kg",
    "goal",
    "diet_preference",
    "allergies",
    "medical_flags",
    "hr_max_bpm",
    "hr_rest_bpm",
    "steps_goal",
    "timezone",
)


@dataclass(frozen=True)
class Effort:
    """One event's contribution to load and intensity."""

    date: str
    seconds: float
    hr: float | None
    rpe: int | None
    activity_type: str = "other"
    workout: bool = False


@dataclass(frozen=True)
class ActivityGroup:
    """The events of one local day, activity type and kind (bout or workout), summed."""

    date: str
    activity_type: str
    workout: bool
    count: int
    seconds: float
    steps: int
    kcal: float
    zone_s: tuple[float, float, float, float, float]
    max_hr: float | None
    longest_s: float


@dataclass(frozen=True)
class NightRecord:
    date: str
    timezone: str
    start_ts: datetime
    end_ts: datetime
    quality: float | None
    efficiency: float | None
    stages: dict[str, float] | None
    awakenings: int | None
    latency_min: float | None
    resting_hr: float | None
    hrv: float | None


@dataclass(frozen=True)
class DayIntake:
    date: str
    meals: int
    kcal: float
    protein_g: float
    carbs_g: float
    fat_g: float


@dataclass(frozen=True)
class CheckInRecord:
    date: str
    ts: datetime
    mood: int
    energy: int
    perceived_exertion: int
    soreness_level: int | None
    readiness: int | None


@dataclass
class UserWeekInputs:
    """Everything one user's weekly features are computed from."""

    user_id: str
    groups: list[ActivityGroup] = field(default_factory=list)
    efforts: list[Effort] = field(default_factory=list)
    nights: list[NightRecord] = field(default_factory=list)
    intake: list[DayIntake] = field(default_factory=list)
    checkins: list[CheckInRecord] = field(default_factory=list)
    prior_efforts: list[Effort] = field(default_factory=list)
    profile: dict[str, Any] | None = None

    def has_data(self) -> bool:
        return bool(self.groups or self.nights or self.intake or self.checkins)

    def canonical(self) -> dict[str, Any]:
        """A deterministic, order-free view of the inputs (for the inputs hash)."""
        return {
            # Sums computed by the store are rounded (their last bits depend on summation order);
            # single records are hashed exactly as stored.
            "groups": _rows(self.groups, rounded=True),
            "intake": _rows(self.intake, rounded=True),
            "efforts": _rows(self.efforts),
            "nights": _rows(self.nights),
            "checkins": _rows(self.checkins),
            "prior": _rows(self.prior_efforts),
            "profile": repr(tuple(_rounded((self.profile or {}).get(k)) for k in PROFILE_FIELDS)),
        }


def _rows(items: list, rounded: bool = False) -> list[str]:
    if rounded:
        return sorted(
            repr(tuple(_rounded(getattr(item, name)) for name in item.__dataclass_fields__)) for item in items
        )
    return sorted(repr(tuple(getattr(item, name) for name in item.__dataclass_fields__)) for item in items)


def _rounded(value: Any) -> Any:
    """Floats to 6 decimals, so that summation order in the store never changes a hash."""
    if type(value) is float:
        return round(value, 6)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return tuple(sorted((k, _rounded(v)) for k, v in value.items()))
    if isinstance(value, list | tuple):
        return tuple(_rounded(v) for v in value)
    return value


def effort_of(row: dict[str, Any], date: str, activity_type: str, workout: bool) -> Effort:
    """An :class:`Effort` from a raw or pushed event row (``s``/``duration_s`` etc.)."""
    seconds = row.get("s", row.get("duration_s"))
    hr = row.get("hr", row.get("heart_rate_bpm"))
    rpe = row.get("rpe", row.get("perceived_exertion"))
    return Effort(
        date=date,
        seconds=float(seconds),
        hr=None if _missing(hr) else float(hr),
        rpe=None if _missing(rpe) else int(rpe),
        activity_type=activity_type,
        workout=workout,
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def optional_float(value: Any) -> float | None:
    return None if _missing(value) else float(value)


def optional_int(value: Any) -> int | None:
    return None if _missing(value) else int(value)


def night_of(doc: dict[str, Any]) -> NightRecord:
    """A :class:`NightRecord` from a sleep document (raw or pushed by the pipeline)."""
    stages = doc.get("sleep_stage_breakdown")
    return NightRecord(
        date=doc["local_date"],
        timezone=doc.get("timezone") or "UTC",
        start_ts=doc["start_ts"],
        end_ts=doc["end_ts"],
        quality=optional_float(doc.get("quality")),
        efficiency=optional_float(doc.get("efficiency")),
        stages={k: float(stages.get(k) or 0.0) for k in ("light", "deep", "rem", "awake")}
        if isinstance(stages, dict)
        else None,
        awakenings=optional_int(doc.get("awakenings")),
        latency_min=optional_float(doc.get("latency_min")),
        resting_hr=optional_float(doc.get("resting_heart_rate_bpm")),
        hrv=optional_float(doc.get("hrv_rmssd_ms")),
    )


def checkin_of(doc: dict[str, Any]) -> CheckInRecord:
    """A :class:`CheckInRecord` from a feedback document."""
    return CheckInRecord(
        date=doc["local_date"],
        ts=doc["feedback_ts"],
        mood=int(doc["mood"]),
        energy=int(doc["energy"]),
        perceived_exertion=int(doc["perceived_exertion"]),
        soreness_level=optional_int(doc.get("soreness_level")),
        readiness=optional_int(doc.get("readiness")),
    )


def read_profiles(db: Database, user_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The ``users`` documents of ``user_ids`` (only the fields features and contexts use)."""
    if not user_ids:
        return {}
    projection = dict.fromkeys(PROFILE_FIELDS, 1)
    return {d["_id"]: d for d in db[store.USERS].find({"_id": {"$in": user_ids}}, projection)}
