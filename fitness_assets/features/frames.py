"""The pull reader: fetch the week's raw documents and group them in pandas.

This is the naive alternative to :mod:`.pipelines` (same output, work done in the client). It
exists to measure which design suits a given store (``benchmarks/bench_features.py``) and as
the fallback for stores whose aggregation is slower than their cursor.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from fitness_assets.features.inputs import (
    EVENT_FIELDS,
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


def _frame(db: Database, collection: str, query: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame(list(db[collection].find(query)))


def _activity(users: dict[str, UserWeekInputs], events: pd.DataFrame) -> None:
    if events.empty:
        return
    events = events.reindex(columns=list(EVENT_FIELDS))
    zones = pd.DataFrame(
        [z if isinstance(z, list) else [0.0] * 5 for z in events["hr_zone_s"]],
        columns=[f"z{i}" for i in range(5)],
        index=events.index,
    )
    events = pd.concat([events.drop(columns="hr_zone_s"), zones], axis=1)
    keys = ["user_id", "local_date", "activity_type", "kind"]
    summed = events.groupby(keys, sort=False).agg(
        n=("duration_s", "size"),
        s=("duration_s", "sum"),
        steps=("step_increment", "sum"),
        kcal=("calories_burned", "sum"),
        hr_max=("max_heart_rate_bpm", "max"),
        longest=("duration_s", "max"),
        z0=("z0", "sum"),
        z1=("z1", "sum"),
        z2=("z2", "sum"),
        z3=("z3", "sum"),
        z4=("z4", "sum"),
    )
    for (user_id, day, activity, kind), g in summed.iterrows():
        users.setdefault(user_id, UserWeekInputs(user_id=user_id)).groups.append(
            ActivityGroup(
                date=day,
                activity_type=activity,
                workout=kind == "workout",
                count=int(g["n"]),
                seconds=float(g["s"]),
                steps=int(g["steps"]),
                kcal=float(g["kcal"]),
                zone_s=(float(g["z0"]), float(g["z1"]), float(g["z2"]), float(g["z3"]), float(g["z4"])),
                max_hr=optional_float(g["hr_max"]),
                longest_s=float(g["longest"]),
            )
        )
    for row in events[
        [
            "user_id",
            "local_date",
            "activity_type",
            "kind",
            "duration_s",
            "heart_rate_bpm",
            "perceived_exertion",
        ]
    ].to_dict("records"):
        users[row["user_id"]].efforts.append(
            effort_of(row, row["local_date"], row["activity_type"], row["kind"] == "workout")
        )


def _intake(users: dict[str, UserWeekInputs], meals: pd.DataFrame) -> None:
    if meals.empty:
        return
    daily = meals.groupby(["user_id", "local_date"], sort=False).agg(
        meals=("calories", "size"),
        kcal=("calories", "sum"),
        protein_g=("protein_g", "sum"),
        carbs_g=("carbs_g", "sum"),
        fat_g=("fat_g", "sum"),
    )
    for (user_id, day), d in daily.iterrows():
        users.setdefault(user_id, UserWeekInputs(user_id=user_id)).intake.append(
            DayIntake(
                date=day,
                meals=int(d["meals"]),
                kcal=float(d["kcal"]),
                protein_g=float(d["protein_g"]),
                carbs_g=float(d["carbs_g"]),
                fat_g=float(d["fat_g"]),
            )
        )


def pull_week_inputs(
    db: Database, week: str, prior_weeks: list[str], user_ids: list[str] | None = None
) -> dict[str, UserWeekInputs]:
    """Read the week's raw documents (of ``user_ids`` only, when given) and reduce them in pandas
    to the inputs of each user."""
    users: dict[str, UserWeekInputs] = {}
    query: dict[str, Any] = (
        {"week": week} if user_ids is None else {"week": week, "user_id": {"$in": list(user_ids)}}
    )
    _activity(users, _frame(db, store.FITNESS_EVENTS, query))
    for doc in db[store.SLEEP_SESSIONS].find(query):
        users.setdefault(doc["user_id"], UserWeekInputs(user_id=doc["user_id"])).nights.append(night_of(doc))
    _intake(users, _frame(db, store.NUTRITION_LOGS, query))
    for doc in db[store.FEEDBACK_EVENTS].find(query):
        users.setdefault(doc["user_id"], UserWeekInputs(user_id=doc["user_id"])).checkins.append(
            checkin_of(doc)
        )
    if users and prior_weeks:
        prior = _frame(db, store.FITNESS_EVENTS, {"week": {"$in": prior_weeks}})
        if not prior.empty:
            prior = prior.reindex(
                columns=["user_id", "local_date", "duration_s", "heart_rate_bpm", "perceived_exertion"]
            )
            prior = prior[
                prior["user_id"].isin(users)
                & (prior["heart_rate_bpm"].notna() | prior["perceived_exertion"].notna())
            ]
            for row in prior.to_dict("records"):
                users[row["user_id"]].prior_efforts.append(effort_of(row, row["local_date"], "other", False))
    return users
