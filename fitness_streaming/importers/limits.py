"""Bounds on what one import may read, so that a hostile file ends in one line instead of eating memory.

A zip bomb, a gigabyte of whitespace inside an XML element or JSON nested a million levels deep
are small on disk and enormous once read. The limits (``IMPORT_MAX_*`` settings, see
``docs/import.md``) are checked where it is cheapest:

- archives from their directory before anything is read (expanded size per member and in total,
  compression ratio), then while reading: a member never yields more than its directory says
  (:class:`BoundedReader`), whatever its local header claims;
- files an importer parses whole in memory (GPX, TCX, FIT, Fitbit CSV and Web API JSON) by size;
- JSON by a first streaming pass that checks syntax, nesting depth and the longest string without
  keeping anything (:func:`check_json`); XML by the longest stretch without an element
  (:mod:`.xmlsafe`): a parser has to hold one string or attribute whole, never more.

A file over a per-file limit is rejected whole (:class:`LimitExceeded`); an archive over its limits
stops the import before anything is read.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from dataclasses import dataclass
from typing import IO, Any

import ijson

from fitness_core.settings import Settings

from .common import RejectedFile

MB = 1 << 20
#: Members smaller than this are never called bombs, whatever their compression ratio.
RATIO_MIN_BYTES = MB
_DEPTH = {"start_map": 1, "start_array": 1, "end_map": -1, "end_array": -1}


class LimitExceeded(RejectedFile):
    """A file goes beyond one of the import limits; the reason names the limit and its setting."""


def _default(name: str) -> Any:
    return Settings.model_fields[name].default


@dataclass(frozen=True)
class ImportLimits:
    """The ``IMPORT_MAX_*`` settings of one import (defaults: those of :class:`Settings`)."""

    max_expanded_mb: int = _default("import_max_expanded_mb")
    max_member_mb: int = _default("import_max_member_mb")
    max_ratio: int = _default("import_max_ratio")
    max_file_mb: int = _default("import_max_file_mb")
    max_json_depth: int = _default("import_max_json_depth")
    max_text_mb: int = _default("import_max_text_mb")

    @classmethod
    def from_settings(cls, settings: Settings) -> ImportLimits:
        return cls(
            settings.import_max_expanded_mb,
            settings.import_max_member_mb,
            settings.import_max_ratio,
            settings.import_max_file_mb,
            settings.import_max_json_depth,
            settings.import_max_text_mb,
        )

    def archive_problem(self, infos: list[zipfile.ZipInfo]) -> str | None:
        """Why the archive's directory says it is too big to read (a zip bomb), or None."""
        total = 0
        for info in infos:
            total += info.file_size
            if info.file_size > self.max_member_mb * MB:
                return (
                    f"{info.filename} expands to {_size(info.file_size)}, more than the "
                    f"{self.max_member_mb} MB allowed per file (IMPORT_MAX_MEMBER_MB)"
                )
            ratio = info.file_size / max(info.compress_size, 1)
            if info.file_size >= RATIO_MIN_BYTES and ratio > self.max_ratio:
                return (
                    f"{info.filename} expands {ratio:,.0f} times ({_size(info.compress_size)} to "
                    f"{_size(info.file_size)}), more than the ratio of {self.max_ratio} allowed "
                    f"(IMPORT_MAX_RATIO): a zip bomb"
                )
        if total > self.max_expanded_mb * MB:
            return (
                f"the archive expands to {_size(total)}, more than the {self.max_expanded_mb} MB "
                f"allowed (IMPORT_MAX_EXPANDED_MB)"
            )
        return None

    def check_whole_file(self, size: int, what: str) -> None:
        """Refuse a file that would be parsed whole in memory when it is larger than the limit."""
        if size > self.max_file_mb * MB:
            raise LimitExceeded(
                f"{what} of {_size(size)} is larger than the {self.max_file_mb} MB "
                f"read whole (IMPORT_MAX_FILE_MB)"
            )


def _size(size: int) -> str:
    return f"{size / MB:,.1f} MB" if size >= MB // 10 else f"{size / 1024:,.1f} KB"


class BoundedReader(io.RawIOBase):
    """A zip member's stream: :class:`LimitExceeded` rather than more than ``limit`` bytes, and
    :class:`RejectedFile` when the member is damaged (bad CRC, truncated data)."""

    def __init__(self, inner: IO[bytes], limit: int, what: str) -> None:
        self.inner, self.limit, self.what, self.count = inner, limit, what, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self.inner.read(min(len(buffer), self.limit - self.count + 1))
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            raise RejectedFile(f"damaged archive member ({first_line(exc)})") from exc
        self.count += len(data)
        if self.count > self.limit:
            raise LimitExceeded(
                f"{self.what} holds more than the {self.limit:,} bytes its zip directory "
                "states (a damaged or hostile archive)"
            )
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        self.inner.close()
        super().close()


def bounded(inner: IO[bytes], limit: int, what: str) -> IO[bytes]:
    """``inner`` cut off at ``limit`` bytes, buffered so that any consumer can read it."""
    return io.BufferedReader(BoundedReader(inner, limit, what))  # type: ignore[return-value]


class _TokenGuard(io.RawIOBase):
    """Counts what a parser reads and stops it when ``limit`` bytes pass without the caller's ``mark``."""

    def __init__(self, inner: IO[bytes], limit: int) -> None:
        self.inner, self.limit, self.count, self.mark = inner, limit, 0, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self.inner.read(len(buffer))
        self.count += len(data)
        if self.count - self.mark > self.limit:
            raise LimitExceeded(
                f"a JSON string or number longer than {self.limit // MB} MB (IMPORT_MAX_TEXT_MB)"
            )
        buffer[: len(data)] = data
        return len(data)


def check_json(stream: IO[bytes], max_depth: int, max_text_bytes: int = 8 * MB) -> str:
    """Read a whole JSON document as events, keeping nothing; the top level's kind ("map", "array"...).

    Raises :class:`RejectedFile` when it is malformed or truncated and :class:`LimitExceeded` when
    it nests deeper than ``max_depth`` or holds a token longer than ``max_text_bytes``, so that the
    pass that converts it never meets any of them.
    """
    depth, top = 0, ""
    step = _DEPTH.get
    guard = _TokenGuard(stream, max_text_bytes)
    try:
        for event, _ in ijson.basic_parse(guard, use_float=True, buf_size=256 * 1024):
            guard.mark = guard.count
            change = step(event)
            if change is None:
                top = top or event
                continue
            top = top or event.removeprefix("start_")
            depth += change
            if depth > max_depth:
                raise LimitExceeded(f"JSON nested deeper than {max_depth} levels (IMPORT_MAX_JSON_DEPTH)")
    except ijson.JSONError as exc:
        raise RejectedFile(f"truncated or malformed JSON: {first_line(exc)}") from exc
    if not top:
        raise RejectedFile("empty JSON file")
    return top


def first_line(exc: BaseException) -> str:
    """An exception's message reduced to its first line (parsers like to draw arrows below)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
