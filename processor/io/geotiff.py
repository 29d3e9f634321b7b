"""Cloud-Optimized GeoTIFF outputs, written block by block.

Blocks go into a tiled DEFLATE GeoTIFF in the stage's scratch folder; :meth:`CogWriter.close` then
copies it with GDAL's COG driver (512-pixel tiles, overviews, DEFLATE) to the output name and deletes
the intermediate. The COG driver cannot be written block by block, hence the two steps.

What ends where (GDAL 3.6): the colour table, nodata, CRS, transform, dataset metadata, band
descriptions, band metadata and the band statistics live in the TIFF itself; the class names and
colours are band metadata too (:meth:`~.coding.ClassCoding.band_metadata`), which a copy or ``gdalwarp``
keeps and rasterio reads. GDAL's category names and raster attribute table have no TIFF tag before GDAL
3.12 and live in the ``.tif.aux.xml`` sidecar (PAM), an output of its own that the stage commits with
the ``.tif``. QGIS labels a paletted band with the category names, but lists all 256 entries of a
TIFF colour map: the QGIS style beside the file (:mod:`.qml`) lists the classes alone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..classes import CLASS_TABLE, MaskClass
from ..errors import OutputError
from ..grid import Grid, Window
from .atomic import FinishOnSuccess, final_path, output_errors
from .bandstats import BandHistograms
from .coding import CLASS_CODING, SCL_CODING, ClassCoding
from .qml import paletted_style, probability_style

gdal.UseExceptions()

BLOCKSIZE = 512
#: Probability bands hold 0..100 (per cent); this marks pixels without a prediction.
PROBABILITY_NODATA = 255
_INTERMEDIATE_OPTIONS = ["TILED=YES", f"BLOCKXSIZE={BLOCKSIZE}", f"BLOCKYSIZE={BLOCKSIZE}", "COMPRESS=DEFLATE",
                         "ZLEVEL=1", "BIGTIFF=IF_SAFER", "NUM_THREADS=ALL_CPUS"]


def _colour_table(coding: ClassCoding) -> gdal.ColorTable:
    table = gdal.ColorTable()
    for info in coding.classes:
        table.SetColorEntry(info.value, coding.rgba(info))
    return table


def _attribute_table(coding: ClassCoding) -> gdal.RasterAttributeTable:
    table = gdal.RasterAttributeTable()
    table.SetTableType(gdal.GRTT_THEMATIC)
    columns = [("Value", gdal.GFT_Integer, gdal.GFU_MinMax), ("Class_Name", gdal.GFT_String, gdal.GFU_Name),
               ("Red", gdal.GFT_Integer, gdal.GFU_Red), ("Green", gdal.GFT_Integer, gdal.GFU_Green),
               ("Blue", gdal.GFT_Integer, gdal.GFU_Blue), ("Alpha", gdal.GFT_Integer, gdal.GFU_Alpha),
               ("Description", gdal.GFT_String, gdal.GFU_Generic)]
    for name, kind, usage in columns:
        table.CreateColumn(name, kind, usage)
    for row, info in enumerate(coding.classes):
        table.SetValueAsInt(row, 0, info.value)
        table.SetValueAsString(row, 1, info.name)
        for column, channel in enumerate(coding.rgba(info), start=2):
            table.SetValueAsInt(row, column, int(channel))
        table.SetValueAsString(row, 6, info.description)
    return table


class CogWriter(FinishOnSuccess):
    """A uint8 raster on ``grid`` written block by block and finished as a Cloud-Optimized GeoTIFF.

    ``write(window, array)`` takes an array of shape ``(h, w)`` (one band) or ``(bands, h, w)``.
    ``close()`` makes the COG at ``path``; ``abort()`` (or leaving a ``with`` block on an exception)
    deletes what was written. Use :func:`class_cog`, :func:`scl_cog` or :func:`probability_cog`.
    ``histograms`` counts the values written to each band; ``style`` is the file's QGIS style (``.qml``).
    """

    def __init__(self, path: str | Path, scratch: str | Path, grid: Grid, *, band_names: Sequence[str],
                 nodata: int, resampling: str, coding: ClassCoding | None = None,
                 metadata: Mapping[str, str] | None = None, unit: str = "", deflate_level: int = 6,
                 style: bytes | None = None):
        self.path, self.scratch, self.grid = Path(path), Path(scratch), grid
        self.bands = len(band_names)
        self.nodata, self.unit, self.coding, self.style = nodata, unit, coding, style
        self.histograms = BandHistograms(self.bands)
        self._resampling, self._deflate_level = resampling, deflate_level
        self._has_sidecar = coding is not None
        self._dataset: gdal.Dataset | None = None
        try:
            with output_errors(self.path):
                self._dataset = gdal.GetDriverByName("GTiff").Create(
                    str(self.scratch), grid.width, grid.height, self.bands, gdal.GDT_Byte, _INTERMEDIATE_OPTIONS)
                self._dataset.SetProjection(grid.crs_wkt)
                self._dataset.SetGeoTransform(grid.geotransform)
                self._dataset.SetMetadata({key: str(value) for key, value in (metadata or {}).items()})
                for index, name in enumerate(band_names, start=1):
                    band = self._dataset.GetRasterBand(index)
                    band.SetDescription(name)
                    band.SetNoDataValue(nodata)
                    if unit:
                        band.SetUnitType(unit)
                    if coding is not None:
                        band.SetColorTable(_colour_table(coding))
                        band.SetCategoryNames(coding.category_names())
                        band.SetDefaultRAT(_attribute_table(coding))
                        band.SetMetadata(coding.band_metadata())
        except BaseException:
            self.release()
            raise

    def write(self, window: Window, array: np.ndarray) -> None:
        data = array[np.newaxis] if array.ndim == 2 else array
        if data.shape != (self.bands, *window.shape) or data.dtype != np.uint8:
            raise ValueError(f"{self.path.name}: expected uint8 {(self.bands, *window.shape)}, "
                             f"got {data.dtype} {data.shape}")
        if window.row < 0 or window.col < 0 or window.row + window.height > self.grid.height \
                or window.col + window.width > self.grid.width:
            raise ValueError(f"{self.path.name}: {window} lies outside the {self.grid.width}x{self.grid.height} grid")
        with output_errors(self.path):
            for index in range(self.bands):
                self._dataset.GetRasterBand(index + 1).WriteArray(data[index], window.col, window.row)
        self.histograms.add(data)

    def close(self) -> None:
        """Convert the intermediate to the COG at ``path`` and delete the intermediate."""
        try:
            self.convert()
        finally:
            self.release()

    def convert(self) -> None:
        """Write the COG at ``path`` from the intermediate, which stays until :meth:`close` or :meth:`abort`
        (deleting it switches GDAL's exceptions off for a moment, process-wide: not while other threads
        work with GDAL)."""
        options = ["COMPRESS=DEFLATE", f"LEVEL={self._deflate_level}", f"BLOCKSIZE={BLOCKSIZE}",
                   f"OVERVIEW_RESAMPLING={self._resampling}", "NUM_THREADS=ALL_CPUS", "BIGTIFF=IF_SAFER"]
        with output_errors(self.path):
            for index in range(self.bands):
                band = self._dataset.GetRasterBand(index + 1)
                for key, value in self.histograms.statistics(index, self.nodata).items():
                    band.SetMetadataItem(key, value)
            # FlushCache surfaces write errors (disk full) that a plain close would only print.
            self._dataset.FlushCache()
            cog = gdal.GetDriverByName("COG").CreateCopy(str(self.path), self._dataset, options=options)
            cog.FlushCache()
            cog = None
        if self._has_sidecar and not Path(f"{self.path}.aux.xml").is_file():
            raise OutputError("GDAL did not save the category names (.aux.xml)", final_path(self.path))

    def abort(self) -> None:
        """Give up: delete the intermediate (the staging folder disposes of a partial COG)."""
        self.release()

    def release(self) -> None:
        """Close and delete the intermediate."""
        if self._dataset is None:
            return
        # Closing a file whose write already failed fails again: stay quiet, the first error is reported.
        gdal.PushErrorHandler("CPLQuietErrorHandler")
        gdal.DontUseExceptions()
        try:
            self._dataset = None
            gdal.GetDriverByName("GTiff").Delete(str(self.scratch))
        finally:
            gdal.UseExceptions()
            gdal.PopErrorHandler()


def class_cog(path: str | Path, scratch: str | Path, grid: Grid, metadata: Mapping[str, str]) -> CogWriter:
    """``NAME_s2mask.tif``: one band of class values, their colours and names, nodata 0."""
    return CogWriter(path, scratch, grid, band_names=["s2mask_class"], nodata=CLASS_CODING.nodata,
                     resampling="MODE", coding=CLASS_CODING, metadata=metadata, style=paletted_style(CLASS_CODING))


def scl_cog(path: str | Path, scratch: str | Path, grid: Grid, metadata: Mapping[str, str]) -> CogWriter:
    """``NAME_s2mask_scl.tif``: the classes as Sen2Cor SCL codes (see :func:`s2mask.classes.to_scl`)."""
    return CogWriter(path, scratch, grid, band_names=["scl"], nodata=SCL_CODING.nodata, resampling="MODE",
                     coding=SCL_CODING, metadata=metadata, style=paletted_style(SCL_CODING))


def probability_cog(path: str | Path, scratch: str | Path, grid: Grid, class_values: Sequence[int],
                    metadata: Mapping[str, str]) -> CogWriter:
    """``NAME_s2mask_prob.tif``: one band per class in ``class_values`` (described by its name), 0..100 %.
    Its style shows the CLOUD band (the first band without one)."""
    # Noisy percentages barely compress better at higher DEFLATE levels (full tile: 66.8 MB at level 1,
    # 64.9 MB at 6) but take about three times longer.
    first = list(class_values).index(MaskClass.CLOUD) + 1 if MaskClass.CLOUD in class_values else 1
    return CogWriter(path, scratch, grid, band_names=[CLASS_TABLE[v].name for v in class_values],
                     nodata=PROBABILITY_NODATA, resampling="AVERAGE", metadata=metadata, unit="%",
                     deflate_level=1, style=probability_style(first))
