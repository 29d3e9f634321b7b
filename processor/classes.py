"""The s2mask class scheme: one table drives every output (colour tables, DIMAP codings, legends, SCL).

| value | name | colour | Sen2Cor SCL |
|---|---|---|---|
| 0 | NO_DATA | transparent | 0 |
| 1 | CLEAR_LAND | 60,160,60 | 4 (vegetation) or 5 (not vegetated), by NDVI |
| 2 | WATER | 30,80,220 | 6 |
| 3 | SNOW_ICE | 120,230,255 | 11 |
| 4 | CLOUD | 255,255,255 | 9 |
| 5 | THIN_CLOUD | 190,190,190 | 10 |
| 6 | CLOUD_SHADOW | 90,60,30 | 3 |
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class MaskClass(IntEnum):
    NO_DATA = 0
    CLEAR_LAND = 1
    WATER = 2
    SNOW_ICE = 3
    CLOUD = 4
    THIN_CLOUD = 5
    CLOUD_SHADOW = 6


@dataclass(frozen=True)
class ClassInfo:
    value: int
    name: str
    rgba: tuple[int, int, int, int]
    description: str
    scl: int


CLASS_TABLE: tuple[ClassInfo, ...] = (
    ClassInfo(0, "NO_DATA", (0, 0, 0, 0), "No data: outside the footprint, saturated or missing", 0),
    ClassInfo(1, "CLEAR_LAND", (60, 160, 60, 255), "Clear land", 4),
    ClassInfo(2, "WATER", (30, 80, 220, 255), "Water", 6),
    ClassInfo(3, "SNOW_ICE", (120, 230, 255, 255), "Snow and ice", 11),
    ClassInfo(4, "CLOUD", (255, 255, 255, 255), "Opaque cloud", 9),
    ClassInfo(5, "THIN_CLOUD", (190, 190, 190, 255), "Thin cloud: semi-transparent cloud and cirrus", 10),
    ClassInfo(6, "CLOUD_SHADOW", (90, 60, 30, 255), "Cloud shadow", 3),
)

CLASS_NAMES: tuple[str, ...] = tuple(c.name for c in CLASS_TABLE)
N_CLASSES = len(CLASS_TABLE)
#: Classes that count as cloud cover in reports.
CLOUDY_CLASSES: tuple[MaskClass, ...] = (MaskClass.CLOUD, MaskClass.THIN_CLOUD)

#: Sen2Cor SCL codes (L2A ``SCL`` band, SNAP's ``quality_scene_classification``) in ESA's colours: those
#: of the L2A product definition, which SNAP's Sentinel-2 reader gives the band (optical-toolbox
#: ``L2aUtils.makeSCLInformation``), so an ``scl`` output looks like the SCL users know. ``scl`` is the code.
_SCL_CODES = (  # (name, colour, description) of codes 0, 1, 2, ...
    ("NO_DATA", (0, 0, 0, 0), "No data"),
    ("SATURATED_OR_DEFECTIVE", (255, 0, 0, 255), "Saturated or defective pixel"),
    ("CAST_SHADOWS", (46, 46, 46, 255), "Topographic cast shadow (dark area pixels before processing baseline 04.00)"),
    ("CLOUD_SHADOWS", (100, 50, 0, 255), "Cloud shadow"),
    ("VEGETATION", (0, 128, 0, 255), "Vegetation"),
    ("NOT_VEGETATED", (255, 230, 90, 255), "Not vegetated: bare soil, rock, built-up"),
    ("WATER", (0, 0, 255, 255), "Water"),
    ("UNCLASSIFIED", (129, 129, 129, 255), "Unclassified"),
    ("CLOUD_MEDIUM_PROBABILITY", (193, 193, 193, 255), "Cloud, medium probability"),
    ("CLOUD_HIGH_PROBABILITY", (255, 255, 255, 255), "Cloud, high probability"),
    ("THIN_CIRRUS", (100, 200, 255, 255), "Thin cirrus"),
    ("SNOW", (255, 150, 255, 255), "Snow or ice"),
)
SCL_TABLE: tuple[ClassInfo, ...] = tuple(ClassInfo(code, name, rgba, description, code)
                                         for code, (name, rgba, description) in enumerate(_SCL_CODES))
SCL_NAMES: dict[int, str] = {info.value: info.name for info in SCL_TABLE}
SCL_NOT_VEGETATED = 5
#: NDVI above which a clear-land pixel is written as SCL vegetation (4) rather than not vegetated (5).
SCL_VEGETATION_NDVI = 0.4

#: How each Sen2Cor SCL code maps onto our classes (for evaluating against SCL references).
SCL_TO_CLASS: dict[int, int] = {
    0: MaskClass.NO_DATA, 1: MaskClass.NO_DATA, 2: MaskClass.CLEAR_LAND, 3: MaskClass.CLOUD_SHADOW,
    4: MaskClass.CLEAR_LAND, 5: MaskClass.CLEAR_LAND, 6: MaskClass.WATER, 7: MaskClass.CLEAR_LAND,
    8: MaskClass.CLOUD, 9: MaskClass.CLOUD, 10: MaskClass.THIN_CLOUD, 11: MaskClass.SNOW_ICE,
}


def to_scl(classes: np.ndarray, ndvi: np.ndarray | None = None) -> np.ndarray:
    """Translate a class array into Sen2Cor SCL codes.

    Clear land becomes vegetation (4) where ``ndvi`` exceeds :data:`SCL_VEGETATION_NDVI`, otherwise
    not-vegetated (5); without ``ndvi`` all clear land is written as vegetation-agnostic 5.
    """
    lookup = np.array([c.scl for c in CLASS_TABLE], dtype=np.uint8)
    scl = lookup[np.asarray(classes, dtype=np.uint8)]
    land = classes == MaskClass.CLEAR_LAND
    if ndvi is None:
        scl[land] = SCL_NOT_VEGETATED
    else:
        scl[land & ~(ndvi > SCL_VEGETATION_NDVI)] = SCL_NOT_VEGETATED
    return scl


def from_scl(scl: np.ndarray) -> np.ndarray:
    """Translate Sen2Cor SCL codes into our classes (codes above 11 become NO_DATA)."""
    lookup = np.zeros(256, dtype=np.uint8)
    for code, value in SCL_TO_CLASS.items():
        lookup[code] = value
    return lookup[np.asarray(scl, dtype=np.uint8)]
