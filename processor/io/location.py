"""Where a SAFE product's files live: a folder on disk or a zip archive.

Everything inside a product is addressed by its path relative to the ``.SAFE`` root, exactly as the
metadata writes it (``GRANULE/L1C_.../IMG_DATA/..._B02.jp2``). A :class:`SafeLocation` turns such a
path into bytes (for lxml) or into a name GDAL can open (``/vsizip/`` for archives).
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path, PurePosixPath
from typing import IO, Any

from ..errors import ParameterError, ProductFormatError, ProductIOError

PRODUCT_METADATA_NAMES = ("MTD_MSIL1C.xml", "MTD_MSIL2A.xml")
#: How every zip archive begins (a local file header).
ZIP_MAGIC = b"PK\x03\x04"


def _looks_like_zip(path: Path) -> bool:
    if path.suffix.lower() == ".zip":
        return True
    with open(path, "rb") as handle:
        return handle.read(len(ZIP_MAGIC)) == ZIP_MAGIC


class SafeLocation:
    """The root of one SAFE product, on disk or inside a zip file."""

    def __init__(self, root: Path, archive: Path | None = None, prefix: str = ""):
        self.root = root
        self.archive = archive
        self.prefix = prefix

    @classmethod
    def find(cls, path: Any) -> SafeLocation:
        """Locate the product root from a ``.SAFE`` folder, its product metadata file or a zip file."""
        if not isinstance(path, str | os.PathLike):
            raise ParameterError(f"a product is given by its path (str or os.PathLike), got {type(path).__name__} "
                                 f"{path!r}")
        path = Path(path).expanduser()
        if not path.exists():
            raise ProductIOError("no such file or folder", path)
        if path.is_file() and path.name in PRODUCT_METADATA_NAMES:
            return cls(path.parent.resolve())
        if path.is_dir():
            if any((path / name).is_file() for name in PRODUCT_METADATA_NAMES):
                return cls(path.resolve())
            raise ProductFormatError(
                "not a Sentinel-2 SAFE product: no MTD_MSIL1C.xml or MTD_MSIL2A.xml inside", path)
        if zipfile.is_zipfile(path):
            return cls._in_archive(path.resolve())
        if _looks_like_zip(path):
            # A zip's directory is at its end: an interrupted download has none.
            raise ProductIOError("zip archive is truncated or corrupt (it has no central directory); download it "
                                 "again", path)
        raise ProductFormatError(
            "not a Sentinel-2 product: expected a .SAFE folder, its MTD_MSIL1C.xml/MTD_MSIL2A.xml, or a zipped SAFE",
            path)

    @classmethod
    def _in_archive(cls, archive: Path) -> SafeLocation:
        try:
            with zipfile.ZipFile(archive) as handle:
                names = handle.namelist()
        except (zipfile.BadZipFile, OSError) as err:
            raise ProductIOError(f"cannot read the zip archive ({err})", archive) from err
        candidates = sorted(
            (n for n in names if PurePosixPath(n).name in PRODUCT_METADATA_NAMES and len(PurePosixPath(n).parts) <= 2),
            key=lambda n: len(PurePosixPath(n).parts))
        if not candidates:
            raise ProductFormatError("zip archive holds no SAFE product (no MTD_MSIL1C.xml or MTD_MSIL2A.xml)",
                                     archive)
        parent = str(PurePosixPath(candidates[0]).parent)
        prefix = "" if parent == "." else parent + "/"
        return cls(archive, archive=archive, prefix=prefix)

    @property
    def display_name(self) -> str:
        return f"{self.archive}!/{self.prefix}" if self.archive else str(self.root)

    @cached_property
    def _archive_names(self) -> frozenset[str]:
        with zipfile.ZipFile(self.archive) as handle:
            return frozenset(handle.namelist())

    def _member(self, relative: str) -> str:
        return self.prefix + relative.lstrip("./")

    def exists(self, relative: str) -> bool:
        if self.archive:
            return self._member(relative) in self._archive_names
        return (self.root / relative).exists()

    def describe(self, relative: str) -> Path:
        """A path that names ``relative`` in error messages."""
        if self.archive:
            return Path(f"{self.archive}!/{self._member(relative)}")
        return self.root / relative

    def read_bytes(self, relative: str) -> bytes:
        try:
            if self.archive:
                with zipfile.ZipFile(self.archive) as handle:
                    return handle.read(self._member(relative))
            return (self.root / relative).read_bytes()
        except (KeyError, OSError, zipfile.BadZipFile) as err:
            raise ProductIOError("file listed by the product is missing or unreadable",
                                 self.describe(relative)) from err

    @contextmanager
    def open_binary(self, relative: str) -> Iterator[IO[bytes]]:
        """A product file for reading in pieces (what :meth:`read_bytes` would read at once)."""
        try:
            if self.archive:
                with zipfile.ZipFile(self.archive) as archive, archive.open(self._member(relative)) as handle:
                    yield handle
            else:
                with open(self.root / relative, "rb") as handle:
                    yield handle
        except (KeyError, OSError, zipfile.BadZipFile) as err:
            raise ProductIOError(f"file listed by the product is missing or unreadable ({err})",
                                 self.describe(relative)) from err

    def gdal_path(self, relative: str) -> str:
        """The name GDAL opens for a product file (``/vsizip/`` inside archives)."""
        if self.archive:
            return f"/vsizip/{self.archive}/{self._member(relative)}"
        return str(self.root / relative)

