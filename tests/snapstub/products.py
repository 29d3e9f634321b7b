"""SNAP products made from a synthetic SAFE with s2mask's own reader, shaped as SNAP would give them.

``reader_product`` models optical-toolbox's Sentinel-2 reader (``Sentinel2OrthoProductReader``): a
multi-size product, type ``S2_MSI_Level-1C``/``-2A``, each band on its native grid as reflectance (NaN
where invalid), angle bands holding MTD_TL's 5 km node grids one to one, cropped to the nodes the scene
needs (``cropBordersOutsideScene``), per-band view angles plus their mean over bands, and the granule
metadata under ``Granules/<tile>/`` as ``XmlMetadataParser`` builds it (leaf elements become string
attributes). ``resampled_product`` models S2Resampling: every band and angle on one grid, metadata
copied. Its resampling is s2mask's own (exact area mean, bilinear), not SNAP's.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from lxml import etree

from s2mask.io.safe import Product as SafeProduct
from s2mask.io.safe import open_product

from .gpf import Band, Product
from .java import AffineTransform, MetadataElement, ProductData

ANGLE_STEP = 5000.0


def _band(name: str, values: np.ndarray, resolution: float, safe: SafeProduct) -> Band:
    grid = safe.grid(10)
    transform = AffineTransform(resolution, -resolution, grid.x0, grid.y0)
    height, width = values.shape
    return Band(name, ProductData.TYPE_FLOAT32, width, height, values.astype(np.float32), transform)


def metadata_element(element: etree._Element, name: str | None = None) -> MetadataElement:
    """SNAP's metadata tree of an XML element: children with text become attributes of their parent."""
    node = MetadataElement(name or etree.QName(element).localname)
    node.attributes += [(etree.QName(key).localname, value) for key, value in element.attrib.items()]
    for child in element:
        if not isinstance(child.tag, str):
            continue
        if len(child) == 0 and (child.text or "").strip():
            node.attributes.append((etree.QName(child).localname, child.text))
        else:
            node.elements.append(metadata_element(child))
    return node


def _granules(safe: SafeProduct) -> MetadataElement:
    tile = etree.fromstring(safe.location.read_bytes(f"{safe.granule}/MTD_TL.xml"))
    granules = MetadataElement("Granules")
    granules.elements.append(metadata_element(tile, f"Level-{safe.level[1:]}_Tile_{safe.tile_id}"))
    return granules


def _product(safe: SafeProduct, width: int, height: int, suffix: str, metadata: bool) -> Product:
    product = Product(safe.product_id + suffix, f"S2_MSI_Level-{safe.level[1:]}", width, height)
    product.start_time = product.end_time = safe.sensing_time
    if metadata:
        product.metadata.elements.append(_granules(safe))
    return product


def _nodes(grid_values: np.ndarray, safe: SafeProduct) -> np.ndarray:
    """The node grid SNAP keeps: as many nodes as the scene needs at 5 km (at least one)."""
    grid = safe.grid(10)
    rows = max(1, math.ceil(grid.height * grid.resolution / ANGLE_STEP))
    cols = max(1, math.ceil(grid.width * grid.resolution / ANGLE_STEP))
    return grid_values[:rows, :cols]


def reader_product(path: Path, metadata: bool = True) -> Product:
    """The multi-size product SNAP's Sentinel-2 reader makes of the SAFE at ``path``."""
    safe = open_product(path, use_jp2_levels=False)
    grid = safe.grid(10)
    product = _product(safe, grid.width, grid.height, "", metadata)
    for name in safe.bands:
        native = min(safe.band_files(name))
        product.bands[name] = _band(name, safe.read(name, native), native, safe)
    tile = safe.tile
    angles = {"sun_zenith": tile.sun_zenith.values, "sun_azimuth": tile.sun_azimuth.values}
    for name in safe.bands:
        angles[f"view_zenith_{name}"] = tile.view_zenith[name].values
        angles[f"view_azimuth_{name}"] = tile.view_azimuth[name].values
    for kind in ("zenith", "azimuth"):
        # The reader's mean is a plain sum over the bands divided by their number (NaN stays NaN).
        angles[f"view_{kind}_mean"] = np.mean([angles[f"view_{kind}_{b}"] for b in safe.bands], axis=0)
    for name, values in angles.items():
        product.bands[name] = _band(name, _nodes(values, safe), ANGLE_STEP, safe)
    return product


def resampled_product(path: Path, resolution: int, metadata: bool = True) -> Product:
    """The single-size product S2Resampling makes of the reader's product, at ``resolution``."""
    safe = open_product(path, use_jp2_levels=False)
    grid = safe.grid(resolution)
    product = _product(safe, grid.width, grid.height, "_S2Resampler", metadata)
    for name in safe.bands:
        product.bands[name] = _band(name, safe.read(name, resolution), resolution, safe)
    sun_zenith, sun_azimuth = safe.sun_angles(resolution)
    angles = {"sun_zenith": sun_zenith, "sun_azimuth": sun_azimuth}
    views = {name: safe.view_angles(name, resolution) for name in safe.bands}
    for name, (zenith, azimuth) in views.items():
        angles[f"view_zenith_{name}"], angles[f"view_azimuth_{name}"] = zenith, azimuth
    angles["view_zenith_mean"] = np.mean([zenith for zenith, _ in views.values()], axis=0)
    angles["view_azimuth_mean"] = np.mean([azimuth for _, azimuth in views.values()], axis=0)
    for name, values in angles.items():
        product.bands[name] = _band(name, values, resolution, safe)
    return product
