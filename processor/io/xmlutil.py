"""Small helpers for ESA's metadata XML: parse once, and fail with the file and the xpath named.

ESA's schemas qualify only the top-level sections (``n1:General_Info``) and the namespace URI changes
with the PSD version, so paths use ``{*}`` for those sections and plain names below them.
"""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ..errors import ProductFormatError

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=True)


def parse_xml(data: bytes, source: Path) -> etree._Element:
    """Parse metadata bytes; a malformed file raises :class:`ProductFormatError` naming it."""
    try:
        return etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as err:
        raise ProductFormatError(f"malformed XML ({err})", source) from err


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
            raise ProductFormatError(f"required element {path} is missing", self.source)
        return element

    def required_text(self, path: str) -> str:
        text = (self.required(path).text or "").strip()
        if not text:
            raise ProductFormatError(f"required element {path} is empty", self.source)
        return text

    def optional_text(self, path: str) -> str | None:
        element = self.root.find(path)
        if element is None or element.text is None or not element.text.strip():
            return None
        return element.text.strip()

    def required_float(self, path: str) -> float:
        text = self.required_text(path)
        try:
            return float(text)
        except ValueError:
            raise ProductFormatError(f"element {path} is not a number: {text!r}", self.source) from None

    def optional_float(self, path: str) -> float | None:
        text = self.optional_text(path)
        try:
            return None if text is None else float(text)
        except ValueError:
            raise ProductFormatError(f"element {path} is not a number: {text!r}", self.source) from None
