"""What an import reads: the files of a path (a file, a folder or a zip) and the format of each.

Zip members are read as streams straight from the archive (never extracted), each cut off at the
size its directory states; an archive whose directory says it expands beyond the import limits
(a zip bomb, see :mod:`.limits`) is refused before anything of it is read. Format detection
looks at the name and the first bytes: ``.fit`` or the ``.FIT`` signature, ``<HealthData``
(Apple Health), ``<gpx``, ``<TrainingCenterDatabase``, Fitbit JSON/CSV, and tables named after a
collection. Inside an Apple export, its route GPX files and other companions go with the export.
"""

from __future__ import annotations

import os
import zipfile
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO

from .common import FORMATS, Entry, RejectedFile
from .fitbit import classify as classify_fitbit
from .limits import ImportLimits, bounded
from .tables import collection_of

HEAD_BYTES = 4096
APPLE_COMPANIONS = ("workout-routes/", "electrocardiograms/", "export_cda.xml")


class InputError(ValueError):
    """The import path cannot be read as asked; the message is one line for the user."""


def _hidden(name: str) -> bool:
    return any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))


def _file_opener(path: Path) -> Callable[[], IO[bytes]]:
    return lambda: path.open("rb")


def _member_opener(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> Callable[[], IO[bytes]]:
    return lambda: bounded(archive.open(info), info.file_size, info.filename)


def entries_from_path(path: Path, stack: ExitStack, limits: ImportLimits | None = None) -> list[Entry]:
    """The files to read: the file itself, a folder's files (recursively) or a zip's members."""
    if not path.exists():
        raise InputError(f"no such file or folder: {path}")
    if not os.access(path, os.R_OK):
        raise InputError(f"cannot read {path}: permission denied")
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file())
        return [
            Entry(rel, p.stat().st_size, _file_opener(p))
            for p in files
            if not _hidden(rel := p.relative_to(path).as_posix())
        ]
    if path.suffix.lower() == ".zip" or zipfile.is_zipfile(path):
        try:
            archive = stack.enter_context(zipfile.ZipFile(path))
        except (zipfile.BadZipFile, OSError) as exc:
            raise InputError(f"{path} is not a readable zip archive ({exc})") from exc
        members = [info for info in archive.infolist() if not info.is_dir() and not _hidden(info.filename)]
        problem = (limits or ImportLimits()).archive_problem(members)
        if problem is not None:
            raise InputError(f"{path.name} refused: {problem}")
        return [Entry(info.filename, info.file_size, _member_opener(archive, info)) for info in members]
    return [Entry(path.name, path.stat().st_size, _file_opener(path))]


def detect(entry: Entry, head: bytes) -> str | None:
    """The format of one file, or None when it is none of the importable ones."""
    suffix = entry.suffix
    if suffix == ".fit" or head[8:12] == b".FIT":
        return "fit"
    if collection_of(entry) is not None:
        return "tables"
    if suffix in (".xml", ".gpx", ".tcx"):
        if b"HealthData" in head or entry.basename.lower() in ("export.xml", "export_cda.xml"):
            return "apple"
        if b"<TrainingCenterDatabase" in head or suffix == ".tcx":
            return "tcx"
        if b"<gpx" in head or suffix == ".gpx":
            return "gpx"
        return None
    if suffix in (".json", ".csv") and classify_fitbit(entry, head) != "unknown":
        return "fitbit"
    return None


def _head(entry: Entry) -> bytes:
    try:
        with entry.open() as stream:
            return stream.read(HEAD_BYTES)
    except RejectedFile as exc:
        raise InputError(f"{entry.name}: {exc.reason}") from exc


def plan(entries: list[Entry], fmt: str = "auto") -> tuple[dict[str, list[Entry]], list[Entry]]:
    """Entries grouped by format, and those that are not importable (or not of the asked format)."""
    if fmt != "auto" and fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r} (use auto or one of: {', '.join(FORMATS)})")
    groups: dict[str, list[Entry]] = defaultdict(list)
    others: list[Entry] = []
    detected = [(entry, detect(entry, _head(entry))) for entry in entries]
    apple_roots = {
        e.name[: -len(e.basename)] for e, f in detected if f == "apple" and e.basename == "export.xml"
    }
    for entry, found in detected:
        root = next((r for r in apple_roots if entry.name.startswith(r)), None)
        if root is not None and any(part in entry.name[len(root) :] for part in APPLE_COMPANIONS):
            found = "apple"
        if fmt != "auto" and len(entries) == 1:
            found = fmt  # a single file is read as the format the user named
        if found is None or (fmt != "auto" and found != fmt):
            others.append(entry)
        else:
            groups[found].append(entry)
    return dict(groups), others
