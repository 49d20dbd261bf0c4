"""The aggregation reader: MongoDB pipelines that reduce one week to per-user rows in the store.

Every pipeline starts with an indexed ``$match`` on ``week`` (the local Monday stored with each
record), groups by user and local day, then by user. Only plain stages and operators are used
(``$match``, ``$group``, ``$sum``, ``$max``, ``$push``, ``$arrayElemAt``, ``$ifNull``), so the same
pipelines run on MongoDB and on SecantusDB. No date operator needs a per-document timezone: the
local day is the stored ``local_date``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fitness_assets.features.inputs import (
    FEEDBACK_FIELDS,
    SLEEP_FIELDS,
    ActivityGroup,
    DayIntake,
    UserWeekInputs,
    checkin_of,
    effort_of,
    night_of,
    optional_float,
)
from fitness_core import store

if TYPE_CHECKING:
    from pymongo.database import Database

ZONES = range(5)


def _week_match(weeks: str | list[str]) -> dict[str, Any]:
    return {"$match": {"week": weeks if isinstance(weeks, str) else {"$in": list(weeks)}}}


def activity_pipeline(week: str) -> list[dict[str, Any]]:
    """Events summed per user, local day, activity type and kind, with each event's effort."""
    group_key = {"u": "$user_id", "d": "$local_date", "t": "$activity_type", "k": "$kind"}
    sums: dict[str, Any] = {
        "n": {"$sum": 1},
        "s": {"$sum": "$duration_s"},
        "steps": {"$sum": "$step_increment"},
        "kcal": {"$sum": "$calories_burned"},
        "hr_max": {"$max": "$max_heart_rate_bpm"},
        "longest": {"$max": "$duration_s"},
        "efforts": {"$push": {"s": "$duration_s", "hr": "$heart_rate_bpm", "rpe": "$perceived_exertion"}},
    }
    for i in ZONES:
        sums[f"z{i}"] = {"$sum": {"$ifNull": [{"$arrayElemAt": ["$hr_zone_s", i]}, 0]}}
    group_fields = ["n", "s", "steps", "kcal", "hr_max", "longest", "efforts", *(f"z{i}" for i in ZONES)]
    return [
        _week_match(week),
        {"$group": {"_id": group_key, **sums}},
        {
            "$group": {
                "_id": "$_id.u",
                "groups": {
                    "$push": {
                        "d": "$_id.d",
                        "t": "$_id.t",
                        "k": "$_id.k",
                        **{f: f"${f}" for f in group_fields},
                    }
                },
            }
        },
    ]


def prior_efforts_pipeline(weeks: list[str]) -> list[dict[str, Any]]:
    """Per user and local day, the efforts (duration, HR, RPE) of the given earlier weeks."""
    return [
        _week_match(weeks),
        {"$match": {"$or": [{"heart_rate_bpm": {"$ne": None}}, {"perceived_exertion": {"$ne": None}}]}},
        {
            "$group": {
                "_id": {"u": "$user_id", "d": "$local_date"},
                "efforts": {
                    "$push": {"s": "$duration_s", "hr": "$heart_rate_bpm", "rpe": "$perceived_exertion"}
                },
            }
        },
        {"$group": {"_id": "$_id.u", "days": {"$push": {"d": "$_id.d", "efforts": "$efforts"}}}},
    ]


def sleep_pipeline(week: str) -> list[dict[str, Any]]:
    """Each user's nights (one record per night: nothing to sum, only to group)."""
    night = {f: f"${f}" for f in SLEEP_FIELDS if f != "user_id"}
    return [_week_match(week), {"$group": {"_id": "$user_id", "nights": {"$push": night}}}]


def nutrition_pipeline(week: str) -> list[dict[str, Any]]:
    """Meals summed per user and local day."""
    return [
        _week_match(week),
        {
            "$group": {
                "_id": {"u": "$user_id", "d": "$local_date"},
                "meals": {"$sum": 1},
                "kcal": {"$sum": "$calories"},
                "protein_g": {"$sum": "$protein_g"},
                "carbs_g": {"$sum": "$carbs_g"},
                "fat_g": {"$sum": "$fat_g"},
            }
        },
        {
            "$group": {
                "_id": "$_id.u",
                "days": {
                    "$push": {
                        "d": "$_id.d",
                        **{f: f"${f}" for f in ("meals", "kcal", "protein_g", "carbs_g", "fat_g")},
                    }
                },
            }
        },
    ]


def feedback_pipeline(week: str) -> list[dict[str, Any]]:
    """Each user's check-ins of the week."""
    checkin = {f: f"${f}" for f in FEEDBACK_FIELDS if f != "user_id"}
    return [_week_match(week), {"$group": {"_id": "$user_id", "checkins": {"$push": checkin}}}]


def longest_workout_pipeline(weeks: list[str], since: str, until: str) -> list[dict[str, Any]]:
    """Per user, the longest workout (seconds) with ``since <= local_date <= until``."""
    return [
        _week_match(weeks),
        {"$match": {"kind": "workout", "local_date": {"$gte": since, "$lte": until}}},
        {"$group": {"_id": "$user_id", "longest_s": {"$max": "$duration_s"}}},
    ]


def only_users(pipeline: list[dict[str, Any]], user_ids: list[str] | None) -> list[dict[str, Any]]:
    """``pipeline`` restricted to ``user_ids`` right after its week match (unchanged for None)."""
    if user_ids is None:
        return pipeline
    return [pipeline[0], {"$match": {"user_id": {"$in": list(user_ids)}}}, *pipeline[1:]]


def aggregate_week_inputs(
    db: Database, week: str, prior_weeks: list[str], user_ids: list[str] | None = None
) -> dict[str, UserWeekInputs]:
    """Run the pipelines for ``week`` and return the reduced inputs of every user with data (or of
    ``user_ids`` only: the isolation of a user whose documents cannot be read reads fewer users)."""
    users: dict[str, UserWeekInputs] = {}

    def user(user_id: str) -> UserWeekInputs:
        return users.setdefault(user_id, UserWeekInputs(user_id=user_id))

    for row in db[store.FITNESS_EVENTS].aggregate(only_users(activity_pipeline(week), user_ids)):
        target = user(row["_id"])
        for g in row["groups"]:
            workout = g["k"] == "workout"
            target.groups.append(
                ActivityGroup(
                    date=g["d"],
                    activity_type=g["t"],
                    workout=workout,
                    count=int(g["n"]),
                    seconds=float(g["s"]),
                    steps=int(g["steps"]),
                    kcal=float(g["kcal"]),
                    zone_s=tuple(float(g[f"z{i}"]) for i in ZONES),  # type: ignore[arg-type]
                    max_hr=optional_float(g.get("hr_max")),
                    longest_s=float(g["longest"]),
                )
            )
            target.efforts.extend(effort_of(e, g["d"], g["t"], workout) for e in g["efforts"])
    for row in db[store.SLEEP_SESSIONS].aggregate(only_users(sleep_pipeline(week), user_ids)):
        user(row["_id"]).nights.extend(night_of(n) for n in row["nights"])
    for row in db[store.NUTRITION_LOGS].aggregate(only_users(nutrition_pipeline(week), user_ids)):
        user(row["_id"]).intake.extend(
            DayIntake(
                date=d["d"],
                meals=int(d["meals"]),
                kcal=float(d["kcal"]),
                protein_g=float(d["protein_g"]),
                carbs_g=float(d["carbs_g"]),
                fat_g=float(d["fat_g"]),
            )
            for d in row["days"]
        )
    for row in db[store.FEEDBACK_EVENTS].aggregate(only_users(feedback_pipeline(week), user_ids)):
        user(row["_id"]).checkins.extend(checkin_of(c) for c in row["checkins"])
    if users and prior_weeks:
        for row in db[store.FITNESS_EVENTS].aggregate(prior_efforts_pipeline(prior_weeks)):
            if row["_id"] in users:
                users[row["_id"]].prior_efforts.extend(
                    effort_of(e, d["d"], "other", False) for d in row["days"] for e in d["efforts"]
                )
    return users
