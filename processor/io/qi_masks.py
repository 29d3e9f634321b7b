"""Pixel-level quality masks of the granule's ``QI_DATA`` folder.

From processing baseline 04.00 the masks are JPEG 2000 rasters (``MSK_DETFOO_Bxx.jp2`` holds the
detector index, 0 outside every footprint; ``MSK_CLASSI_B00.jp2`` holds opaque-cloud, cirrus and snow
layers at 60 m). Before, they are GML vector files (``MSK_DETFOO_Bxx.gml``, ``MSK_CLOUDS_B00.gml``)
that we parse with lxml and rasterise with OGR/GDAL onto the requested window.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from osgeo import gdal, ogr, osr

from ..errors import ProductFormatError
from ..grid import Grid, Window
from .xmlutil import parse_xml

_DETECTOR = re.compile(r"-(\d{1,2})-\d+$")

#: Values burnt for the cloud mask types of ``MSK_CLOUDS_B00.gml``, matching the bands of MSK_CLASSI.
CLOUD_MASK_VALUES = {"OPAQUE": 1, "CIRRUS": 2}


@dataclass(frozen=True)
class MaskFeature:
    """One polygon of a GML mask: its ``maskType``, its gml:id and its rings (exterior first)."""

    mask_type: str
    feature_id: str
    rings: tuple[np.ndarray, ...]

    @property
    def detector(self) -> int:
        """The detector index encoded in a detector-footprint feature id (``...-B01-03-0`` -> 3)."""
        match = _DETECTOR.search(self.feature_id)
        return int(match.group(1)) if match else 1


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _pos_list(element, source: Path) -> np.ndarray:  # noqa: ANN001 - lxml element
    dimension = int(element.get("srsDimension", "2"))
    try:
        values = np.array(element.text.split(), dtype=np.float64)
    except (AttributeError, ValueError):
        raise ProductFormatError("malformed gml:posList", source) from None
    if values.size % dimension:
        raise ProductFormatError("gml:posList length does not match its srsDimension", source)
    return values.reshape(-1, dimension)[:, :2]


def parse_gml_mask(data: bytes, source: Path) -> list[MaskFeature]:
    """Every polygon of an ESA GML quality mask (an empty list for a mask without features)."""
    root = parse_xml(data, source)
    features = []
    for member in root.iter():
        if _local(member.tag) != "MaskFeature":
            continue
        mask_type = next((e.text.strip() for e in member.iter() if _local(e.tag) == "maskType" and e.text), "")
        feature_id = next((v for k, v in member.attrib.items() if _local(k) == "id"), "")
        for polygon in (e for e in member.iter() if _local(e.tag) == "Polygon"):
            rings = tuple(_pos_list(p, source) for p in polygon.iter() if _local(p.tag) == "posList")
            if rings:
                features.append(MaskFeature(mask_type, feature_id, rings))
    return features


def rasterize(features: list[MaskFeature], values: list[int], grid: Grid, window: Window) -> np.ndarray:
    """Burn each feature's value into a uint8 raster of ``window`` (pixel centres inside polygons)."""
    sub = grid.subgrid(window)
    target = gdal.GetDriverByName("MEM").Create("", sub.width, sub.height, 1, gdal.GDT_Byte)
    target.SetGeoTransform(sub.geotransform)
    reference = osr.SpatialReference()
    reference.ImportFromWkt(grid.crs_wkt)
    target.SetProjection(grid.crs_wkt)
    if features:
        source = ogr.GetDriverByName("Memory").CreateDataSource("")
        layer = source.CreateLayer("mask", srs=reference, geom_type=ogr.wkbPolygon)
        layer.CreateField(ogr.FieldDefn("value", ogr.OFTInteger))
        for feature, value in zip(features, values, strict=True):
            polygon = ogr.Geometry(ogr.wkbPolygon)
            for ring_points in feature.rings:
                ring = ogr.Geometry(ogr.wkbLinearRing)
                for x, y in ring_points:
                    ring.AddPoint_2D(float(x), float(y))
                ring.CloseRings()
                polygon.AddGeometry(ring)
            item = ogr.Feature(layer.GetLayerDefn())
            item.SetField("value", int(value))
            item.SetGeometry(polygon)
            layer.CreateFeature(item)
        gdal.RasterizeLayer(target, [1], layer, options=["ATTRIBUTE=value"])
    return target.GetRasterBand(1).ReadAsArray()
