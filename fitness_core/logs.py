"""Structured logging: one line per event, ``key=value`` pairs, ids only (no personal data)."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

_RESERVED = set(vars(logging.makeLogRecord({})))
_SKIPPED = {"message", "asctime", "color_message"}  # uvicorn adds an ANSI-coloured copy


class KeyValueFormatter(logging.Formatter):
    """``ts=... level=... logger=... event="..." key=value ...`` from ``extra=`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts = [f"ts={ts}", f"level={record.levelname.lower()}", f"logger={record.name}"]
        parts.append(f"event={_quote(record.getMessage())}")
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_") and key not in _SKIPPED:
                parts.append(f"{key}={_quote(value)}")
        if record.exc_info:
            parts.append(f"error={_quote(self.formatException(record.exc_info).splitlines()[-1])}")
        return " ".join(parts)


def _quote(value: object) -> str:
    text = str(value)
    if text == "" or any(c in text for c in ' ="\n'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    return text


def configure_logging(level: str = "INFO") -> None:
    """Send structured lines to stderr; idempotent."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, KeyValueFormatter) for h in root.handlers):
        root.setLevel(level.upper())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(KeyValueFormatter())
    root.addHandler(handler)
    root.setLevel(level.upper())
    for noisy in ("pymongo", "urllib3", "httpx", "LiteLLM", "litellm"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
