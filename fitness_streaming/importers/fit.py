"""Garmin FIT files (fitdecode) -> devices, workouts and walking bouts.

Activity files: one workout per ``session`` message (timer time, average/max HR, calories,
distance, strides x 2 as steps for foot sports); the ``record`` messages give per-sample heart
rate for time in HR zones, with HRmax from the file's own zones or user profile when it has one.
Monitoring files (all-day tracking): cumulative step, distance and active-energy counters become
per-interval samples, heart-rate readings become samples, both outside workouts aggregate into
hourly walking bouts (:mod:`.activity`). Every file is decoded completely, with CRC checks, before
anything of it is used, so a damaged file is rejected whole with the reason.

fitdecode reads frame by frame, and the importer keeps only what the records need: the first
``file_id``, ``user_profile``, ``zones_target``, ``monitoring_info`` and creator ``device_info``, the
sessions, and of each ``record`` its time, heart rate and distance in flat arrays (24 bytes a
record instead of a dict of every field: a 32 MB activity file needs a few MB, not 400).
Monitoring files are read a second time, once known to be sound, and turned into samples (25
bytes each) as they are read.
"""

from __future__ import annotations

import io
import struct
from array import array
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import fitdecode

from fitness_core.schemas import ActivityType, Device, Record, Source

from .activity import DISTANCE, ENERGY, HR_OUT_OF_RANGE, STEPS, ActivityLedger, WorkoutDraft, workout_event
from .common import Entry, ImportContext, RejectedFile, build, epoch, from_epoch
from .sleep import NightlyMetrics

SOURCE: Source = "fit"
FIT_EPOCH_S = 631_065_600  # 1989-12-31T00:00:00Z, the origin of FIT timestamps
SPORTS: dict[str, ActivityType] = {
    "running": "run",
    "walking": "walk",
    "hiking": "hike",
    "cycling": "cycle",
    "e_biking": "cycle",
    "swimming": "swim",
    "rowing": "row",
    "paddling": "row",
    "training": "strength",
}
SUB_SPORTS: dict[str, ActivityType] = {
    "strength_training": "strength",
    "yoga": "yoga",
    "pilates": "yoga",
    "elliptical": "elliptical",
    "indoor_rowing": "row",
    "treadmill": "run",
    "indoor_cycling": "cycle",
    "spin": "cycle",
    "indoor_walking": "walk",
    "trail": "run",
}
FOOT_SPORTS = frozenset({"running", "walking", "hiking"})
BIKE_COMPUTERS = ("edge", "elemnt", "bolt", "roam", "karoo", "bryton")
MONITORING_TYPES = frozenset({"monitoring_a", "monitoring_b", "monitoring_daily"})
KEPT = frozenset(
    {
        "file_id",
        "session",
        "record",
        "user_profile",
        "zones_target",
        "device_info",
        "monitoring",
        "monitoring_info",
        "monitoring_hr_data",
    }
)


#: Kinds of which only the first message is used.
FIRST_ONLY = frozenset({"file_id", "user_profile", "zones_target", "monitoring_info"})
NAN = float("nan")


def messages(data: bytes) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every data message of a FIT file as (name, fields), decoded strictly (header, CRC, definitions)
    and one at a time; :class:`RejectedFile` when the file is damaged, once the damage is reached."""
    if len(data) < 12 or data[8:12] != b".FIT":
        raise RejectedFile("not a FIT file (no .FIT signature in the header)")
    if data[0] not in (12, 14):
        raise RejectedFile(f"corrupt FIT file header (header size {data[0]}, expected 12 or 14)")
    try:
        with fitdecode.FitReader(
            io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE, error_handling=fitdecode.ErrorHandling.RAISE
        ) as reader:
            for frame in reader:
                if isinstance(frame, fitdecode.FitDataMessage):
                    yield frame.name, {f.name: f.value for f in frame.fields if f.value is not None}
    except fitdecode.FitHeaderError as exc:
        raise RejectedFile(f"not a FIT file (bad header: {exc})") from exc
    except fitdecode.FitCRCError as exc:
        raise RejectedFile("corrupt FIT file: checksum mismatch (the file is damaged)") from exc
    except fitdecode.FitEOFError as exc:
        raise RejectedFile(f"truncated FIT file ({exc})") from exc
    except (
        fitdecode.FitError,
        struct.error,
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        OverflowError,
    ) as exc:
        raise RejectedFile(f"corrupt FIT file ({exc or type(exc).__name__})") from exc


@dataclass
class FitFile:
    """What the importer keeps of one FIT file, decoded whole: the first message of the kinds it reads
    once, the sessions, and time / heart rate / distance of the records (NaN where a record has none)."""

    data: bytes
    firsts: dict[str, dict[str, Any]] = field(default_factory=dict)
    sessions: list[dict[str, Any]] = field(default_factory=list)
    record_ts: array = field(default_factory=lambda: array("d"))
    record_hr: array = field(default_factory=lambda: array("d"))
    record_distance: array = field(default_factory=lambda: array("d"))
    others: Counter[str] = field(default_factory=Counter)

    def first(self, name: str) -> dict[str, Any]:
        return self.firsts.get(name, {})

    @property
    def file_type(self) -> str:
        return str(self.first("file_id").get("type", "unknown"))

    def add(self, name: str, fields: dict[str, Any]) -> None:
        if name == "record":
            ts = fields.get("timestamp")
            if isinstance(ts, datetime):
                self.record_ts.append(epoch(ts))
                self.record_hr.append(_number(fields.get("heart_rate"), 0.0))  # 0: none, as a missing one
                self.record_distance.append(_number(fields.get("distance"), NAN))
        elif name == "session":
            self.sessions.append(fields)
        elif name in FIRST_ONLY or (name == "device_info" and fields.get("device_index") == "creator"):
            self.firsts.setdefault(name, fields)
        elif name not in KEPT:
            self.others[name] += 1

    def records(self) -> tuple[array, array, array]:
        """The records' times, heart rates and distances, in time order (stable, as the file has them)."""
        ts, hr, distance = self.record_ts, self.record_hr, self.record_distance
        if all(ts[i] <= ts[i + 1] for i in range(len(ts) - 1)):
            return ts, hr, distance
        order = sorted(range(len(ts)), key=ts.__getitem__)
        return tuple(array("d", (column[i] for i in order)) for column in (ts, hr, distance))  # type: ignore[return-value]


def _number(value: Any, missing: float) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else missing


def decode(data: bytes) -> FitFile:
    """Decode a whole FIT file strictly, keeping what the importer uses; :class:`RejectedFile` if damaged."""
    fit = FitFile(data)
    for name, fields in messages(data):
        fit.add(name, fields)
    if "file_id" not in fit.firsts:
        raise RejectedFile("not a FIT activity or monitoring file (no file_id message)")
    return fit


def convert(entries: list[Entry], ctx: ImportContext) -> Iterator[Record]:
    """Workouts of every activity file, then bouts from the monitoring files around them."""
    reader = _FitFolder(ctx)
    for entry in entries:
        with ctx.file(entry):
            reader.add(decode(ctx.read(entry)))
    yield from reader.records()


class _FitFolder:
    """What the FIT files of one import add up to."""

    def __init__(self, ctx: ImportContext) -> None:
        self.ctx = ctx
        self.devices: list[Device] = []
        self.workouts: list[tuple[WorkoutDraft, float | None]] = []
        # samples as flat columns: metric (or -1 for heart rate), start, end, value
        self.sample_metric, self.sample_start = array("b"), array("d")
        self.sample_end, self.sample_value = array("d"), array("d")
        self.nightly = NightlyMetrics()

    def add(self, fit: FitFile) -> None:
        kind = fit.file_type
        if kind == "activity":
            self._activity(fit)
        elif kind in MONITORING_TYPES:
            self._monitoring(fit)
        else:
            self.ctx.skipped.add(f"FIT {kind} files (no recorded activity)")
            return
        if fit.others.get("hrv"):
            self.ctx.skipped.add("FIT beat-to-beat (hrv) messages (not stored)", fit.others["hrv"])

    def _device(self, fit: FitFile) -> str | None:
        file_id = fit.first("file_id")
        serial = file_id.get("serial_number")
        if serial is None:
            return None
        maker = str(file_id.get("manufacturer", "unknown"))
        creator = fit.first("device_info")  # the first one of the creator
        product = str(
            file_id.get("garmin_product")
            or file_id.get("product_name")
            or creator.get("product_name")
            or file_id.get("product", "")
        )
        device_id = self.ctx.record_id("dev", SOURCE, maker, serial)
        firmware = creator.get("software_version")
        is_bike = any(word in product.lower() for word in BIKE_COMPUTERS)
        device = build(
            Device,
            self.ctx,
            "devices",
            **self.ctx.fields(SOURCE),
            device_id=device_id,
            kind="bike_computer" if is_bike else "watch",
            model=f"{maker} {product}".strip()[:80],
            firmware=str(firmware)[:40] if firmware is not None else None,
            updated_ts=file_id.get("time_created") or self.ctx.ingest_ts,
        )
        if device is not None and self.ctx.device(device) is not None:
            self.devices.append(device)
        return device_id

    def _activity(self, fit: FitFile) -> None:
        records = fit.records()
        sessions = fit.sessions or _session_from_records(records[0], fit.first("sport"))
        if not sessions:
            self.ctx.skipped.add("FIT activity files without sessions or records")
            return
        device_id = self._device(fit)
        hr_max = file_hr_max(fit)
        for session in sessions:
            draft = _workout(session, records, device_id, self.ctx)
            if draft is None:
                self.ctx.skipped.add("FIT sessions without a start time")
            else:
                self.workouts.append((draft, hr_max))

    def _monitoring(self, fit: FitFile) -> None:
        self._device(fit)
        info = fit.first("monitoring_info")
        offset = None
        if isinstance(info.get("local_timestamp"), datetime) and isinstance(info.get("timestamp"), datetime):
            offset = (info["local_timestamp"] - info["timestamp"]).total_seconds()
        last: datetime | None = None
        counters: dict[tuple[int, Any], tuple[float, float]] = {}
        for name, m in messages(fit.data):  # a second pass: the file is known to be sound
            if name not in KEPT:
                continue
            ts = m.get("timestamp")
            if isinstance(ts, datetime):
                last = ts
            elif "timestamp_16" in m and last is not None:
                ts = last = _from_timestamp_16(last, m["timestamp_16"])
            else:
                continue
            t = epoch(ts)
            if name == "monitoring_hr_data" and m.get("resting_heart_rate"):
                self.nightly.resting[self.ctx.local_date(ts)].append(float(m["resting_heart_rate"]))
            if name != "monitoring":
                continue
            if m.get("heart_rate"):
                self._sample(-1, t, t, float(m["heart_rate"]))
            for metric, key in ((STEPS, "steps"), (DISTANCE, "distance"), (ENERGY, "active_calories")):
                if key in m:
                    self._counter(counters, (metric, m.get("activity_type")), t, float(m[key]), offset)

    def _counter(
        self, counters: dict, key: tuple[int, Any], t: float, value: float, offset: float | None
    ) -> None:
        """A cumulative daily counter reading -> the increment since the previous reading."""
        previous = counters.get(key)
        counters[key] = (value, t)
        if previous is not None and value >= previous[0]:
            start, increment = previous[1], value - previous[0]
        else:  # first reading of the file or a reset at midnight: counted since local midnight
            start, increment = self._midnight(t, offset), value
        if increment > 0:
            self._sample(key[0], start, t, increment)

    def _sample(self, metric: int, start: float, end: float, value: float) -> None:
        self.sample_metric.append(metric)
        self.sample_start.append(start)
        self.sample_end.append(end)
        self.sample_value.append(value)

    def _midnight(self, t: float, offset: float | None) -> float:
        if offset is None:
            utc_offset = datetime.fromtimestamp(t, self.ctx.zone).utcoffset()
            offset = utc_offset.total_seconds() if utc_offset is not None else 0.0
        return (t + offset) // 86_400 * 86_400 - offset

    def records(self) -> Iterator[Record]:
        yield from self.devices
        ledger = ActivityLedger([draft for draft, _ in self.workouts], self.ctx)
        for metric, start, end, value in zip(
            self.sample_metric, self.sample_start, self.sample_end, self.sample_value, strict=True
        ):
            if metric < 0:
                ledger.add_heart_rate(start, value)
            else:
                ledger.add(metric, start, end, value)
        for draft, hr_max in self.workouts:
            event = workout_event(draft, self.ctx, SOURCE, hr_max)
            if event is not None:
                yield event
        yield from ledger.events(self.ctx, SOURCE, workouts=False)
        self.nightly.attach([], self.ctx)


def file_hr_max(fit: FitFile) -> float | None:
    """HRmax the device itself used (zones target, else the user profile), when it recorded one."""
    for value in (
        fit.first("zones_target").get("max_heart_rate"),
        fit.first("user_profile").get("default_max_heart_rate"),
    ):
        if isinstance(value, int | float) and 100 <= value <= 240:
            return float(value)
    return None


def activity_type(sport: Any, sub_sport: Any) -> ActivityType:
    return SUB_SPORTS.get(str(sub_sport)) or SPORTS.get(str(sport), "other")


def _workout(
    session: dict[str, Any], records: tuple[array, array, array], device_id: str | None, ctx: ImportContext
) -> WorkoutDraft | None:
    start = session.get("start_time")
    if not isinstance(start, datetime):
        return None
    elapsed = session.get("total_elapsed_time")
    if elapsed is None and isinstance(session.get("timestamp"), datetime):
        elapsed = (session["timestamp"] - start).total_seconds()
    end = start + timedelta(seconds=float(elapsed or 0))
    sport = str(session.get("sport", ""))
    strides = session.get("total_strides", session.get("total_cycles"))
    draft = WorkoutDraft(
        epoch(start),
        epoch(end),
        activity_type(sport, session.get("sub_sport")),
        device_id=device_id,
        duration_s=session.get("total_timer_time") or elapsed,
        heart_rate_bpm=session.get("avg_heart_rate"),
        max_heart_rate_bpm=session.get("max_heart_rate"),
        calories=session.get("total_calories"),
        distance_m=session.get("total_distance"),
        steps=2.0 * strides if sport in FOOT_SPORTS and strides else 0.0,
    )
    times, beats, distances = records
    first, stop = (
        bisect_left(times, draft.start),
        bisect_right(times, draft.end),
    )  # the records in the session
    for i in range(first, stop):
        if beats[i] and not draft.add_heart_rate(times[i], beats[i]):
            ctx.dropped.add(HR_OUT_OF_RANGE)
    if draft.distance_m is None:
        within = [d for d in distances[first:stop] if d == d]  # NaN: no distance
        draft.distance_m = max(within) - min(within) if len(within) > 1 else None
    return draft


def _session_from_records(times: array, sport: dict[str, Any]) -> list[dict[str, Any]]:
    """A session spanning the records (their times in order), for files that carry no session message."""
    if len(times) < 2:
        return []
    first, last = from_epoch(times[0]), from_epoch(times[-1])
    return [
        {
            "start_time": first,
            "total_elapsed_time": (last - first).total_seconds(),
            "sport": sport.get("sport"),
            "sub_sport": sport.get("sub_sport"),
        }
    ]


def _from_timestamp_16(last: datetime, low: int) -> datetime:
    """Expand a 16-bit FIT timestamp relative to the last full timestamp."""
    fit_time = int(epoch(last)) - FIT_EPOCH_S
    fit_time += (int(low) - (fit_time & 0xFFFF)) & 0xFFFF
    return datetime.fromtimestamp(fit_time + FIT_EPOCH_S, last.tzinfo)
