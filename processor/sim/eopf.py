"""Write a synthetic :class:`~s2mask.sim.scene.Scene` as an EOPF Zarr product (``S02MSIL1C``/``S02MSIL2A``).

The layout follows the real products of ESA's EOPF sample service kept in
``shared/data/metadata/eopf_zarr`` (baseline 05.11, Zarr format 2): ``measurements/reflectance/r10m|r20m|
r60m/bXX`` as uint16 with ``scale_factor``/``add_offset`` and ``proj:`` attributes, chunked as ESA
chunks them (L1C six chunks a side; L2A two at 10 m, one at 20 m and 60 m), blosc/zstd compressed;
``conditions/geometry`` with the 5 km sun and per-detector viewing angle grids; ``conditions/mask`` with
the detector footprints, the L1C cloud mask and, for L2A, the scene classification; the product's STAC
item in the root attribute ``stac_discovery``. The quality and meteorology groups, which s2mask does
not read, are left out. The numbers are those the SAFE writer stores (:mod:`s2mask.sim.product`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import osr

from ..bands import ALL_BANDS, NATIVE_RESOLUTION, file_band_id
from . import product as content
from . import zarr_store
from .product import ProductDescription
from .safe import write_truth, zip_product
from .scene import Scene

BLOSC = {"id": "blosc", "cname": "zstd", "clevel": 3, "shuffle": 2, "blocksize": 0}
#: Chunks per side of the reflectance arrays of each resolution group, as in ESA's products (L1C 1830/915/
#: 305 px, L2A 5490 px or whole); masks are chunked like L1C's bands in L1C and whole in L2A.
CHUNKS_PER_SIDE = {"L1C": {10: 6, 20: 6, 60: 6}, "L2A": {10: 2, 20: 1, 60: 1}}
MASK_CHUNKS_PER_SIDE = {"L1C": 6, "L2A": 1}
L1C_FLAGS = {"flag_masks": [1, 2, 4], "flag_meanings": ["OPAQUE", "CIRRUS", "SNOW_ICE"]}


def eopf_name(band: str) -> str:
    """EOPF's array name of a band: ``B8A`` -> ``b8a``, ``B2`` -> ``b02``."""
    return file_band_id(band).lower()


def _array(shape: tuple[int, ...], dtype: str, attributes: dict[str, Any], dims: tuple[str, ...],
           chunks: tuple[int, ...] | None = None, fill_value: Any = None) -> dict[str, Any]:
    return {"zarr_format": 2, "shape": list(shape), "chunks": list(chunks or shape), "dtype": dtype,
            "compressor": BLOSC, "fill_value": fill_value, "order": "C", "filters": None,
            "dimension_separator": ".",
            "attributes": {"_ARRAY_DIMENSIONS": list(dims), **attributes}}


def _group(members: dict[str, Any], attributes: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"zarr_format": 2, "attributes": attributes or {}, "members": members}


def _raster(desc: ProductDescription, resolution: int, dtype: str, attributes: dict[str, Any],
            fill_value: Any = None, typed: bool = True, per_side: int | None = None) -> dict[str, Any]:
    """A 2-D array on the ``resolution`` grid of the tile, with EOPF's ``proj:`` attributes (and its dtype
    as an attribute where ESA writes one: not on the scene classification)."""
    rows, cols = (size * 10 // resolution for size in desc.shape_10m)
    per_side = per_side or CHUNKS_PER_SIDE[desc.level][resolution]
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(desc.epsg)
    proj = {"proj:bbox": [desc.ulx, desc.uly - rows * resolution, desc.ulx + cols * resolution, desc.uly],
            "proj:epsg": desc.epsg, "proj:shape": [rows, cols],
            "proj:transform": [float(resolution), 0.0, desc.ulx, 0.0, -float(resolution), desc.uly, 0.0, 0.0, 1.0],
            "proj:wkt2": reference.ExportToWkt(), **({"dtype": dtype} if typed else {})}
    return _array((rows, cols), dtype, {**proj, **attributes}, ("y", "x"),
                  (-(-rows // per_side), -(-cols // per_side)), fill_value)


def _resolution_groups(arrays: dict[tuple[int, str], dict[str, Any]]) -> dict[str, Any]:
    """``{"r10m": group, ...}`` of arrays keyed (resolution, name), each group with its x/y coordinates."""
    groups: dict[str, Any] = {}
    for (resolution, name), spec in arrays.items():
        members = groups.setdefault(f"r{resolution}m", {})
        members[name] = spec
        rows, cols = spec["shape"]
        members["x"] = _array((cols,), "<i8", {}, ("x",))
        members["y"] = _array((rows,), "<i8", {}, ("y",))
    return {name: _group(members) for name, members in groups.items()}


def structure(desc: ProductDescription) -> dict[str, Any]:
    """The GroupSpec of a synthetic product described by ``desc`` (without chunk data)."""
    offset = content.dn_offset(desc) / 10000
    reflectance = {
        (resolution, eopf_name(band)): _raster(desc, resolution, "<u2", {
            "scale_factor": 0.0001, "add_offset": offset, "fill_value": 0, "units": "digital_counts",
            "valid_min": 1, "valid_max": 65535,
            "long_name": f"{'TOA' if desc.level == 'L1C' else 'BOA'} reflectance from MSI acquisition at spectral "
                         f"band {eopf_name(band)}"}, fill_value=0)
        for band, resolution in content.band_files(desc.level)}
    masks_per_side = MASK_CHUNKS_PER_SIDE[desc.level]
    footprints = {(NATIVE_RESOLUTION[band], eopf_name(band)): _raster(desc, NATIVE_RESOLUTION[band], "|u1", {
        "long_name": "detector footprint mask provided in the final reference frame (ground geometry). "
                     "0 = no detector, 1-12 = detector 1-12"}, per_side=masks_per_side)
        for band in content.footprint_bands(desc.level)}
    masks = {"detector_footprint": _group(_resolution_groups(footprints)),
             "l1c_classification": _group(_resolution_groups({(60, "b00"): _raster(desc, 60, "|u1", {
                 **L1C_FLAGS, "long_name": "cloud classification mask provided in the final reference frame"},
                 per_side=masks_per_side)}))}
    if desc.level == "L2A":
        masks["l2a_classification"] = _group(_resolution_groups(
            {(resolution, "scl"): _raster(desc, resolution, "|u1", {}, typed=False, per_side=masks_per_side)
             for resolution in (20, 60)}))
    detectors = len(desc.detectors)
    node = (content.ANGLE_NODES, content.ANGLE_NODES)
    geometry = {
        "angle": _array((2,), "<U7", {}, ("angle",)),
        "band": _array((len(ALL_BANDS),), "<U3", {}, ("band",)),
        "detector": _array((detectors,), "<i8", {}, ("detector",)),
        "mean_sun_angles": _array((2,), "<f8", {"unit": "deg"}, ("angle",), fill_value="NaN"),
        "mean_viewing_incidence_angles": _array((len(ALL_BANDS), 2), "<f8", {"unit": "deg"}, ("band", "angle"),
                                                fill_value="NaN"),
        "sun_angles": _array((2, *node), "<f8", {}, ("angle", "y", "x"), fill_value="NaN"),
        "viewing_incidence_angles": _array((len(ALL_BANDS), detectors, 2, *node), "<f8", {},
                                           ("band", "detector", "angle", "y", "x"),
                                           (7, -(-detectors // 2), 2, *node), fill_value="NaN"),
        "x": _array((content.ANGLE_NODES,), "<i8", {}, ("x",)),
        "y": _array((content.ANGLE_NODES,), "<i8", {}, ("y",)),
    }
    return _group({
        "measurements": _group({"reflectance": _group(_resolution_groups(reflectance))}),
        "conditions": _group({"geometry": _group(geometry), "mask": _group(masks)}),
    }, {"stac_discovery": stac_discovery(desc), "other_metadata": other_metadata(desc)})


def stac_discovery(desc: ProductDescription) -> dict[str, Any]:
    """The root attribute ``stac_discovery``: the product's STAC item, with the properties ESA fills."""
    rows, cols = desc.shape_10m
    start = desc.sensing_time.isoformat()
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": desc.product_uri, "assets": {}, "links": [],
        "bbox": None, "geometry": None,
        "properties": {
            "constellation": "sentinel-2", "platform": desc.spacecraft.lower(), "instrument": "msi",
            "mission": "copernicus", "datetime": None, "start_datetime": start, "end_datetime": start,
            "created": desc.generation_time.isoformat(), "eo:cloud_cover": desc.cloud_cover,
            "eopf:baseline": desc.baseline, "product:type": f"S02MSI{desc.level}",
            "processing:level": desc.level, "proj:epsg": desc.epsg,
            "proj:bbox": [desc.ulx, desc.uly - rows * 10, desc.ulx + cols * 10, desc.uly],
            "sat:relative_orbit": desc.relative_orbit, "sat:absolute_orbit": desc.absolute_orbit,
            "sat:orbit_state": "descending",
        },
    }


def other_metadata(desc: ProductDescription) -> dict[str, Any]:
    """The root attribute ``other_metadata``: the fields of ESA's that s2mask reads."""
    return {"UTM_zone_identification": desc.tile_id, "horizontal_CRS_code": f"EPSG:{desc.epsg}",
            "mean_sensing_time": desc.sensing_time.isoformat().replace("+00:00", "Z"),
            "mean_sun_zenith_angle_in_deg_for_all_bands_all_detectors": desc.sun_zenith,
            "mean_sun_azimuth_angle_in_deg_for_all_bands_all_detectors": desc.sun_azimuth}


def _grid_coordinates(desc: ProductDescription, resolution: int) -> dict[str, np.ndarray]:
    """Pixel-centre coordinates of the ``resolution`` grid (xarray's convention)."""
    rows, cols = (size * 10 // resolution for size in desc.shape_10m)
    half = resolution // 2
    return {"x": (desc.ulx + half + resolution * np.arange(cols)).astype(np.int64),
            "y": (desc.uly - half - resolution * np.arange(rows)).astype(np.int64)}


def _angle_arrays(desc: ProductDescription) -> dict[str, Any]:
    sun_zenith, sun_azimuth = content.sun_grids(desc)
    views = np.stack([np.stack(pair) for pair in content.view_grids(desc)])          # (detector, angle, y, x)
    steps = content.ANGLE_STEP * np.arange(content.ANGLE_NODES)
    prefix = "conditions/geometry"
    return {
        f"{prefix}/angle": ["zenith", "azimuth"],
        f"{prefix}/band": [eopf_name(band) for band in ALL_BANDS],
        f"{prefix}/detector": np.asarray(desc.detectors, dtype=np.int64),
        f"{prefix}/mean_sun_angles": np.array([desc.sun_zenith, desc.sun_azimuth]),
        f"{prefix}/mean_viewing_incidence_angles": np.tile([desc.view_zenith, desc.view_azimuth], (len(ALL_BANDS), 1)),
        f"{prefix}/sun_angles": np.stack([sun_zenith, sun_azimuth]).astype(np.float64),
        f"{prefix}/viewing_incidence_angles": np.broadcast_to(views, (len(ALL_BANDS), *views.shape)).astype(np.float64),
        f"{prefix}/x": (desc.ulx + steps).astype(np.int64),
        f"{prefix}/y": (desc.uly - steps).astype(np.int64),
    }


def _contents(scene: Scene, desc: ProductDescription, spec: dict[str, Any]) -> dict[str, Any]:
    """Every array of the store, by path, except the reflectance (written band by band)."""
    arrays = _angle_arrays(desc)
    for path, _ in zarr_store.walk(spec):
        if path.rsplit("/", 1)[-1] in ("x", "y") and not path.startswith("conditions/geometry"):
            arrays[path] = _grid_coordinates(desc, int(path.split("/")[-2][1:-1]))[path[-1]]
    for band in content.footprint_bands(desc.level):
        resolution = NATIVE_RESOLUTION[band]
        arrays[f"conditions/mask/detector_footprint/r{resolution}m/{eopf_name(band)}"] = content.detector_index(
            scene, resolution, desc.detectors)
    layers = content.cloud_layers(scene)
    arrays["conditions/mask/l1c_classification/r60m/b00"] = layers[0] | layers[1] << 1 | layers[2] << 2
    if desc.level == "L2A":
        for resolution, scl in content.scl_layers(scene).items():
            arrays[f"conditions/mask/l2a_classification/r{resolution}m/scl"] = scl
    return arrays


def write_eopf(scene: Scene, folder: str | Path, *, zipped: bool = False, **identity: Any) -> Path:
    """Write ``scene`` as an EOPF Zarr product in ``folder``; returns the ``.zarr`` folder (or its ``.zip``).

    ``identity`` names the product as for :func:`~s2mask.sim.safe.write_product`; the exact truth is
    written beside it as ``<product id>_truth.tif``.
    """
    desc = content.describe(scene, **identity)
    folder = Path(folder)
    root = folder / f"{desc.product_id}.zarr"
    if root.exists():
        shutil.rmtree(root)
    spec = structure(desc)
    zarr_store.write_structure(spec, root)
    zarr_store.fill(root, _contents(scene, desc, spec))
    for band, resolution in content.band_files(desc.level):
        zarr_store.fill(root, {f"measurements/reflectance/r{resolution}m/{eopf_name(band)}":
                               content.band_image(scene, desc.level, band, resolution, content.dn_offset(desc))})
    write_truth(folder / f"{desc.product_id}_truth.tif", scene, desc)
    if not zipped:
        return root
    return zip_product(root, folder / f"{root.name}.zip")
