"""GPX tracks (gpxpy) -> one workout per track, with heart rate from Garmin/Strava extensions.

A track's points give its start, elapsed duration and 2-D distance; ``<gpxtpx:hr>`` (or any
``hr``/``heartrate`` extension element) gives per-point heart rate, hence average/max HR and time
in HR zones. GPX has no calories or steps. Times without an offset are UTC, as the GPX schema
requires. Waypoints and planned routes carry no workout and are counted as skipped.
"""

from __future__ import annotations

from datetime import UTC, datetime

import gpxpy
import gpxpy.gpx

from fitness_core.schemas import FitnessEvent, Source

from .activity import HR_OUT_OF_RANGE, WorkoutDraft, workout_event
from .common import Entry, ImportContext, RejectedFile, activity_type_from_name, convert_each, epoch
from .xmlsafe import check_xml, local_name

SOURCE: Source = "gpx"
HR_TAGS = frozenset({"hr", "heartrate", "heart_rate"})


def convert(entries: list[Entry], ctx: ImportContext):
    """Workouts from GPX files; a malformed file is rejected whole."""
    return convert_each(entries, ctx, read_gpx)


def read_gpx(entry: Entry, ctx: ImportContext) -> list[FitnessEvent]:
    data = ctx.read(entry)
    check_xml(data)
    try:
        gpx = gpxpy.parse(data.decode("utf-8-sig"))
    except (gpxpy.gpx.GPXException, UnicodeDecodeError, ValueError) as exc:
        raise RejectedFile(f"malformed GPX: {exc}") from exc
    ctx.skipped.add("GPX waypoints (not workouts)", len(gpx.waypoints))
    ctx.skipped.add("GPX routes (planned, not recorded)", len(gpx.routes))
    events = []
    for track in gpx.tracks:
        draft = track_workout(track, ctx)
        if draft is None:
            ctx.skipped.add("GPX tracks with fewer than two timed points")
            continue
        event = workout_event(draft, ctx, SOURCE)
        if event is not None:
            events.append(event)
    return events


def track_workout(track: gpxpy.gpx.GPXTrack, ctx: ImportContext | None = None) -> WorkoutDraft | None:
    """The workout a track records, or None when it has no time span (out-of-range heart rates are
    counted as dropped in ``ctx``)."""
    points = [p for segment in track.segments for p in segment.points if p.time is not None]
    if len(points) < 2:
        return None
    times = [epoch(_utc(p.time)) for p in points]  # type: ignore[arg-type]
    if max(times) <= min(times):
        return None
    draft = WorkoutDraft(min(times), max(times), activity_type_from_name(f"{track.type or ''} {track.name or ''}"))
    draft.distance_m = track.length_2d() or None
    for t, point in zip(times, points, strict=True):
        bpm = point_heart_rate(point)
        if bpm is not None and not draft.add_heart_rate(t, bpm) and ctx is not None:
            ctx.dropped.add(HR_OUT_OF_RANGE)
    return draft


def point_heart_rate(point: gpxpy.gpx.GPXTrackPoint) -> float | None:
    """Heart rate from a point's extensions (Garmin TrackPointExtension and similar)."""
    for extension in point.extensions:
        for element in extension.iter():
            if isinstance(element.tag, str) and local_name(element.tag).lower() in HR_TAGS:
                try:
                    return float((element.text or "").strip())
                except ValueError:
                    return None
    return None


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts
