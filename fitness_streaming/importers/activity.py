"""Workouts and walking bouts from wearable samples.

Real exports hold raw samples (steps, heart rate, energy, distance) from several devices at once.
:class:`ActivityLedger` routes each sample either to the workout it falls in (which then gets
average/max heart rate, time in HR zones, steps, energy and distance when the device did not
summarise them) or into 5-minute slots of the hour it belongs to. Each hour with steps becomes one
walking bout (``FitnessEvent`` kind ``bout``). Overlapping devices are de-duplicated per slot by
rank: within a slot, the best-ranked device that measured something wins (Apple Watch over
iPhone over other apps), so the phone's and the watch's steps are never added together.
Memory grows with the number of hours covered (about 0.6 KB per hour), not with the sample count.
"""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, field

from fitness_core.schemas import HR_ZONE_BOUNDS, ActivityType, FitnessEvent, Source

from .common import ImportContext, build, from_epoch

RANKS = 3  #: device ranks: 0 watch/band, 1 phone, 2 other apps
SLOT_S = 300
SLOTS_PER_HOUR = 3600 // SLOT_S
STEPS, DISTANCE, ENERGY, COVERED = range(4)
_METRICS = 4
_HOUR_CELLS = SLOTS_PER_HOUR * RANKS * _METRICS
#: A heart-rate sample stands for at most this long when time in zones is summed.
MAX_SAMPLE_GAP_S = 60.0
_MIN_BPM, _MAX_BPM = 25.0, 250.0
HR_OUT_OF_RANGE = f"heart_rate out of range {_MIN_BPM:.0f}-{_MAX_BPM:.0f}"
_SAMPLES = {STEPS: "step samples", DISTANCE: "distance samples", ENERGY: "active-energy samples"}


@dataclass
class WorkoutDraft:
    """A workout as the source summarised it (times in epoch seconds), plus samples that fall in it."""

    start: float
    end: float
    activity_type: ActivityType
    device_id: str | None = None
    duration_s: float | None = None
    heart_rate_bpm: float | None = None
    max_heart_rate_bpm: float | None = None
    calories: float | None = None
    distance_m: float | None = None
    steps: float | None = None
    hr_times: array = field(default_factory=lambda: array("d"))
    hr_values: array = field(default_factory=lambda: array("d"))
    sampled: list[float] = field(default_factory=lambda: [0.0] * (RANKS * 3))

    def add_heart_rate(self, t: float, bpm: float) -> bool:
        """Keep a heart-rate sample of the workout; False (the caller counts it) when out of range."""
        if _MIN_BPM <= bpm <= _MAX_BPM:
            self.hr_times.append(t)
            self.hr_values.append(bpm)
            return True
        return False

    def add(self, metric: int, rank: int, value: float) -> None:
        self.sampled[metric * RANKS + rank] += value

    def best_sampled(self, metric: int) -> float | None:
        """The metric from the best-ranked device that measured it during the workout."""
        for rank in range(RANKS):
            value = self.sampled[metric * RANKS + rank]
            if value > 0:
                return value
        return None


def hr_zone_seconds(
    times: array | list[float], bpms: array | list[float], start: float, end: float, hr_max: float | None
) -> list[float] | None:
    """Seconds in HR zones 1-5 (50/60/70/80/90 % HRmax); each sample lasts until the next (max 60 s)."""
    if hr_max is None or hr_max <= 0 or len(times) < 2:
        return None
    in_order = all(times[k] <= times[k + 1] for k in range(len(times) - 1))  # FIT and GPX always are
    order = range(len(times)) if in_order else sorted(range(len(times)), key=times.__getitem__)
    zones = [0.0] * len(HR_ZONE_BOUNDS)
    for k, i in enumerate(order):
        begin = max(times[i], start)
        following = times[order[k + 1]] if k + 1 < len(order) else end
        stop = min(following, times[i] + MAX_SAMPLE_GAP_S, end)
        zone = bisect_right(HR_ZONE_BOUNDS, bpms[i] / hr_max) - 1
        if stop > begin and zone >= 0:
            zones[zone] += stop - begin
    return [round(z, 1) for z in zones]


def workout_event(
    draft: WorkoutDraft, ctx: ImportContext, source: Source, hr_max: float | None = None
) -> FitnessEvent | None:
    """The ``FitnessEvent`` of a workout: the source's own summary first, samples where it has none."""
    duration = draft.duration_s if draft.duration_s else draft.end - draft.start
    if duration <= 0:
        ctx.skipped.add("workouts without a duration")
        return None
    duration = min(duration, 86_400.0)
    values = draft.hr_values
    avg = draft.heart_rate_bpm or (sum(values) / len(values) if values else None)
    peak = draft.max_heart_rate_bpm or (max(values) if values else None)
    if avg is not None and not _MIN_BPM <= avg <= _MAX_BPM:
        ctx.dropped.add(f"workout average {HR_OUT_OF_RANGE} (the workout is kept without it)")
        avg = None
    if peak is not None and not _MIN_BPM <= peak <= _MAX_BPM:
        ctx.dropped.add(f"workout maximum {HR_OUT_OF_RANGE} (the workout is kept without it)")
        peak = None
    if peak is not None and avg is not None and peak < avg:
        peak = None
    limit = ctx.hr_max_bpm if ctx.hr_max_override else hr_max or ctx.hr_max_bpm
    zones = hr_zone_seconds(draft.hr_times, values, draft.start, draft.end, limit)
    if zones is not None and sum(zones) > duration:
        scale = duration / sum(zones)  # moving time shorter than the recorded span
        zones = [round(z * scale, 1) for z in zones]
    steps = draft.steps if draft.steps is not None else draft.best_sampled(STEPS)
    calories = draft.calories if draft.calories is not None else draft.best_sampled(ENERGY)
    distance = draft.distance_m if draft.distance_m is not None else draft.best_sampled(DISTANCE)
    start = from_epoch(draft.start)
    return build(
        FitnessEvent,
        ctx,
        "workouts",
        **ctx.fields(source),
        event_id=ctx.record_id("evt", "workout", start.isoformat(timespec="seconds")),
        device_id=draft.device_id,
        activity_type=draft.activity_type,
        kind="workout",
        event_ts=start,
        duration_s=round(duration, 3),
        heart_rate_bpm=round(avg, 1) if avg is not None else None,
        max_heart_rate_bpm=round(peak, 1) if peak is not None else None,
        hr_zone_s=zones,
        calories_burned=round(min(calories or 0.0, 10_000.0), 1),
        step_increment=min(round(steps or 0), 200_000),
        distance_m=round(min(distance, 500_000.0), 2) if distance else None,
    )


class ActivityLedger:
    """Routes samples to workouts or to hourly walking bouts, de-duplicating devices by rank.

    With an import context, samples dated before 2000 or in the future and heart rates out of
    range are counted as dropped in it (without one they are dropped silently).
    """

    def __init__(self, workouts: list[WorkoutDraft] | None = None, ctx: ImportContext | None = None) -> None:
        self.ctx = ctx
        self.workouts = sorted(workouts or [], key=lambda w: w.start)
        self._starts = [w.start for w in self.workouts]
        self._hours: dict[int, array] = {}
        self._heart: dict[int, list[float]] = {}  # hour -> [sum, count, max]

    def workout_at(self, t: float) -> WorkoutDraft | None:
        i = bisect_right(self._starts, t) - 1
        if i >= 0 and t <= self.workouts[i].end:
            return self.workouts[i]
        return None

    def add(
        self, metric: int, start: float, end: float, value: float, rank: int = 0, outside: bool = True
    ) -> bool:
        """Add an interval sample (steps, distance or energy) to its workout, else spread it over the
        5-minute slots it covers (unless ``outside`` is false); False when it was not used."""
        if value <= 0:
            return False
        if self.ctx is not None and not self.ctx.plausible_time(start, _SAMPLES[metric]):
            return True  # counted as dropped, not as unused
        workout = self.workout_at((start + end) / 2)
        if workout is not None:
            workout.add(metric, rank, value)
            return True
        if not outside:
            return False
        if end <= start:
            end = start + 1e-6
        span, t = end - start, start
        while t < end:
            slot = int(t // SLOT_S)
            stop = min(end, (slot + 1) * SLOT_S)
            hour, index = divmod(slot, SLOTS_PER_HOUR)
            cells = self._hours.get(hour)
            if cells is None:
                cells = self._hours[hour] = array("f", [0.0]) * _HOUR_CELLS
            base = (index * RANKS + rank) * _METRICS
            cells[base + metric] += value * (stop - t) / span
            if metric == STEPS:
                cells[base + COVERED] += stop - t
            t = stop
        return True

    def add_heart_rate(self, t: float, bpm: float) -> None:
        if not _MIN_BPM <= bpm <= _MAX_BPM:
            if self.ctx is not None:
                self.ctx.dropped.add(HR_OUT_OF_RANGE)
            return
        if self.ctx is not None and not self.ctx.plausible_time(t, "heart-rate samples"):
            return
        workout = self.workout_at(t)
        if workout is not None:
            workout.add_heart_rate(t, bpm)
            return
        cell = self._heart.get(int(t // 3600))
        if cell is None:
            self._heart[int(t // 3600)] = [bpm, 1.0, bpm]
        else:
            cell[0] += bpm
            cell[1] += 1
            cell[2] = max(cell[2], bpm)

    def events(
        self, ctx: ImportContext, source: Source, hr_max: float | None = None, workouts: bool = True
    ) -> Iterator[FitnessEvent]:
        """The workouts (unless ``workouts`` is false), then one walking bout per hour with steps."""
        if workouts:
            for draft in self.workouts:
                event = workout_event(draft, ctx, source, hr_max)
                if event is not None:
                    yield event
        for hour in sorted(self._hours.keys() | self._heart.keys()):
            bout = self._bout(hour, ctx, source)
            if bout is not None:
                yield bout

    def _bout(self, hour: int, ctx: ImportContext, source: Source) -> FitnessEvent | None:
        totals = [0.0] * _METRICS
        cells = self._hours.get(hour)
        for index in range(SLOTS_PER_HOUR if cells is not None else 0):
            for metric in (STEPS, DISTANCE, ENERGY):
                for rank in range(RANKS):
                    base = (index * RANKS + rank) * _METRICS
                    if cells[base + metric] > 0:  # type: ignore[index]
                        totals[metric] += cells[base + metric]  # type: ignore[index]
                        if metric == STEPS:
                            totals[COVERED] += min(cells[base + COVERED], SLOT_S)  # type: ignore[index]
                        break
        heart = self._heart.get(hour)
        steps = round(totals[STEPS])
        if steps < 1:
            if heart is not None:
                ctx.skipped.add("heart-rate samples outside workouts in hours without steps", int(heart[1]))
            if totals[ENERGY] > 0 or totals[DISTANCE] > 0:
                ctx.skipped.add("hours with active energy or distance but no steps")
            return None
        start = from_epoch(hour * 3600.0)
        avg = heart[0] / heart[1] if heart is not None else None
        return build(
            FitnessEvent,
            ctx,
            "walking bouts",
            **ctx.fields(source),
            event_id=ctx.record_id("evt", "bout", start.isoformat(timespec="seconds")),
            activity_type="walk",
            kind="bout",
            event_ts=start,
            duration_s=round(min(max(totals[COVERED], 60.0), 3600.0), 1),
            heart_rate_bpm=round(avg, 1) if avg is not None else None,
            max_heart_rate_bpm=round(heart[2], 1) if heart is not None else None,
            calories_burned=round(min(totals[ENERGY], 10_000.0), 1),
            step_increment=min(steps, 200_000),
            distance_m=round(totals[DISTANCE], 2) if totals[DISTANCE] > 0 else None,
        )
