"""BEAM-DIMAP output written without SNAP, so SNAP opens the mask with its class names and colours.

Layout and element order follow SNAP's own writer (``DimapHeaderWriter.writeHeader``, see
shared/snap.md section 5): ``NAME.dim`` is the XML header, ``NAME.data/<band>.img`` holds each band as
raw big-endian BSQ beside an ENVI header ``<band>.hdr`` (``byte order = 1``). The class band
``s2mask_class`` carries an ``Index_Coding``, a palette (``Band_Statistics``) and one band-maths mask
per class; optional probability bands ``prob_<class>`` hold 0..100 %.

SNAP's DIMAP reader takes sizes, types and codings from the ``.dim`` alone and reads the ``.img`` raw
(``DimapProductReader``: the ``.hdr`` href only names the file). The headers serve everyone who opens
a ``.img`` directly (QGIS, GDAL, SNAP's own ENVI reader): they carry what SNAP's writer puts there
(``EnviHeader.createPhysicalFile``) plus ``data ignore value`` and, for the class band, an ENVI
classification (``classes``, ``class lookup``, ``class names``), which GDAL reads as nodata, colour
table and category names and SNAP's ENVI reader as no-data value and an index coding with a palette.
Each ``.img`` also gets its statistics as a GDAL PAM sidecar (``.img.aux.xml``), so opening it in QGIS
writes nothing new.

Band files are written with ``pwrite`` rather than a memory map: on a full disk a memory-mapped store
kills the process with SIGBUS, while ``pwrite`` raises ``OSError(ENOSPC)`` that becomes an OutputError.
The space is reserved up front (``posix_fallocate``) so a full disk is usually reported before any work.
"""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from lxml import etree
from osgeo import gdal, osr

from ..classes import CLASS_TABLE
from ..grid import Grid, Window
from .atomic import FinishOnSuccess, output_errors
from .bandstats import BandHistograms, pam_statistics
from .coding import CLASS_CODING, ClassCoding
from .geotiff import PROBABILITY_NODATA

gdal.UseExceptions()

CLASS_BAND = "s2mask_class"
INDEX_CODING = "s2mask_class"
DIMAP_VERSION = "2.13.0"
MASK_TRANSPARENCY = 0.5
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


def probability_band(class_value: int) -> str:
    """Name of the DIMAP probability band of a class: ``prob_cloud`` for CLOUD."""
    return f"prob_{CLASS_TABLE[class_value].name.lower()}"


def mask_name(class_value: int) -> str:
    return f"s2mask_{CLASS_TABLE[class_value].name.lower()}"


def dimap_time(moment: datetime) -> str:
    """SNAP's ``ProductData.UTC`` text, ``dd-MMM-yyyy HH:mm:ss.SSSSSS`` (English month, UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return f"{moment.day:02d}-{_MONTHS[moment.month - 1]}-{moment.year:04d} {moment:%H:%M:%S}.{moment.microsecond:06d}"


def image_to_model_transform(grid: Grid) -> str:
    """Java ``AffineTransform.getMatrix`` order ``m00,m10,m01,m11,m02,m12`` = ``dx,0,0,-dy,x_ul,y_ul``."""
    x0, dx, rx, y0, ry, dy = grid.geotransform
    return ",".join(repr(float(v)) for v in (dx, ry, rx, dy, x0, y0))


@dataclass(frozen=True)
class _Band:
    name: str
    description: str
    unit: str
    nodata: int
    valid_mask: str | None = None
    coding: ClassCoding | None = None


def _bands(probability_classes: Sequence[int]) -> list[_Band]:
    bands = [_Band(CLASS_BAND, "s2mask classes", "dl", CLASS_CODING.nodata, coding=CLASS_CODING)]
    for value in probability_classes:
        bands.append(_Band(probability_band(value), f"Probability of {CLASS_TABLE[value].description.lower()}",
                           "%", PROBABILITY_NODATA, f"{CLASS_BAND}.raw != 0"))
    return bands


def _envi_georeference(grid: Grid) -> list[str]:
    """The ``map info`` and ``coordinate system string`` lines exactly as GDAL's ENVI driver writes them."""
    name = f"/vsimem/s2mask-{uuid.uuid4().hex}.img"
    dataset = gdal.GetDriverByName("ENVI").Create(name, 1, 1, 1, gdal.GDT_Byte)
    dataset.SetProjection(grid.crs_wkt)
    dataset.SetGeoTransform(grid.geotransform)
    dataset = None
    header = name[:-4] + ".hdr"
    handle = gdal.VSIFOpenL(header, "rb")
    try:
        text = gdal.VSIFReadL(1, 1 << 20, handle).decode("latin-1")
    finally:
        gdal.VSIFCloseL(handle)
        gdal.Unlink(header)
        gdal.Unlink(name)
    return [line for line in text.splitlines() if line.startswith(("map info", "coordinate system string"))]


def _envi_header(band: _Band, grid: Grid, georeference: Sequence[str]) -> str:
    """SNAP's header lines in SNAP's order, then the no-data value and the classification."""
    file_type = "ENVI Standard" if band.coding is None else "ENVI Classification"
    lines = ["ENVI", f"description = {{{band.description} - Unit: {band.unit}}}", f"samples = {grid.width}",
             f"lines = {grid.height}", "bands = 1", "header offset = 0", f"file type = {file_type}",
             "data type = 1", "interleave = bsq", "byte order = 1", f"band names = {{ {band.name} }}",
             *georeference, "data gain values = {1.0}", "data offset values = {0.0}",
             f"data ignore value = {band.nodata}"]
    if band.coding is not None:
        lines += _envi_classification(band.coding)
    return "\n".join(lines) + "\n"


def _envi_classification(coding: ClassCoding) -> list[str]:
    """``classes``, ``class lookup`` and ``class names``: in ENVI, class ``i`` is value ``i``."""
    if [info.value for info in coding.classes] != list(range(len(coding.classes))):
        raise ValueError("an ENVI classification needs the class values 0, 1, 2, ... without gaps")
    lookup = ", ".join(str(channel) for info in coding.classes for channel in info.rgba[:3])
    names = ", ".join(info.name for info in coding.classes)
    return [f"classes = {len(coding.classes)}", f"class lookup = {{{lookup}}}", f"class names = {{{names}}}"]


def _reserve(fd: int, size: int) -> None:
    """Allocate ``size`` bytes now (ENOSPC here rather than mid-run); sparse where unsupported."""
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as err:
        if err.errno not in (errno.EOPNOTSUPP, errno.EINVAL):
            raise
        os.ftruncate(fd, size)


def _pwrite_all(fd: int, data: bytes | memoryview, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        view, offset = view[written:], offset + written


class _BandFile:
    """One ``.img`` file: a big-endian uint8 raster of ``grid``'s shape, written window by window."""

    dtype = np.dtype(">u1")

    def __init__(self, path: Path, grid: Grid):
        self.path, self.width = path, grid.width
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _reserve(self.fd, grid.width * grid.height * self.dtype.itemsize)
        except BaseException:
            self.close()
            raise

    def write(self, window: Window, array: np.ndarray) -> None:
        data = np.ascontiguousarray(array, dtype=self.dtype)
        step = self.width * self.dtype.itemsize
        start = (window.row * self.width + window.col) * self.dtype.itemsize
        if window.col == 0 and window.width == self.width:
            _pwrite_all(self.fd, data.data, start)
            return
        for index in range(window.height):
            _pwrite_all(self.fd, data[index].data, start + index * step)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


class DimapWriter(FinishOnSuccess):
    """BEAM-DIMAP ``NAME.dim`` + ``NAME.data/`` on ``grid``, written block by block.

    ``write(window, classes, probabilities)`` takes uint8 ``classes`` (h, w) and, when the writer was made
    with ``probability_classes``, uint8 ``probabilities`` (k, h, w) in 0..100 (255 = no data).
    ``close()`` writes the XML header; ``abort()`` or an exception in a ``with`` block just closes the
    files (the staging folder deletes them).
    """

    def __init__(self, dim_path: str | Path, grid: Grid, *, product_type: str = "S2MASK",
                 description: str = "", start: datetime | None = None, stop: datetime | None = None,
                 probability_classes: Sequence[int] = (), metadata: Mapping[str, str] | None = None):
        self.path, self.grid = Path(dim_path), grid
        self.data_dir = self.path.with_suffix(".data")
        self.product_type, self.description, self.start, self.stop = product_type, description, start, stop
        self.probability_classes = tuple(probability_classes)
        self.metadata = dict(metadata or {})
        self.bands = _bands(self.probability_classes)
        self.histograms = BandHistograms(len(self.bands))
        self._files: list[_BandFile] = []
        try:
            with output_errors(self.data_dir):
                self.data_dir.mkdir()
                georeference = _envi_georeference(grid)
            for band in self.bands:
                header, image = self.data_dir / f"{band.name}.hdr", self.data_dir / f"{band.name}.img"
                with output_errors(header):
                    header.write_text(_envi_header(band, grid, georeference), encoding="latin-1")
                with output_errors(image):
                    self._files.append(_BandFile(image, grid))
        except BaseException:
            self._close_files()
            raise

    def write(self, window: Window, classes: np.ndarray, probabilities: np.ndarray | None = None) -> None:
        expected_k = len(self.probability_classes)
        if classes.shape != window.shape or classes.dtype != np.uint8:
            raise ValueError(f"{self.path.name}: classes must be uint8 {window.shape}, got {classes.dtype} "
                             f"{classes.shape}")
        if expected_k and (probabilities is None or probabilities.shape != (expected_k, *window.shape)
                           or probabilities.dtype != np.uint8):
            raise ValueError(f"{self.path.name}: probabilities must be uint8 {(expected_k, *window.shape)}")
        layers = [classes, *(probabilities if expected_k else ())]
        for band_file, layer in zip(self._files, layers):
            with output_errors(band_file.path):
                band_file.write(window, layer)
        self.histograms.add(layers)

    def close(self) -> None:
        """Close the band files, write their statistics and the ``.dim`` header."""
        self._close_files()
        for index, (band, band_file) in enumerate(zip(self.bands, self._files)):
            statistics = self.histograms.statistics(index, band.nodata)
            sidecar = band_file.path.with_name(band_file.path.name + ".aux.xml")
            if statistics:
                with output_errors(sidecar):
                    sidecar.write_bytes(pam_statistics(statistics, band.name))
        document = etree.tostring(self.header(), xml_declaration=True, encoding="ISO-8859-1", pretty_print=True)
        with output_errors(self.path):
            self.path.write_bytes(document)

    def abort(self) -> None:
        """Close the band files without a header (the staging folder deletes them)."""
        self._close_files()

    def _close_files(self) -> None:
        for band_file in self._files:
            band_file.close()


    def header(self) -> etree._Element:
        """The ``Dimap_Document`` in the element order of SNAP's writer."""
        name = self.path.stem
        root = etree.Element("Dimap_Document", name=self.path.name)
        metadata_id = _sub(root, "Metadata_Id")
        _sub(metadata_id, "METADATA_FORMAT", "DIMAP", version=DIMAP_VERSION)
        _sub(metadata_id, "METADATA_PROFILE", "BEAM-DATAMODEL-V1")
        dataset_id = _sub(root, "Dataset_Id")
        _sub(dataset_id, "DATASET_SERIES", "BEAM-PRODUCT")
        _sub(dataset_id, "DATASET_NAME", name)
        _sub(_sub(root, "Dataset_Use"), "DATASET_COMMENTS", self.description or "s2mask cloud mask")
        production = _sub(root, "Production")
        _sub(production, "DATASET_PRODUCER_NAME", "s2mask")
        _sub(production, "PRODUCT_TYPE", self.product_type)
        if self.start is not None:
            _sub(production, "PRODUCT_SCENE_RASTER_START_TIME", dimap_time(self.start))
        if self.stop is not None:
            _sub(production, "PRODUCT_SCENE_RASTER_STOP_TIME", dimap_time(self.stop))
        _sub(_sub(root, "Coordinate_Reference_System"), "WKT", osr.SpatialReference(self.grid.crs_wkt).ExportToWkt())
        _sub(_sub(root, "Geoposition"), "IMAGE_TO_MODEL_TRANSFORM", image_to_model_transform(self.grid))
        self._index_coding(root)
        dimensions = _sub(root, "Raster_Dimensions")
        for tag, value in (("NCOLS", self.grid.width), ("NROWS", self.grid.height), ("NBANDS", len(self.bands))):
            _sub(dimensions, tag, str(value))
        self._data_access(root, name)
        self._palette(root)
        self._masks(root)
        self._band_infos(root)
        self._sources(root)
        return root

    def _index_coding(self, root: etree._Element) -> None:
        coding = _sub(root, "Index_Coding", name=INDEX_CODING)
        for info in CLASS_TABLE:
            index = _sub(coding, "Index")
            _sub(index, "INDEX_NAME", info.name)
            _sub(index, "INDEX_VALUE", str(info.value))
            _sub(index, "INDEX_DESCRIPTION", info.description)

    def _data_access(self, root: etree._Element, name: str) -> None:
        access = _sub(root, "Data_Access")
        _sub(access, "DATA_FILE_FORMAT", "ENVI")
        _sub(access, "DATA_FILE_FORMAT_DESC", "ENVI File Format")
        _sub(access, "DATA_FILE_ORGANISATION", "BAND_SEPARATE")
        for index, band in enumerate(self.bands):
            data_file = _sub(access, "Data_File")
            _sub(data_file, "DATA_FILE_PATH", href=f"{name}.data/{band.name}.hdr")
            _sub(data_file, "BAND_INDEX", str(index))

    def _palette(self, root: etree._Element) -> None:
        statistics = _sub(_sub(root, "Image_Display"), "Band_Statistics")
        _sub(statistics, "BAND_INDEX", "0")
        _sub(statistics, "NUM_COLORS", str(len(CLASS_TABLE)))
        for info in CLASS_TABLE:
            point = _sub(statistics, "Color_Palette_Point")
            _sub(point, "SAMPLE", repr(float(info.value)))
            _sub(point, "LABEL", info.name)
            _colour(point, "COLOR", info.rgba)
        _colour(statistics, "NO_DATA_COLOR", (0, 0, 0, 0))
        _sub(statistics, "HISTOGRAM_MATCHING", "None")

    def _masks(self, root: etree._Element) -> None:
        masks = _sub(root, "Masks")
        for info in CLASS_TABLE:
            mask = _sub(masks, "Mask", type="Maths")
            _sub(mask, "NAME", value=mask_name(info.value))
            _sub(mask, "MASK_RASTER_WIDTH", value=str(self.grid.width))
            _sub(mask, "MASK_RASTER_HEIGHT", value=str(self.grid.height))
            _sub(mask, "DESCRIPTION", value=info.description)
            _colour(mask, "COLOR", (*info.rgba[:3], 255))
            _sub(mask, "TRANSPARENCY", value=repr(MASK_TRANSPARENCY))
            _sub(mask, "IMAGE_TO_MODEL_TRANSFORM", value=image_to_model_transform(self.grid))
            _sub(mask, "EXPRESSION", value=f"{CLASS_BAND}.raw == {info.value}")

    def _band_infos(self, root: etree._Element) -> None:
        interpretation = _sub(root, "Image_Interpretation")
        for index, band in enumerate(self.bands):
            info = _sub(interpretation, "Spectral_Band_Info")
            for tag, text in (("BAND_INDEX", str(index)), ("BAND_DESCRIPTION", band.description),
                              ("BAND_NAME", band.name), ("BAND_RASTER_WIDTH", str(self.grid.width)),
                              ("BAND_RASTER_HEIGHT", str(self.grid.height)), ("DATA_TYPE", "uint8"),
                              ("PHYSICAL_UNIT", band.unit), ("SOLAR_FLUX", "0.0"), ("SPECTRAL_BAND_INDEX", "-1"),
                              ("BAND_WAVELEN", "0.0"), ("BANDWIDTH", "0.0")):
                _sub(info, tag, text)
            if band.name == CLASS_BAND:
                _sub(info, "INDEX_CODING_NAME", INDEX_CODING)
            for tag, text in (("SCALING_FACTOR", "1.0"), ("SCALING_OFFSET", "0.0"), ("LOG10_SCALED", "false"),
                              ("NO_DATA_VALUE_USED", "true"), ("NO_DATA_VALUE", repr(float(band.nodata)))):
                _sub(info, tag, text)
            if band.valid_mask:
                _sub(info, "VALID_MASK_TERM", band.valid_mask)
            _sub(info, "IMAGE_TO_MODEL_TRANSFORM", image_to_model_transform(self.grid))

    def _sources(self, root: etree._Element) -> None:
        top = _sub(_sub(root, "Dataset_Sources"), "MDElem", name="metadata")
        processing = _sub(top, "MDElem", name="s2mask")
        for key, value in self.metadata.items():
            _sub(processing, "MDATTR", str(value), name=key, type="ascii")


def _sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
    element = etree.SubElement(parent, tag, {key: str(value) for key, value in attributes.items()})
    if text is not None:
        element.text = text
    return element


def _colour(parent: etree._Element, tag: str, rgba: Sequence[int]) -> None:
    _sub(parent, tag, red=str(rgba[0]), green=str(rgba[1]), blue=str(rgba[2]), alpha=str(rgba[3]))
