"""A SNAP source product seen the way ``s2mask run`` sees a SAFE product: bands read onto the mask grid.

SNAP's Sentinel-2 reader keeps every band on its own native grid (a multi-size product); S2Resampling
puts them all on one. :class:`GridSource` reads windows of either through a ``fetch(raster, window)``
callable (the GPF adapter's ``getSourceTile``) and brings them onto the mask grid with the very
functions :meth:`s2mask.io.safe.Product.read` uses: the exact area mean to go coarser, interpolation at
pixel centres to go finer. The angle bands of the reader are MTD_TL's 5 km node grids copied one to one
(optical-toolbox ``Sentinel2OrthoProductReader.addAnglesBands``), so they are interpolated like the
grids ``s2mask run`` reads; resampled angle bands are read as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..angles import mean_angle
from ..bands import ALL_BANDS, BANDS_10M
from ..errors import MissingBandError, ParameterError, ProductFormatError
from ..grid import Grid, Window
from ..io.safe import angle_on_grid
from ..io.tile_mtd import AngleGrid
from ..masking import BLOCK_ANGLES
from ..resample import coarse_window_for, downsample_mean, upsample_margin, upsample_window

Fetch = Callable[[str, Window], np.ndarray]
#: Angle bands of SNAP's Sentinel-2 reader, by what the masker's illumination inputs call them.
SUN_BANDS = {"sun_zenith": "sun_zenith", "sun_azimuth": "sun_azimuth"}
#: The pipeline takes the viewing angles of B8A; the reader's mean over bands stands in without them.
VIEW_BANDS = (("view_zenith_B8A", "view_azimuth_B8A"), ("view_zenith_mean", "view_azimuth_mean"))
_AZIMUTHS = ("sun_azimuth", "view_azimuth")
#: Every angle band the source may offer to :class:`GridSource`.
ANGLE_BANDS: tuple[str, ...] = (*SUN_BANDS.values(), *(name for pair in VIEW_BANDS for name in pair))


@dataclass(frozen=True)
class Raster:
    """One raster of the source product: pixel size (metres), shape and upper-left corner (model units)."""

    name: str
    resolution: float
    width: int
    height: int
    x0: float = 0.0
    y0: float = 0.0

    @property
    def full_window(self) -> Window:
        return Window(0, 0, self.height, self.width)


def level_of(product_type: str) -> str:
    """"L1C" or "L2A" from the product type SNAP's reader sets (``S2_MSI_Level-1C``, ``S2_MSI_Level-2A``)."""
    text = product_type.upper().replace("-", "")
    for level, marks in (("L1C", ("LEVEL1C", "L1C")), ("L2A", ("LEVEL2A", "L2A"))):
        if any(mark in text for mark in marks):
            return level
    raise ProductFormatError(f"product type {product_type!r} is neither a Sentinel-2 L1C nor an L2A product")


class GridSource:
    """The spectral and angle bands of one SNAP product, read onto the 10/20/60 m mask grid.

    ``rasters`` describes every band the product has (by name); ``fetch(name, window)`` returns the
    float32 values (NaN invalid) of a window of that raster's own grid, inside the raster.
    """

    def __init__(self, level: str, rasters: Mapping[str, Raster], fetch: Fetch):
        self.level = level
        self.rasters = dict(rasters)
        self.fetch = fetch
        self.bands = tuple(band for band in ALL_BANDS if band in self.rasters)
        if not self.bands:
            raise MissingBandError("the source product has no Sentinel-2 band (B1 ... B12, B8A)")
        self._node_grids: dict[str, AngleGrid] = {}

    def resolution_of(self, name: str) -> int:
        resolution = self.rasters[name].resolution
        if round(resolution) not in (10, 20, 60) or abs(resolution - round(resolution)) > 1e-6:
            raise ProductFormatError(f"band {name} has {resolution:g} m pixels; expected 10, 20 or 60 m")
        return int(round(resolution))

    def grid(self, resolution: int) -> Grid:
        """The mask grid at ``resolution``: the extent of the finest band divided into those pixels."""
        finest = min(self.bands, key=lambda band: self.rasters[band].resolution)
        raster = self.rasters[finest]
        # The CRS stays with SNAP's geocoding: the pipeline's functions use only the shape and pixel size.
        base = Grid("", raster.x0, raster.y0, float(self.resolution_of(finest)), raster.width, raster.height)
        return base.at_resolution(resolution)

    @property
    def at_native_resolutions(self) -> bool:
        """True when the bands keep their own grids (SNAP's reader) rather than one common grid."""
        return len({self.rasters[band].resolution for band in self.bands}) > 1

    def require_native_grids(self) -> None:
        """Super-resolution needs the 20 m and 60 m bands as measured, not already interpolated."""
        sharpened = [band for band in self.bands if band not in BANDS_10M and self.resolution_of(band) == 10]
        if sharpened or not self.at_native_resolutions:
            raise ParameterError("super-resolution needs the bands on their native 10/20/60 m grids: give S2Mask "
                                 "the product of SNAP's Sentinel-2 reader, without S2Resampling before it")

    def read(self, band: str, resolution: int, window: Window, method: str = "bilinear") -> np.ndarray:
        """Reflectance of ``band`` on ``window`` of the ``resolution`` grid, as ``Product.read`` gives it."""
        if band not in self.rasters:
            raise MissingBandError(f"the source product has no band {band}")
        native = self.resolution_of(band)
        limit = self.rasters[band].full_window
        if native > resolution:
            factor = native // resolution
            coarse = coarse_window_for(window, factor, upsample_margin(method), limit)
            return upsample_window(self.fetch(band, coarse), coarse, factor, window, method)
        factor = resolution // native
        fine = Window(window.row * factor, window.col * factor, window.height * factor, window.width * factor)
        return downsample_mean(self.fetch(band, fine), factor)

    def angles(self, resolution: int, window: Window, names: tuple[str, ...] = BLOCK_ANGLES) -> dict[str, np.ndarray]:
        """The angles of ``names`` (sun and view zenith/azimuth, degrees) at the centres of ``window``'s pixels."""
        bands = self._angle_names()
        return {key: self._angle(bands[key], key in _AZIMUTHS, resolution, window) for key in names}

    def _angle(self, name: str, circular: bool, resolution: int, window: Window) -> np.ndarray:
        raster = self.rasters[name]
        if abs(raster.resolution - resolution) < 1e-6:
            return np.asarray(self.fetch(name, window), dtype=np.float32)
        if name not in self._node_grids:
            self._node_grids[name] = AngleGrid(np.asarray(self.fetch(name, raster.full_window), np.float32),
                                               raster.resolution)
        return angle_on_grid(self._node_grids[name], self.grid(resolution), window, circular=circular)

    def mean_angles(self) -> tuple[float, float, float, float]:
        """Means of the sun and view angle bands over the product (azimuths as unit vectors): the tile
        geometry when the product carries no ``Tile_Angles`` metadata."""
        means = []
        for key, name in self._angle_names().items():
            data = np.asarray(self.fetch(name, self.rasters[name].full_window), dtype=np.float64)
            means.append(mean_angle(data[np.isfinite(data)], key in _AZIMUTHS))
        return tuple(means)

    def _angle_names(self) -> dict[str, str]:
        """The angle band read for each illumination input."""
        view = next((pair for pair in VIEW_BANDS if all(name in self.rasters for name in pair)), None)
        if view is None or not all(name in self.rasters for name in SUN_BANDS):
            raise MissingBandError("the source product lacks the angle bands sun_zenith, sun_azimuth and "
                                   "view_zenith_B8A/view_azimuth_B8A (or view_zenith_mean/view_azimuth_mean)")
        return {**SUN_BANDS, "view_zenith": view[0], "view_azimuth": view[1]}
