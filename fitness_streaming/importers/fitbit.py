"""Fitbit exports (Web API JSON, Google Takeout JSON and CSV, the fitbit.com account CSV) -> records.

JSON files recognised: sleep logs (API ``{"sleep": [...]}`` or Takeout ``sleep-*.json``) with
stages or classic levels; logged activities (API ``activities`` or Takeout ``exercise-*.json``) as
workouts; intraday heart rate and steps (API ``activities-heart``/``activities-steps``, Takeout
``heart_rate-*.json``/``steps-*.json``); daily resting HR (API or ``resting_heart_rate-*.json``);
HRV (API ``hrv``). CSV files are described in :mod:`.fitbit_csv`. Fitbit writes local times
without an offset: they are read in the import's ``--timezone``. Sleep logs and activities are
read first, so that heart-rate and step samples can be routed to the workouts they fall in; each
file is checked whole before any of it is used, so a malformed file contributes nothing. Takeout
and list-shaped files, which can be hundreds of MB, are read twice as streams (ijson): the first
pass checks the syntax and the nesting depth keeping nothing, the second converts item by item;
Web API day responses and CSV files are small and parsed whole (up to ``IMPORT_MAX_FILE_MB``).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from typing import IO, Any

import ijson

from fitness_core.schemas import FitnessEvent, Record, Source

from .activity import STEPS, ActivityLedger, WorkoutDraft
from .common import (
    METERS,
    Entry,
    ImportContext,
    RejectedFile,
    activity_type_from_name,
    build,
    convert_unit,
)
from .fitbit_csv import CSV_ACTIONS, classify_csv, csv_items
from .limits import MB, LimitExceeded, check_json, first_line
from .sleep import NightlyMetrics, SleepDraft, sleep_records

SOURCE: Source = "fitbit"
FIRST = ("sleep", "exercise", "exercises_csv", "account")  # kinds that define sessions and workouts
Action = tuple[Any, ...]
_UNREADABLE = "Fitbit entries with missing or unreadable values"
#: JSON kinds read as a stream of list items, with the key that holds the list when the file is an object.
STREAMED: dict[str, str | None] = {
    "sleep": "sleep",
    "exercise": "activities",
    "hrv_api": "hrv",
    "heart_takeout": None,
    "steps_takeout": None,
    "resting_takeout": None,
}
_ITEM_ERRORS = (ValueError, KeyError, TypeError, IndexError, AttributeError)


def classify(entry: Entry, head: bytes) -> str:
    """The kind of a Fitbit file, from its name and first bytes."""
    name = entry.basename.lower()
    text = head.decode("utf-8", errors="replace")
    if entry.suffix == ".csv":
        return classify_csv(text)
    checks = (
        ("activities-heart", "heart_api"),
        ("activities-steps", "steps_api"),
        ('"dateOfSleep"', "sleep"),
        ('"levels"', "sleep"),
        ('"activityName"', "exercise"),
        ('"activityParentName"', "exercise"),
        ('"hrv"', "hrv_api"),
        ('"bpm"', "heart_takeout"),
    )
    for marker, kind in checks:
        if marker in text:
            return kind
    for prefix, kind in (
        ("steps", "steps_takeout"),
        ("resting_heart_rate", "resting_takeout"),
        ("weight", "weight"),
    ):
        if name.startswith(prefix):
            return kind
    return "unknown"


def convert(entries: list[Entry], ctx: ImportContext) -> Iterator[Record]:
    """Every Fitbit file of the import, read together (sessions and workouts first)."""
    kinds = []
    for entry in entries:
        with entry.open() as stream:
            kinds.append((classify(entry, stream.read(4096)), entry))
    reader = _FitbitReader(ctx)
    for first in (True, False):
        if not first:
            reader.ledger = ActivityLedger(reader.workouts, ctx)
        for kind, entry in kinds:
            if (kind in FIRST) == first:
                with ctx.file(entry):
                    reader.apply(_parse(kind, entry, ctx))
    yield from reader.records()


def _parse(kind: str, entry: Entry, ctx: ImportContext) -> Iterator[Action]:
    """What one file says, as actions produced lazily once the whole file has been checked; raises
    :class:`RejectedFile` (before any action) when it cannot be read at all or goes beyond a limit."""
    if kind == "unknown":
        ctx.skipped.add("JSON/CSV files that are not a known Fitbit export")
        return iter(())
    if kind == "weight":
        ctx.skipped.add("Fitbit weight logs (the export does not state their unit)")
        return iter(())
    what = kind.split("_")[0]
    if kind in STREAMED:
        ctx.progress.expect(entry.size)  # the second pass reads the file again
        with ctx.open(entry) as stream:
            top = _checked(stream, what, ctx)
        key = STREAMED[kind]
        return _actions(
            kind, _streamed_items(entry, ctx, f"{key}.item" if top == "map" and key else "item"), ctx
        )
    data = ctx.read(entry)
    try:
        if kind in CSV_ACTIONS:
            items = list(csv_items(kind, data))
        else:
            _checked(io.BytesIO(data), what, ctx)
            items = list(_ITEMS[kind](json.loads(data)))
    except _ITEM_ERRORS as exc:
        raise RejectedFile(f"unreadable Fitbit {what} file ({first_line(exc)})") from exc
    return _actions(kind, items, ctx)


def _checked(stream: IO[bytes], what: str, ctx: ImportContext) -> str:
    """The first pass over a JSON file (:func:`check_json`), its failures worded for Fitbit files."""
    try:
        return check_json(stream, ctx.limits.max_json_depth, ctx.limits.max_text_mb * MB)
    except LimitExceeded:
        raise
    except RejectedFile as exc:
        raise RejectedFile(f"unreadable Fitbit {what} file ({exc.reason})") from exc


def _streamed_items(entry: Entry, ctx: ImportContext, prefix: str) -> Iterator[Any]:
    with ctx.open(entry) as stream:
        try:
            yield from ijson.items(stream, prefix, use_float=True, buf_size=256 * 1024)
        except (
            ijson.JSONError
        ) as exc:  # the first pass read the same bytes: only if the file changed meanwhile
            raise RejectedFile(
                f"unreadable Fitbit file (truncated or malformed JSON: {first_line(exc)})"
            ) from exc


def _actions(kind: str, items: Iterable[Any], ctx: ImportContext) -> Iterator[Action]:
    """The actions of each item; an item that cannot be read is counted and the others carry on."""
    convert_item = _ACTIONS[kind]
    for item in items:
        try:
            actions = convert_item(item, ctx)
        except _ITEM_ERRORS:
            ctx.skipped.add(_UNREADABLE)
            continue
        yield from actions


def local_time(ctx: ImportContext, text: str) -> datetime:
    """A Fitbit local time (``2016-12-13T01:16:00.000`` or Takeout ``12/13/16 01:16:00``) in the import's zone."""
    text = text.strip()
    if len(text) == 17 and text[2] == "/" and text[5] == "/":
        naive = datetime(
            2000 + int(text[6:8]),
            int(text[0:2]),
            int(text[3:5]),
            int(text[9:11]),
            int(text[12:14]),
            int(text[15:17]),
        )
    else:
        naive = datetime.fromisoformat(text)
    return ctx.localize(naive)


def _day(text: str) -> date:
    text = text.strip()
    if len(text) >= 8 and text[2] == "/":
        return date(2000 + int(text[6:8]), int(text[0:2]), int(text[3:5]))
    return date.fromisoformat(text[:10])


# --- files -> items -------------------------------------------------------------------------


def _intraday(content: dict, key: str) -> Iterator[tuple[date, dict, int]]:
    day = _day(content[key][0]["dateTime"])
    intraday = content.get(f"{key}-intraday") or {}
    step = int(intraday.get("datasetInterval", 1)) * (1 if intraday.get("datasetType") == "second" else 60)
    for sample in intraday.get("dataset", []):
        yield day, sample, step


def _heart_api(content: dict) -> Iterator[tuple]:
    for summary in content["activities-heart"]:
        value = summary.get("value")
        if isinstance(value, dict) and value.get("restingHeartRate"):
            yield ("rhr", _day(summary["dateTime"]), value["restingHeartRate"])
    for day, sample, _ in _intraday(content, "activities-heart"):
        yield ("hr", day, sample)


_ITEMS: dict[str, Callable[[Any], Iterable[Any]]] = {
    "sleep": lambda c: c["sleep"] if isinstance(c, dict) else c,
    "exercise": lambda c: c["activities"] if isinstance(c, dict) else c,
    "heart_api": _heart_api,
    "steps_api": lambda c: (("steps", day, s, step) for day, s, step in _intraday(c, "activities-steps")),
    "hrv_api": lambda c: c["hrv"],
    "heart_takeout": lambda c: list(c),
    "steps_takeout": lambda c: list(c),
    "resting_takeout": lambda c: list(c),
}


# --- items -> actions -----------------------------------------------------------------------


def _sleep(log: dict, ctx: ImportContext) -> list[Action]:
    start, end = local_time(ctx, log["startTime"]), local_time(ctx, log["endTime"])
    summary = (log.get("levels") or {}).get("summary") or {}
    draft = SleepDraft(identity=("log", log["logId"]), start=start.timestamp(), end=end.timestamp())
    if log.get("type") == "stages" and summary:
        draft.stages_min = {
            stage: float(summary.get(key, {}).get("minutes", 0))
            for stage, key in (("light", "light"), ("deep", "deep"), ("rem", "rem"), ("awake", "wake"))
        }
        draft.awakenings = int(summary.get("wake", {}).get("count", 0))
    elif summary:
        draft.awakenings = int(summary.get("awake", {}).get("count", 0)) + int(
            summary.get("restless", {}).get("count", 0)
        )
    if log.get("efficiency") is not None:
        draft.efficiency = min(float(log["efficiency"]) / 100, 1.0)
    if log.get("minutesToFallAsleep") is not None:
        draft.latency_min = float(log["minutesToFallAsleep"])
    return [("sleep", draft)]


def _exercise(item: dict, ctx: ImportContext) -> list[Action]:
    if not item.get("duration"):
        ctx.skipped.add("Fitbit logged activities without a duration")
        return []
    if "startDate" in item:
        start = local_time(ctx, f"{item['startDate']}T{item['startTime']}")
    else:
        start = local_time(ctx, item["startTime"])
    total = float(item["duration"]) / 1000
    draft = WorkoutDraft(
        start.timestamp(),
        start.timestamp() + total,
        activity_type_from_name(
            item.get("activityName") or item.get("name") or item.get("activityParentName")
        ),
    )
    draft.duration_s = float(item.get("activeDuration") or item["duration"]) / 1000
    draft.heart_rate_bpm = item.get("averageHeartRate") or None
    draft.calories = item.get("calories")
    draft.steps = item.get("steps")
    if item.get("distance"):
        draft.distance_m = convert_unit(float(item["distance"]), item.get("distanceUnit"), METERS, "km")
    return [("workout", draft)]


def _heart_sample(item: tuple, ctx: ImportContext) -> list[Action]:
    if item[0] == "rhr":
        return [("rhr", item[1], float(item[2]))]
    _, day, sample = item
    t = local_time(ctx, f"{day.isoformat()}T{sample['time']}")
    return [("hr", t.timestamp(), float(sample["value"]))]


def _steps_sample(item: tuple, ctx: ImportContext) -> list[Action]:
    _, day, sample, step = item
    t = local_time(ctx, f"{day.isoformat()}T{sample['time']}").timestamp()
    return [("steps", t, t + step, float(sample["value"]))]


def _heart_takeout(item: dict, ctx: ImportContext) -> list[Action]:
    value = item["value"]
    if int(value.get("confidence", 1)) == 0:
        ctx.skipped.add("Fitbit heart-rate readings with zero confidence")
        return []
    return [("hr", local_time(ctx, item["dateTime"]).timestamp(), float(value["bpm"]))]


def _steps_takeout(item: dict, ctx: ImportContext) -> list[Action]:
    t = local_time(ctx, item["dateTime"]).timestamp()
    return [("steps", t, t + 60, float(item["value"]))]


def _resting_takeout(item: dict, ctx: ImportContext) -> list[Action]:
    value = item["value"]
    if not value.get("value"):
        return []
    return [("rhr", _day(value.get("date") or item["dateTime"]), float(value["value"]))]


_ACTIONS: dict[str, Callable[[Any, ImportContext], list[Action]]] = {
    "sleep": _sleep,
    "exercise": _exercise,
    "heart_api": _heart_sample,
    "steps_api": _steps_sample,
    "hrv_api": lambda item, ctx: [("hrv_day", _day(item["dateTime"]), float(item["value"]["dailyRmssd"]))],
    "heart_takeout": _heart_takeout,
    "steps_takeout": _steps_takeout,
    "resting_takeout": _resting_takeout,
    **CSV_ACTIONS,
}


class _FitbitReader:
    """What the Fitbit files of one import add up to."""

    def __init__(self, ctx: ImportContext) -> None:
        self.ctx = ctx
        self.workouts: list[WorkoutDraft] = []
        self.sessions: list[SleepDraft] = []
        self.ledger = ActivityLedger()
        self.nightly = NightlyMetrics()
        self.scores: dict[str, float] = {}
        self.days: dict[date, tuple[float, float, float]] = {}  # daily totals: steps, kcal, active minutes

    def apply(self, actions: Iterable[Action]) -> None:
        for action in actions:
            kind = action[0]
            if kind == "hr":
                self.ledger.add_heart_rate(action[1], action[2])
            elif kind == "steps":
                self.ledger.add(STEPS, action[1], action[2], action[3])
            elif kind == "workout":
                self.workouts.append(action[1])
            elif kind == "sleep":
                self.sessions.append(action[1])
            elif kind == "rhr":
                self.nightly.resting[action[1]].append(action[2])
            elif kind == "hrv_day":
                self.nightly.hrv_daily[action[1]].append(action[2])
            elif kind == "hrv":
                self.nightly.hrv_samples.append((action[1], action[2]))
            elif kind == "score":
                self.scores[action[1]] = action[2]
            elif kind == "day":
                self.days[action[1]] = action[2:]

    def records(self) -> Iterator[Record]:
        intraday_days = set()
        for event in self.ledger.events(self.ctx, SOURCE):
            if event.kind == "bout":
                intraday_days.add(self.ctx.local_date(event.event_ts))
            yield event
        yield from self._daily_bouts(intraday_days)
        unmatched = dict(self.scores)
        for draft in self.sessions:
            score = unmatched.pop(str(draft.identity[1]), None) if draft.identity[0] == "log" else None
            if score is not None and 0 <= score <= 1:
                draft.quality = round(score, 3)
        self.ctx.skipped.add("Fitbit sleep scores without their sleep log", len(unmatched))
        self.nightly.attach(self.sessions, self.ctx)
        yield from sleep_records(self.sessions, self.ctx, SOURCE)

    def _daily_bouts(self, intraday_days: set[date]) -> Iterator[FitnessEvent]:
        """Daily totals as one walking bout at local midnight, for days without intraday samples."""
        for day, (steps, calories, active_min) in sorted(self.days.items()):
            if day in intraday_days:
                self.ctx.skipped.add(
                    "Fitbit daily totals of days with intraday samples (the samples are used)"
                )
                continue
            if steps < 1:
                continue
            midnight = self.ctx.localize(datetime(day.year, day.month, day.day))
            bout = build(
                FitnessEvent,
                self.ctx,
                "daily activity totals",
                **self.ctx.fields(SOURCE),
                event_id=self.ctx.record_id("evt", "daily-bout", day.isoformat()),
                activity_type="walk",
                kind="bout",
                event_ts=midnight,
                duration_s=min(max(active_min, 1.0), 1440.0) * 60,
                calories_burned=min(calories, 10_000.0),
                step_increment=min(round(steps), 200_000),
            )
            if bout is not None:
                yield bout
