"""The granule metadata file (``GRANULE/*/MTD_TL.xml``): geocoding, angle grids and quality masks."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from lxml import etree
from osgeo import osr

from ..bands import ALL_BANDS
from ..errors import ProductFormatError
from ..grid import Grid
from .product_mtd import parse_time
from .xmlutil import XmlDocument

GEOMETRIC = "{*}Geometric_Info"
GEOCODING = f"{GEOMETRIC}/Tile_Geocoding"
ANGLES = f"{GEOMETRIC}/Tile_Angles"
PIXEL_QI = "{*}Quality_Indicators_Info/Pixel_Level_QI"


@dataclass(frozen=True)
class AngleGrid:
    """Angles in degrees sampled every ``step`` metres from the tile's upper-left corner (row 0 = north)."""

    values: np.ndarray
    step: float

    @property
    def mean(self) -> float:
        return float(np.nanmean(self.values)) if np.isfinite(self.values).any() else float("nan")


@dataclass(frozen=True)
class TileMetadata:
    tile_id: str
    sensing_time: datetime
    epsg: int
    crs_wkt: str
    grids: dict[int, Grid]
    sun_zenith: AngleGrid
    sun_azimuth: AngleGrid
    mean_sun_zenith: float
    mean_sun_azimuth: float
    #: per band: zenith and azimuth grids merged over the detectors that see the band
    view_zenith: dict[str, AngleGrid]
    view_azimuth: dict[str, AngleGrid]
    mean_view_zenith: dict[str, float]
    mean_view_azimuth: dict[str, float]
    #: relative paths of the pixel-level quality masks, by mask type ("MSK_DETFOO", ...) and band ("" if none)
    mask_files: dict[str, dict[str, str]]
    cloudy_pixel_percentage: float | None


def _crs(doc: XmlDocument) -> tuple[int, str]:
    code = doc.required_text(f"{GEOCODING}/HORIZONTAL_CS_CODE")
    try:
        epsg = int(code.upper().removeprefix("EPSG:"))
    except ValueError:
        raise ProductFormatError(f"unreadable HORIZONTAL_CS_CODE {code!r}", doc.source) from None
    reference = osr.SpatialReference()
    if reference.ImportFromEPSG(epsg) != 0:
        raise ProductFormatError(f"unknown CRS EPSG:{epsg}", doc.source)
    return epsg, reference.ExportToWkt()


def _grids(doc: XmlDocument, epsg: int, wkt: str) -> dict[int, Grid]:
    grids = {}
    for size in doc.findall(f"{GEOCODING}/Size"):
        resolution = int(size.get("resolution"))
        position = doc.find(f"{GEOCODING}/Geoposition[@resolution='{resolution}']")
        if position is None:
            raise ProductFormatError(f"no Geoposition for resolution {resolution}", doc.source)
        try:
            xdim, ydim = float(position.findtext("XDIM")), float(position.findtext("YDIM"))
            grids[resolution] = Grid(wkt, float(position.findtext("ULX")), float(position.findtext("ULY")),
                                     xdim, int(size.findtext("NCOLS")), int(size.findtext("NROWS")), epsg)
        except (TypeError, ValueError):
            raise ProductFormatError(f"malformed Tile_Geocoding for resolution {resolution}", doc.source) from None
        if xdim != -ydim or xdim != resolution:
            raise ProductFormatError(f"unexpected pixel size {xdim} x {ydim} at resolution {resolution}", doc.source)
    missing = {10, 20, 60} - set(grids)
    if missing:
        raise ProductFormatError(f"Tile_Geocoding lacks the {sorted(missing)} m grids", doc.source)
    return grids


def _angle_grid(doc: XmlDocument, element: etree._Element | None, where: str) -> AngleGrid:
    if element is None:
        raise ProductFormatError(f"missing angle grid {where}", doc.source)
    try:
        rows = [[float(v) for v in (row.text or "").split()] for row in element.findall("Values_List/VALUES")]
        values = np.array(rows, dtype=np.float32)
        step = float(element.findtext("COL_STEP"))
    except (TypeError, ValueError):
        raise ProductFormatError(f"malformed angle grid {where}", doc.source) from None
    if values.ndim != 2 or values.size == 0:
        raise ProductFormatError(f"angle grid {where} is not a rectangular table", doc.source)
    return AngleGrid(values, step)


def _merge_detectors(grids: list[AngleGrid]) -> AngleGrid:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        merged = np.nanmean(np.stack([g.values for g in grids]), axis=0)
    return AngleGrid(merged.astype(np.float32), grids[0].step)


def _view_angles(doc: XmlDocument) -> tuple[dict[str, AngleGrid], dict[str, AngleGrid]]:
    zenith: dict[str, list[AngleGrid]] = {}
    azimuth: dict[str, list[AngleGrid]] = {}
    for element in doc.findall(f"{ANGLES}/Viewing_Incidence_Angles_Grids"):
        band = ALL_BANDS[int(element.get("bandId"))]
        where = f"Viewing_Incidence_Angles_Grids bandId={element.get('bandId')} detectorId={element.get('detectorId')}"
        zenith.setdefault(band, []).append(_angle_grid(doc, element.find("Zenith"), where))
        azimuth.setdefault(band, []).append(_angle_grid(doc, element.find("Azimuth"), where))
    return ({b: _merge_detectors(g) for b, g in zenith.items()},
            {b: _merge_detectors(g) for b, g in azimuth.items()})


def _mean_view(doc: XmlDocument, tag: str) -> dict[str, float]:
    return {ALL_BANDS[int(e.get("bandId"))]: float(e.findtext(tag))
            for e in doc.findall(f"{ANGLES}/Mean_Viewing_Incidence_Angle_List/Mean_Viewing_Incidence_Angle")}


def _mask_files(doc: XmlDocument) -> dict[str, dict[str, str]]:
    masks: dict[str, dict[str, str]] = {}
    for element in doc.findall(f"{PIXEL_QI}/MASK_FILENAME"):
        band_id = element.get("bandId")
        band = ALL_BANDS[int(band_id)] if band_id is not None else ""
        masks.setdefault(element.get("type"), {})[band] = (element.text or "").strip()
    return masks


def read_tile_metadata(doc: XmlDocument) -> TileMetadata:
    """Map a parsed ``MTD_TL.xml`` onto :class:`TileMetadata`."""
    epsg, wkt = _crs(doc)
    view_zenith, view_azimuth = _view_angles(doc)
    sun = f"{ANGLES}/Sun_Angles_Grid"
    return TileMetadata(
        tile_id=doc.required_text("{*}General_Info/TILE_ID"),
        sensing_time=parse_time(doc.required_text("{*}General_Info/SENSING_TIME")),
        epsg=epsg,
        crs_wkt=wkt,
        grids=_grids(doc, epsg, wkt),
        sun_zenith=_angle_grid(doc, doc.find(f"{sun}/Zenith"), "Sun_Angles_Grid/Zenith"),
        sun_azimuth=_angle_grid(doc, doc.find(f"{sun}/Azimuth"), "Sun_Angles_Grid/Azimuth"),
        mean_sun_zenith=doc.required_float(f"{ANGLES}/Mean_Sun_Angle/ZENITH_ANGLE"),
        mean_sun_azimuth=doc.required_float(f"{ANGLES}/Mean_Sun_Angle/AZIMUTH_ANGLE"),
        view_zenith=view_zenith,
        view_azimuth=view_azimuth,
        mean_view_zenith=_mean_view(doc, "ZENITH_ANGLE"),
        mean_view_azimuth=_mean_view(doc, "AZIMUTH_ANGLE"),
        mask_files=_mask_files(doc),
        cloudy_pixel_percentage=doc.optional_float("{*}Quality_Indicators_Info/Image_Content_QI/CLOUDY_PIXEL_PERCENTAGE"),
    )
