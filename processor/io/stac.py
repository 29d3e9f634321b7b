"""A STAC item describing the outputs of a run (``NAME_s2mask_stac.json``), for catalogues and STAC tools.

STAC 1.1.0 with the classification (class values, names, descriptions, colours, no data, pixel counts),
raster (data type, no-data value, unit, resolution, statistics per band), projection (CRS, shape,
transform) and eo (``eo:cloud_cover``) extensions. Asset hrefs are relative to the item, so the folder
can be moved or uploaded whole. The classes come from the same :class:`~.coding.ClassCoding` as the
GeoTIFF's colour table and the QGIS style.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..grid import Grid
from .atomic import output_errors
from .coding import ClassCoding
from .footprint import bbox_lonlat, outline_lonlat

STAC_VERSION = "1.1.0"
EXTENSIONS = {
    "classification": "https://stac-extensions.github.io/classification/v2.0.0/schema.json",
    "raster": "https://stac-extensions.github.io/raster/v1.1.0/schema.json",
    "projection": "https://stac-extensions.github.io/projection/v2.0.0/schema.json",
    "eo": "https://stac-extensions.github.io/eo/v1.1.0/schema.json",
}
COG = "image/tiff; application=geotiff; profile=cloud-optimized"
PNG = "image/png"
JSON = "application/json"
XML = "application/xml"
_STATISTICS = {"STATISTICS_MINIMUM": "minimum", "STATISTICS_MAXIMUM": "maximum", "STATISTICS_MEAN": "mean",
               "STATISTICS_STDDEV": "stddev", "STATISTICS_VALID_PERCENT": "valid_percent"}


def stac_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` (a naive time is taken as UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def classes(coding: ClassCoding, counts: np.ndarray | None = None) -> list[dict[str, Any]]:
    """``classification:classes`` of ``coding``; with the band's 256-value ``counts``, each class's pixel
    count and percentage of all pixels."""
    total = int(counts.sum()) if counts is not None else 0
    items = []
    for info in coding.classes:
        item: dict[str, Any] = {"value": info.value, "name": info.name, "description": info.description,
                                "color_hint": "".join(f"{channel:02X}" for channel in info.rgba[:3])}
        if info.value == coding.nodata:
            item["nodata"] = True
        if counts is not None:
            item["count"] = int(counts[info.value])
            item["percentage"] = round(100.0 * int(counts[info.value]) / total, 4) if total else 0.0
        items.append(item)
    return items


def raster_band(*, nodata: int, resolution: float, statistics: Mapping[str, str] | None = None, unit: str = "",
                **fields: Any) -> dict[str, Any]:
    """A ``raster:bands`` entry of a uint8 band; ``statistics`` are GDAL's ``STATISTICS_*`` items."""
    band: dict[str, Any] = {"data_type": "uint8", "nodata": nodata, "spatial_resolution": float(resolution)}
    if unit:
        band["unit"] = unit
    if statistics:
        band["statistics"] = {_STATISTICS[key]: float(value) for key, value in statistics.items()}
    return {**band, **fields}


def asset(href: str, media_type: str, title: str, roles: Sequence[str], **fields: Any) -> dict[str, Any]:
    """An asset whose ``href`` is the file's name (relative to the item, which lies beside it)."""
    return {"href": f"./{href}", "type": media_type, "title": title, "roles": list(roles), **fields}


def build_item(item_id: str, grid: Grid, *, sensing_time: datetime | None, assets: Mapping[str, dict[str, Any]],
               properties: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The item of outputs on ``grid``: footprint and bounding box in WGS 84, the grid as projection fields,
    ``datetime`` the sensing time (the creation time when that is unknown)."""
    created = datetime.now(UTC)
    left, bottom, right, top = grid.bounds
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "stac_extensions": list(EXTENSIONS.values()),
        "id": item_id,
        "geometry": {"type": "Polygon", "coordinates": [outline_lonlat(grid)]},
        "bbox": bbox_lonlat(grid),
        "properties": {
            "datetime": stac_time(sensing_time or created),
            "created": stac_time(created),
            "constellation": "sentinel-2",
            **({"proj:code": f"EPSG:{grid.epsg}"} if grid.epsg else {"proj:code": None, "proj:wkt2": grid.crs_wkt}),
            "proj:shape": [grid.height, grid.width],
            "proj:transform": [grid.resolution, 0.0, grid.x0, 0.0, -grid.resolution, grid.y0],
            "proj:bbox": [left, bottom, right, top],
            "s2mask:version": __version__,
            **(properties or {}),
        },
        "links": [],
        "assets": dict(assets),
    }


def write_item(path: str | Path, item: Mapping[str, Any]) -> None:
    path = Path(path)
    with output_errors(path):
        path.write_text(json.dumps(item, indent=2, allow_nan=False) + "\n", encoding="utf-8")
