"""XML read safely: no entity expansion, no external entities, no DTD fetching, flat memory.

The streaming reader (:func:`iter_top_level`, used for Apple exports, whose data is all in
attributes) never keeps character data: text is never added to the tree, so a gigabyte of
whitespace costs nothing, and a stretch of input longer than ``max_text_bytes`` without an element
boundary (a huge text node, attribute or comment, which the parser would otherwise have to
buffer) rejects the file.

Apple Health exports carry an internal DTD (element and attribute declarations), so DTDs as such
are allowed; any ``<!ENTITY>`` declaration (billion laughs, external entities) rejects the file
before anything of it is used, and nothing outside the file is ever opened (expat does not read
external DTD subsets unless asked, and defusedxml refuses external references).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError, TreeBuilder, XMLPullParser

import defusedxml
from defusedxml.ElementTree import DefusedXMLParser
from defusedxml.ElementTree import fromstring as _defused_fromstring

from .common import RejectedFile
from .limits import MB, LimitExceeded

_SAFE = {"forbid_dtd": False, "forbid_entities": True, "forbid_external": True}
CHUNK = 64 * 1024
DEFAULT_MAX_TEXT = 8 * MB


def rejection(exc: Exception) -> RejectedFile:
    """The user-facing reason for an unsafe or malformed XML document."""
    if isinstance(exc, defusedxml.EntitiesForbidden):
        return RejectedFile(f"hostile XML rejected: it declares the entity {exc.name!r} (entities are never expanded)")
    if isinstance(exc, defusedxml.ExternalReferenceForbidden):
        return RejectedFile(f"hostile XML rejected: external reference {exc.sysid!r} (nothing outside the file is read)")
    if isinstance(exc, defusedxml.DefusedXmlException):
        return RejectedFile(f"hostile XML rejected: {exc}")
    return RejectedFile(f"malformed XML: {exc}")


class _ElementsOnly:
    """A tree builder target that drops character data instead of keeping it as element text."""

    def __init__(self) -> None:
        self._builder = TreeBuilder()

    def start(self, tag: str, attrib: dict[str, str]) -> Element:
        return self._builder.start(tag, attrib)

    def end(self, tag: str) -> Element:
        return self._builder.end(tag)

    def data(self, text: str) -> None:
        """Ignored (having the method makes expat hand text over in large buffered pieces)."""

    def close(self) -> Any:
        return self._builder.close()


def iter_top_level(stream: IO[bytes], max_text_bytes: int = DEFAULT_MAX_TEXT) -> Iterator[Element]:
    """Each child of the root element, complete but without text; it is cleared once the caller moves on."""
    parser = XMLPullParser(events=("start", "end"),
                           _parser=DefusedXMLParser(target=_ElementsOnly(), **_SAFE))  # type: ignore[call-arg]
    depth, quiet = 0, 0
    root: Element | None = None
    try:
        while True:
            chunk = stream.read(CHUNK)
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            seen = False
            for event, element in parser.read_events():
                seen = True
                if event == "start":
                    depth += 1
                    if root is None:
                        root = element
                    continue
                depth -= 1
                if depth == 1 and root is not None:
                    yield element
                    root.clear()
            if not chunk:
                return
            quiet = 0 if seen else quiet + len(chunk)
            if quiet > max_text_bytes:
                raise LimitExceeded(f"more than {max_text_bytes // MB} MB of XML without an element (a huge text, "
                                    "attribute or comment; IMPORT_MAX_TEXT_MB)")
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
