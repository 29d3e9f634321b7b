"""``--verify``: are the files s2mask reads those ESA wrote? Checked against ``manifest.safe``.

JPEG 2000 has no checksum of its own: bytes changed inside a band file (a bad disk, a copy cut short and
padded, an archive tool's bug) decode into wrong reflectance without any error. The product's
``manifest.safe`` lists a checksum for every file: MD5 in older products, SHA3-256 in newer ones. Reading
every byte costs about as much as copying the product once, so it is asked for, not done by default.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from ..errors import ProductFormatError, ProductIOError
from .location import SafeLocation
from .xmlutil import XmlDocument, local_name, parse_xml

MANIFEST = "manifest.safe"
#: The checksum names manifest.safe uses, and how to compute them.
ALGORITHMS: dict[str, Callable[[], Any]] = {"MD5": hashlib.md5, "SHA3-256": hashlib.sha3_256}
_CHUNK = 1 << 20


def manifest_checksums(location: SafeLocation) -> dict[str, tuple[str, str]]:
    """Every file ``manifest.safe`` lists with a checksum: relative path -> (algorithm, lowercase hex)."""
    source = location.describe(MANIFEST)
    if not location.exists(MANIFEST):
        raise ProductFormatError("--verify checks files against manifest.safe, which is missing", source)
    document = XmlDocument(parse_xml(location.read_bytes(MANIFEST), source), source)
    listed = {}
    for stream in (e for e in document.root.iter() if isinstance(e.tag, str) and local_name(e) == "byteStream"):
        children = {local_name(child): child for child in stream if isinstance(child.tag, str)}
        where, checksum = children.get("fileLocation"), children.get("checksum")
        if where is None or checksum is None or not (checksum.text or "").strip():
            continue
        relative = str(PurePosixPath(document.relative_path(where.get("href"), "fileLocation href")))
        listed[relative] = (checksum.get("checksumName", "").upper(), checksum.text.strip().lower())
    return listed


def file_checksum(location: SafeLocation, relative: str, algorithm: str) -> str:
    digest = ALGORITHMS[algorithm]()
    with location.open_binary(relative) as handle:
        for chunk in iter(lambda: handle.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_files(location: SafeLocation, relatives: Iterable[str]) -> int:
    """Check each file (paths relative to the product) against ``manifest.safe``; returns how many were
    checked. A file the manifest does not list, or lists with an unknown checksum, cannot be verified:
    that is an error too, since ``--verify`` promises every file was checked."""
    listed = manifest_checksums(location)
    count = 0
    for relative in dict.fromkeys(str(PurePosixPath(r)) for r in relatives):
        if relative not in listed:
            raise ProductFormatError("manifest.safe lists no checksum for this file: it cannot be verified",
                                     location.describe(relative))
        algorithm, expected = listed[relative]
        if algorithm not in ALGORITHMS:
            raise ProductFormatError(f"manifest.safe gives a {algorithm or 'nameless'} checksum, which s2mask "
                                     f"cannot compute (it knows {', '.join(ALGORITHMS)})", location.describe(relative))
        actual = file_checksum(location, relative, algorithm)
        if actual != expected:
            raise ProductIOError(f"the file is damaged: its {algorithm} is {actual}, manifest.safe lists {expected}",
                                 location.describe(relative))
        count += 1
    return count
