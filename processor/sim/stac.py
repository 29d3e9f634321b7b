"""Write a synthetic :class:`~s2mask.sim.scene.Scene` as a STAC item with one cloud-optimised GeoTIFF per band.

Four styles, modelled on real items (earth-search's own in ``shared/data/real/riotiler_tiles``,
stactools-sentinel2's in ``shared/data/metadata``):

``earth-search``
    Element 84's ``sentinel-2-l2a``: common-name asset keys, native resolutions only, pixels harmonised
    (the -1000 shift of baseline 04.00 taken out) while ``raster:bands`` declares offset -0.1 and
    ``earthsearch:boa_offset_applied`` is false, as in earth-search issues 66 and 71.
``earth-search-c1``
    ``sentinel-2-c1-l2a``: ESA's pixels, scale and offset declared truthfully.
``planetary-computer``
    Planetary Computer's ``sentinel-2-l2a``: ``B01`` ... asset keys, ESA's pixels, nothing declared.
``stactools``
    stactools-sentinel2 items of a SAFE (L1C or L2A): every band file of the SAFE as an asset,
    ``blue_20m``-style keys for L2A's reduced copies, scale and offset declared.

Each style writes the tile metadata (MTD_TL.xml) as the granule metadata asset and, for L2A, the scene
classification. Hrefs are relative to the item, which lies in a folder named after its id.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal

from ..bands import NATIVE_RESOLUTION, file_band_id
from ..io.stac_item import ASSET_KEYS, GRANULE_METADATA, SCENE_CLASSIFICATION
from .metadata import tile_mtd
from .product import ProductDescription, band_files, band_image, describe, dn_offset, scl_layers
from .safe import spatial_reference, write_truth
from .scene import Scene

STYLES = ("earth-search", "earth-search-c1", "planetary-computer", "stactools")
COG_OPTIONS = ["COMPRESS=DEFLATE", "PREDICTOR=2", "BLOCKSIZE=512"]
COG_TYPE = "image/tiff; application=geotiff; profile=cloud-optimized"


def write_cog(path: Path, array: np.ndarray, desc: ProductDescription, resolution: int) -> None:
    """A COG of one band on the tile's ``resolution`` grid (DEFLATE, 512-px tiles, overviews)."""
    kind = gdal.GDT_UInt16 if array.dtype == np.uint16 else gdal.GDT_Byte
    memory = gdal.GetDriverByName("MEM").Create("", array.shape[1], array.shape[0], 1, kind)
    memory.SetGeoTransform((desc.ulx, resolution, 0, desc.uly, 0, -resolution))
    memory.SetProjection(spatial_reference(desc.epsg).ExportToWkt())
    memory.GetRasterBand(1).WriteArray(array)
    memory.GetRasterBand(1).SetNoDataValue(0)
    path.parent.mkdir(parents=True, exist_ok=True)
    gdal.GetDriverByName("COG").CreateCopy(str(path), memory, options=COG_OPTIONS)


def _item_id(desc: ProductDescription, style: str) -> str:
    mission = desc.product_uri[:3]
    if style == "earth-search":
        return f"{mission}_{desc.tile}_{desc.sensing_time:%Y%m%d}_0_{desc.level}"
    if style == "planetary-computer":
        return f"{mission}_MSI{desc.level}_{desc.sensing_time:%Y%m%dT%H%M%S}_R{desc.relative_orbit:03d}_T{desc.tile}_" \
               f"{desc.generation_time:%Y%m%dT%H%M%S}"
    return f"{mission}_T{desc.tile}_{desc.sensing_time:%Y%m%dT%H%M%S}_{desc.level}"


def _raster_bands(resolution: int, style: str, desc: ProductDescription, dtype: str = "uint16") -> dict[str, Any]:
    band: dict[str, Any] = {"nodata": 0, "data_type": dtype, "spatial_resolution": resolution}
    if dtype == "uint16" and style != "planetary-computer":
        band.update(scale=0.0001, offset=dn_offset(desc) / 10000)
    return {} if style == "planetary-computer" else {"raster:bands": [band]}


def _asset(href: str, resolution: int, desc: ProductDescription, style: str, roles: list[str],
           dtype: str = "uint16") -> dict[str, Any]:
    rows, cols = (size * 10 // resolution for size in desc.shape_10m)
    return {"href": href, "type": COG_TYPE, "gsd": resolution, "proj:shape": [rows, cols],
            "proj:transform": [resolution, 0, desc.ulx, 0, -resolution, desc.uly],
            **_raster_bands(resolution, style, desc, dtype), "roles": roles}


def _files(level: str, style: str) -> list[tuple[str, int]]:
    """(band, resolution) of the band assets a style publishes."""
    if style == "stactools":
        return list(band_files(level))
    return [(band, resolution) for band, resolution in band_files(level) if resolution == NATIVE_RESOLUTION[band]]


def _key(band: str, resolution: int, style: str) -> str:
    key = ASSET_KEYS[band][1 if style == "planetary-computer" else 0]
    return key if resolution == NATIVE_RESOLUTION[band] else f"{key}_{resolution}m"


def _properties(desc: ProductDescription, style: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "datetime": desc.sensing_time.isoformat().replace("+00:00", "Z"),
        "platform": desc.spacecraft.lower() if style != "planetary-computer" else desc.spacecraft,
        "constellation": "sentinel-2", "instruments": ["msi"], "eo:cloud_cover": desc.cloud_cover,
        "proj:epsg": desc.epsg, "sat:relative_orbit": desc.relative_orbit, "sat:orbit_state": "descending",
        "s2:product_type": f"S2MSI{desc.level[1:]}", "s2:processing_baseline": desc.baseline,
        "s2:product_uri": desc.product_uri, "s2:generation_time": desc.generation_time.isoformat(),
        "s2:granule_id": desc.tile_id, "s2:datastrip_id": desc.datastrip_id,
        "view:sun_azimuth": desc.sun_azimuth, "view:sun_elevation": 90 - desc.sun_zenith,
    }
    if style == "earth-search":
        properties["earthsearch:boa_offset_applied"] = False
    if style == "planetary-computer":
        properties["s2:mgrs_tile"] = desc.tile
    return properties


def write_stac(scene: Scene, folder: str | Path, *, style: str = "earth-search-c1", **identity: Any) -> Path:
    """Write ``scene`` as a STAC item of ``style`` (see the module docstring) with its COGs in
    ``folder/<item id>/``; returns the item's JSON file. ``identity`` names the product as for
    :func:`~s2mask.sim.safe.write_product`; the exact truth is written beside the folder."""
    if style not in STYLES:
        raise ValueError(f"style must be one of {STYLES}, got {style!r}")
    desc = describe(scene, **identity)
    if desc.level == "L1C" and style != "stactools":
        raise ValueError(f"{style} items are L2A products; write L1C in the stactools style")
    item_id = _item_id(desc, style)
    root = Path(folder) / item_id
    if root.exists():
        shutil.rmtree(root)
    harmonised = style == "earth-search"
    assets: dict[str, Any] = {}
    planetary = style == "planetary-computer"
    for band, resolution in _files(desc.level, style):
        name = f"{file_band_id(band)}.tif" if resolution == NATIVE_RESOLUTION[band] else \
            f"{file_band_id(band)}_{resolution}m.tif"
        dn = band_image(scene, desc.level, band, resolution, 0.0 if harmonised else dn_offset(desc))
        write_cog(root / name, dn, desc, resolution)
        assets[_key(band, resolution, style)] = _asset(f"./{name}", resolution, desc, style, ["data", "reflectance"])
    if desc.level == "L2A":
        write_cog(root / "SCL.tif", scl_layers(scene)[20], desc, 20)
        assets[SCENE_CLASSIFICATION[planetary]] = _asset("./SCL.tif", 20, desc, style, ["data"], "uint8")
    (root / "granule_metadata.xml").write_bytes(tile_mtd(desc))
    assets[GRANULE_METADATA[planetary]] = {
        "href": "./granule_metadata.xml", "type": "application/xml", "roles": ["metadata"]}
    item = {"type": "Feature", "stac_version": "1.0.0", "id": item_id, "properties": _properties(desc, style),
            "geometry": None, "links": [], "assets": assets}
    if style != "stactools":
        item["collection"] = "sentinel-2-c1-l2a" if style == "earth-search-c1" else "sentinel-2-l2a"
    path = root / f"{item_id}.json"
    path.write_text(json.dumps(item, indent=1))
    write_truth(Path(folder) / f"{item_id}_truth.tif", scene, desc)
    return path

