"""The granule metadata file (``GRANULE/*/MTD_TL.xml``): geocoding, angle grids and quality masks."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from lxml import etree
from osgeo import osr

from ..errors import ProductFormatError
from ..grid import Grid
from ..masking import MAX_ZENITH
from .product_mtd import document_time
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
        text = size.get("resolution")
        if not (text or "").isdigit():
            raise ProductFormatError(f"Tile_Geocoding/Size has resolution={text!r}: expected metres", doc.source)
        resolution = int(text)
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
    _check_nested(grids, doc)
    return grids


def _check_nested(grids: dict[int, Grid], doc: XmlDocument) -> None:
    """The grids of a tile cover one area (pixel (r, c) at 20 m is pixels 2r..2r+1, 2c..2c+1 at 10 m); a
    grid that does not would send reads outside the band files."""
    fine = grids[10]
    for resolution, grid in sorted(grids.items()):
        if grid.width <= 0 or grid.height <= 0:
            raise ProductFormatError(f"Tile_Geocoding: the {resolution} m grid has {grid.width} x {grid.height} "
                                     "pixels", doc.source)
        extent, expected = (grid.width * resolution, grid.height * resolution), (fine.width * 10, fine.height * 10)
        if (grid.x0, grid.y0) != (fine.x0, fine.y0) or extent != expected:
            raise ProductFormatError(
                f"the grids of Tile_Geocoding disagree: the {resolution} m grid is {grid.width} x {grid.height} "
                f"pixels from ({grid.x0:g}, {grid.y0:g}), which is not the area of the 10 m grid "
                f"({fine.width} x {fine.height} pixels from ({fine.x0:g}, {fine.y0:g}))", doc.source)


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
    if not np.isfinite(step) or step <= 0:
        raise ProductFormatError(f"angle grid {where} has COL_STEP {step:g}: expected a positive distance",
                                 doc.source)
    return AngleGrid(values, step)


def _merge_detectors(grids: list[tuple[str, AngleGrid]], doc: XmlDocument) -> AngleGrid:
    """One grid per band from the grids of its detectors (each is NaN outside what its detector sees)."""
    (first, reference), *others = grids
    for where, grid in others:
        if grid.values.shape != reference.values.shape or grid.step != reference.step:
            raise ProductFormatError(
                f"angle grid {where} has {grid.values.shape[0]} x {grid.values.shape[1]} values every {grid.step:g} m, "
                f"{first} {reference.values.shape[0]} x {reference.values.shape[1]} every {reference.step:g} m",
                doc.source)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        merged = np.nanmean(np.stack([g.values for _, g in grids]), axis=0)
    return AngleGrid(merged.astype(np.float32), reference.step)


def _view_angles(doc: XmlDocument) -> tuple[dict[str, AngleGrid], dict[str, AngleGrid]]:
    zenith: dict[str, list[tuple[str, AngleGrid]]] = {}
    azimuth: dict[str, list[tuple[str, AngleGrid]]] = {}
    for element in doc.findall(f"{ANGLES}/Viewing_Incidence_Angles_Grids"):
        band = doc.band(element)
        where = f"Viewing_Incidence_Angles_Grids bandId={element.get('bandId')} detectorId={element.get('detectorId')}"
        zenith.setdefault(band, []).append((f"{where} Zenith", _angle_grid(doc, element.find("Zenith"), where)))
        azimuth.setdefault(band, []).append((f"{where} Azimuth", _angle_grid(doc, element.find("Azimuth"), where)))
    return ({b: _merge_detectors(g, doc) for b, g in zenith.items()},
            {b: _merge_detectors(g, doc) for b, g in azimuth.items()})


def _mean_view(doc: XmlDocument, tag: str) -> dict[str, float]:
    means = {}
    for element in doc.findall(f"{ANGLES}/Mean_Viewing_Incidence_Angle_List/Mean_Viewing_Incidence_Angle"):
        band = doc.band(element)
        means[band] = doc.child_float(element, tag, f"Mean_Viewing_Incidence_Angle bandId={element.get('bandId')}")
    return means


def _mask_files(doc: XmlDocument) -> dict[str, dict[str, str]]:
    masks: dict[str, dict[str, str]] = {}
    for element in doc.findall(f"{PIXEL_QI}/MASK_FILENAME"):
        band = doc.band(element) if element.get("bandId") is not None else ""
        where = f"MASK_FILENAME type={element.get('type')}" + (f" bandId={element.get('bandId')}" if band else "")
        masks.setdefault(element.get("type"), {})[band] = doc.relative_path(element.text, where)
    return masks


def _sun_zenith(doc: XmlDocument) -> float:
    zenith = doc.required_float(f"{ANGLES}/Mean_Sun_Angle/ZENITH_ANGLE")
    if not 0 <= zenith <= MAX_ZENITH:
        raise ProductFormatError(f"Mean_Sun_Angle/ZENITH_ANGLE is {zenith:g} degrees: s2mask masks tiles with the "
                                 f"sun at least {90 - MAX_ZENITH:g} degree above the horizon", doc.source)
    return zenith


def read_tile_metadata(doc: XmlDocument) -> TileMetadata:
    """Map a parsed ``MTD_TL.xml`` onto :class:`TileMetadata`."""
    epsg, wkt = _crs(doc)
    view_zenith, view_azimuth = _view_angles(doc)
    sun = f"{ANGLES}/Sun_Angles_Grid"
    return TileMetadata(
        tile_id=doc.required_text("{*}General_Info/TILE_ID"),
        sensing_time=document_time(doc, "{*}General_Info/SENSING_TIME"),
        epsg=epsg,
        crs_wkt=wkt,
        grids=_grids(doc, epsg, wkt),
        sun_zenith=_angle_grid(doc, doc.find(f"{sun}/Zenith"), "Sun_Angles_Grid/Zenith"),
        sun_azimuth=_angle_grid(doc, doc.find(f"{sun}/Azimuth"), "Sun_Angles_Grid/Azimuth"),
        mean_sun_zenith=_sun_zenith(doc),
        mean_sun_azimuth=doc.required_float(f"{ANGLES}/Mean_Sun_Angle/AZIMUTH_ANGLE"),
        view_zenith=view_zenith,
        view_azimuth=view_azimuth,
        mean_view_zenith=_mean_view(doc, "ZENITH_ANGLE"),
        mean_view_azimuth=_mean_view(doc, "AZIMUTH_ANGLE"),
        mask_files=_mask_files(doc),
        cloudy_pixel_percentage=doc.optional_float("{*}Quality_Indicators_Info/Image_Content_QI/CLOUDY_PIXEL_PERCENTAGE"),
    )
