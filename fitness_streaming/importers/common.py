"""What every importer shares: the import context, skip reasons, natural ids, units and time parsing.

An importer turns files into :mod:`fitness_core.schemas` records. Natural ids come from what the
data *is* (user, start time, device serial, log id...), never from the path it was read from, so
importing a file twice, or a newer export that repeats old data, stores nothing new.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from typing import IO, TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from fitness_core.schemas import ActivityType, Device, Record, Source, describe_validation_error, stable_id

#: The ``--format`` names and the record ``source`` each one writes.
FORMAT_SOURCES: dict[str, Source] = {
    "apple": "apple_health",
    "fit": "fit",
    "gpx": "gpx",
    "tcx": "tcx",
    "fitbit": "fitbit",
    "tables": "tables",
}
FORMATS: tuple[str, ...] = tuple(FORMAT_SOURCES)
#: Records and samples dated before this, or more than ``FUTURE_SLACK`` after the import, are dropped.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=1)

if TYPE_CHECKING:
    from .limits import ImportLimits


def _default_limits() -> ImportLimits:
    from .limits import ImportLimits

    return ImportLimits()


class RejectedFile(Exception):
    """A whole file cannot be imported (corrupt, hostile, not of its format); nothing of it is kept."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Entry:
    """One input file: its name inside the import (folder- or zip-relative), size and a way to open it."""

    name: str
    size: int
    opener: Callable[[], IO[bytes]] = field(repr=False, compare=False)

    def open(self) -> IO[bytes]:
        return self.opener()

    def read_bytes(self) -> bytes:
        with self.open() as stream:
            return stream.read()

    @property
    def basename(self) -> str:
        return self.name.rsplit("/", 1)[-1]

    @property
    def suffix(self) -> str:
        base = self.basename
        return base[base.rfind(".") :].lower() if "." in base else ""

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Entry:
        """An in-memory entry (tests, generated files)."""
        return cls(name, len(data), lambda: io.BytesIO(data))


class SkipTally:
    """Counts of what was not imported, by reason (reasons are in the user's terms)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def add(self, reason: str, count: int = 1) -> None:
        if count > 0:
            self.counts[reason] += count

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass
class ProfileFacts:
    """Body facts found in the files; they update the user profile at the end of the import."""

    sex: str | None = None
    birth_year: int | None = None
    height_cm: float | None = None
    weight_kg: float | None = None
    weight_ts: datetime | None = None
    weights_seen: int = 0

    def observe_weight(self, kg: float, at: datetime) -> None:
        """Keep the newest body mass; older ones are counted as superseded."""
        self.weights_seen += 1
        if self.weight_ts is None or at > self.weight_ts:
            self.weight_kg, self.weight_ts = kg, at


class ReadProgress:
    """Bytes read so far, reported to an optional callback (a progress bar)."""

    def __init__(
        self, on_bytes: Callable[[int], None] | None = None, on_total: Callable[[int], None] | None = None
    ) -> None:
        self.on_bytes = on_bytes
        self.on_total = on_total

    def expect(self, size: int) -> None:
        """Announce ``size`` more bytes to read (a second pass over a file reads it again)."""
        if self.on_total is not None:
            self.on_total(size)

    def advance(self, size: int) -> None:
        """Report ``size`` bytes read by a reader that cannot be wrapped."""
        if self.on_bytes is not None:
            self.on_bytes(size)

    def wrap(self, stream: IO[bytes]) -> IO[bytes]:
        """The stream, counting what is read from it (buffered, so any consumer can use it)."""
        if self.on_bytes is None:
            return stream
        return io.BufferedReader(_CountingReader(stream, self.on_bytes))  # type: ignore[return-value]


class _CountingReader(io.RawIOBase):
    """A read-only stream that reports every chunk's size."""

    def __init__(self, inner: IO[bytes], on_bytes: Callable[[int], None]) -> None:
        self.inner, self.on_bytes = inner, on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        buffer[: len(data)] = data
        self.on_bytes(len(data))
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


@dataclass
class ImportContext:
    """Who the data belongs to, how to read its times, and the running tallies of one import."""

    user_id: str | None
    timezone: str = "UTC"
    hr_max_bpm: float | None = None
    hr_max_override: bool = False  #: an HRmax the user gave wins over one found in a file
    ingest_ts: datetime = field(default_factory=lambda: datetime.now(UTC))
    skipped: SkipTally = field(default_factory=SkipTally)
    #: Samples and records dropped as implausible (out of range, impossible dates), by reason.
    dropped: SkipTally = field(default_factory=SkipTally)
    rejected: list[tuple[str, str]] = field(default_factory=list)
    limits: ImportLimits = field(default_factory=_default_limits)
    profile: ProfileFacts = field(default_factory=ProfileFacts)
    progress: ReadProgress = field(default_factory=ReadProgress)
    files_read: int = 0
    _devices: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self._earliest = EARLIEST.timestamp()
        self._latest = (self.ingest_ts + FUTURE_SLACK).timestamp()

    def plausible_time(self, t: float, what: str) -> bool:
        """Whether epoch second ``t`` lies between 2000-01-01 and a day after the import; else counted as dropped."""
        if t < self._earliest:
            self.dropped.add(f"timestamp before 2000-01-01 ({what})")
            return False
        if t > self._latest:
            self.dropped.add(f"timestamp more than a day in the future ({what})")
            return False
        return True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def record_id(self, prefix: str, *identity: object) -> str:
        """The natural id of a record of this user: same data, same id, whatever file it came from."""
        return stable_id(prefix, self.user_id, *identity)

    def fields(self, source: Source) -> dict[str, Any]:
        """The fields every imported record shares."""
        return {
            "user_id": self.user_id,
            "source": source,
            "timezone": self.timezone,
            "ingest_ts": self.ingest_ts,
        }

    def local_date(self, ts: datetime) -> date:
        return ts.astimezone(self.zone).date()

    def localize(self, naive: datetime) -> datetime:
        """A timestamp without offset, read in the import's timezone."""
        return naive.replace(tzinfo=self.zone) if naive.tzinfo is None else naive

    def open(self, entry: Entry) -> IO[bytes]:
        """Open an entry for reading, reporting progress."""
        return self.progress.wrap(entry.open())

    def read(self, entry: Entry) -> bytes:
        """The whole file (refused above ``IMPORT_MAX_FILE_MB``: the parsers that need this keep it all)."""
        self.limits.check_whole_file(entry.size, "file")
        with self.open(entry) as stream:
            return stream.read()

    def reject(self, entry: Entry, reason: str) -> None:
        self.rejected.append((entry.name, reason))

    @contextmanager
    def file(self, entry: Entry) -> Iterator[None]:
        """Count a file as read, or as rejected with its reason when it raises :class:`RejectedFile`."""
        try:
            yield
        except RejectedFile as exc:
            self.reject(entry, exc.reason)
        else:
            self.files_read += 1

    def device(self, device: Device) -> Device | None:
        """The device the first time it is seen in this import, else None (one record per device)."""
        if device.device_id in self._devices:
            return None
        self._devices.add(device.device_id)
        return device


def convert_each(
    entries: list[Entry], ctx: ImportContext, convert_one: Callable[[Entry, ImportContext], Iterable[Record]]
) -> Iterator[Record]:
    """Convert file by file; a rejected file contributes nothing and the others carry on.

    ``convert_one`` reads and checks the whole file before it returns (that is when it may raise
    :class:`RejectedFile`); the records it returns may be produced lazily from what it gathered.
    """
    for entry in entries:
        records: Iterable[Record] = ()
        with ctx.file(entry):
            records = convert_one(entry, ctx)
        yield from records


R = TypeVar("R", bound=Record)


def build(cls: type[R], ctx: ImportContext, what: str, **values: Any) -> R | None:
    """A validated, plausibly dated record, or None with the reason counted (skipped or dropped)."""
    try:
        record = cls(**values)
    except ValidationError as exc:
        ctx.skipped.add(f"{what} rejected by validation ({describe_validation_error(exc, 1)})")
        return None
    return record if plausibly_dated(record, ctx, what) else None


def plausibly_dated(record: Record, ctx: ImportContext, what: str) -> bool:
    """Whether the record's own time (workout start, night's end, meal...) is plausible; profiles and
    devices carry only an update time and are not checked."""
    if record.TIME_FIELD is None:
        return True
    return ctx.plausible_time(getattr(record, record.TIME_FIELD).timestamp(), what)


# --- units ----------------------------------------------------------------------------------

METERS = {
    "m": 1.0,
    "km": 1000.0,
    "mi": 1609.344,
    "ft": 0.3048,
    "yd": 0.9144,
    "cm": 0.01,
    "kilometer": 1000.0,
    "mile": 1609.344,
    "meter": 1.0,
}
KILOCALORIES = {"kcal": 1.0, "cal": 1.0, "kj": 1 / 4.184, "kilocalorie": 1.0}
KILOGRAMS = {"kg": 1.0, "lb": 0.45359237, "g": 0.001, "st": 6.35029318, "oz": 0.028349523125}
CENTIMETERS = {"cm": 1.0, "m": 100.0, "in": 2.54, "ft": 30.48, "mm": 0.1}
GRAMS = {"g": 1.0, "mg": 0.001, "kg": 1000.0, "oz": 28.349523125}
SECONDS = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "hr": 3600.0, "ms": 0.001}


def convert_unit(value: float, unit: str | None, table: dict[str, float], default: str) -> float | None:
    """``value`` in ``unit`` expressed in the table's base unit; None for an unknown unit."""
    factor = table.get((unit or default).strip().lower())
    return None if factor is None else value * factor


# --- activity types -------------------------------------------------------------------------

_ACTIVITY_WORDS: tuple[tuple[str, ActivityType], ...] = (
    ("elliptical", "elliptical"),
    ("walk", "walk"),
    ("hik", "hike"),
    ("run", "run"),
    ("jog", "run"),
    ("treadmill", "run"),
    ("cycl", "cycle"),
    ("bik", "cycle"),
    ("ride", "cycle"),
    ("spinning", "cycle"),
    ("swim", "swim"),
    ("row", "row"),
    ("yoga", "yoga"),
    ("pilates", "yoga"),
    ("strength", "strength"),
    ("weight", "strength"),
)


def activity_type_from_name(name: str | None) -> ActivityType:
    """The platform's activity type for a device's or app's activity name ('Running', 'cycling'...)."""
    text = (name or "").lower()
    for word, activity in _ACTIVITY_WORDS:
        if word in text:
            return activity
    return "other"


# --- time -----------------------------------------------------------------------------------

_OFFSETS: dict[str, timezone] = {}


def parse_offset_timestamp(text: str) -> datetime:
    """``2024-01-01 01:01:36 +0200`` (Apple Health) as an aware datetime; fast, no strptime."""
    offset = text[20:]
    tz = _OFFSETS.get(offset)
    if tz is None:
        sign = -1 if offset[0] == "-" else 1
        minutes = int(offset[1:3]) * 60 + int(offset[3:5])
        tz = _OFFSETS[offset] = timezone(sign * timedelta(minutes=minutes))
    return datetime.fromisoformat(text[:19]).replace(tzinfo=tz)


def epoch(ts: datetime) -> float:
    return ts.timestamp()


def from_epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)
