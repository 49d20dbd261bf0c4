"""GPX tracks, read as a stream -> one workout per track, with heart rate from Garmin/Strava extensions.

A track's points give its start, elapsed duration and 2-D distance; ``<gpxtpx:hr>`` (or any
``hr``/``heartrate`` extension element) gives per-point heart rate, hence average/max HR and time
in HR zones. GPX has no calories or steps. Times without an offset are UTC, as the GPX schema
requires. Waypoints and planned routes carry no workout and are counted as skipped.

The file is parsed incrementally by the safe parser of :mod:`.xmlsafe` (no entity expansion,
nothing outside the file is read) and every element is dropped once read, so a track keeps only
what its workout needs: first and last time, its 2-D distance (``gpxpy.geo.distance`` between
consecutive points of a segment, summed as gpxpy's ``length_2d`` does) and its heart-rate samples.
Memory grows with those samples (16 bytes each), not with the file: a 32 MB file that gpxpy would
have turned into 700 MB of objects is read in a few MB. Fields are read as gpxpy reads them
(elements in the root's namespace, the first of a kind wins, track type and extensions in GPX 1.1
only, times by gpxpy's own parser); a point without valid coordinates or with a malformed number
rejects the whole file with the reason, nothing of it is used.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.etree.ElementTree import Element

from gpxpy.geo import distance
from gpxpy.gpxfield import TIME_TYPE

from fitness_core.schemas import FitnessEvent, Source

from .activity import HR_OUT_OF_RANGE, WorkoutDraft, workout_event
from .common import Entry, ImportContext, RejectedFile, activity_type_from_name, convert_each, epoch
from .limits import MB
from .xmlsafe import iter_elements, local_name

SOURCE: Source = "gpx"
HR_TAGS = frozenset({"hr", "heartrate", "heart_rate"})
#: Point fields gpxpy converts (a malformed one makes it refuse the file), GPX 1.1 and 1.0 track points.
POINT_FLOATS_11 = frozenset({"ele", "magvar", "geoidheight", "hdop", "vdop", "pdop", "ageofdgpsdata"})
POINT_FLOATS_10 = POINT_FLOATS_11 | {"course", "speed"}
POINT_INTS = frozenset({"sat", "dgpsid"})
FIXES = frozenset({"none", "2d", "3d", "dgps", "pps", "3"})


def convert(entries: list[Entry], ctx: ImportContext):
    """Workouts from GPX files; a malformed file is rejected whole."""
    return convert_each(entries, ctx, read_gpx)


@dataclass
class _Track:
    """What one ``<trk>`` adds up to while it is read."""

    name: str | None = None
    kind: str | None = None
    fields: set[str] = field(default_factory=set)
    length: float = 0.0  # 2-D metres of the finished segments
    segment: float = 0.0  # ... and of the current one
    previous: tuple[float, float] | None = None
    timed: int = 0
    first: float = float("inf")
    last: float = float("-inf")
    hr_times: array = field(default_factory=lambda: array("d"))
    hr_values: array = field(default_factory=lambda: array("d"))

    def add_point(self, lat: float, lon: float, t: float | None, bpm: float | None) -> None:
        if self.previous is not None:
            d = distance(lat, lon, None, self.previous[0], self.previous[1], None)
            if d:
                self.segment += d
        self.previous = (lat, lon)
        if t is None:
            return
        self.timed += 1
        self.first, self.last = min(self.first, t), max(self.last, t)
        if bpm is not None:
            self.hr_times.append(t)
            self.hr_values.append(bpm)

    def end_segment(self) -> None:
        if self.segment:
            self.length += self.segment
        self.segment, self.previous = 0.0, None

    def workout(self) -> tuple[WorkoutDraft | None, int]:
        """The workout the track records (None without a time span) and its out-of-range heart rates."""
        if self.timed < 2 or self.last <= self.first:
            return None, 0
        draft = WorkoutDraft(
            self.first, self.last, activity_type_from_name(f"{self.kind or ''} {self.name or ''}")
        )
        draft.distance_m = self.length or None
        dropped = sum(
            not draft.add_heart_rate(t, bpm) for t, bpm in zip(self.hr_times, self.hr_values, strict=True)
        )
        return draft, dropped


@dataclass
class _Point:
    """One ``<trkpt>`` while it is read."""

    lat: float
    lon: float
    time: float | None = None
    fields: set[str] = field(default_factory=set)
    extensions: Element | None = None  # the first <extensions>: gpxpy reads no other
    hr_element: Element | None = None  # the first heart-rate element in it
    bpm: float | None = None


class _GpxReader:
    """Reads one GPX file element by element."""

    def __init__(self) -> None:
        self.ns = ""
        self.v11 = False
        self.waypoints = self.routes = 0
        self.tracks: list[tuple[WorkoutDraft | None, int]] = []
        self.track: _Track | None = None
        self.point: _Point | None = None

    def own(self, element: Element) -> str | None:
        """The local name of an element of the GPX namespace (the root's), else None."""
        tag = element.tag
        if not tag.startswith(self.ns):
            return None
        name = tag[len(self.ns) :]
        return None if "}" in name else name

    def start(self, element: Element, path: list[Element]) -> None:
        depth = len(path)
        if depth == 1:
            self.ns = element.tag[: element.tag.find("}") + 1] if element.tag.startswith("{") else ""
            self.v11 = element.get("version") == "1.1"
            return
        name = self.own(element)
        if depth == 2:
            if name == "trk":
                self.track = _Track()
            elif name == "wpt":
                _coordinates(element, "waypoint")
        elif depth == 3 and name == "rtept" and self.own(path[1]) == "rte":
            _coordinates(element, "route point")
        elif self.track is None:
            return
        elif depth == 4 and name == "trkpt" and self.own(path[2]) == "trkseg":
            self.point = _Point(*_coordinates(element, "track point"))
        elif self.point is None or not self.v11:
            return
        elif depth == 5 and name == "extensions" and self.point.extensions is None:
            self.point.extensions = element
        elif (
            depth >= 6
            and path[4] is self.point.extensions
            and self.point.hr_element is None
            and local_name(element.tag).lower() in HR_TAGS
        ):
            self.point.hr_element = element

    def end(self, element: Element, path: list[Element]) -> None:
        depth, point, track = len(path), self.point, self.track
        if point is not None and depth >= 5:
            if depth == 5:
                self.point_field(point, element)
            elif element is point.hr_element:
                try:
                    point.bpm = float((element.text or "").strip())
                except ValueError:
                    point.bpm = None
            return
        name = self.own(element)
        if depth == 4 and point is not None:
            if track is not None:
                track.add_point(point.lat, point.lon, point.time, point.bpm)
            self.point = None
        elif depth == 3 and track is not None:
            if name == "trkseg":
                track.end_segment()
            elif name in ("name", "type") and name not in track.fields:
                track.fields.add(name)
                if name == "name":
                    track.name = element.text
                elif self.v11:
                    track.kind = element.text
        elif depth == 2:
            if name == "trk" and track is not None:
                self.tracks.append(track.workout())
                self.track = None
            elif name == "wpt":
                self.waypoints += 1
            elif name == "rte":
                self.routes += 1

    def point_field(self, point: _Point, element: Element) -> None:
        """A child of a track point: its time, and the checks gpxpy makes on its numbers."""
        name = self.own(element)
        if name is None or name in point.fields:
            return
        point.fields.add(name)
        text = element.text
        if name == "time":
            ts = TIME_TYPE.from_string(text or "")  # gpxpy's parser; an unreadable time is no time
            point.time = epoch(_utc(ts)) if ts is not None else None
        elif text is None:
            return
        elif name in (POINT_FLOATS_11 if self.v11 else POINT_FLOATS_10) or name in POINT_INTS:
            try:
                (int if name in POINT_INTS else float)(text.strip())
            except ValueError as exc:
                raise RejectedFile(
                    f"malformed GPX: invalid <{name}> {text.strip()[:40]!r} in a track point"
                ) from exc
        elif name == "fix" and text not in FIXES:
            raise RejectedFile(f"malformed GPX: invalid <fix> {text[:40]!r} in a track point")


def read_gpx(entry: Entry, ctx: ImportContext) -> list[FitnessEvent]:
    """The workouts of one GPX file, read as a stream; nothing of it is used unless all of it is readable."""
    ctx.limits.check_whole_file(entry.size, "file")
    reader = _GpxReader()
    with ctx.open(entry) as stream:
        for step, element, path in iter_elements(stream, ctx.limits.max_text_mb * MB):
            if step == "start":
                reader.start(element, path)
            else:
                reader.end(element, path)
    ctx.skipped.add("GPX waypoints (not workouts)", reader.waypoints)
    ctx.skipped.add("GPX routes (planned, not recorded)", reader.routes)
    events = []
    for draft, dropped in reader.tracks:
        if draft is None:
            ctx.skipped.add("GPX tracks with fewer than two timed points")
            continue
        ctx.dropped.add(HR_OUT_OF_RANGE, dropped)
        event = workout_event(draft, ctx, SOURCE)
        if event is not None:
            events.append(event)
    return events


def _coordinates(element: Element, what: str) -> tuple[float, float]:
    """A point's latitude and longitude, required as gpxpy requires them."""
    values = []
    for attribute in ("lat", "lon"):
        text = element.get(attribute)
        if text is None:
            raise RejectedFile(f"malformed GPX: a {what} without {attribute}")
        try:
            values.append(float(text.strip()))
        except ValueError as exc:
            raise RejectedFile(f"malformed GPX: a {what} with {attribute}={text[:40]!r}") from exc
    return values[0], values[1]


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
