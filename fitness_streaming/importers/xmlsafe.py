"""XML read safely: no entity expansion, no external entities, no DTD fetching, flat memory.

Apple Health exports carry an internal DTD (element and attribute declarations), so DTDs as such
are allowed; any ``<!ENTITY>`` declaration (billion laughs, external entities) rejects the file
before anything of it is used, and nothing outside the file is ever opened (expat does not read
external DTD subsets unless asked, and defusedxml refuses external references).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO
from xml.etree.ElementTree import Element, ParseError

import defusedxml
from defusedxml.ElementTree import fromstring as _defused_fromstring
from defusedxml.ElementTree import iterparse as _defused_iterparse

from .common import RejectedFile

_SAFE = {"forbid_dtd": False, "forbid_entities": True, "forbid_external": True}


def rejection(exc: Exception) -> RejectedFile:
    """The user-facing reason for an unsafe or malformed XML document."""
    if isinstance(exc, defusedxml.EntitiesForbidden):
        return RejectedFile(f"hostile XML rejected: it declares the entity {exc.name!r} (entities are never expanded)")
    if isinstance(exc, defusedxml.ExternalReferenceForbidden):
        return RejectedFile(f"hostile XML rejected: external reference {exc.sysid!r} (nothing outside the file is read)")
    if isinstance(exc, defusedxml.DefusedXmlException):
        return RejectedFile(f"hostile XML rejected: {exc}")
    return RejectedFile(f"malformed XML: {exc}")


def iter_top_level(stream: IO[bytes]) -> Iterator[Element]:
    """Each child of the root element, complete; it is cleared once the caller moves on."""
    depth = 0
    root: Element | None = None
    try:
        for event, element in _defused_iterparse(stream, events=("start", "end"), **_SAFE):
            if event == "start":
                depth += 1
                if root is None:
                    root = element
                continue
            depth -= 1
            if depth == 1 and root is not None:
                yield element
                root.clear()
    except (ParseError, defusedxml.DefusedXmlException) as exc:
        raise rejection(exc) from exc


def check_xml(data: bytes) -> Element:
    """Parse a small XML document safely (raises :class:`RejectedFile`); the root element."""
    try:
        return _defused_fromstring(data, **_SAFE)
    except (ParseError, defusedxml.DefusedXmlException) as exc:
        raise rejection(exc) from exc


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1]
