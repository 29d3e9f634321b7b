"""GDAL at the edge: configuration in one place, opening rasters and windowed reads with clear errors.

JPEG 2000 stores power-of-two resolution levels: asking GDAL for a window at half or quarter size
decodes only the wavelet levels needed (a 10 m band read at 20 m costs about a third of a full
decode), while any other reduction makes GDAL decode in full and resample, which on a 10980-pixel
band took minutes. :func:`read_window` therefore only accepts power-of-two levels; callers finish
other factors in numpy.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..errors import ProductFormatError, ProductIOError
from ..grid import Window

gdal.UseExceptions()

#: GDAL's block cache: enough for three rows of decoded JPEG 2000 tiles of all 13 bands (about 100 MB
#: a row at 20 m), so that a block's halo reuses the tiles its neighbours decoded instead of decoding
#: them again. Reading 3 of the 6 block rows of a full tile at 20 m with a 16 px halo took 28 CPU-s
#: with 256 MB, 25 with 512 MB, 768 MB or 1.5 GB (22 without halo); the reader then peaks at 0.8 GB.
DEFAULT_CACHE_MB = 512
#: At 10 m a block row spans twice the native rows of every band: reading 2 of the 11 block rows with
#: the halo and footprints took 33 CPU-s with 512 MB (20 without halo), 24 with 768 MB, 1 or 2 GB.
CACHE_MB_BY_RESOLUTION = {10: 768}


def cache_mb(resolution: int) -> int:
    """The GDAL block cache (MB) for streaming blocks onto the ``resolution`` grid."""
    return CACHE_MB_BY_RESOLUTION.get(resolution, DEFAULT_CACHE_MB)


@contextmanager
def gdal_config(threads: int | None = None, cache_mb: int = DEFAULT_CACHE_MB) -> Iterator[None]:
    """Set GDAL's decoder threads and block cache for the duration of a ``with`` block."""
    # (GDAL_DISABLE_READDIR_ON_OPEN would save listing a dozen files per band, but makes the ENVI
    # driver's Create fail silently inside the same block, where the DIMAP writer needs it.)
    options = {"GDAL_NUM_THREADS": str(threads) if threads else "ALL_CPUS"}
    previous = {key: gdal.GetConfigOption(key) for key in options}
    previous_cache = gdal.GetCacheMax()
    for key, value in options.items():
        gdal.SetConfigOption(key, value)
    gdal.SetCacheMax(cache_mb * 1024 * 1024)
    try:
        yield
    finally:
        for key, value in previous.items():
            gdal.SetConfigOption(key, value)
        gdal.SetCacheMax(previous_cache)


def drop_block_cache() -> None:
    """Empty GDAL's block cache, keeping its size: once every block is read, the decoded tiles it holds
    (up to 768 MB at 10 m) would only add to the memory of the whole-tile step."""
    size = gdal.GetCacheMax()
    gdal.SetCacheMax(0)
    gdal.SetCacheMax(size)


def open_raster(name: str, describe: Path) -> gdal.Dataset:
    """Open a raster read-only; failures name the file."""
    try:
        dataset = gdal.Open(name, gdal.GA_ReadOnly)
    except RuntimeError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else "unknown GDAL error"
        if not os.path.exists(name) and not name.startswith("/vsi"):
            raise ProductIOError("file is missing", describe) from err
        raise ProductIOError(f"cannot open raster ({reason})", describe) from err
    if dataset is None:
        raise ProductIOError("cannot open raster", describe)
    return dataset


def check_shape(dataset: gdal.Dataset, expected: tuple[int, int], describe: Path, what: str) -> None:
    """Refuse a raster whose size contradicts the metadata (as in cropped test products)."""
    actual = (dataset.RasterYSize, dataset.RasterXSize)
    if actual != expected:
        raise ProductFormatError(
            f"{what} is {actual[1]}x{actual[0]} pixels but the tile metadata declares {expected[1]}x{expected[0]}",
            describe)


def is_power_of_two(level: int) -> bool:
    return level >= 1 and level & (level - 1) == 0


def read_window(dataset: gdal.Dataset, window: Window, describe: Path, level: int = 1,
                band: int = 1) -> np.ndarray:
    """Read ``window`` (native pixels) of one band at resolution level ``level`` (1, 2, 4, ...).

    The window's size must be a multiple of ``level``; the result has ``window.shape // level``.
    """
    if not is_power_of_two(level) or window.height % level or window.width % level:
        raise ValueError(f"cannot read {window} at level {level}")
    try:
        data = dataset.GetRasterBand(band).ReadAsArray(
            window.col, window.row, window.width, window.height,
            buf_xsize=window.width // level, buf_ysize=window.height // level)
    except RuntimeError as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else "unknown GDAL error"
        raise ProductIOError(f"failed to decode rows {window.row}-{window.row + window.height} "
                             f"({reason}); the file may be truncated or corrupt", describe) from err
    if data is None:
        raise ProductIOError(f"failed to decode rows {window.row}-{window.row + window.height}; "
                             "the file may be truncated or corrupt", describe)
    return data
