"""Turn one cohort-day of simulated arrays into validated stream records.

Device timestamps carry the user's local UTC offset (as wearables export them), ``ingest_ts`` is
the UTC arrival time; all at millisecond precision. Natural ids are ``<user>-<YYYYMMDD>-<what>``, so a record is the same record
whenever it is (re)delivered. Every record goes through its pydantic schema; a row that fails
validation is dropped, logged and counted, never published.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
from pydantic import TypeAdapter, ValidationError

from fitness_core.schemas import (
    Feedback,
    FitnessEvent,
    NutritionLog,
    Record,
    SleepSession,
    describe_validation_error,
)
from fitness_streaming.simulator.activity import MEALS
from fitness_streaming.simulator.day import DayOutcome
from fitness_streaming.simulator.dirty import Wear
from fitness_streaming.simulator.population import MODALITIES, TIMEZONES, Cohort

log = logging.getLogger(__name__)

EPOCH = date(1970, 1, 1)
MS_PER_MIN = 60_000
MIN_PER_DAY = 1440


@cache
def _adapter(cls: type[Record]) -> TypeAdapter:
    return TypeAdapter(list[cls])  # type: ignore[valid-type]


def validate_rows(cls: type[Record], rows: list[dict]) -> tuple[list[Record], int]:
    """Validate rows in bulk; on failure keep the valid ones. Returns (records, rows dropped)."""
    try:
        return _adapter(cls).validate_python(rows), 0
    except ValidationError:
        pass
    records: list[Record] = []
    for row in rows:
        try:
            records.append(cls.model_validate(row))
        except ValidationError as exc:
            log.warning(
                "simulated record failed validation and was dropped",
                extra={
                    "schema": cls.schema_name(),
                    "record_id": row.get(cls.ID_FIELD),
                    "reason": describe_validation_error(exc),
                },
            )
    return records, len(rows) - len(records)


def _offset_text(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


class DayClock:
    """Local minutes of one day -> ISO-8601 timestamps in each user's UTC offset of that day.

    Timestamps are handed to the schemas as text: pydantic parses them natively, which is much
    cheaper than building aware datetimes in Python. The offset is the zone's offset at local noon.
    """

    def __init__(self, day: date, tz_index: np.ndarray) -> None:
        noon = datetime(day.year, day.month, day.day, 12)
        offsets = [ZoneInfo(tz).utcoffset(noon) or timedelta(0) for tz in TIMEZONES]
        self.day_ms = (day - EPOCH).days * 86_400_000
        self.offset_ms = np.array([int(o.total_seconds() * 1000) for o in offsets])[tz_index]
        self.suffix = np.array([_offset_text(o) for o in offsets])[tz_index]

    def local_ms(self, minutes: np.ndarray) -> np.ndarray:
        return self.day_ms + np.round(np.asarray(minutes) * MS_PER_MIN).astype(np.int64)

    def local(self, minutes: np.ndarray, users: np.ndarray) -> list[str]:
        text = np.datetime_as_string(self.local_ms(minutes).astype("datetime64[ms]"), unit="ms")
        return np.strings.add(text, self.suffix[users]).tolist()

    def utc(self, minutes: np.ndarray, users: np.ndarray) -> list[str]:
        ms = self.local_ms(minutes) - self.offset_ms[users]
        return np.strings.add(np.datetime_as_string(ms.astype("datetime64[ms]"), unit="ms"), "Z").tolist()


def _r(values: np.ndarray, digits: int = 1) -> list:
    return np.round(values, digits).tolist()


class DayRecordBuilder:
    """Builds one cohort-day's records and the local day offset on which each one arrives."""

    def __init__(
        self,
        cohort: Cohort,
        outcome: DayOutcome,
        wear: Wear,
        device_delay_min: np.ndarray,
        app_delay_s: np.ndarray,
    ) -> None:
        self.cohort, self.outcome, self.wear = cohort, outcome, wear
        self.clock = DayClock(outcome.day, cohort.tz_index)
        self.tag = outcome.day.strftime("%Y%m%d")
        self.skew_min = cohort.skew_s / 60.0
        self.device_delay_min = device_delay_min
        self.app_delay_min = app_delay_s / 60.0
        self.timezones = cohort.timezones
        self.records: list[Record] = []
        self.arrival_days: list[np.ndarray] = []
        self.invalid = 0

    def build(self) -> tuple[list[Record], np.ndarray, int]:
        """(records, arrival day offset per record, rows dropped by validation)."""
        self._sleep()
        self._events()
        self._meals()
        self._check_ins()
        offsets = np.concatenate(self.arrival_days) if self.arrival_days else np.zeros(0, dtype=int)
        return self.records, offsets, self.invalid

    def _add(self, cls: type[Record], rows: list[dict], arrival_min: np.ndarray) -> None:
        records, dropped = validate_rows(cls, rows)
        if dropped:
            ids = {r.natural_id for r in records}
            keep = np.array([row[cls.ID_FIELD] in ids for row in rows], dtype=bool)
            arrival_min = arrival_min[keep]
            self.invalid += dropped
        self.records.extend(records)
        self.arrival_days.append(np.floor(arrival_min / MIN_PER_DAY).astype(int))

    def _common(self, users: np.ndarray, arrival_min: np.ndarray) -> tuple[list, list, list]:
        ids = self.cohort.user_ids
        uids = [ids[u] for u in users.tolist()]
        tzs = [self.timezones[u] for u in users.tolist()]
        return uids, tzs, self.clock.utc(arrival_min, users)

    def _sleep(self) -> None:
        s, wear = self.outcome.sleep, self.wear
        users = np.flatnonzero(wear.worn & ~wear.night_off)
        skew = self.skew_min[users]
        arrival = s.end_min[users] + self.device_delay_min[users]
        uids, tzs, ingest = self._common(users, arrival)
        starts = self.clock.local(s.start_min[users] + skew, users)
        ends = self.clock.local(s.end_min[users] + skew, users)
        devices = self.cohort.device_ids
        columns = zip(
            users.tolist(),
            uids,
            tzs,
            ingest,
            starts,
            ends,
            _r(s.quality[users], 3),
            _r(s.efficiency[users], 3),
            _r(s.light[users]),
            _r(s.deep[users]),
            _r(s.rem[users]),
            _r(s.awake[users]),
            s.awakenings[users].astype(int).tolist(),
            _r(s.latency_min[users]),
            _r(s.rhr[users]),
            _r(s.hrv_ms[users]),
            strict=True,
        )
        rows = [
            {
                "session_id": f"{uid}-{self.tag}-sleep",
                "user_id": uid,
                "device_id": devices[u],
                "timezone": tz,
                "ingest_ts": ing,
                "start_ts": st,
                "end_ts": en,
                "quality": q,
                "efficiency": se,
                "sleep_stage_breakdown": {"light": li, "deep": de, "rem": re, "awake": aw},
                "awakenings": n,
                "latency_min": lat,
                "resting_heart_rate_bpm": rhr,
                "hrv_rmssd_ms": hrv,
            }
            for u, uid, tz, ing, st, en, q, se, li, de, re, aw, n, lat, rhr, hrv in columns
        ]
        self._add(SleepSession, rows, arrival)

    def _events(self) -> None:
        w, b, wear = self.outcome.workout, self.outcome.walking, self.wear
        devices = self.cohort.device_ids
        users = np.flatnonzero(w.done & wear.worn)
        arrival = w.end_min[users] + self.device_delay_min[users]
        uids, tzs, ingest = self._common(users, arrival)
        starts = self.clock.local(w.start_min[users] + self.skew_min[users], users)
        distance = [None if np.isnan(d) else d for d in _r(w.distance_m[users])]
        columns = zip(
            users.tolist(),
            uids,
            tzs,
            ingest,
            starts,
            w.modality[users].tolist(),
            np.round(w.minutes[users] * 60).tolist(),
            _r(w.hr_avg[users]),
            _r(w.hr_peak[users]),
            w.zones_s[users].tolist(),
            _r(w.kcal[users]),
            w.steps[users].astype(int).tolist(),
            distance,
            w.rpe[users].astype(int).tolist(),
            strict=True,
        )
        rows = [
            {
                "event_id": f"{uid}-{self.tag}-workout",
                "user_id": uid,
                "device_id": devices[u],
                "timezone": tz,
                "ingest_ts": ing,
                "activity_type": MODALITIES[m],
                "kind": "workout",
                "event_ts": st,
                "duration_s": dur,
                "heart_rate_bpm": hr,
                "max_heart_rate_bpm": peak,
                "hr_zone_s": zones,
                "calories_burned": kcal,
                "step_increment": steps,
                "distance_m": dist,
                "perceived_exertion": rpe,
            }
            for u, uid, tz, ing, st, m, dur, hr, peak, zones, kcal, steps, dist, rpe in columns
        ]
        in_gap = (b.start_min < wear.gap_end[:, None]) & (b.start_min + b.minutes > wear.gap_start[:, None])
        users_b, slot = np.nonzero(b.mask & wear.worn[:, None] & ~in_gap)
        end_b = b.start_min[users_b, slot] + b.minutes[users_b, slot]
        arrival_b = end_b + self.device_delay_min[users_b]
        uids_b, tzs_b, ingest_b = self._common(users_b, arrival_b)
        starts_b = self.clock.local(b.start_min[users_b, slot] + self.skew_min[users_b], users_b)
        columns_b = zip(
            users_b.tolist(),
            slot.tolist(),
            uids_b,
            tzs_b,
            ingest_b,
            starts_b,
            np.round(b.minutes[users_b, slot] * 60).tolist(),
            _r(b.hr[users_b, slot]),
            _r(b.kcal[users_b, slot]),
            b.steps[users_b, slot].astype(int).tolist(),
            _r(b.distance_m[users_b, slot]),
            strict=True,
        )
        rows += [
            {
                "event_id": f"{uid}-{self.tag}-walk{k}",
                "user_id": uid,
                "device_id": devices[u],
                "timezone": tz,
                "ingest_ts": ing,
                "activity_type": "walk",
                "kind": "bout",
                "event_ts": st,
                "duration_s": dur,
                "heart_rate_bpm": hr,
                "calories_burned": kcal,
                "step_increment": steps,
                "distance_m": dist,
            }
            for u, k, uid, tz, ing, st, dur, hr, kcal, steps, dist in columns_b
        ]
        self._add(FitnessEvent, rows, np.concatenate([arrival, arrival_b]))

    def _meals(self) -> None:
        m = self.outcome.meals
        users, meal = np.nonzero(m.mask)
        times = m.time_min[users, meal]
        arrival = times + self.app_delay_min[users, meal]
        uids, tzs, ingest = self._common(users, arrival)
        logged = self.clock.local(times, users)
        columns = zip(
            meal.tolist(),
            uids,
            tzs,
            ingest,
            logged,
            _r(m.kcal[users, meal]),
            _r(m.protein_g[users, meal]),
            _r(m.carbs_g[users, meal]),
            _r(m.fat_g[users, meal]),
            strict=True,
        )
        rows = [
            {
                "log_id": f"{uid}-{self.tag}-{MEALS[k]}",
                "user_id": uid,
                "timezone": tz,
                "ingest_ts": ing,
                "meal_type": MEALS[k],
                "log_ts": ts,
                "calories": kcal,
                "protein_g": p,
                "carbs_g": c,
                "fat_g": f,
            }
            for k, uid, tz, ing, ts, kcal, p, c, f in columns
        ]
        self._add(NutritionLog, rows, arrival)

    def _check_ins(self) -> None:
        c = self.outcome.check_ins
        users = np.flatnonzero(c.mask)
        times = c.time_min[users]
        arrival = times + self.app_delay_min[users, len(MEALS)]
        uids, tzs, ingest = self._common(users, arrival)
        logged = self.clock.local(times, users)
        columns = zip(
            uids,
            tzs,
            ingest,
            logged,
            c.mood[users].astype(int).tolist(),
            c.energy[users].astype(int).tolist(),
            c.exertion[users].astype(int).tolist(),
            c.soreness[users].astype(int).tolist(),
            c.readiness[users].astype(int).tolist(),
            strict=True,
        )
        rows = [
            {
                "feedback_id": f"{uid}-{self.tag}-checkin",
                "user_id": uid,
                "timezone": tz,
                "ingest_ts": ing,
                "feedback_ts": ts,
                "mood": mood,
                "energy": energy,
                "perceived_exertion": pe,
                "soreness_level": sore,
                "readiness": ready,
            }
            for uid, tz, ing, ts, mood, energy, pe, sore, ready in columns
        ]
        self._add(Feedback, rows, arrival)


def day_records(
    cohort: Cohort, outcome: DayOutcome, wear: Wear, device_delay_min: np.ndarray, app_delay_s: np.ndarray
) -> tuple[list[Record], np.ndarray, int]:
    """One cohort-day's records, each with the local day offset of its arrival, and the rows dropped."""
    return DayRecordBuilder(cohort, outcome, wear, device_delay_min, app_delay_s).build()
