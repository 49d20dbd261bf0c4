"""XML read safely: no entity expansion, no external entities, no DTD fetching, flat memory.

The streaming reader (:func:`iter_top_level`, used for Apple exports, whose data is all in
attributes) never keeps character data: text is never added to the tree, so a gigabyte of
whitespace costs nothing, and a stretch of input longer than ``max_text_bytes`` without an element
boundary (a huge text node, attribute or comment, which the parser would otherwise have to
buffer) rejects the file. :func:`iter_elements` (GPX and TCX, whose data is in element text)
keeps text but drops every element once the caller has seen its end, so the tree never holds
more than the open path; nesting deeper than ``max_depth`` (no GPX or TCX file comes close)
rejects the file.

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
#: GPX and TCX nest at most about 10 levels deep; a deeper file is not a track file.
DEFAULT_MAX_DEPTH = 64


def rejection(exc: Exception) -> RejectedFile:
    """The user-facing reason for an unsafe or malformed XML document."""
    if isinstance(exc, defusedxml.EntitiesForbidden):
        return RejectedFile(
            f"hostile XML rejected: it declares the entity {exc.name!r} (entities are never expanded)"
        )
    if isinstance(exc, defusedxml.ExternalReferenceForbidden):
        return RejectedFile(
            f"hostile XML rejected: external reference {exc.sysid!r} (nothing outside the file is read)"
        )
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


def _pull(stream: IO[bytes], target: Any, max_text_bytes: int) -> Iterator[tuple[str, Element]]:
    """The parser's ("start" | "end", element) events; :class:`RejectedFile` for hostile or malformed XML and
    :class:`LimitExceeded` after ``max_text_bytes`` of input without an element boundary."""
    parser = XMLPullParser(events=("start", "end"), _parser=DefusedXMLParser(target=target, **_SAFE))  # type: ignore[call-arg]
    quiet = 0
    try:
        while True:
            chunk = stream.read(CHUNK)
            if chunk:
                parser.feed(chunk)
            else:
                parser.close()
            seen = False
            for event in parser.read_events():
                seen = True
                yield event  # type: ignore[misc]
            if not chunk:
                return
            quiet = 0 if seen else quiet + len(chunk)
            if quiet > max_text_bytes:
                raise LimitExceeded(
                    f"more than {max_text_bytes // MB} MB of XML without an element (a huge text, "
                    "attribute or comment; IMPORT_MAX_TEXT_MB)"
                )
    except (ParseError, defusedxml.DefusedXmlException) as exc:
        raise rejection(exc) from exc


def iter_top_level(stream: IO[bytes], max_text_bytes: int = DEFAULT_MAX_TEXT) -> Iterator[Element]:
    """Each child of the root element, complete but without text; it is cleared once the caller moves on."""
    depth = 0
    root: Element | None = None
    for event, element in _pull(stream, _ElementsOnly(), max_text_bytes):
        if event == "start":
            depth += 1
            if root is None:
                root = element
            continue
        depth -= 1
        if depth == 1 and root is not None:
            yield element
            root.clear()


def iter_elements(
    stream: IO[bytes], max_text_bytes: int = DEFAULT_MAX_TEXT, max_depth: int = DEFAULT_MAX_DEPTH
) -> Iterator[tuple[str, Element, list[Element]]]:
    """("start" | "end", element, path) for every element, ``path`` being the open elements from the root
    down to this one (a live list: copy what must outlive the step).

    At "end" the element has its attributes and its text (before its first child), its children
    already dropped; once the caller moves on it is dropped from its parent too, so memory stays flat
    whatever the length of the file: the caller keeps what it needs as it goes.
    """
    path: list[Element] = []
    for event, element in _pull(stream, TreeBuilder(), max_text_bytes):
        if event == "start":
            path.append(element)
            if len(path) > max_depth:
                raise RejectedFile(f"XML nested deeper than {max_depth} levels (not a track file)")
            yield event, element, path
            continue
        yield event, element, path
        path.pop()
        if path:
            del path[-1][-1]  # the element that just ended is its parent's last child


def check_xml(data: bytes) -> Element:
    """Parse a small XML document safely (raises :class:`RejectedFile`); the root element."""
    try:
        return _defused_fromstring(data, **_SAFE)
    except (ParseError, defusedxml.DefusedXmlException) as exc:
        raise rejection(exc) from exc


def local_name(tag: str) -> str:
    """``{namespace}name`` -> ``name``."""
    return tag.rsplit("}", 1)[-1]
