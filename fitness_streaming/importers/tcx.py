"""Garmin TCX activities, read as a stream -> a device and one workout per file.

The first ``<Activity>`` (the usual one-activity export) gives the workout: its sport, the first
lap's start, the laps' total time, calories and distance, their step counts (``ns3:Steps``), the
maximum and the samples of the trackpoints' heart rate (average/max HR and time in HR zones) and
the device from ``<Creator>``. Further activities in the same file are counted as skipped.

The file is parsed incrementally by the safe parser of :mod:`.xmlsafe` (no entity expansion,
nothing outside the file is read) and every element is dropped once read, so memory grows with the
heart-rate samples kept (16 bytes each), not with the file: a 32 MB file that a whole tree
(tcxparser's lxml.objectify) would have held in 400 MB is read in a few MB. Elements are those of
the root's namespace (the TCX one), the first of a kind wins where a lap or trackpoint has several;
an activity without laps, a lap without ``TotalTimeSeconds`` or ``Calories`` or an unreadable
number or time rejects the whole file with the reason.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

from fitness_core.schemas import Device, Record, Source

from .activity import HR_OUT_OF_RANGE, WorkoutDraft, workout_event
from .common import Entry, ImportContext, RejectedFile, activity_type_from_name, build, convert_each, epoch
from .limits import MB
from .xmlsafe import iter_elements

SOURCE: Source = "tcx"
STEPS = "{http://www.garmin.com/xmlschemas/ActivityExtension/v2}Steps"


def convert(entries: list[Entry], ctx: ImportContext):
    """Workouts from TCX files; a malformed file is rejected whole."""
    return convert_each(entries, ctx, read_tcx)


def _number(text: str | None, what: str) -> float:
    try:
        return float((text or "").strip())
    except ValueError as exc:
        raise RejectedFile(f"not a TCX activity (invalid {what} {(text or '').strip()[:40]!r})") from exc


def _time(text: str | None, what: str) -> datetime:
    try:
        return datetime.fromisoformat(str(text).strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise RejectedFile(f"not a TCX activity (invalid {what} {str(text).strip()[:40]!r})") from exc


@dataclass
class _Activity:
    """What the first ``<Activity>`` adds up to while it is read."""

    sport: str
    start: str | None = None
    laps: int = 0
    duration: float = 0.0
    calories: float = 0.0
    distance: float = 0.0
    steps: int = 0
    hr_max: float = 0.0
    hr_times: array = field(default_factory=lambda: array("d"))
    hr_values: array = field(default_factory=lambda: array("d"))
    creator: tuple[str, str | None] | None = None  # (name, unit id) of a Creator with a UnitId
    creator_seen: bool = False


class _TcxReader:
    """Reads one TCX file element by element."""

    def __init__(self) -> None:
        self.ns = ""
        self.activities = 0
        self.activities_element: Element | None = None
        self.activity: _Activity | None = None
        self.lap: dict[str, str | None] = {}
        self.point: dict[str, str | None] = {}
        self.creator: dict[str, str | None] = {}

    def start(self, element: Element, path: list[Element]) -> None:
        depth, tag = len(path), element.tag
        if depth == 1:
            self.ns = tag[: tag.find("}") + 1] if tag.startswith("{") else ""
        elif depth == 2 and tag == self.ns + "Activities" and self.activities_element is None:
            self.activities_element = element
        elif depth == 3 and tag == self.ns + "Activity" and path[1] is self.activities_element:
            self.activities += 1
            if self.activities == 1:
                sport = element.get("Sport")
                if sport is None:
                    raise RejectedFile("not a TCX activity (the Activity has no Sport)")
                self.activity = _Activity(sport.lower())
        elif self.activities != 1 or self.activity is None or depth < 4:
            return
        elif tag == self.ns + "Lap" and depth == 4:
            self.activity.laps += 1
            self.lap = {}
            if self.activity.laps == 1:
                self.activity.start = element.get("StartTime")
        elif tag == self.ns + "Trackpoint":
            self.point = {}
        elif tag == self.ns + "Creator" and depth == 4:
            self.creator = {}

    def end(self, element: Element, path: list[Element]) -> None:
        activity, depth, tag = self.activity, len(path), element.tag
        if activity is None or self.activities != 1 or depth < 4:
            return
        ns, parent = self.ns, path[-2].tag
        name = tag[len(ns) :] if tag.startswith(ns) else None
        if depth == 4 and name == "Lap":
            self.end_lap(activity)
        elif depth == 4 and name == "Creator" and not activity.creator_seen:
            activity.creator_seen = True
            if "UnitId" in self.creator:
                activity.creator = (str(self.creator.get("Name") or "TCX device"), self.creator["UnitId"])
        elif (
            depth == 5 and parent == ns + "Lap" and name in ("TotalTimeSeconds", "Calories", "DistanceMeters")
        ):
            self.lap.setdefault(name, element.text)
        elif depth == 5 and parent == ns + "Creator" and name in ("Name", "UnitId"):
            self.creator.setdefault(name, element.text)
        elif name == "Trackpoint":
            self.end_trackpoint(activity)
        elif name == "Time" and parent == ns + "Trackpoint":
            self.point.setdefault("Time", element.text)
        elif name == "Value" and parent == ns + "HeartRateBpm":
            bpm = _number(element.text, "heart rate")
            activity.hr_max = max(activity.hr_max, bpm)
            if len(path) >= 3 and path[-3].tag == ns + "Trackpoint":
                self.point.setdefault("bpm", element.text)
        elif tag == STEPS:
            activity.steps += int(_number(element.text, "step count"))

    def end_lap(self, activity: _Activity) -> None:
        for required in ("TotalTimeSeconds", "Calories"):
            if required not in self.lap:
                raise RejectedFile(f"not a TCX activity (a Lap without {required})")
        activity.duration += _number(self.lap["TotalTimeSeconds"], "TotalTimeSeconds")
        activity.calories += _number(self.lap["Calories"], "Calories")
        if "DistanceMeters" in self.lap:
            activity.distance += _number(self.lap["DistanceMeters"], "DistanceMeters")

    def end_trackpoint(self, activity: _Activity) -> None:
        bpm = self.point.get("bpm")
        if "Time" in self.point and bpm is not None:
            activity.hr_times.append(epoch(_time(self.point["Time"], "trackpoint Time")))
            activity.hr_values.append(_number(bpm, "heart rate"))
        self.point = {}


def read_tcx(entry: Entry, ctx: ImportContext) -> list[Record]:
    """A device and the workout of one TCX file, read as a stream; nothing of it is used unless all of it is readable."""
    ctx.limits.check_whole_file(entry.size, "file")
    reader = _TcxReader()
    with ctx.open(entry) as stream:
        for step, element, path in iter_elements(stream, ctx.limits.max_text_mb * MB):
            if step == "start":
                reader.start(element, path)
            else:
                reader.end(element, path)
    activity = reader.activity
    if activity is None:
        raise RejectedFile("not a TCX activity (no Activities/Activity element)")
    if not activity.laps:
        raise RejectedFile("not a TCX activity (the Activity has no Lap)")
    if activity.start is None:
        raise RejectedFile("not a TCX activity (the first Lap has no StartTime)")
    start = _time(activity.start, "Lap StartTime")
    ctx.skipped.add("further activities in one TCX file (only the first is read)", reader.activities - 1)
    draft = WorkoutDraft(
        epoch(start),
        epoch(start) + activity.duration,
        activity_type_from_name(activity.sport),
        duration_s=activity.duration,
        calories=activity.calories,
    )
    draft.distance_m = activity.distance or None
    draft.max_heart_rate_bpm = activity.hr_max or None
    draft.steps = float(activity.steps)
    for t, bpm in zip(activity.hr_times, activity.hr_values, strict=True):
        if not draft.add_heart_rate(t, bpm):
            ctx.dropped.add(HR_OUT_OF_RANGE)
    records: list[Record] = []
    device = _device(activity, ctx, start)
    if device is not None:
        draft.device_id = device.device_id
        if ctx.device(device) is not None:
            records.append(device)
    event = workout_event(draft, ctx, SOURCE)
    return records + ([event] if event is not None else [])


def _device(activity: _Activity, ctx: ImportContext, seen: datetime) -> Device | None:
    if activity.creator is None:
        return None
    name, unit = activity.creator
    bike = any(word in name.lower() for word in ("edge", "elemnt", "bolt"))
    return build(
        Device,
        ctx,
        "devices",
        **ctx.fields(SOURCE),
        device_id=ctx.record_id("dev", SOURCE, str(unit)),
        kind="bike_computer" if bike else "watch",
        model=name[:80],
        updated_ts=seen,
    )
