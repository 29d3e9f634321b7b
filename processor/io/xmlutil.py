"""Small helpers for ESA's metadata XML: parse once, and fail with the file and the xpath named.

ESA's schemas qualify only the top-level sections (``n1:General_Info``) and the namespace URI changes
with the PSD version, so paths use ``{*}`` for those sections and plain names below them.
"""

from __future__ import annotations

import math
from pathlib import Path, PurePosixPath

from lxml import etree

from ..bands import ALL_BANDS
from ..errors import ProductFormatError

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=True)


def parse_xml(data: bytes, source: Path) -> etree._Element:
    """Parse metadata bytes; a malformed file raises :class:`ProductFormatError` naming it."""
    try:
        return etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as err:
        raise ProductFormatError(f"malformed XML ({err})", source) from err


def shown_path(path: str) -> str:
    """An element path as messages show it: ``Geometric_Info/...``, without lxml's ``{*}``."""
    return path.replace("{*}", "")


def local_name(element: etree._Element) -> str:
    return etree.QName(element).localname


class XmlDocument:
    """A parsed metadata file that knows its own name for error messages."""

    def __init__(self, root: etree._Element, source: Path):
        self.root = root
        self.source = source

    def find(self, path: str) -> etree._Element | None:
        return self.root.find(path)

    def findall(self, path: str) -> list[etree._Element]:
        return self.root.findall(path)

    def required(self, path: str) -> etree._Element:
        element = self.root.find(path)
        if element is None:
            raise ProductFormatError(f"required element {shown_path(path)} is missing", self.source)
        return element

    def required_text(self, path: str) -> str:
        text = (self.required(path).text or "").strip()
        if not text:
            raise ProductFormatError(f"required element {shown_path(path)} is empty", self.source)
        return text

    def optional_text(self, path: str) -> str | None:
        element = self.root.find(path)
        if element is None or element.text is None or not element.text.strip():
            return None
        return element.text.strip()

    def required_float(self, path: str) -> float:
        return self._float(self.required_text(path), path)

    def optional_float(self, path: str) -> float | None:
        text = self.optional_text(path)
        return None if text is None else self._float(text, path)

    def optional_int(self, path: str) -> int | None:
        text = self.optional_text(path)
        return None if text is None else self._int(text, path)

    def child_float(self, element: etree._Element, tag: str, where: str) -> float:
        """The number in ``element``'s child ``tag``; ``where`` names ``element`` in the message."""
        text = (element.findtext(tag) or "").strip()
        if not text:
            raise ProductFormatError(f"{where} lacks {tag}", self.source)
        return self._float(text, f"{where}/{tag}")

    def child_int(self, element: etree._Element, tag: str, where: str) -> int:
        text = (element.findtext(tag) or "").strip()
        if not text:
            raise ProductFormatError(f"{where} lacks {tag}", self.source)
        return self._int(text, f"{where}/{tag}")

    def band(self, element: etree._Element, attribute: str = "bandId") -> str:
        """The band an element's ``bandId`` (0 for B1 ... 12 for B12) names."""
        text = element.get(attribute)
        try:
            return ALL_BANDS[int(text)]
        except (TypeError, ValueError, IndexError):
            raise ProductFormatError(f"{local_name(element)} has {attribute}={text!r}: expected a band index "
                                     f"0..{len(ALL_BANDS) - 1}", self.source) from None

    def relative_path(self, text: str | None, where: str) -> str:
        """A path inside the product, as ``where`` (an element) gives it; paths that lead out of the
        product are refused (a product never names files outside itself)."""
        path = PurePosixPath((text or "").strip())
        if not path.parts:
            raise ProductFormatError(f"{where} is empty", self.source)
        if path.is_absolute() or ".." in path.parts:
            raise ProductFormatError(f"{where} {str(path)!r} points outside the product", self.source)
        return str(path)

    def _float(self, text: str, path: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ProductFormatError(f"element {shown_path(path)} is not a number: {text!r}", self.source) from None
        if not math.isfinite(value):
            raise ProductFormatError(f"element {shown_path(path)} is not a finite number: {text!r}", self.source)
        return value

    def _int(self, text: str, path: str) -> int:
        try:
            return int(text)
        except ValueError:
            raise ProductFormatError(f"element {shown_path(path)} is not a whole number: {text!r}",
                                     self.source) from None
