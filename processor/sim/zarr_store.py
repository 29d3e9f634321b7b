"""Zarr format 2 stores from a structure description, filled through GDAL's own Zarr driver.

A structure is a pydantic-zarr ``GroupSpec`` as plain JSON (``{"zarr_format": 2, "attributes": {...},
"members": {name: group or array}}``, an array carrying ``shape``, ``chunks``, ``dtype``, ``compressor``,
``fill_value``, ``order``, ``filters`` and ``dimension_separator``), the form in which
``shared/data/metadata/eopf_zarr`` keeps real EOPF products. :func:`write_structure` lays it out as
``.zgroup``/``.zarray``/``.zattrs`` files, as ``GroupSpec.to_zarr`` does, plus the consolidated
``.zmetadata`` that EOPF products carry; :func:`fill` writes chunks with GDAL, which compresses them
as each ``.zarray`` says (blosc/zstd in EOPF). No zarr package is needed.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal

gdal.UseExceptions()

ARRAY_KEYS = ("zarr_format", "shape", "chunks", "dtype", "compressor", "fill_value", "order", "filters",
              "dimension_separator")


def is_array(node: Mapping[str, Any]) -> bool:
    return "shape" in node


def walk(node: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    """Every node of a structure with its path (``""`` for the root, ``"measurements/reflectance"``...)."""
    yield path, node
    for name, member in node.get("members", {}).items():
        yield from walk(member, f"{path}/{name}" if path else name)


def write_structure(spec: Mapping[str, Any], root: str | Path) -> Path:
    """Lay out ``spec`` as a Zarr format 2 store at ``root`` (metadata only; every chunk is missing, which
    reads as the fill value)."""
    root = Path(root)
    consolidated: dict[str, Any] = {}
    for path, node in walk(spec):
        folder = root / path
        folder.mkdir(parents=True, exist_ok=True)
        prefix = f"{path}/" if path else ""
        if is_array(node):
            consolidated[f"{prefix}.zarray"] = {key: node[key] for key in ARRAY_KEYS if key in node}
        else:
            consolidated[f"{prefix}.zgroup"] = {"zarr_format": 2}
        consolidated[f"{prefix}.zattrs"] = node.get("attributes", {})
    for key, document in consolidated.items():
        (root / key).write_text(json.dumps(document, allow_nan=True))
    (root / ".zmetadata").write_text(json.dumps({"zarr_consolidated_format": 1, "metadata": consolidated},
                                                allow_nan=True))
    return root


def fill(root: str | Path, arrays: Mapping[str, np.ndarray | list[str]]) -> None:
    """Write whole arrays (by path inside the store) through GDAL's multidimensional API."""
    dataset = gdal.OpenEx(str(root), gdal.OF_MULTIDIM_RASTER | gdal.OF_UPDATE)
    group = dataset.GetRootGroup()
    for path, values in arrays.items():
        array = group.OpenMDArrayFromFullname("/" + path)
        if array is None:
            raise KeyError(f"{root} has no array {path}")
        if isinstance(values, np.ndarray):
            expected = tuple(d.GetSize() for d in array.GetDimensions())
            if values.shape != expected:
                raise ValueError(f"{path}: writing {values.shape} into an array of shape {expected}")
        array.Write(values)
        del array
    del group, dataset
