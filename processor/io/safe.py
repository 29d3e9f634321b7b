"""Open a Sentinel-2 L1C or L2A SAFE product and read its bands as reflectance on any grid.

``open_product(path)`` accepts a ``.SAFE`` folder, its ``MTD_MSIL1C.xml``/``MTD_MSIL2A.xml`` or a zipped
SAFE. The :class:`Product` exposes the metadata under ESA's names and reads windows of any band onto
the 10, 20 or 60 m grid of the tile: float32 reflectance ``(DN + offset) / QUANTIFICATION_VALUE``,
NaN where DN is 0 (no data), saturated, or outside the band's detector footprint (decoded only where it
can add to the no-data DN: see ``Product._footprint_may_add``).
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath
from typing import Any, ClassVar

import numpy as np
from osgeo import gdal
from scipy import ndimage

from ..angles import mean_angle
from ..bands import NATIVE_RESOLUTION, RESOLUTIONS, band_index, sort_bands
from ..errors import MissingBandError, ParameterError, ProductFormatError
from ..grid import Grid, Window
from ..masking import BLOCK_ANGLES
from ..resample import coarse_window_for, downsample_mean, upsample_margin, upsample_window
from . import qi_masks
from .checksums import verify_files
from .location import PRODUCT_METADATA_NAMES, SafeLocation
from .product_mtd import ProductMetadata, read_product_metadata
from .raster import cache_mb, check_shape, open_raster, read_window
from .tile_mtd import AngleGrid, TileMetadata, read_tile_metadata
from .xmlutil import XmlDocument, parse_xml

_DILATE = np.ones((3, 3), dtype=bool)


def open_product(path: Any, mask_footprint: bool = True, check_files: bool = True,
                 use_jp2_levels: bool = True, verify: bool = False) -> Product:
    """Open a SAFE product (folder, product metadata file or zip).

    With ``check_files`` every band file the metadata lists must exist, and with ``mask_footprint`` every
    detector footprint it lists (a clear error names the first missing one); without it, metadata-only
    trees open too. ``verify`` checks every file s2mask reads against the checksums of ``manifest.safe``
    (:mod:`.checksums`; it reads them all once). ``use_jp2_levels`` reduces by two with the
    JPEG 2000 resolution level (about 3x faster); its wavelet low-pass is centred on the even pixel, so
    it differs from the exact 2x2 area mean by a quarter of the coarse pixel. Switch it off for exact
    area means.
    """
    location = SafeLocation.find(path)
    names = [n for n in ("MTD_MSIL1C.xml", "MTD_MSIL2A.xml") if location.exists(n)]
    metadata = read_product_metadata(_document(location, names[0]))
    granules = {PurePosixPath(p).parts[:2] for files in metadata.image_files.values() for p in files.values()}
    if len(granules) != 1:
        raise ProductFormatError(f"expected one granule, the product lists {len(granules)}",
                                 location.describe(names[0]))
    granule = "/".join(granules.pop())
    tile = read_tile_metadata(_document(location, f"{granule}/MTD_TL.xml"))
    product = Product(location, metadata, tile, granule, mask_footprint, use_jp2_levels)
    if verify:
        product.verify()
    elif check_files:
        product.check_files()
    return product


def _document(location: SafeLocation, relative: str) -> XmlDocument:
    source = location.describe(relative)
    if not location.exists(relative):
        raise ProductFormatError("required metadata file is missing", source)
    return XmlDocument(parse_xml(location.read_bytes(relative), source), source)


@dataclass
class Product:
    """One opened SAFE product. Reads are lazy; GDAL datasets are opened once and cached."""

    #: The input format, as ``s2mask info`` and the report name it.
    format: ClassVar[str] = "SAFE"
    location: SafeLocation
    metadata: ProductMetadata
    tile: TileMetadata
    granule: str
    mask_footprint: bool = True
    use_jp2_levels: bool = True
    _datasets: dict[str, gdal.Dataset] = field(default_factory=dict, repr=False)
    _gml: dict[str, list[qi_masks.MaskFeature]] = field(default_factory=dict, repr=False)

    # Products travel to Dask workers: GDAL handles stay behind and reopen there.
    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_datasets"], state["_gml"] = {}, {}
        return state

    def close(self) -> None:
        self._datasets.clear()

    # --- identity -------------------------------------------------------------------------------
    @property
    def product_id(self) -> str:
        return self.metadata.product_id

    @property
    def level(self) -> str:
        return self.metadata.level

    @property
    def baseline(self) -> str:
        return self.metadata.baseline

    @property
    def spacecraft(self) -> str:
        return self.metadata.spacecraft

    @property
    def sensing_time(self) -> datetime:
        return self.tile.sensing_time

    @property
    def tile_id(self) -> str:
        """The MGRS tile, e.g. ``31TCJ``."""
        return self.tile.tile_id.split("_T")[-1].split("_")[0]

    @property
    def crs_wkt(self) -> str:
        return self.tile.crs_wkt

    @property
    def epsg(self) -> int:
        return self.tile.epsg

    @property
    def bands(self) -> tuple[str, ...]:
        """The spectral bands present, in ESA's order."""
        return sort_bands(self.metadata.image_files)

    @property
    def quantification_value(self) -> float:
        return self.metadata.quantification_value

    def offset(self, band: str) -> float:
        """The additive radiometric offset of a band (0 before baseline 04.00)."""
        return self.metadata.offsets.get(band, 0.0)

    @property
    def cloud_cover(self) -> float | None:
        return self.metadata.cloud_cover

    def grid(self, resolution: int) -> Grid:
        if resolution not in self.tile.grids:
            raise ParameterError(f"resolution must be one of {RESOLUTIONS}, got {resolution}")
        return self.tile.grids[resolution]

    def band_files(self, band: str) -> dict[int, str]:
        """The relative path of every file of a band, by its resolution."""
        if band not in self.metadata.image_files:
            raise MissingBandError(f"band {band} is not part of this {self.level} product (it has "
                                   f"{', '.join(self.bands)})", self.location.display_name)
        return self.metadata.image_files[band]

    def footprint_file(self, band: str) -> str | None:
        """The detector footprint mask of ``band`` that MTD_TL.xml lists (None: it lists none)."""
        return self.tile.mask_files.get("MSK_DETFOO", {}).get(band) if self.mask_footprint else None

    def files_read(self) -> list[str]:
        """Every image file a run may read: each band's files and detector footprints (relative paths)."""
        files = [relative for band in self.bands for relative in self.band_files(band).values()]
        return files + [mask for mask in map(self.footprint_file, self.bands) if mask]

    def source_files(self) -> dict[str, dict[str, Any]]:
        """What a run's outputs are made from, for their completion record (:mod:`.record`): the metadata
        files by SHA-256, every image a run may read by its size (and CRC-32 inside a zip, which the archive
        holds anyway). Sizes and not checksums of the images: reading them all again for every check would
        cost as much as the run's own decode."""
        location = self.location
        metadata = [name for name in PRODUCT_METADATA_NAMES if location.exists(name)]
        files: dict[str, dict[str, Any]] = {
            relative: {"sha256": hashlib.sha256(location.read_bytes(relative)).hexdigest()}
            for relative in (*metadata, f"{self.granule}/MTD_TL.xml")}
        images = self.files_read()
        if location.archive is not None:
            with zipfile.ZipFile(location.archive) as archive:
                for relative in images:
                    info = archive.getinfo(location.prefix + relative)
                    files[relative] = {"bytes": info.file_size, "crc32": info.CRC}
        else:
            for relative in images:
                files[relative] = {"bytes": (location.root / relative).stat().st_size}
        return files

    def verify(self) -> int:
        """Check every file s2mask reads, the metadata included, against the checksums of ``manifest.safe``
        (:mod:`.checksums`); returns how many were checked. Only a SAFE carries such checksums."""
        if self.format != "SAFE":
            raise ParameterError(f"--verify checks the checksums of a SAFE's manifest.safe; a {self.format} product "
                                 "has none", self.location.display_name, parameters=("verify",))
        self.check_files()
        metadata = [name for name in PRODUCT_METADATA_NAMES if self.location.exists(name)]
        return verify_files(self.location, [*metadata, f"{self.granule}/MTD_TL.xml", *self.files_read()])

    def check_files(self) -> None:
        """Fail early, naming the file, when a band file or detector footprint the metadata lists is absent.

        A footprint marks where its band has no data; a run that went without it would classify as
        ground what the detectors never saw, so it is required like the band (README, "Errors")."""
        for band in self.bands:
            for relative in self.band_files(band).values():
                if not self.location.exists(relative):
                    raise MissingBandError(f"band {band} is listed in the product metadata but its file is missing",
                                           self.location.describe(relative))
            self._check_footprint(band)

    def _check_footprint(self, band: str) -> None:
        relative = self.footprint_file(band)
        if relative and not self.location.exists(relative):
            raise ProductFormatError(f"the detector footprint of {band} is listed in MTD_TL.xml but its file is "
                                     "missing", self.location.describe(relative))

    # --- reading ----------------------------------------------------------------------------------
    def _dataset(self, relative: str, resolution: int, what: str) -> gdal.Dataset:
        if relative not in self._datasets:
            describe = self.location.describe(relative)
            dataset = open_raster(self.location.gdal_path(relative), describe)
            check_shape(dataset, self.grid(resolution).shape, describe, what)
            self._datasets[relative] = dataset
        return self._datasets[relative]

    def read_cache_mb(self, resolution: int) -> int:
        """The GDAL block cache (MB) that streaming blocks onto the ``resolution`` grid needs."""
        return cache_mb(resolution)

    def source_resolution(self, band: str, resolution: int) -> int:
        """Which file of a band serves a target resolution: the coarsest one not coarser than the target
        (cheapest exact reduction), else the finest available (interpolated)."""
        available = sorted(self.band_files(band))
        finer = [r for r in available if r <= resolution]
        return finer[-1] if finer else available[0]

    def read(self, band: str, resolution: int | None = None, window: Window | None = None,
             method: str = "bilinear") -> np.ndarray:
        """Reflectance of ``band`` on ``window`` of the ``resolution`` grid (default: native, whole tile)."""
        resolution = resolution or NATIVE_RESOLUTION[band_name(band)]
        window = inside(window, self.grid(resolution))
        source = self.source_resolution(band, resolution)
        if source > resolution:
            factor = source // resolution
            coarse = coarse_window_for(window, factor, upsample_margin(method), self.grid(source).full_window)
            values = self._reflectance(band, source, coarse, level=1)
            return upsample_window(values, coarse, factor, window, method)
        factor = resolution // source
        level = 2 if factor % 2 == 0 and self.use_jp2_levels else 1
        reduced = Window(window.row * factor // level, window.col * factor // level,
                         window.height * factor // level, window.width * factor // level)
        return downsample_mean(self._reflectance(band, source, reduced, level), factor // level)

    def _reflectance(self, band: str, source: int, window: Window, level: int) -> np.ndarray:
        """Reflectance of ``window`` on the grid of the ``source`` file reduced by ``level``."""
        relative = self.band_files(band)[source]
        dataset = self._dataset(relative, source, f"band {band} ({source} m)")
        describe = self.location.describe(relative)
        reduced_grid = self.grid(10).at_resolution(source * level)
        # A reduced JPEG 2000 level mixes each pixel with its neighbours: read one more pixel around the
        # window so that the invalid area can be grown over the mixed pixels, exactly as for the whole tile.
        margin = 1 if level > 1 else 0
        outer = window.padded(margin, reduced_grid.full_window)
        native = Window(outer.row * level, outer.col * level, outer.height * level, outer.width * level)
        dn = read_window(dataset, native, describe, level)
        no_data = dn == self.metadata.nodata_value
        invalid = no_data | (dn == self.metadata.saturated_value)
        if self._footprint_may_add(band, source, level, no_data):
            invalid |= ~self._footprint(band, source, native, level)
        if margin and invalid.any():
            invalid = ndimage.binary_dilation(invalid, _DILATE)
        inner = window.relative_to(outer)
        values = dn_to_reflectance(dn[inner], self.offset(band), self.quantification_value)
        values[invalid[inner]] = np.nan
        return values

    def _footprint_may_add(self, band: str, source: int, level: int, no_data: np.ndarray) -> bool:
        """Whether the detector footprint can mark a pixel of this read that its DN does not already.

        ESA writes DN 0 (no data) wherever no detector saw the ground, so on the mask's own grid, read in
        full (level 1), the raster footprint adds nothing to a window without a no-data pixel: decoding it
        there (about 6 % of a 20 m run's CPU) is skipped. A reduced JPEG 2000 level (which blends pixels
        across the swath edge), a file of another resolution than the mask (L2A) and a GML mask (a vector
        rasterised here, whose edge need not follow the DN) keep the footprint in every window."""
        if not self.mask_footprint:
            return False
        native_raster = (level == 1 and source == NATIVE_RESOLUTION[band]
                         and not (self.footprint_file(band) or "").endswith(".gml"))
        return not native_raster or bool(no_data.any())

    def _footprint(self, band: str, source: int, native: Window, level: int) -> np.ndarray:
        """True inside the band's detector footprint, on ``native`` (pixels of the ``source`` file) read at
        ``level``. The footprint mask lives on the band's own native grid, which an L2A file of another
        resolution does not share: the mask is then reduced (a pixel is inside when all it covers is) or
        repeated onto the requested grid."""
        relative = self.footprint_file(band)
        resolution = source * level
        window = Window(native.row // level, native.col // level, native.height // level, native.width // level)
        if not relative:
            return np.ones(window.shape, dtype=bool)
        self._check_footprint(band)
        if relative.endswith(".gml"):
            if relative not in self._gml:
                self._gml[relative] = qi_masks.parse_gml_mask(self.location.read_bytes(relative),
                                                              self.location.describe(relative))
            features = self._gml[relative]
            grid = self.grid(10).at_resolution(resolution)
            return qi_masks.rasterize(features, [f.detector for f in features], grid, window) > 0
        mask_resolution = NATIVE_RESOLUTION[band]
        dataset = self._dataset(relative, mask_resolution, f"detector footprint of {band}")
        describe = self.location.describe(relative)
        if resolution < mask_resolution:
            factor = mask_resolution // resolution
            coarse = coarse_window_for(window, factor, 0, self.grid(mask_resolution).full_window)
            inside = read_window(dataset, coarse, describe) > 0
            shifted = Window(window.row - coarse.row * factor, window.col - coarse.col * factor,
                             window.height, window.width)
            return nearest_on_grid(inside, factor, shifted)
        factor = resolution // mask_resolution
        mask_level = 2 if factor % 2 == 0 else 1
        scaled = Window(window.row * factor, window.col * factor, window.height * factor, window.width * factor)
        inside = read_window(dataset, scaled, describe, mask_level) > 0
        return downsample_mean(inside.astype(np.float32), factor // mask_level) == 1

    def detector_footprint(self, band: str, window: Window | None = None) -> np.ndarray:
        """Detector index (0 outside every footprint) of a band on its native grid."""
        source = NATIVE_RESOLUTION[band]
        window = window or self.grid(source).full_window
        relative = self.tile.mask_files.get("MSK_DETFOO", {}).get(band)
        if not relative:
            raise ProductFormatError(f"the tile metadata lists no detector footprint for {band}",
                                     self.location.display_name)
        if relative.endswith(".gml"):
            features = qi_masks.parse_gml_mask(self.location.read_bytes(relative), self.location.describe(relative))
            return qi_masks.rasterize(features, [f.detector for f in features], self.grid(source), window)
        dataset = self._dataset(relative, source, f"detector footprint of {band}")
        return read_window(dataset, window, self.location.describe(relative)).astype(np.uint8)

    def l1c_cloud_mask(self, resolution: int = 60, window: Window | None = None) -> np.ndarray:
        """ESA's L1C cloud mask as uint8 flags (1 opaque cloud, 2 cirrus, 4 snow) on a window of the
        ``resolution`` grid: ``MSK_CLASSI_B00.jp2`` from baseline 04.00, ``MSK_CLOUDS_B00.gml`` before."""
        masks = self.tile.mask_files
        window = window or self.grid(resolution).full_window
        if "MSK_CLASSI" in masks:
            flags = self._cloud_flags(masks["MSK_CLASSI"][""])
            return nearest_on_grid(flags, 60 // resolution if resolution < 60 else 1, window)
        if "MSK_CLOUDS" in masks:
            relative = masks["MSK_CLOUDS"][""]
            features = qi_masks.parse_gml_mask(self.location.read_bytes(relative), self.location.describe(relative))
            values = [qi_masks.CLOUD_MASK_VALUES.get(f.mask_type, 0) for f in features]
            return qi_masks.rasterize(features, values, self.grid(resolution), window)
        raise ProductFormatError("the tile metadata lists no L1C cloud mask (MSK_CLASSI or MSK_CLOUDS)",
                                 self.location.display_name)

    def _cloud_flags(self, relative: str) -> np.ndarray:
        """The flags of ``MSK_CLASSI_B00`` on the whole 60 m grid: one layer per flag in the file."""
        dataset = self._dataset(relative, 60, "MSK_CLASSI")
        describe = self.location.describe(relative)
        flags = np.zeros(self.grid(60).shape, dtype=np.uint8)
        for index in range(min(3, dataset.RasterCount)):
            layer = read_window(dataset, self.grid(60).full_window, describe, band=index + 1)
            flags |= (layer > 0).astype(np.uint8) << index
        return flags

    # --- angles -----------------------------------------------------------------------------------
    def sun_angles(self, resolution: int, window: Window | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Sun zenith and azimuth (degrees) interpolated from the 5 km grids to pixel centres."""
        angles = self.angles(resolution, window, ("sun_zenith", "sun_azimuth"))
        return angles["sun_zenith"], angles["sun_azimuth"]

    def view_angles(self, band: str, resolution: int, window: Window | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Viewing zenith and azimuth of a band (merged over detectors) at pixel centres."""
        if band not in self.tile.view_zenith:
            raise MissingBandError(f"the tile metadata has no viewing angles for {band}", self.location.display_name)
        grid = self.grid(resolution)
        window = window or grid.full_window
        return (angle_on_grid(self.tile.view_zenith[band], grid, window),
                angle_on_grid(self.tile.view_azimuth[band], grid, window, circular=True))

    def angles(self, resolution: int, window: Window | None = None,
               names: tuple[str, ...] = BLOCK_ANGLES) -> dict[str, np.ndarray]:
        """The angles of ``names`` (sun and view zenith/azimuth, degrees) at the centres of a window's
        pixels; view angles of B8A, the band the masks are resampled around, or of the first band with
        angle grids."""
        grid = self.grid(resolution)
        window = window or grid.full_window
        grids = {"sun_zenith": self.tile.sun_zenith, "sun_azimuth": self.tile.sun_azimuth}
        if any(name.startswith("view_") for name in names):
            band = "B8A" if "B8A" in self.tile.view_zenith else next(iter(self.tile.view_zenith), None)
            if band is None:
                raise MissingBandError("the tile metadata has no viewing angles", self.location.display_name)
            grids.update(view_zenith=self.tile.view_zenith[band], view_azimuth=self.tile.view_azimuth[band])
        return {name: angle_on_grid(grids[name], grid, window, circular=name.endswith("azimuth")) for name in names}

    @property
    def mean_sun_angles(self) -> tuple[float, float]:
        return self.tile.mean_sun_zenith, self.tile.mean_sun_azimuth

    def mean_view_angles(self) -> tuple[float, float]:
        """Mean viewing zenith and azimuth over the bands."""
        zenith = self.tile.mean_view_zenith
        azimuth = self.tile.mean_view_azimuth
        if not zenith:
            return float("nan"), float("nan")
        return mean_angle(list(zenith.values())), mean_angle(list(azimuth.values()), circular=True)


def band_name(band: Any) -> str:
    """``band`` when it names a Sentinel-2 band, else a :class:`ParameterError` listing the names."""
    if not isinstance(band, str):
        raise ParameterError(f"a band is named by a string like 'B8A', got {band!r}")
    band_index(band)
    return band


def inside(window: Window | None, grid: Grid) -> Window:
    """``window`` (default: the whole grid) when it lies inside ``grid``, else a :class:`ParameterError`."""
    if window is None:
        return grid.full_window
    if not isinstance(window, Window):
        raise ParameterError(f"window must be a s2mask.grid.Window, got {type(window).__name__}")
    full = grid.full_window
    if window.height <= 0 or window.width <= 0 or window.row < 0 or window.col < 0 \
            or window.row + window.height > full.height or window.col + window.width > full.width:
        raise ParameterError(f"window {window} does not lie inside the {grid.resolution:g} m grid "
                             f"({full.width} x {full.height} pixels)")
    return window


def dn_to_reflectance(dn: np.ndarray, offset: float, quantification_value: float, nodata: int | None = None,
                      saturated: int | None = None) -> np.ndarray:
    """ESA's conversion ``(DN + offset) / QUANTIFICATION_VALUE`` as float32; ``nodata`` and ``saturated``
    DN, when given, become NaN."""
    values = dn.astype(np.float32)
    values += np.float32(offset)
    values /= np.float32(quantification_value)
    if nodata is not None:
        values[dn == nodata] = np.nan
    if saturated is not None:
        values[dn == saturated] = np.nan
    return values


def nearest_on_grid(coarse: np.ndarray, factor: int, window: Window) -> np.ndarray:
    """Nearest-neighbour values of a whole coarse grid on a window of the grid ``factor`` times finer."""
    return coarse[window.row // factor:(window.row + window.height - 1) // factor + 1,
                  window.col // factor:(window.col + window.width - 1) // factor + 1].repeat(
        factor, axis=0).repeat(factor, axis=1)[window.row % factor:window.row % factor + window.height,
                                                 window.col % factor:window.col % factor + window.width]


def _fill_nan_nearest(values: np.ndarray) -> np.ndarray:
    missing = ~np.isfinite(values)
    if not missing.any() or missing.all():
        return values
    _, (rows, cols) = ndimage.distance_transform_edt(missing, return_indices=True)
    return values[rows, cols]


def linear_weights(positions: np.ndarray, size: int) -> np.ndarray:
    """(len(positions), size) weights of linear interpolation at fractional ``positions`` of nodes
    ``0..size-1``, positions outside clamped to the edge nodes."""
    clamped = np.clip(positions, 0, size - 1)
    below = np.minimum(np.floor(clamped).astype(np.intp), max(size - 2, 0))
    fraction = clamped - below
    weights = np.zeros((positions.size, size), dtype=np.float32)
    rows = np.arange(positions.size)
    weights[rows, below] = 1 - fraction
    if size > 1:
        weights[rows, below + 1] += fraction
    return weights


def angle_on_grid(angles: AngleGrid, grid: Grid, window: Window, circular: bool = False) -> np.ndarray:
    """Bilinear interpolation of a 5 km angle grid (first node at the tile's upper-left corner) at the
    centres of ``window``'s pixels; azimuths are interpolated as unit vectors to survive 0/360."""
    filled = _fill_nan_nearest(angles.values.astype(np.float32))
    rows = (np.arange(window.row, window.row + window.height) + 0.5) * grid.resolution / angles.step
    cols = (np.arange(window.col, window.col + window.width) + 0.5) * grid.resolution / angles.step
    # Bilinear interpolation on a regular grid is separable: (rows x nodes) @ nodes @ (nodes x cols),
    # two matrix products instead of gathering four nodes for every pixel.
    row_weights, col_weights = linear_weights(rows, filled.shape[0]), linear_weights(cols, filled.shape[1]).T

    def sample(field_values: np.ndarray) -> np.ndarray:
        return row_weights @ field_values @ col_weights

    if not circular:
        return sample(filled)
    radians = np.deg2rad(filled)
    return np.rad2deg(np.arctan2(sample(np.sin(radians)), sample(np.cos(radians)))) % np.float32(360)
