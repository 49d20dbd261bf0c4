"""One import run: read a path, convert every file with its importer, publish, and report.

Formats are converted richest first (tables, FIT, TCX, Apple Health, Fitbit, GPX): a workout's id
is its user and start second, so when the same activity arrives in several formats the writer
keeps the first, most detailed one. Body facts found in the files update the stored user profile
(newest body mass wins); a profile is created only when the files give sex, birth year and height.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from fitness_core import schemas
from fitness_core.ids import check_user_id
from fitness_core.physiology import hr_max_tanaka
from fitness_core.schemas import Record, Source, User
from fitness_core.settings import Settings

from . import apple, fit, fitbit, gpx, tables, tcx
from .common import FORMAT_SOURCES, ImportContext, ReadProgress, build
from .limits import ImportLimits
from .sources import InputError, entries_from_path, plan

log = logging.getLogger(__name__)
ORDER = ("tables", "fit", "tcx", "apple", "fitbit", "gpx")
CONVERTERS: dict[str, Callable[..., Iterable[Record]]] = {
    "apple": apple.convert,
    "fit": fit.convert,
    "gpx": gpx.convert,
    "tcx": tcx.convert,
    "fitbit": fitbit.convert,
    "tables": tables.convert,
}


@dataclass
class ImportReport:
    """What one import did: records per collection, skipped with reasons, rejected files."""

    formats: list[str] = field(default_factory=list)
    records: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    dropped: Counter[str] = field(default_factory=Counter)  #: implausible samples and records, by reason
    rejected: list[tuple[str, str]] = field(default_factory=list)
    files_read: int = 0
    files_ignored: int = 0
    seconds: float = 0.0
    published: bool = False

    @property
    def total(self) -> int:
        return sum(self.records.values())


def check_timezone(name: str) -> str:
    try:
        return schemas.check_timezone(name)
    except ValueError as exc:
        raise InputError(f"unknown timezone {name!r} (use an IANA name such as Europe/Paris)") from exc


def import_path(
    path: Path,
    user_id: str | None,
    *,
    fmt: str = "auto",
    timezone: str | None = None,
    hr_max_bpm: float | None = None,
    lookup_user: Callable[[str], tuple[User | None, bool]] | None = None,
    publish: Callable[[Iterable[Record]], Any] | None = None,
    progress: bool = False,
    limits: ImportLimits | None = None,
) -> ImportReport:
    """Import ``path`` for ``user_id``; records go to ``publish`` (nothing is published when None).

    ``lookup_user`` returns the user's stored profile and whether the lookup worked (None with
    True: no such user yet). The profile gives the default timezone and HRmax, and it is the base
    that a newer body mass updates; without a working lookup no profile is written. ``limits``
    bound what may be read (default: the ``IMPORT_MAX_*`` settings); an archive beyond them is
    refused with :class:`InputError` before anything is read, a file beyond them is rejected.
    """
    if user_id is not None:
        try:
            check_user_id(user_id)
        except ValueError as exc:
            raise InputError(str(exc)) from None
    if timezone is not None:
        check_timezone(timezone)
    started = time.perf_counter()
    report = ImportReport(published=publish is not None)
    with ExitStack() as stack:
        limits = limits or ImportLimits.from_settings(Settings.load())
        entries = entries_from_path(path, stack, limits)
        groups, others = plan(entries, fmt)
        if not groups:
            wanted = "importable data" if fmt == "auto" else f"{fmt} files"
            raise InputError(f"no {wanted} found in {path}")
        if user_id is None and set(groups) != {"tables"}:
            raise InputError("--user-id is required (it may be left out only for --format tables)")
        stored, checked = lookup_user(user_id) if lookup_user is not None and user_id else (None, False)
        report.formats = [name for name in ORDER if name in groups]
        report.files_ignored = len(others)
        ctx = ImportContext(
            user_id,
            timezone or (stored.timezone if stored else "UTC"),
            hr_max_bpm or _profile_hr_max(stored),
            hr_max_override=hr_max_bpm is not None,
        )
        ctx.limits = limits
        ctx.skipped.add(
            f"files that are not {fmt}" if fmt != "auto" else "files of no importable format", len(others)
        )
        bar = stack.enter_context(
            tqdm(
                total=sum(e.size for g in groups.values() for e in g),
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc="import",
                disable=not progress,
            )
        )
        ctx.progress = ReadProgress(bar.update, lambda size: _grow(bar, size))
        records = _counted(_converted(groups, ctx, stored, checked), report.records)
        if publish is None:
            for _ in records:
                pass
        else:
            publish(records)
    report.skipped.update(ctx.skipped.counts)
    report.dropped.update(ctx.dropped.counts)
    report.rejected = list(ctx.rejected)
    report.files_read = ctx.files_read
    report.seconds = time.perf_counter() - started
    log.info(
        "import finished",
        extra={
            "user_id": user_id,
            "formats": ",".join(report.formats),
            "records": report.total,
            "skipped": sum(report.skipped.values()),
            "dropped": sum(report.dropped.values()),
            "rejected_files": len(report.rejected),
            "files": report.files_read,
            "published": report.published,
            "seconds": round(report.seconds, 2),
        },
    )
    return report


def _grow(bar: tqdm, size: int) -> None:
    bar.total = (bar.total or 0) + size
    bar.refresh()


def _profile_hr_max(user: User | None) -> float | None:
    if user is None:
        return None
    if user.hr_max_bpm is not None:
        return user.hr_max_bpm
    return float(hr_max_tanaka(user.age_on(user.updated_ts.date())))


def _converted(
    groups: dict[str, list], ctx: ImportContext, stored_user: User | None, profile_checked: bool
) -> Iterator[Record]:
    source: Source | None = None
    for name in ORDER:
        if name in groups:
            before = ctx.profile.weights_seen
            yield from CONVERTERS[name](groups[name], ctx)
            if ctx.profile.weights_seen > before:
                source = FORMAT_SOURCES[name]
    user = profile_update(ctx, stored_user, profile_checked, source or "manual")
    if user is not None:
        yield user


def _counted(records: Iterable[Record], counts: Counter[str]) -> Iterator[Record]:
    for record in records:
        counts[record.COLLECTION] += 1
        yield record


def profile_update(ctx: ImportContext, stored: User | None, checked: bool, source: Source) -> User | None:
    """The user record a newer body mass makes (the stored profile with the new weight)."""
    facts = ctx.profile
    if facts.weight_kg is None or facts.weight_ts is None or ctx.user_id is None:
        return None
    ctx.skipped.add("older body-mass readings (the profile keeps the newest)", facts.weights_seen - 1)
    if not checked:
        ctx.skipped.add("body mass (the stored profile could not be read, so it is not updated)")
        return None
    if stored is not None:
        if stored.updated_ts >= facts.weight_ts:
            ctx.skipped.add("body mass older than the stored profile")
            return None
        values = stored.model_dump() | {
            "weight_kg": facts.weight_kg,
            "updated_ts": facts.weight_ts,
            "source": source,
            "ingest_ts": ctx.ingest_ts,
        }
        return build(User, ctx, "profile updates", **values)
    if facts.sex is None or facts.birth_year is None or facts.height_cm is None:
        ctx.skipped.add(
            "body mass (no stored profile, and the files lack sex, birth year or height to create one)"
        )
        return None
    return build(
        User,
        ctx,
        "profiles",
        **ctx.fields(source),
        sex=facts.sex,
        birth_year=facts.birth_year,
        height_cm=facts.height_cm,
        weight_kg=facts.weight_kg,
        updated_ts=facts.weight_ts,
    )


def stored_user(
    mongo_uri: str, mongo_db: str, user_id: str, timeout_ms: int = 1000
) -> tuple[User | None, bool]:
    """The stored profile of ``user_id`` and whether the lookup worked (an unreachable store is not fatal)."""
    import pymongo
    import pymongo.errors
    from pydantic import ValidationError

    try:
        client: pymongo.MongoClient
        with pymongo.MongoClient(mongo_uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms) as client:
            doc = client[mongo_db]["users"].find_one({"_id": user_id})
    except pymongo.errors.PyMongoError:
        return None, False
    if doc is None:
        return None, True
    try:
        return User.model_validate({k: v for k, v in doc.items() if k in User.model_fields}), True
    except ValidationError:
        return None, False


def summary_lines(report: ImportReport) -> list[str]:
    """The import summary for people: records per type, skipped with reasons, rejected files."""
    action = "published" if report.published else "converted (dry run, nothing published)"
    lines = [
        f"{report.total} records {action} from {report.files_read} file(s) "
        f"[{', '.join(report.formats)}] in {report.seconds:.1f} s"
    ]
    lines += [f"  {name:<16} {count}" for name, count in sorted(report.records.items())]
    if report.skipped:
        lines.append(f"skipped {sum(report.skipped.values())}:")
        lines += [f"  {count:>8}  {reason}" for reason, count in report.skipped.most_common()]
    if report.dropped:
        ordered = sorted(report.dropped.items(), key=lambda item: (-item[1], item[0]))
        reasons = "; ".join(f"{reason}: {count}" for reason, count in ordered)
        lines.append(f"dropped {sum(report.dropped.values())} implausible: {reasons}")
    if report.rejected:
        lines.append(f"rejected {len(report.rejected)} file(s):")
        lines += [f"  {name}: {reason}" for name, reason in report.rejected]
    return lines


def nothing_imported(report: ImportReport) -> str | None:
    """One line for an import whose every importable file was rejected (nothing converted), else None."""
    if not report.rejected or report.files_read or report.total:
        return None
    reasons = "; ".join(f"{name}: {reason}" for name, reason in report.rejected[:3])
    more = f" (and {len(report.rejected) - 3} more)" if len(report.rejected) > 3 else ""
    return f"nothing imported: {reasons}{more}"
