"""Structured logging: one line per event, ``key=value`` pairs on stderr, ids only (no personal data).

structlog renders every line, and the standard library's ``logging`` is routed through it
(:class:`structlog.stdlib.ProcessorFormatter`), so the code keeps its plain
``log.info("message", extra={...})`` calls and their ``extra`` fields become ``key=value`` pairs;
libraries that log through ``logging`` (Dagster, alembic, uvicorn) get the same format. A line
reads ``ts=... level=... logger=... event="..." key=value ...``.
"""

from __future__ import annotations

import logging
import sys

import structlog

#: Libraries whose info lines say nothing an operator of the platform needs.
QUIET_LOGGERS = ("pymongo", "urllib3", "httpx", "LiteLLM", "litellm", "alembic", "dagster", "filelock")
_SKIPPED = ("color_message",)  # uvicorn adds an ANSI-coloured copy of the message
_MARK = "_fitness_structlog"


def _drop_skipped(_logger: object, _name: str, event: dict) -> dict:
    for key in _SKIPPED:
        event.pop(key, None)
    return event


def _exception_as_error(_logger: object, _name: str, event: dict) -> dict:
    """An exception becomes ``error=<its last line>``: one line per event, never a traceback."""
    exc_info = event.pop("exc_info", None)
    if exc_info:
        if exc_info is True:
            exc_info = sys.exc_info()
        if isinstance(exc_info, BaseException):
            exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
        if exc_info[0] is not None:
            last = "".join(logging.Formatter().formatException(exc_info)).splitlines()[-1]
            event.setdefault("error", last)
    return event


_SHARED = [
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
]


def formatter() -> logging.Formatter:
    """The ``logging`` formatter that renders a record (and its ``extra`` fields) as one key=value line."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _drop_skipped,
            _exception_as_error,
            structlog.processors.LogfmtRenderer(
                key_order=["ts", "level", "logger", "event"], drop_missing=True, bool_as_flag=False
            ),
        ],
    )


def configure_logging(level: str = "INFO", *, quiet: tuple[str, ...] = QUIET_LOGGERS) -> None:
    """Send structured lines to stderr, for ``logging`` and structlog loggers alike; idempotent.

    The ``quiet`` libraries log warnings and errors only.
    """
    root = logging.getLogger()
    root.setLevel(level.upper())
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
    if any(getattr(h, _MARK, False) for h in root.handlers):
        return
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_SHARED,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    setattr(handler, _MARK, True)
    root.addHandler(handler)
