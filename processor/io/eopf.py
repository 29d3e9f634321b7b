"""Open a Sentinel-2 EOPF Zarr product (``S02MSIL1C``/``S02MSIL2A``), ESA's successor of SAFE.

The product is read through GDAL's own Zarr driver (:mod:`s2mask.io.zarrstore`): a ``.zarr`` folder,
a zipped ``.zarr`` or a URL GDAL can reach. Its groups map one to one onto what the SAFE reader gets
from the product and tile metadata, so an :class:`EopfProduct` is a :class:`~s2mask.io.safe.Product`
whose files are arrays, and reads, NaN rules, footprints and angles are the SAFE reader's own:

================================================  ==============================================
EOPF                                              SAFE
================================================  ==============================================
``measurements/reflectance/r10m|r20m|r60m/bXX``   ``IMG_DATA`` band files (L2A: ``R10m`` ...)
``scale_factor``, ``add_offset`` of each band     ``QUANTIFICATION_VALUE``, ``*_ADD_OFFSET``
                                                  (:mod:`s2mask.io.radiometry`)
``proj:epsg``, ``proj:transform``, shapes         ``Tile_Geocoding``
``conditions/geometry``                           ``Tile_Angles`` (5 km grids from the corner)
``conditions/mask/detector_footprint/rXXm/bXX``   ``MSK_DETFOO_Bxx``
``conditions/mask/l1c_classification/r60m/b00``   ``MSK_CLASSI_B00`` (flags 1, 2, 4 as bits)
``conditions/mask/l2a_classification/rXXm/scl``   ``SCL_20m``/``SCL_60m``
root attributes ``stac_discovery``,               ``MTD_MSIL1C.xml``/``MTD_MSIL2A.xml``
``other_metadata``
================================================  ==============================================

Zarr chunks have no reduced resolution levels: 10 m bands read at 20 m are decoded in full and
averaged exactly (SAFE's ``--exact-downsampling``).
"""

from __future__ import annotations

import hashlib
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from osgeo import gdal, osr

from ..bands import ALL_BANDS, NATIVE_RESOLUTION, band_from_file_id
from ..errors import ProductFormatError
from ..grid import Grid
from .product_mtd import ProductMetadata, parse_time
from .radiometry import PixelSource, scaling
from .raster import read_window
from .safe import Product
from .stac_item import read_bytes, spacecraft_name
from .tile_mtd import AngleGrid, TileMetadata
from .zarrstore import ROOT_MARKERS, ZarrLocation, find_store

REFLECTANCE = "measurements/reflectance"
GEOMETRY = "conditions/geometry"
MASKS = "conditions/mask"
PRODUCT_TYPES = {"S02MSIL1C": "L1C", "S02MSIL2A": "L2A"}
_BAND_ARRAY = re.compile(r"^b(\d{2}|8a)$")
_BASELINE = re.compile(r"_N(\d{2})(\d{2})_")


class EopfProduct(Product):
    """One opened EOPF Zarr product; see the module docstring for what maps onto what."""

    format: ClassVar[str] = "EOPF Zarr"

    def read_cache_mb(self, resolution: int) -> int:
        """Enough block cache for one row of chunks of every band read at ``resolution`` (and its footprint),
        plus a quarter: blocks stream row by row, each band's chunks must survive until the next block has
        read them. ESA's L2A chunks are 5490 px (a whole 20 m band is one chunk, 60 MB decoded): with the
        SAFE's 512 MB the cache would evict chunks every block and decode each band many times over."""
        paths = [self.band_files(band)[self.source_resolution(band, resolution)] for band in self.bands]
        paths += list(self.tile.mask_files.get("MSK_DETFOO", {}).values()) if self.mask_footprint else []
        needed = sum(self.location.chunk_row_bytes(path) for path in paths) * 5 // 4 // 2**20
        return max(super().read_cache_mb(resolution), needed)

    def source_files(self) -> dict[str, dict[str, Any]]:
        """The store's root metadata by SHA-256 and, in a store on local disk, each array read by the count
        and bytes of its chunk files (a zipped or remote store: the metadata only)."""
        root = self.location.root
        files = {marker: {"sha256": hashlib.sha256(read_bytes(f"{root}/{marker}")).hexdigest()}
                 for marker in ROOT_MARKERS if gdal.VSIStatL(f"{root}/{marker}") is not None}
        if Path(root).is_dir():
            for relative in self.files_read():
                chunks = [path.stat().st_size for path in (Path(root) / relative).rglob("*") if path.is_file()]
                files[relative] = {"chunks": len(chunks), "bytes": sum(chunks)}
        return files

    def _cloud_flags(self, relative: str) -> np.ndarray:
        """``l1c_classification/r60m/b00`` already holds the flags as bits (OPAQUE 1, CIRRUS 2, SNOW_ICE 4)."""
        dataset = self._dataset(relative, 60, "l1c_classification")
        return read_window(dataset, self.grid(60).full_window, self.location.describe(relative)) & np.uint8(7)


def open_eopf(path: Any, mask_footprint: bool = True, check_files: bool = True) -> EopfProduct:
    """Open an EOPF Zarr product: a ``.zarr`` folder, a zip file holding one, or a URL."""
    location = ZarrLocation(find_store(path), str(path))
    root = location.attributes()
    discovery = _mapping(root.get("stac_discovery"), "the root attribute stac_discovery", location)
    properties = _mapping(discovery.get("properties"), "stac_discovery.properties", location)
    other = root.get("other_metadata") or {}
    product_type = properties.get("product:type")
    if product_type not in PRODUCT_TYPES:
        raise ProductFormatError(f"product:type {product_type!r} is not a Sentinel-2 L1C or L2A product "
                                 f"({', '.join(PRODUCT_TYPES)})", location.display_name)
    level = PRODUCT_TYPES[product_type]
    baseline = _baseline(properties, discovery, location)
    image_files = _band_arrays(location)
    if not image_files:
        raise ProductFormatError(f"no band arrays under {REFLECTANCE}", location.display_name)
    offsets, quantification = _radiometry(location, image_files, baseline)
    grids, epsg, wkt = _grids(location, image_files)
    metadata = ProductMetadata(
        product_uri=str(discovery.get("id") or location.display_name),
        level=level,
        product_type=product_type,
        baseline=baseline,
        spacecraft=spacecraft_name(properties.get("platform")),
        start_time=parse_time(_required(properties, "start_datetime", location)),
        generation_time=parse_time(properties["created"]) if properties.get("created") else None,
        relative_orbit=properties.get("sat:relative_orbit"),
        orbit_direction=str(properties.get("sat:orbit_state", "")).upper() or None,
        quantification_value=quantification,
        offsets=offsets,
        nodata_value=0,
        saturated_value=65535,
        cloud_cover=properties.get("eo:cloud_cover"),
        reflectance_conversion=None,
        solar_irradiance={},
        image_files=image_files,
        auxiliary_files=_scene_classification(location),
    )
    sun_zenith, sun_azimuth, view_zenith, view_azimuth, means = _angles(location, grids[10], set(image_files))
    tile = TileMetadata(
        tile_id=str(other.get("UTM_zone_identification") or metadata.product_id),
        sensing_time=parse_time(other.get("mean_sensing_time") or properties["start_datetime"]),
        epsg=epsg, crs_wkt=wkt, grids=grids,
        sun_zenith=sun_zenith, sun_azimuth=sun_azimuth,
        mean_sun_zenith=means["sun"][0], mean_sun_azimuth=means["sun"][1],
        view_zenith=view_zenith, view_azimuth=view_azimuth,
        mean_view_zenith={band: pair[0] for band, pair in means["view"].items()},
        mean_view_azimuth={band: pair[1] for band, pair in means["view"].items()},
        mask_files=_mask_files(location),
        cloudy_pixel_percentage=properties.get("eo:cloud_cover"),
    )
    product = EopfProduct(location, metadata, tile, "", mask_footprint, use_jp2_levels=False)
    if check_files:
        product.check_files()
    return product


def _mapping(value: Any, what: str, location: ZarrLocation) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ProductFormatError(f"{what} is missing: not an EOPF product", location.display_name)
    return value


def _required(properties: Mapping[str, Any], key: str, location: ZarrLocation) -> Any:
    if properties.get(key) in (None, "", "null"):
        raise ProductFormatError(f"stac_discovery.properties lacks {key}", location.display_name)
    return properties[key]


def _baseline(properties: Mapping[str, Any], discovery: Mapping[str, Any], location: ZarrLocation) -> str:
    baseline = properties.get("eopf:baseline") or properties.get("processing:version")
    if not baseline:
        match = _BASELINE.search(str(discovery.get("id", "")))
        baseline = f"{match.group(1)}.{match.group(2)}" if match else None
    if not baseline:
        raise ProductFormatError("no processing baseline (eopf:baseline) in stac_discovery", location.display_name)
    return str(baseline)


def band_of(name: str) -> str | None:
    """The band of an EOPF array name (``b02`` -> ``B2``, ``b8a`` -> ``B8A``), None for other arrays."""
    return band_from_file_id(name) if _BAND_ARRAY.match(name) and name != "b00" else None


def _band_arrays(location: ZarrLocation) -> dict[str, dict[int, str]]:
    files: dict[str, dict[int, str]] = {}
    for resolution in (10, 20, 60):
        group = f"{REFLECTANCE}/r{resolution}m"
        for name in location.children(group):
            band = band_of(name)
            if band is not None:
                files.setdefault(band, {})[resolution] = f"{group}/{name}"
    return files


def _radiometry(location: ZarrLocation, image_files: dict[str, dict[int, str]],
                baseline: str) -> tuple[dict[str, float], float]:
    """Each band's offset and the product's quantification from the arrays' scale_factor/add_offset."""
    offsets: dict[str, float] = {}
    quantifications: set[float] = set()
    for band, files in image_files.items():
        for relative in files.values():
            scale, offset = location.scale_offset(relative)
            rule = scaling(PixelSource.EOPF, location.describe(relative), baseline=baseline, scale=scale,
                           offset=offset)
            if offsets.setdefault(band, rule.offset) != rule.offset:
                raise ProductFormatError(f"the arrays of {band} declare different add_offset values",
                                         location.display_name)
            quantifications.add(rule.quantification)
    if len(quantifications) != 1:
        raise ProductFormatError(f"the bands declare different scale_factor values ({sorted(quantifications)})",
                                 location.display_name)
    return offsets, quantifications.pop()


def _grids(location: ZarrLocation, image_files: dict[str, dict[int, str]]) -> tuple[dict[int, Grid], int, str]:
    """The tile's grids from the ``proj:`` attributes and shapes of one band array per resolution."""
    grids: dict[int, Grid] = {}
    epsg = None
    for band in ALL_BANDS:
        for resolution, relative in image_files.get(band, {}).items():
            if resolution in grids:
                continue
            attributes = location.attributes(relative)
            transform = attributes.get("proj:transform")
            shape = attributes.get("proj:shape")
            if not transform or not shape or attributes.get("proj:epsg") is None:
                raise ProductFormatError("lacks proj:transform, proj:shape or proj:epsg", location.describe(relative))
            if float(transform[0]) != resolution or float(transform[4]) != -resolution:
                raise ProductFormatError(f"proj:transform {list(transform)} is not a north-up {resolution} m grid",
                                         location.describe(relative))
            epsg = int(attributes["proj:epsg"])
            reference = osr.SpatialReference()
            if reference.ImportFromEPSG(epsg) != 0:
                raise ProductFormatError(f"unknown CRS EPSG:{epsg}", location.describe(relative))
            grids[resolution] = Grid(reference.ExportToWkt(), float(transform[2]), float(transform[5]),
                                     float(resolution), int(shape[1]), int(shape[0]), epsg)
    missing = {10, 20, 60} - set(grids)
    if missing:
        raise ProductFormatError(f"no band arrays on the {sorted(missing)} m grids", location.display_name)
    return grids, epsg, grids[10].crs_wkt


def _scene_classification(location: ZarrLocation) -> dict[str, dict[int, str]]:
    found = {resolution: f"{MASKS}/l2a_classification/r{resolution}m/scl" for resolution in (20, 60)}
    found = {resolution: path for resolution, path in found.items() if location.exists(path)}
    return {"SCL": found} if found else {}


def _mask_files(location: ZarrLocation) -> dict[str, dict[str, str]]:
    """The masks under SAFE's names, so that the SAFE reader's footprint and cloud-mask code applies."""
    footprints = {}
    for resolution in (10, 20, 60):
        group = f"{MASKS}/detector_footprint/r{resolution}m"
        for name in location.children(group):
            band = band_of(name)
            if band is not None and NATIVE_RESOLUTION[band] == resolution:
                footprints[band] = f"{group}/{name}"
    masks = {"MSK_DETFOO": footprints} if footprints else {}
    classification = f"{MASKS}/l1c_classification/r60m/b00"
    if location.exists(classification):
        masks["MSK_CLASSI"] = {"": classification}
    return masks


def _labels(location: ZarrLocation, name: str, default: list[str]) -> list[str]:
    path = f"{GEOMETRY}/{name}"
    return [str(label).lower() for label in location.read(path)] if location.exists(path) else default


def _angles(location: ZarrLocation, grid: Grid, present: set[str]) -> tuple[
        AngleGrid, AngleGrid, dict[str, AngleGrid], dict[str, AngleGrid], dict[str, Any]]:
    """Sun and view angle grids of the ``present`` bands (view merged over detectors as the SAFE reader
    merges them; an L2A's B10, which SAFE's MTD_TL leaves out, is left out too) and the mean angles. The
    nodes must start at the tile's upper-left corner, as MTD_TL's do."""
    kinds = _labels(location, "angle", ["zenith", "azimuth"])
    zenith, azimuth = kinds.index("zenith"), kinds.index("azimuth")
    columns, rows = location.read(f"{GEOMETRY}/x"), location.read(f"{GEOMETRY}/y")
    step = float(columns[1] - columns[0])
    if (float(columns[0]), float(rows[0])) != (grid.x0, grid.y0) or float(rows[0] - rows[1]) != step:
        raise ProductFormatError(f"the angle grids start at ({columns[0]}, {rows[0]}) with steps "
                                 f"{step}/{rows[0] - rows[1]}; expected square nodes from the tile corner "
                                 f"({grid.x0:g}, {grid.y0:g})", location.describe(GEOMETRY))
    sun = location.read(f"{GEOMETRY}/sun_angles").astype(np.float32)
    views = location.read(f"{GEOMETRY}/viewing_incidence_angles").astype(np.float32)
    bands = [band if band in present else None for band in map(band_of, _labels(location, "band", []))]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # nodes no detector sees are NaN in every layer
        merged = np.nanmean(views, axis=1)
    view_zenith = {band: AngleGrid(merged[i, zenith], step) for i, band in enumerate(bands) if band}
    view_azimuth = {band: AngleGrid(merged[i, azimuth], step) for i, band in enumerate(bands) if band}
    mean_sun = location.read(f"{GEOMETRY}/mean_sun_angles")
    mean_view = location.read(f"{GEOMETRY}/mean_viewing_incidence_angles")
    means = {"sun": (float(mean_sun[zenith]), float(mean_sun[azimuth])),
             "view": {band: (float(mean_view[i, zenith]), float(mean_view[i, azimuth]))
                      for i, band in enumerate(bands) if band and np.isfinite(mean_view[i]).all()}}
    return (AngleGrid(sun[zenith], step), AngleGrid(sun[azimuth], step), view_zenith, view_azimuth, means)

