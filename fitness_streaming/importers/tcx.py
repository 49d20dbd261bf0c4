"""Garmin TCX activities (python-tcxparser) -> a device and one workout per file.

tcxparser reads the first ``<Activity>`` (the usual one-activity export): sport, start, the laps'
total time, calories and distance, lap step counts; per-trackpoint heart rate gives average/max HR
and time in HR zones. Further activities in the same file are counted as skipped.
"""

from __future__ import annotations

import io
from datetime import datetime

import tcxparser
from lxml import etree

from fitness_core.schemas import Device, Record, Source

from .activity import HR_OUT_OF_RANGE, WorkoutDraft, workout_event
from .common import Entry, ImportContext, RejectedFile, activity_type_from_name, build, convert_each, epoch
from .xmlsafe import check_xml

SOURCE: Source = "tcx"
NS = "{http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2}"


def convert(entries: list[Entry], ctx: ImportContext):
    """Workouts from TCX files; a malformed file is rejected whole."""
    return convert_each(entries, ctx, read_tcx)


def read_tcx(entry: Entry, ctx: ImportContext) -> list[Record]:
    data = ctx.read(entry)
    check_xml(data)
    try:
        tcx = tcxparser.TCXParser(io.BytesIO(data))
        activities = tcx.root.Activities.Activity
        start = datetime.fromisoformat(str(tcx.started_at).replace("Z", "+00:00"))
        duration, calories = float(tcx.duration), float(tcx.calories)
    except (AttributeError, etree.LxmlError, ValueError, TypeError) as exc:
        raise RejectedFile(f"not a TCX activity ({exc})") from exc
    ctx.skipped.add("further activities in one TCX file (only the first is read)", len(activities) - 1)
    draft = WorkoutDraft(epoch(start), epoch(start) + duration, activity_type_from_name(tcx.activity_type),
                         duration_s=duration, calories=calories)
    laps_distance = sum(float(getattr(lap, "DistanceMeters", 0)) for lap in tcx.activity.Lap)
    draft.distance_m = laps_distance or None
    draft.max_heart_rate_bpm = float(tcx.hr_max) if tcx.hr_max else None
    draft.steps = float(tcx.total_steps)
    for point in tcx.activity.iter(f"{NS}Trackpoint"):
        time, bpm = point.find(f"{NS}Time"), point.find(f"{NS}HeartRateBpm/{NS}Value")
        if time is not None and bpm is not None:
            t = epoch(datetime.fromisoformat(str(time.text).replace("Z", "+00:00")))
            if not draft.add_heart_rate(t, float(bpm.text)):
                ctx.dropped.add(HR_OUT_OF_RANGE)
    records: list[Record] = []
    device = _device(tcx, ctx, start)
    if device is not None:
        draft.device_id = device.device_id
        if ctx.device(device) is not None:
            records.append(device)
    event = workout_event(draft, ctx, SOURCE)
    return records + ([event] if event is not None else [])


def _device(tcx: tcxparser.TCXParser, ctx: ImportContext, seen: datetime) -> Device | None:
    creator = tcx.activity.find(f"{NS}Creator")
    unit = creator.find(f"{NS}UnitId") if creator is not None else None
    if unit is None:
        return None
    name = str(creator.findtext(f"{NS}Name") or "TCX device")
    bike = any(word in name.lower() for word in ("edge", "elemnt", "bolt"))
    return build(Device, ctx, "devices", **ctx.fields(SOURCE), device_id=ctx.record_id("dev", SOURCE, str(unit.text)),
                 kind="bike_computer" if bike else "watch", model=name[:80], updated_ts=seen)
