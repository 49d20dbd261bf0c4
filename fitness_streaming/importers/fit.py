"""Garmin FIT files (fitdecode) -> devices, workouts and walking bouts.

Activity files: one workout per ``session`` message (timer time, average/max HR, calories,
distance, strides x 2 as steps for foot sports); the ``record`` messages give per-sample heart
rate for time in HR zones, with HRmax from the file's own zones or user profile when it has one.
Monitoring files (all-day tracking): cumulative step, distance and active-energy counters become
per-interval samples, heart-rate readings become samples, both outside workouts aggregate into
hourly walking bouts (:mod:`.activity`). Every file is decoded completely, with CRC checks, before
anything of it is used, so a damaged file is rejected whole with the reason.
"""

from __future__ import annotations

import io
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import fitdecode

from fitness_core.schemas import ActivityType, Device, Record, Source

from .activity import DISTANCE, ENERGY, HR_OUT_OF_RANGE, STEPS, ActivityLedger, WorkoutDraft, workout_event
from .common import Entry, ImportContext, RejectedFile, build, epoch
from .sleep import NightlyMetrics

SOURCE: Source = "fit"
FIT_EPOCH_S = 631_065_600  # 1989-12-31T00:00:00Z, the origin of FIT timestamps
SPORTS: dict[str, ActivityType] = {
    "running": "run", "walking": "walk", "hiking": "hike", "cycling": "cycle", "e_biking": "cycle",
    "swimming": "swim", "rowing": "row", "paddling": "row", "training": "strength",
}
SUB_SPORTS: dict[str, ActivityType] = {
    "strength_training": "strength", "yoga": "yoga", "pilates": "yoga", "elliptical": "elliptical",
    "indoor_rowing": "row", "treadmill": "run", "indoor_cycling": "cycle", "spin": "cycle",
    "indoor_walking": "walk", "trail": "run",
}
FOOT_SPORTS = frozenset({"running", "walking", "hiking"})
BIKE_COMPUTERS = ("edge", "elemnt", "bolt", "roam", "karoo", "bryton")
MONITORING_TYPES = frozenset({"monitoring_a", "monitoring_b", "monitoring_daily"})
KEPT = frozenset({"file_id", "session", "record", "user_profile", "zones_target", "device_info",
                  "monitoring", "monitoring_info", "monitoring_hr_data"})


@dataclass
class FitFile:
    """The decoded messages of one FIT file, in file order (only the kinds the importer uses)."""

    messages: list[tuple[str, dict[str, Any]]]
    others: Counter[str] = field(default_factory=Counter)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [fields for kind, fields in self.messages if kind == name]

    def first(self, name: str) -> dict[str, Any]:
        found = self.of(name)
        return found[0] if found else {}

    @property
    def file_type(self) -> str:
        return str(self.first("file_id").get("type", "unknown"))


def decode(data: bytes) -> FitFile:
    """Decode a whole FIT file strictly (header, CRC, definitions); :class:`RejectedFile` if damaged."""
    if len(data) < 12 or data[8:12] != b".FIT":
        raise RejectedFile("not a FIT file (no .FIT signature in the header)")
    if data[0] not in (12, 14):
        raise RejectedFile(f"corrupt FIT file header (header size {data[0]}, expected 12 or 14)")
    messages: list[tuple[str, dict[str, Any]]] = []
    others: Counter[str] = Counter()
    try:
        with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.RAISE,
                                 error_handling=fitdecode.ErrorHandling.RAISE) as reader:
            for frame in reader:
                if not isinstance(frame, fitdecode.FitDataMessage):
                    continue
                if frame.name in KEPT:
                    messages.append((frame.name, {f.name: f.value for f in frame.fields if f.value is not None}))
                else:
                    others[frame.name] += 1
    except fitdecode.FitHeaderError as exc:
        raise RejectedFile(f"not a FIT file (bad header: {exc})") from exc
    except fitdecode.FitCRCError as exc:
        raise RejectedFile("corrupt FIT file: checksum mismatch (the file is damaged)") from exc
    except fitdecode.FitEOFError as exc:
        raise RejectedFile(f"truncated FIT file ({exc})") from exc
    except (fitdecode.FitError, struct.error, ValueError, KeyError, IndexError, TypeError, OverflowError) as exc:
        raise RejectedFile(f"corrupt FIT file ({exc or type(exc).__name__})") from exc
    fit = FitFile(messages, others)
    if not fit.of("file_id"):
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
        self.samples: list[tuple[int, float, float, float]] = []  # (metric or -1 for HR, start, end, value)
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
        creator = next((d for d in fit.of("device_info") if d.get("device_index") == "creator"), {})
        product = str(file_id.get("garmin_product") or file_id.get("product_name")
                      or creator.get("product_name") or file_id.get("product", ""))
        device_id = self.ctx.record_id("dev", SOURCE, maker, serial)
        firmware = creator.get("software_version")
        is_bike = any(word in product.lower() for word in BIKE_COMPUTERS)
        device = build(
            Device, self.ctx, "devices", **self.ctx.fields(SOURCE), device_id=device_id,
            kind="bike_computer" if is_bike else "watch", model=f"{maker} {product}".strip()[:80],
            firmware=str(firmware)[:40] if firmware is not None else None,
            updated_ts=file_id.get("time_created") or self.ctx.ingest_ts,
        )
        if device is not None and self.ctx.device(device) is not None:
            self.devices.append(device)
        return device_id

    def _activity(self, fit: FitFile) -> None:
        records = sorted((r for r in fit.of("record") if isinstance(r.get("timestamp"), datetime)),
                         key=lambda r: r["timestamp"])
        sessions = fit.of("session") or _session_from_records(records, fit.first("sport"))
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
        for name, m in fit.messages:
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
                self.samples.append((-1, t, t, float(m["heart_rate"])))
            for metric, key in ((STEPS, "steps"), (DISTANCE, "distance"), (ENERGY, "active_calories")):
                if key in m:
                    self._counter(counters, (metric, m.get("activity_type")), t, float(m[key]), offset)

    def _counter(self, counters: dict, key: tuple[int, Any], t: float, value: float, offset: float | None) -> None:
        """A cumulative daily counter reading -> the increment since the previous reading."""
        previous = counters.get(key)
        counters[key] = (value, t)
        if previous is not None and value >= previous[0]:
            start, increment = previous[1], value - previous[0]
        else:  # first reading of the file or a reset at midnight: counted since local midnight
            start, increment = self._midnight(t, offset), value
        if increment > 0:
            self.samples.append((key[0], start, t, increment))

    def _midnight(self, t: float, offset: float | None) -> float:
        if offset is None:
            utc_offset = datetime.fromtimestamp(t, self.ctx.zone).utcoffset()
            offset = utc_offset.total_seconds() if utc_offset is not None else 0.0
        return (t + offset) // 86_400 * 86_400 - offset

    def records(self) -> Iterator[Record]:
        yield from self.devices
        ledger = ActivityLedger([draft for draft, _ in self.workouts], self.ctx)
        for metric, start, end, value in self.samples:
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
    for value in (fit.first("zones_target").get("max_heart_rate"),
                  fit.first("user_profile").get("default_max_heart_rate")):
        if isinstance(value, int | float) and 100 <= value <= 240:
            return float(value)
    return None


def activity_type(sport: Any, sub_sport: Any) -> ActivityType:
    return SUB_SPORTS.get(str(sub_sport)) or SPORTS.get(str(sport), "other")


def _workout(session: dict[str, Any], records: list[dict[str, Any]], device_id: str | None,
             ctx: ImportContext) -> WorkoutDraft | None:
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
        epoch(start), epoch(end), activity_type(sport, session.get("sub_sport")), device_id=device_id,
        duration_s=session.get("total_timer_time") or elapsed,
        heart_rate_bpm=session.get("avg_heart_rate"), max_heart_rate_bpm=session.get("max_heart_rate"),
        calories=session.get("total_calories"), distance_m=session.get("total_distance"),
        steps=2.0 * strides if sport in FOOT_SPORTS and strides else 0.0,
    )
    for record in records:
        if start <= record["timestamp"] <= end and record.get("heart_rate") and not draft.add_heart_rate(
                epoch(record["timestamp"]), float(record["heart_rate"])):
            ctx.dropped.add(HR_OUT_OF_RANGE)
    if draft.distance_m is None:
        distances = [r["distance"] for r in records if start <= r["timestamp"] <= end and "distance" in r]
        draft.distance_m = max(distances) - min(distances) if len(distances) > 1 else None
    return draft


def _session_from_records(records: list[dict[str, Any]], sport: dict[str, Any]) -> list[dict[str, Any]]:
    """A session spanning the records, for files that carry no session message."""
    if len(records) < 2:
        return []
    first, last = records[0]["timestamp"], records[-1]["timestamp"]
    return [{"start_time": first, "total_elapsed_time": (last - first).total_seconds(),
             "sport": sport.get("sport"), "sub_sport": sport.get("sub_sport")}]


def _from_timestamp_16(last: datetime, low: int) -> datetime:
    """Expand a 16-bit FIT timestamp relative to the last full timestamp."""
    fit_time = int(epoch(last)) - FIT_EPOCH_S
    fit_time += (int(low) - (fit_time & 0xFFFF)) & 0xFFFF
    return datetime.fromtimestamp(fit_time + FIT_EPOCH_S, last.tzinfo)
