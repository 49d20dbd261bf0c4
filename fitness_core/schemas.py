"""The six stream records and the dead-letter envelope: typed, versioned, range-checked.

A stream message has two fields: ``schema`` (``"<kind>/<version>"``) and ``data`` (the record as
JSON). :func:`encode` and :func:`decode` are exact inverses: numbers stay numbers and timestamps
keep their UTC offset. Every record has a natural id (its ``ID_FIELD``), which becomes the MongoDB
``_id`` so that replays, duplicate deliveries and re-imports never store a record twice.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from fitness_core.ids import UserId
from fitness_core.weeks import week_start

Sex = Literal["male", "female"]
Goal = Literal["endurance", "health", "weight_loss"]
DietPreference = Literal["omnivore", "vegetarian", "vegan", "pescatarian"]
ActivityType = Literal[
    "walk", "run", "cycle", "strength", "yoga", "elliptical", "swim", "hike", "row", "other"
]
EventKind = Literal["bout", "workout"]
MealType = Literal["breakfast", "lunch", "dinner", "snack"]
DeviceKind = Literal["watch", "band", "phone", "chest_strap", "bike_computer", "scale", "other"]
Source = Literal["simulator", "apple_health", "fit", "gpx", "tcx", "fitbit", "tables", "api", "manual"]
MedicalFlag = Literal[
    "pregnancy", "cardiovascular_disease", "diabetes", "kidney_disease", "chest_pain", "syncope"
]


def _to_millisecond(value: datetime) -> datetime:
    if value.microsecond % 1000 == 0:  # already at millisecond precision (the common case): no copy
        return value
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


#: An aware timestamp at millisecond precision (BSON dates hold milliseconds, so stored == sent).
Timestamp = Annotated[AwareDatetime, AfterValidator(_to_millisecond)]

#: A record's natural id (events, sessions, logs, devices). User ids follow the stricter rule of
#: :mod:`fitness_core.ids` (re-exported here as ``UserId``): they also name files.
Id = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:\-]+$")]
Bpm = Annotated[float, Field(ge=25, le=250)]
Fraction = Annotated[float, Field(ge=0, le=1)]

#: Lower bounds of HR zones 1-5 as fractions of HRmax (``hr_zone_s`` uses these zones).
HR_ZONE_BOUNDS: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)


@lru_cache(maxsize=1024)
def check_timezone(value: str) -> str:
    """``value`` if it is an IANA timezone name, else ValueError naming it."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown IANA timezone {value!r}") from exc
    return value


class Record(BaseModel):
    """Base of every stream record: strict field set, JSON-exact, with a natural id."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)

    KIND: ClassVar[str]
    VERSION: ClassVar[int] = 1
    STREAM: ClassVar[str]
    COLLECTION: ClassVar[str]
    ID_FIELD: ClassVar[str]
    TIME_FIELD: ClassVar[str | None] = None
    MUTABLE: ClassVar[bool] = False

    user_id: UserId
    source: Source = "simulator"
    ingest_ts: Timestamp | None = Field(default=None, description="when the platform received it")

    @classmethod
    def schema_name(cls) -> str:
        return f"{cls.KIND}/{cls.VERSION}"

    @property
    def natural_id(self) -> str:
        return getattr(self, self.ID_FIELD)

    def local_timestamp(self) -> datetime | None:
        """The record's time in the user's own timezone (None for untimed records)."""
        if self.TIME_FIELD is None:
            return None
        ts: datetime = getattr(self, self.TIME_FIELD)
        return ts.astimezone(ZoneInfo(getattr(self, "timezone", "UTC")))

    def to_document(self) -> dict[str, Any]:
        """The MongoDB document: the record, ``_id`` = natural id, plus ``local_date``/``week``.

        Timestamps become UTC datetimes (BSON dates have no offset; ``timezone`` keeps the zone).
        """
        doc = self.model_dump(mode="python")
        doc["_id"] = self.natural_id
        local = self.local_timestamp()
        if local is not None:
            day = local.date()
            doc["local_date"] = day.isoformat()
            doc["week"] = week_start(day).isoformat()
        return doc


class TimedRecord(Record):
    timezone: str = Field(default="UTC", description="IANA timezone of the user at the time")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        return check_timezone(value)


class User(TimedRecord):
    """A person's profile. Mutable: the newest ``updated_ts`` wins."""

    KIND = "user"
    STREAM = "fitness:users"
    COLLECTION = "users"
    ID_FIELD = "user_id"
    MUTABLE = True

    sex: Sex | None = Field(default=None, description="unset when the person did not say (never guessed)")
    birth_year: int = Field(ge=1900, le=2030)
    height_cm: float = Field(ge=100, le=250)
    weight_kg: float = Field(ge=25, le=350)
    goal: Goal = "health"
    diet_preference: DietPreference = "omnivore"
    allergies: list[Annotated[str, Field(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=20
    )
    medical_flags: list[MedicalFlag] = Field(default_factory=list)
    hr_max_bpm: Bpm | None = Field(default=None, description="measured HRmax, when known")
    hr_rest_bpm: Bpm | None = Field(default=None, description="resting HR at sign-up, when known")
    steps_goal: int = Field(default=8000, ge=1000, le=40000)
    updated_ts: Timestamp

    def age_on(self, day: date) -> int:
        return day.year - self.birth_year


class Device(TimedRecord):
    """A wearable or phone that produced records. Mutable: the newest ``updated_ts`` wins."""

    KIND = "device"
    STREAM = "fitness:devices"
    COLLECTION = "devices"
    ID_FIELD = "device_id"
    MUTABLE = True

    device_id: Id
    kind: DeviceKind = "watch"
    model: str = Field(default="generic", max_length=80)
    firmware: str | None = Field(default=None, max_length=40)
    updated_ts: Timestamp


class FitnessEvent(TimedRecord):
    """An activity bout (incidental movement) or a workout, starting at ``event_ts``."""

    KIND = "fitness_event"
    STREAM = "fitness:events"
    COLLECTION = "fitness_events"
    ID_FIELD = "event_id"
    TIME_FIELD = "event_ts"

    event_id: Id
    device_id: Id | None = None
    activity_type: ActivityType
    kind: EventKind = "bout"
    event_ts: Timestamp
    duration_s: float = Field(gt=0, le=86_400)
    heart_rate_bpm: Bpm | None = Field(default=None, description="average HR over the event")
    max_heart_rate_bpm: Bpm | None = None
    hr_zone_s: list[Annotated[float, Field(ge=0)]] | None = Field(
        default=None,
        min_length=5,
        max_length=5,
        description="seconds in HR zones 1-5 (%HRmax 50/60/70/80/90)",
    )
    calories_burned: float = Field(default=0.0, ge=0, le=10_000)
    step_increment: int = Field(default=0, ge=0, le=200_000)
    distance_m: float | None = Field(default=None, ge=0, le=500_000)
    perceived_exertion: int | None = Field(default=None, ge=1, le=10, description="session RPE, CR-10")

    @model_validator(mode="after")
    def _consistent(self) -> FitnessEvent:
        if (
            self.max_heart_rate_bpm is not None
            and self.heart_rate_bpm is not None
            and self.max_heart_rate_bpm < self.heart_rate_bpm
        ):
            raise ValueError("max_heart_rate_bpm is below heart_rate_bpm")
        if self.hr_zone_s is not None and sum(self.hr_zone_s) > self.duration_s + 1:
            raise ValueError("hr_zone_s adds up to more than duration_s")
        return self

    @property
    def end_ts(self) -> datetime:
        return self.event_ts + timedelta(seconds=self.duration_s)


class SleepStages(BaseModel):
    """Minutes per sleep stage within the session."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    light: float = Field(ge=0, le=1440)
    deep: float = Field(ge=0, le=1440)
    rem: float = Field(ge=0, le=1440)
    awake: float = Field(default=0.0, ge=0, le=1440)

    @property
    def asleep(self) -> float:
        return self.light + self.deep + self.rem


class SleepSession(TimedRecord):
    """One sleep period. It belongs to the local day on which it ends (the wake-up day)."""

    KIND = "sleep_session"
    STREAM = "fitness:sleep"
    COLLECTION = "sleep_sessions"
    ID_FIELD = "session_id"
    TIME_FIELD = "end_ts"

    session_id: Id
    device_id: Id | None = None
    start_ts: Timestamp
    end_ts: Timestamp
    quality: Fraction | None = Field(default=None, description="0-1 sleep quality score")
    efficiency: Fraction | None = Field(default=None, description="time asleep / time in bed")
    sleep_stage_breakdown: SleepStages | None = None
    awakenings: int | None = Field(default=None, ge=0, le=100)
    latency_min: float | None = Field(default=None, ge=0, le=600)
    resting_heart_rate_bpm: Bpm | None = Field(default=None, description="resting HR measured overnight")
    hrv_rmssd_ms: float | None = Field(default=None, gt=0, le=400, description="overnight HRV (RMSSD)")

    @model_validator(mode="after")
    def _consistent(self) -> SleepSession:
        if self.end_ts <= self.start_ts:
            raise ValueError("end_ts must be after start_ts")
        span_min = (self.end_ts - self.start_ts).total_seconds() / 60
        if span_min > 24 * 60:
            raise ValueError("a sleep session cannot last more than 24 h")
        stages = self.sleep_stage_breakdown
        if stages is not None and stages.asleep + stages.awake > span_min + 1:
            raise ValueError("sleep_stage_breakdown adds up to more than the session")
        return self

    @property
    def duration_min(self) -> float:
        return (self.end_ts - self.start_ts).total_seconds() / 60


class NutritionLog(TimedRecord):
    """One meal or snack."""

    KIND = "nutrition_log"
    STREAM = "fitness:nutrition"
    COLLECTION = "nutrition_logs"
    ID_FIELD = "log_id"
    TIME_FIELD = "log_ts"

    log_id: Id
    meal_type: MealType
    log_ts: Timestamp
    calories: float = Field(ge=0, le=10_000)
    protein_g: float = Field(default=0.0, ge=0, le=1_000)
    carbs_g: float = Field(default=0.0, ge=0, le=2_000)
    fat_g: float = Field(default=0.0, ge=0, le=1_000)
    description: str | None = Field(default=None, max_length=200)


class Feedback(TimedRecord):
    """How the user felt: daily check-in or a response to the plan."""

    KIND = "feedback"
    STREAM = "fitness:feedback"
    COLLECTION = "feedback_events"
    ID_FIELD = "feedback_id"
    TIME_FIELD = "feedback_ts"

    feedback_id: Id
    feedback_ts: Timestamp
    mood: int = Field(ge=1, le=5)
    energy: int = Field(ge=1, le=5)
    perceived_exertion: int = Field(ge=1, le=10, description="CR-10 scale")
    soreness_level: int | None = Field(default=None, ge=1, le=10)
    readiness: int | None = Field(default=None, ge=1, le=10)
    note: str | None = Field(default=None, max_length=1000)


RECORD_TYPES: tuple[type[Record], ...] = (User, Device, FitnessEvent, SleepSession, NutritionLog, Feedback)
BY_SCHEMA: dict[str, type[Record]] = {cls.schema_name(): cls for cls in RECORD_TYPES}
BY_STREAM: dict[str, type[Record]] = {cls.STREAM: cls for cls in RECORD_TYPES}
BY_COLLECTION: dict[str, type[Record]] = {cls.COLLECTION: cls for cls in RECORD_TYPES}
STREAMS: tuple[str, ...] = tuple(cls.STREAM for cls in RECORD_TYPES)
DLQ_STREAM = "fitness:dlq"


class DeadLetter(BaseModel):
    """What the writer puts on ``fitness:dlq`` for a message it could not store."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    KIND: ClassVar[str] = "dead_letter"
    VERSION: ClassVar[int] = 1

    stream: str
    entry_id: str
    reason: str = Field(max_length=2000)
    fields: dict[str, str] = Field(description="the original message fields, as received")
    consumer: str | None = None
    deliveries: int | None = Field(default=None, ge=0)
    failed_ts: Timestamp

    @classmethod
    def schema_name(cls) -> str:
        return f"{cls.KIND}/{cls.VERSION}"


_SCHEMA_NAMES: dict[type[BaseModel], str] = {
    **{cls: cls.schema_name() for cls in RECORD_TYPES},
    DeadLetter: DeadLetter.schema_name(),
}


class DecodeError(ValueError):
    """A stream message that is not a valid record; ``reason`` is fit for the DLQ and for people."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def encode(record: Record | DeadLetter) -> dict[str, str]:
    """The stream message fields for a record."""
    data = record.__pydantic_serializer__.to_json(record, exclude_none=True).decode()
    return {"schema": _SCHEMA_NAMES[type(record)], "data": data}


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def decode(fields: dict[str | bytes, str | bytes]) -> Record:
    """The record carried by a stream message; raises :class:`DecodeError` naming what is wrong."""
    schema = fields.get("schema", fields.get(b"schema"))
    data = fields.get("data", fields.get(b"data"))
    if schema is None or data is None:
        raise DecodeError("message lacks the 'schema' or 'data' field")
    try:
        name = _text(schema)
    except UnicodeDecodeError as exc:
        raise DecodeError("schema field is not UTF-8") from exc
    cls = BY_SCHEMA.get(name)
    if cls is None:
        raise DecodeError(f"unknown schema {name!r}")
    try:
        return cls.model_validate_json(data)
    except ValidationError as exc:
        raise DecodeError(f"{name}: {describe_validation_error(exc)}") from exc


def describe_validation_error(exc: ValidationError, limit: int = 5) -> str:
    """A one-line, field-naming summary of a pydantic error."""
    parts = []
    for err in exc.errors()[:limit]:
        loc = ".".join(str(p) for p in err["loc"]) or "record"
        if err["type"] == "json_invalid":
            parts.append(f"invalid JSON ({err['msg']})")
        else:
            parts.append(f"{loc}: {err['msg']}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def stable_id(prefix: str, *parts: object, length: int = 20) -> str:
    """A deterministic natural id from a source identity (file, record key...)."""
    digest = hashlib.blake2b(
        json.dumps([str(p) for p in parts], separators=(",", ":")).encode(), digest_size=16
    ).hexdigest()
    return f"{prefix}-{digest[:length]}"
