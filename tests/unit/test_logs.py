"""The one log format: standard-library records and structlog events both become one key=value line."""

from __future__ import annotations

import io
import logging
import subprocess
import sys

import structlog

from fitness_core.logs import configure_logging, formatter


def render(message: str, *args: object, extra: dict | None = None, exc: BaseException | None = None) -> str:
    logger = logging.getLogger("fitness.test")
    record = logger.makeRecord(
        "fitness.test",
        logging.WARNING,
        __file__,
        1,
        message,
        args,
        (type(exc), exc, exc.__traceback__) if exc else None,
        extra=extra,
    )
    return formatter().format(record)


def test_extra_fields_become_key_value_pairs_after_the_fixed_ones() -> None:
    line = render(
        "%s unavailable, retrying", "redis", extra={"service": "redis", "outage_s": 1.5, "note": "a b"}
    )
    ts, fields = line.split(" ", 1)
    assert ts.startswith("ts=20") and ts.endswith("Z")
    assert fields == (
        'level=warning logger=fitness.test event="redis unavailable, retrying" service=redis '
        'outage_s=1.5 note="a b"'
    )


def test_an_exception_is_its_last_line_never_a_traceback() -> None:
    try:
        raise ValueError("bad value")
    except ValueError as exc:
        line = render("write failed", extra={"batch": 3}, exc=exc)
    assert "\n" not in line and "Traceback" not in line
    assert line.endswith('event="write failed" batch=3 error="ValueError: bad value"')


def test_uvicorn_colour_copies_are_dropped() -> None:
    assert "color_message" not in render("GET /", extra={"color_message": "\x1b[1mGET /\x1b[0m"})


def test_logging_and_structlog_share_the_format_and_noisy_libraries_are_quiet() -> None:
    code = (
        "import logging, structlog\n"
        "from fitness_core.logs import configure_logging\n"
        "configure_logging('INFO'); configure_logging('INFO')\n"
        "logging.getLogger('fitness.x').info('stored', extra={'n': 3})\n"
        "structlog.get_logger('fitness.y').info('stored', n=4)\n"
        "logging.getLogger('fitness.x').debug('per user', extra={'user_id': 'u1'})\n"
        "logging.getLogger('alembic.runtime.migration').info('Context impl SQLiteImpl.')\n"
        "logging.getLogger('dagster').info('internal')\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    lines = result.stderr.splitlines()
    assert [line.split(" ", 1)[1] for line in lines] == [
        "level=info logger=fitness.x event=stored n=3",
        "level=info logger=fitness.y event=stored n=4",
    ]


def test_configure_logging_is_idempotent_and_resets_the_level() -> None:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    try:
        configure_logging("DEBUG")
        configure_logging("WARNING")
        ours = [h for h in root.handlers if getattr(h, "_fitness_structlog", False)]
        assert len(ours) == 1 and root.level == logging.WARNING
        stream = io.StringIO()
        ours[0].setStream(stream)
        structlog.get_logger("fitness.z").warning("disk low", free_mb=10)
        assert (
            stream.getvalue().rstrip().endswith('level=warning logger=fitness.z event="disk low" free_mb=10')
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
