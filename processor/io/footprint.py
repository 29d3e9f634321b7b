"""Where a grid lies on the globe: its outline and bounding box in WGS 84 longitude and latitude.

The report and the STAC item give both in degrees (GeoJSON order: longitude, latitude). A UTM tile's
straight edges are slightly curved in longitude/latitude, so the bounding box is taken over points
along every edge, not over the corners alone.
"""

from __future__ import annotations

import numpy as np
from osgeo import osr

from ..grid import Grid

#: Points per edge for the bounding box (a 110 km UTM edge bends by metres, not kilometres, between them).
EDGE_POINTS = 21
_DIGITS = 6  # 1e-6 degree is about 0.1 m


def _to_lonlat(grid: Grid, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    source = osr.SpatialReference()
    source.ImportFromWkt(grid.crs_wkt)
    target = osr.SpatialReference()
    target.ImportFromEPSG(4326)
    for srs in (source, target):
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    points = osr.CoordinateTransformation(source, target).TransformPoints(np.column_stack([x, y]).tolist())
    return np.array(points)[:, :2]


def outline_lonlat(grid: Grid) -> list[list[float]]:
    """The grid's corners as a closed, counter-clockwise GeoJSON ring of [longitude, latitude]."""
    left, bottom, right, top = grid.bounds
    x = np.array([left, right, right, left, left])
    y = np.array([bottom, bottom, top, top, bottom])
    return [[round(float(lon), _DIGITS), round(float(lat), _DIGITS)] for lon, lat in _to_lonlat(grid, x, y)]


def bbox_lonlat(grid: Grid) -> list[float]:
    """[west, south, east, north] in degrees, over :data:`EDGE_POINTS` points along each edge."""
    left, bottom, right, top = grid.bounds
    steps = np.linspace(0.0, 1.0, EDGE_POINTS)
    x = np.concatenate([left + (right - left) * steps, np.full(EDGE_POINTS, right),
                        right - (right - left) * steps, np.full(EDGE_POINTS, left)])
    y = np.concatenate([np.full(EDGE_POINTS, bottom), bottom + (top - bottom) * steps,
                        np.full(EDGE_POINTS, top), top - (top - bottom) * steps])
    lonlat = _to_lonlat(grid, x, y)
    west, south = lonlat.min(axis=0)
    east, north = lonlat.max(axis=0)
    return [round(float(value), _DIGITS) for value in (west, south, east, north)]
