"""Apple Health ``export.xml`` (alone, in its folder, or inside ``export.zip``) -> platform records.

Two streaming passes over the XML keep memory flat for multi-GB exports: the first reads the
profile (``Me``) and the workouts, the second routes every sample to its workout or to the hourly
walking bouts (:mod:`.activity`), gathers sleep stages, resting HR and HRV for the nights
(:mod:`.sleep`), groups dietary samples into meals and keeps the newest body mass. Elements are
cleared as soon as they are read. The first pass also checks the whole file (hostile or broken
XML, a damaged zip) before any record is produced.
"""

from __future__ import annotations

import re
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from xml.etree.ElementTree import Element

from fitness_core.physiology import hr_max_tanaka
from fitness_core.schemas import ActivityType, Device, MealType, NutritionLog, Record, Source

from .activity import DISTANCE, ENERGY, STEPS, ActivityLedger, WorkoutDraft
from .common import (
    CENTIMETERS,
    GRAMS,
    KILOCALORIES,
    KILOGRAMS,
    METERS,
    SECONDS,
    Entry,
    ImportContext,
    RejectedFile,
    build,
    convert_each,
    convert_unit,
    epoch,
    parse_offset_timestamp,
)
from .limits import MB
from .sleep import NightlyMetrics, SleepSegment, sessions_from_segments, sleep_records
from .xmlsafe import iter_top_level

SOURCE: Source = "apple_health"
_QUANTITY = "HKQuantityTypeIdentifier"
_CATEGORY = "HKCategoryTypeIdentifier"

WORKOUT_TYPES: dict[str, ActivityType] = {
    "Running": "run",
    "Walking": "walk",
    "Hiking": "hike",
    "Cycling": "cycle",
    "HandCycling": "cycle",
    "Swimming": "swim",
    "Rowing": "row",
    "Elliptical": "elliptical",
    "Yoga": "yoga",
    "Pilates": "yoga",
    "MindAndBody": "yoga",
    "TraditionalStrengthTraining": "strength",
    "FunctionalStrengthTraining": "strength",
    "CoreTraining": "strength",
    "CrossTraining": "strength",
    "StairClimbing": "other",
}
SLEEP_VALUES = {
    "HKCategoryValueSleepAnalysisInBed": "in_bed",
    "HKCategoryValueSleepAnalysisAsleep": "asleep",
    "HKCategoryValueSleepAnalysisAsleepUnspecified": "asleep",
    "HKCategoryValueSleepAnalysisAsleepCore": "light",
    "HKCategoryValueSleepAnalysisAsleepDeep": "deep",
    "HKCategoryValueSleepAnalysisAsleepREM": "rem",
    "HKCategoryValueSleepAnalysisAwake": "awake",
}
NUTRIENTS = {
    _QUANTITY + "DietaryEnergyConsumed": ("calories", KILOCALORIES, "kcal"),
    _QUANTITY + "DietaryProtein": ("protein_g", GRAMS, "g"),
    _QUANTITY + "DietaryCarbohydrates": ("carbs_g", GRAMS, "g"),
    _QUANTITY + "DietaryFatTotal": ("fat_g", GRAMS, "g"),
}
WORKOUT_ONLY_DISTANCES = {
    _QUANTITY + name
    for name in ("DistanceCycling", "DistanceSwimming", "DistanceWheelchair", "DistanceDownhillSnowSports")
}
_HARDWARE = re.compile(r"hardware:([^,>]+)")
_SOFTWARE = re.compile(r"software:([^,>]+)")


def is_export_xml(entry: Entry) -> bool:
    return entry.basename.lower() == "export.xml"


def convert(entries: list[Entry], ctx: ImportContext) -> Iterator[Record]:
    """Records from Apple Health exports; the other files of an export are counted as skipped."""
    for entry in entries:
        if not is_export_xml(entry) and not entry.basename.lower().endswith(".xml"):
            ctx.skipped.add(_companion_reason(entry))
    yield from convert_each([e for e in entries if e.suffix == ".xml"], ctx, read_export)


def _companion_reason(entry: Entry) -> str:
    name = entry.name.lower()
    if "workout-routes/" in name:
        return "Apple workout route files (GPS positions are not stored)"
    if "electrocardiograms/" in name:
        return "Apple ECG recordings (not stored)"
    return "files of the Apple export other than export.xml"


def read_export(entry: Entry, ctx: ImportContext) -> Iterator[Record]:
    """Scan and read one export (raises :class:`RejectedFile` before producing anything)."""
    if entry.basename.lower() == "export_cda.xml":
        ctx.skipped.add("Apple clinical document export_cda.xml (not imported)")
        return iter(())
    export = AppleExport(ctx)
    export.scan(_stream(entry, ctx))
    ctx.progress.expect(entry.size)  # the second pass reads the file again
    export.read(_stream(entry, ctx))
    return export.records()


def _stream(entry: Entry, ctx: ImportContext) -> Iterator[Element]:
    with ctx.open(entry) as raw:
        try:
            yield from iter_top_level(raw, ctx.limits.max_text_mb * MB)
        except (zipfile.BadZipFile, EOFError, OSError) as exc:
            raise RejectedFile(f"cannot read the export: {exc}") from exc


@dataclass
class _Meal:
    values: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    meal: MealType | None = None


class AppleExport:
    """The aggregates of one export, filled by :meth:`scan` and :meth:`read`."""

    def __init__(self, ctx: ImportContext) -> None:
        self.ctx = ctx
        self.export_ts: datetime | None = None
        self.workouts: list[WorkoutDraft] = []
        self.ledger = ActivityLedger()
        self.nightly = NightlyMetrics()
        self.segments: list[SleepSegment] = []
        self.meals: dict[tuple[str, str], _Meal] = {}
        self.height: tuple[datetime, float] | None = None
        self.sources: dict[str, tuple[int, str | None]] = {}
        self.devices: list[Device] = []
        self.ignored: Counter[str] = Counter()

    # --- pass 1: profile and workouts ---------------------------------------------------

    def scan(self, elements: Iterator[Element]) -> None:
        found_root = False
        for element in elements:
            found_root = True
            tag = element.tag
            try:
                if tag == "Workout":
                    draft = self._workout(element.attrib, element)
                    if draft is not None:
                        self.workouts.append(draft)
                elif tag == "Me":
                    self._me(element.attrib)
                elif tag == "ExportDate" and element.get("value"):
                    self.export_ts = parse_offset_timestamp(element.attrib["value"])
            except (KeyError, ValueError, IndexError):
                self.ctx.skipped.add(f"Apple {tag} entries with unreadable dates or values")
        if not found_root:
            raise RejectedFile("not an Apple Health export (no HealthData entries)")
        self.ledger = ActivityLedger(self.workouts, self.ctx)

    def _me(self, attrib: dict[str, str]) -> None:
        sex = attrib.get("HKCharacteristicTypeIdentifierBiologicalSex", "")
        profile = self.ctx.profile
        profile.sex = {"HKBiologicalSexMale": "male", "HKBiologicalSexFemale": "female"}.get(sex, profile.sex)
        born = attrib.get("HKCharacteristicTypeIdentifierDateOfBirth", "")
        if len(born) >= 4 and born[:4].isdigit():
            profile.birth_year = int(born[:4])

    def _workout(self, a: dict[str, str], element: Element) -> WorkoutDraft | None:
        name = a.get("workoutActivityType", "").removeprefix("HKWorkoutActivityType")
        start, end = parse_offset_timestamp(a["startDate"]), parse_offset_timestamp(a["endDate"])
        draft = WorkoutDraft(
            epoch(start), epoch(end), WORKOUT_TYPES.get(name, "other"), device_id=self._source(a)[1]
        )
        draft.duration_s = _quantity(a, "duration", "durationUnit", SECONDS, "min")
        draft.distance_m = _quantity(a, "totalDistance", "totalDistanceUnit", METERS, "km")
        draft.calories = _quantity(a, "totalEnergyBurned", "totalEnergyBurnedUnit", KILOCALORIES, "kcal")
        for child in element:
            if child.tag == "WorkoutStatistics":
                _statistics(draft, child.attrib)
            elif child.tag == "WorkoutRoute":
                self.ctx.skipped.add("Apple workout routes (GPS positions are not stored)")
        return draft

    # --- pass 2: samples ----------------------------------------------------------------

    def read(self, elements: Iterator[Element]) -> None:
        handlers = self._handlers()
        for element in elements:
            if element.tag != "Record":
                if element.tag not in ("Workout", "Me", "ExportDate"):
                    self.ignored[_element_reason(element.tag)] += 1
                continue
            kind = element.get("type", "")
            handler = handlers.get(kind)
            if handler is None:
                self.ignored[_record_reason(kind)] += 1
                continue
            try:
                handler(element.attrib, element)
            except (KeyError, ValueError, IndexError):
                self.ignored["Apple records with unreadable dates or values"] += 1
        for reason, count in self.ignored.items():
            self.ctx.skipped.add(reason, count)

    def _handlers(self) -> dict:
        ledger = self.ledger
        handlers = {
            _QUANTITY + "StepCount": lambda a, e: self._interval(a, STEPS),
            _QUANTITY + "DistanceWalkingRunning": lambda a, e: self._interval(a, DISTANCE),
            _QUANTITY + "ActiveEnergyBurned": lambda a, e: self._interval(a, ENERGY),
            _QUANTITY + "HeartRate": lambda a, e: ledger.add_heart_rate(
                _time(a, "startDate"), float(a["value"])
            ),
            _QUANTITY + "RestingHeartRate": self._resting,
            _QUANTITY + "HeartRateVariabilitySDNN": lambda a, e: self.nightly.hrv_samples.append(
                (_time(a, "startDate"), float(a["value"]))
            ),
            _CATEGORY + "SleepAnalysis": self._sleep,
            _QUANTITY + "BodyMass": self._body_mass,
            _QUANTITY + "Height": self._height,
        }
        handlers.update(dict.fromkeys(NUTRIENTS, self._nutrient))
        handlers.update(dict.fromkeys(WORKOUT_ONLY_DISTANCES, self._workout_distance))
        return handlers

    def _source(self, a: dict[str, str]) -> tuple[int, str | None]:
        """(rank, device id) of a sample's source: Apple Watch 0, iPhone 1, other apps 2."""
        name = a.get("sourceName", "")
        known = self.sources.get(name)
        if known is not None:
            return known
        text = f"{name} {a.get('device', '')}".lower()
        kind = "watch" if "watch" in text else "phone" if "phone" in text else None
        device_id = None
        if kind is not None:
            device_id = self.ctx.record_id("dev", SOURCE, name)
            hardware = _HARDWARE.search(a.get("device", ""))
            software = _SOFTWARE.search(a.get("device", ""))
            device = build(
                Device,
                self.ctx,
                "devices",
                **self.ctx.fields(SOURCE),
                device_id=device_id,
                kind=kind,
                model=(
                    hardware.group(1).strip() if hardware else "Apple Watch" if kind == "watch" else "iPhone"
                )[:80],
                firmware=(software.group(1).strip() if software else a.get("sourceVersion") or "")[:40]
                or None,
                updated_ts=self.export_ts or self.ctx.ingest_ts,
            )
            if device is not None and self.ctx.device(device) is not None:
                self.devices.append(device)
        result = self.sources[name] = (0 if kind == "watch" else 1 if kind == "phone" else 2, device_id)
        return result

    def _interval(self, a: dict[str, str], metric: int) -> None:
        """A steps, walking distance (to metres) or active energy (to kcal) sample."""
        value = float(a["value"])
        if metric == DISTANCE:
            value = convert_unit(value, a.get("unit"), METERS, "km") or 0.0
        elif metric == ENERGY:
            value = convert_unit(value, a.get("unit"), KILOCALORIES, "kcal") or 0.0
        self.ledger.add(metric, _time(a, "startDate"), _time(a, "endDate"), value, self._source(a)[0])

    def _workout_distance(self, a: dict[str, str], e: Element) -> None:
        meters = convert_unit(float(a["value"]), a.get("unit"), METERS, "km") or 0.0
        if not self.ledger.add(
            DISTANCE, _time(a, "startDate"), _time(a, "endDate"), meters, self._source(a)[0], outside=False
        ):
            self.ignored["cycling/swimming distance outside workouts"] += 1

    def _resting(self, a: dict[str, str], e: Element) -> None:
        day = self.ctx.local_date(parse_offset_timestamp(a["startDate"]))
        self.nightly.resting[day].append(float(a["value"]))

    def _sleep(self, a: dict[str, str], e: Element) -> None:
        stage = SLEEP_VALUES.get(a.get("value", ""))
        if stage is None:
            self.ignored["sleep samples with an unknown stage"] += 1
            return
        rank, device_id = self._source(a)
        self.segments.append(SleepSegment(_time(a, "startDate"), _time(a, "endDate"), stage, rank, device_id))

    def _nutrient(self, a: dict[str, str], e: Element) -> None:
        name, table, default = NUTRIENTS[a["type"]]
        value = convert_unit(float(a["value"]), a.get("unit"), table, default)
        if value is None:
            self.ignored["dietary samples in an unknown unit"] += 1
            return
        meal = self.meals.setdefault((a.get("sourceName", ""), a["startDate"]), _Meal())
        meal.values[name] += value
        for entry in e.iter("MetadataEntry"):
            if "meal" in entry.get("key", "").lower():
                meal.meal = _meal_type(entry.get("value", "")) or meal.meal

    def _body_mass(self, a: dict[str, str], e: Element) -> None:
        kg = convert_unit(float(a["value"]), a.get("unit"), KILOGRAMS, "kg")
        if kg is not None:
            self.ctx.profile.observe_weight(round(kg, 2), parse_offset_timestamp(a["startDate"]))

    def _height(self, a: dict[str, str], e: Element) -> None:
        cm = convert_unit(float(a["value"]), a.get("unit"), CENTIMETERS, "cm")
        ts = parse_offset_timestamp(a["startDate"])
        if cm is not None and (self.height is None or ts > self.height[0]):
            self.height = (ts, cm)
            self.ctx.profile.height_cm = round(cm, 1)

    # --- output -------------------------------------------------------------------------

    def records(self) -> Iterator[Record]:
        ctx = self.ctx
        yield from self.devices
        hr_max = None
        if ctx.profile.birth_year is not None:
            year = (self.export_ts or ctx.ingest_ts).year
            hr_max = float(hr_max_tanaka(year - ctx.profile.birth_year))
        yield from self.ledger.events(ctx, SOURCE, ctx.hr_max_bpm or hr_max)
        drafts = sessions_from_segments(self.segments, ctx)
        self.nightly.attach(drafts, ctx)
        yield from sleep_records(drafts, ctx, SOURCE)
        yield from self._meals()

    def _meals(self) -> Iterator[NutritionLog]:
        ctx = self.ctx
        for (source_name, started), meal in self.meals.items():
            values = meal.values
            calories = values.get("calories") or (
                4 * values.get("protein_g", 0) + 4 * values.get("carbs_g", 0) + 9 * values.get("fat_g", 0)
            )
            if calories <= 0:
                ctx.skipped.add("food entries without energy or macronutrients")
                continue
            ts = parse_offset_timestamp(started)
            log = build(
                NutritionLog,
                ctx,
                "food entries",
                **ctx.fields(SOURCE),
                log_id=ctx.record_id("nut", SOURCE, source_name, started),
                meal_type=meal.meal or meal_from_hour(ts.astimezone(ctx.zone).hour),
                log_ts=ts,
                calories=round(calories, 1),
                **{k: round(values.get(k, 0.0), 1) for k in ("protein_g", "carbs_g", "fat_g")},
            )
            if log is not None:
                yield log


def _time(a: dict[str, str], key: str) -> float:
    return parse_offset_timestamp(a[key]).timestamp()


def _quantity(
    a: dict[str, str], key: str, unit_key: str, table: dict[str, float], default: str
) -> float | None:
    if not a.get(key):
        return None
    return convert_unit(float(a[key]), a.get(unit_key), table, default)


def _statistics(draft: WorkoutDraft, a: dict[str, str]) -> None:
    """Fill what the workout element itself did not give from its ``WorkoutStatistics``."""
    kind = a.get("type", "").removeprefix(_QUANTITY)
    if kind == "HeartRate":
        draft.heart_rate_bpm = float(a["average"]) if a.get("average") else draft.heart_rate_bpm
        draft.max_heart_rate_bpm = float(a["maximum"]) if a.get("maximum") else draft.max_heart_rate_bpm
    elif kind == "ActiveEnergyBurned" and draft.calories is None:
        draft.calories = _quantity(a, "sum", "unit", KILOCALORIES, "kcal")
    elif kind.startswith("Distance") and draft.distance_m is None:
        draft.distance_m = _quantity(a, "sum", "unit", METERS, "km")
    elif kind == "StepCount" and a.get("sum"):
        draft.steps = float(a["sum"])


def _record_reason(kind: str) -> str:
    short = kind.removeprefix(_QUANTITY).removeprefix(_CATEGORY) or "(no type)"
    return f"Apple {short} records (not stored by the platform)"


def _element_reason(tag: str) -> str:
    if tag == "ActivitySummary":
        return "Apple daily activity summaries (recomputed from the samples)"
    return f"Apple {tag} entries (not stored by the platform)"


def _meal_type(text: str) -> MealType | None:
    text = text.lower()
    for meal in ("breakfast", "lunch", "dinner", "snack"):
        if meal in text:
            return meal  # type: ignore[return-value]
    return None


def meal_from_hour(hour: int) -> MealType:
    """The meal a food entry most likely belongs to, from its local hour."""
    if 4 <= hour < 11:
        return "breakfast"
    if 11 <= hour < 15:
        return "lunch"
    if 17 <= hour < 22:
        return "dinner"
    return "snack"
