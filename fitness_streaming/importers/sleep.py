"""Sleep sessions from staged sleep segments, with the night's resting HR and HRV attached.

The platform has no record for a resting heart rate or an HRV reading on its own: both belong to
the night's :class:`SleepSession` (``resting_heart_rate_bpm``, ``hrv_rmssd_ms``). A daily resting HR
goes to the longest session that ends on that local day; an HRV reading to the session it was
taken in (or, for a daily value, the session of that day). Readings without a session are counted
as skipped, with the reason.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date

from fitness_core.schemas import SleepSession, Source

from .common import ImportContext, build, from_epoch

ASLEEP_STAGES = frozenset({"light", "deep", "rem", "asleep"})
#: Segments closer than this belong to the same sleep session.
MERGE_GAP_S = 3600.0


@dataclass
class SleepSegment:
    """A stretch of one sleep stage (light, deep, rem, asleep = unstaged, awake, in_bed) from one device."""

    start: float
    end: float
    stage: str
    rank: int = 0
    device_id: str | None = None


@dataclass
class SleepDraft:
    """A sleep session before validation; times in epoch seconds, stage minutes when staged."""

    identity: tuple
    start: float
    end: float
    device_id: str | None = None
    stages_min: dict[str, float] | None = None
    efficiency: float | None = None
    awakenings: int | None = None
    latency_min: float | None = None
    quality: float | None = None
    resting_heart_rate_bpm: float | None = None
    hrv_values: list[float] = field(default_factory=list)

    @property
    def minutes(self) -> float:
        return (self.end - self.start) / 60


def sessions_from_segments(segments: list[SleepSegment], ctx: ImportContext) -> list[SleepDraft]:
    """Group segments of all devices into sessions, keeping the best-ranked device that saw sleep.

    A group with no sleep at all (only in-bed or awake time) is skipped with the reason.
    """
    groups: list[list[SleepSegment]] = []
    group_end = float("-inf")
    for segment in sorted(segments, key=lambda s: s.start):
        if not groups or segment.start > group_end + MERGE_GAP_S:
            groups.append([])
            group_end = segment.end
        groups[-1].append(segment)
        group_end = max(group_end, segment.end)
    drafts = [_session(group) for group in groups if any(s.stage in ASLEEP_STAGES for s in group)]
    ctx.skipped.add("in-bed periods without any sleep recorded", len(groups) - len(drafts))
    return drafts


def _session(group: list[SleepSegment]) -> SleepDraft:
    best = min(s.rank for s in group if s.stage in ASLEEP_STAGES)
    chosen = [s for s in group if s.rank == best]
    start, end = min(s.start for s in chosen), max(s.end for s in chosen)
    minutes: dict[str, float] = defaultdict(float)
    for s in chosen:
        minutes[s.stage] += (s.end - s.start) / 60
    asleep = sum(minutes[stage] for stage in ASLEEP_STAGES)
    span = (end - start) / 60
    staged = any(minutes[stage] > 0 for stage in ("light", "deep", "rem"))
    stages = None
    if staged:
        stages = {
            "light": minutes["light"] + minutes["asleep"],
            "deep": minutes["deep"],
            "rem": minutes["rem"],
            "awake": minutes["awake"],
        }
        total = sum(stages.values())
        if total > span:  # overlapping segments of one device: scale to the session
            stages = {k: v * span / total for k, v in stages.items()}
    first_asleep = min((s.start for s in chosen if s.stage in ASLEEP_STAGES), default=None)
    in_bed_first = any(s.stage == "in_bed" and s.start == start for s in chosen)
    return SleepDraft(
        identity=(from_epoch(start).isoformat(timespec="seconds"),),
        start=start,
        end=end,
        device_id=chosen[0].device_id,
        stages_min=stages,
        efficiency=min(asleep / span, 1.0) if asleep > 0 and span > 0 else None,
        awakenings=sum(1 for s in chosen if s.stage == "awake") if staged else None,
        latency_min=(first_asleep - start) / 60 if in_bed_first and first_asleep is not None else None,
    )


class NightlyMetrics:
    """Resting HR and HRV readings waiting for the sleep session of their night."""

    def __init__(self) -> None:
        self.resting: dict[date, list[float]] = defaultdict(list)
        self.hrv_daily: dict[date, list[float]] = defaultdict(list)
        self.hrv_samples: list[tuple[float, float]] = []

    def attach(self, drafts: list[SleepDraft], ctx: ImportContext) -> None:
        """Put each reading on its session; count the rest as skipped."""
        by_day: dict[date, SleepDraft] = {}
        for draft in drafts:
            day = ctx.local_date(from_epoch(draft.end))
            if day not in by_day or draft.minutes > by_day[day].minutes:
                by_day[day] = draft
        for day, values in self.resting.items():
            if day in by_day:
                by_day[day].resting_heart_rate_bpm = sum(values) / len(values)
            else:
                ctx.skipped.add("resting heart rate on a day without a sleep session", len(values))
        for day, values in self.hrv_daily.items():
            if day in by_day:
                by_day[day].hrv_values.extend(values)
            else:
                ctx.skipped.add("daily HRV on a day without a sleep session", len(values))
        ordered = sorted(drafts, key=lambda d: d.start)
        starts = [d.start for d in ordered]
        for t, value in self.hrv_samples:
            i = bisect_right(starts, t) - 1
            if i >= 0 and t <= ordered[i].end:
                ordered[i].hrv_values.append(value)
            else:
                ctx.skipped.add("HRV readings outside any sleep session")


def sleep_records(drafts: list[SleepDraft], ctx: ImportContext, source: Source) -> Iterator[SleepSession]:
    """Validated sleep sessions; an impossible one is skipped with the reason."""
    for draft in drafts:
        record = _record(draft, ctx, source)
        if record is not None:
            yield record


def _record(draft: SleepDraft, ctx: ImportContext, source: Source) -> SleepSession | None:
    stages = None
    if draft.stages_min is not None:
        stages = {k: round(v, 1) for k, v in draft.stages_min.items()}
    hrv = sum(draft.hrv_values) / len(draft.hrv_values) if draft.hrv_values else None
    rhr = draft.resting_heart_rate_bpm
    return build(
        SleepSession,
        ctx,
        "sleep sessions",
        **ctx.fields(source),
        session_id=ctx.record_id("slp", source, *draft.identity),
        device_id=draft.device_id,
        start_ts=from_epoch(draft.start),
        end_ts=from_epoch(draft.end),
        quality=draft.quality,
        efficiency=round(draft.efficiency, 3) if draft.efficiency is not None else None,
        sleep_stage_breakdown=stages,
        awakenings=draft.awakenings,
        latency_min=round(min(draft.latency_min, 600.0), 1) if draft.latency_min is not None else None,
        resting_heart_rate_bpm=round(rhr, 1) if rhr is not None else None,
        hrv_rmssd_ms=round(hrv, 1) if hrv is not None else None,
    )
