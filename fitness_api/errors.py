"""The 422 answer to a request that failed validation, always encodable as strict JSON.

A validation error echoes the offending input (``input``) and sometimes an exception (``ctx``).
That input can be what made the request invalid in the first place: NaN or Infinity (``1e400``
parses to inf), a string with a lone surrogate (``"\\ud800"``), a huge integer, nesting hundreds
of levels deep. Encoding such an error as JSON fails, and FastAPI's default handler then answers
500. This handler rewrites the errors into plain JSON values first, so the client always gets the
422 naming the field.
"""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

#: Echoed input deeper than this is cut (an error only needs to show where the problem starts).
MAX_ECHO_DEPTH = 16
#: Integers longer than this are not echoed (Python refuses to print ints over 4300 digits).
MAX_ECHO_INT_BITS = 4096
CUT = "..."


def safe_text(value: str) -> str:
    """``value`` if it is valid Unicode, else with each lone surrogate written as ``\\udXXX``."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` as plain JSON data: finite numbers, valid strings, bounded nesting.

    Non-finite floats become their name (``"nan"``, ``"inf"``, ``"-inf"``), exceptions and other
    objects their message, containers deeper than :data:`MAX_ECHO_DEPTH` the string ``"..."``.
    """
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= MAX_ECHO_INT_BITS else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return safe_text(value)
    if isinstance(value, dict | list | tuple) and depth >= MAX_ECHO_DEPTH:
        return CUT
    if isinstance(value, dict):
        return {safe_text(str(key)): json_safe(item, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item, depth + 1) for item in value]
    if isinstance(value, bytes):
        return safe_text(value.decode("utf-8", "replace"))
    return safe_text(str(value))


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    """422 listing each field in error (``loc``, ``msg``, ``type``, ``input``), as strict JSON."""
    return JSONResponse({"detail": json_safe(list(exc.errors()))}, status.HTTP_422_UNPROCESSABLE_CONTENT)
