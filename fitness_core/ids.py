"""The user-id rule, defined once and used at every edge where an id enters the platform.

A user id names files (``reports/<week>/<user_id>.html``), Redis keys and MongoDB documents, so it
must be safe as a single path component everywhere: 1 to 128 characters from ``A-Z a-z 0-9 _ . : -``,
and not starting with a dot. That refuses ``.``, ``..`` and any other all-dots id, hidden-file
names, path separators (``/``, ``\\``), whitespace and control characters. The stream records
(:mod:`fitness_core.schemas`), the importers, ``fitness apikey create`` and the API's path
parameter all check ids with this module, so an id that one edge accepts is accepted by all.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

USER_ID_MAX = 128
#: The rule as a regular expression (the OpenAPI and JSON schemas publish it).
USER_ID_PATTERN = rf"^[A-Za-z0-9_:\-][A-Za-z0-9_.:\-]{{0,{USER_ID_MAX - 1}}}$"
#: The rule in words, for error messages.
USER_ID_RULE = f"1-{USER_ID_MAX} letters, digits and _ . : -, not starting with a dot"
_USER_ID = re.compile(USER_ID_PATTERN.removesuffix("$"))
_SHOWN = 40  # characters of a refused id quoted in the message


def is_user_id(value: object) -> bool:
    """Whether ``value`` is a string that follows the user-id rule."""
    return isinstance(value, str) and _USER_ID.fullmatch(value) is not None


def check_user_id(value: str) -> str:
    """``value`` when it follows the rule, else a one-line ValueError quoting it (escaped, shortened)."""
    if is_user_id(value):
        return value
    shown = (
        repr(value[:_SHOWN]) + ("..." if len(value) > _SHOWN else "")
        if isinstance(value, str)
        else repr(value)
    )
    raise ValueError(f"invalid user id {shown} ({USER_ID_RULE})")


#: A user id field of a pydantic model. Whitespace is refused, never stripped, even in models that
#: strip their strings: ``" alice"`` is not ``"alice"``.
UserId = Annotated[
    str,
    StringConstraints(strip_whitespace=False),
    AfterValidator(check_user_id),
    Field(json_schema_extra={"pattern": USER_ID_PATTERN, "maxLength": USER_ID_MAX, "minLength": 1}),
]
