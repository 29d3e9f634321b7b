"""``open_product(path)``: any Sentinel-2 product s2mask reads, whatever its format.

==================  ==========================================================================
format              what ``path`` is
==================  ==========================================================================
SAFE                a ``.SAFE`` folder, its ``MTD_MSIL1C.xml``/``MTD_MSIL2A.xml``, a zipped SAFE
EOPF Zarr           a ``.zarr`` folder, a zip file holding one, or a URL of one
STAC                an item's JSON file or URL (earth-search, Planetary Computer, stactools)
==================  ==========================================================================

Every reader returns a :class:`~s2mask.io.safe.Product` (``EopfProduct`` and ``StacProduct`` are
ones), so the pipeline, ``s2mask info``, batch and evaluate treat all formats alike; ``product.format``
names the format.
"""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from .eopf import open_eopf
from .location import PRODUCT_METADATA_NAMES
from .safe import Product
from .safe import open_product as open_safe
from .stac_item import open_stac
from .zarrstore import ROOT_MARKERS, is_remote


def detect_format(path: Any) -> str:
    """``"SAFE"``, ``"EOPF Zarr"`` or ``"STAC"`` from the path alone (SAFE when nothing else fits: its
    reader then says what is wrong)."""
    text = str(path)
    if is_remote(text):
        return "EOPF Zarr" if ".zarr" in text.rstrip("/").rsplit("/", 1)[-1] else "STAC"
    local = Path(text).expanduser()
    if local.is_dir():
        return "EOPF Zarr" if any((local / marker).is_file() for marker in ROOT_MARKERS) else "SAFE"
    if local.suffix.lower() == ".json":
        return "STAC"
    if local.is_file() and local.name not in PRODUCT_METADATA_NAMES and zipfile.is_zipfile(local):
        with zipfile.ZipFile(local) as handle:
            names = {PurePosixPath(name).name for name in handle.namelist()}
        if names & set(ROOT_MARKERS) and not names & set(PRODUCT_METADATA_NAMES):
            return "EOPF Zarr"
    return "SAFE"


def open_product(path: Any, mask_footprint: bool = True, check_files: bool = True,
                 use_jp2_levels: bool = True, verify: bool = False) -> Product:
    """Open a SAFE, EOPF Zarr or STAC product (see the module docstring).

    ``mask_footprint`` and ``check_files`` mean what they mean for SAFE; ``use_jp2_levels`` only applies
    to SAFE's JPEG 2000 (Zarr chunks and COGs are always reduced by exact area means); ``verify`` checks
    a SAFE's files against its ``manifest.safe`` (the other formats carry no such checksums).
    """
    kind = detect_format(path)
    if kind in ("EOPF Zarr", "STAC"):
        opener = open_eopf if kind == "EOPF Zarr" else open_stac
        product = opener(path, mask_footprint=mask_footprint, check_files=check_files)
        if verify:
            product.verify()
        return product
    return open_safe(path, mask_footprint=mask_footprint, check_files=check_files, use_jp2_levels=use_jp2_levels,
                     verify=verify)
