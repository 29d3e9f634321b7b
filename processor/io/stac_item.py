"""Open a Sentinel-2 STAC item whose assets are cloud-optimised GeoTIFFs (or any raster GDAL reads).

The item is a JSON file or a URL. Supported: Element 84's earth-search ``sentinel-2-l2a`` and
``sentinel-2-c1-l2a``, Microsoft Planetary Computer's ``sentinel-2-l2a``, and any item that declares
``raster:bands`` scale and offset (stactools-sentinel2 items). One item is one product, one asset one
band file, so a :class:`StacProduct` is a :class:`~s2mask.io.safe.Product` whose files are assets:

==========================  ==============================  =========================================
what                        earth-search, stactools         Planetary Computer
==========================  ==============================  =========================================
bands                       ``coastal`` ``blue`` ``green``  ``B01`` ... ``B12``, ``B8A``
                            ``red`` ``rededge1..3``
                            ``nir`` ``nir08`` ``nir09``
                            ``cirrus`` ``swir16``
                            ``swir22`` (``_20m``/``_60m``
                            suffixes: reduced copies)
scene classification        ``scl``                         ``SCL``
angles and grids            ``granule_metadata``            ``granule-metadata`` (ESA's MTD_TL.xml)
reflectance                 :mod:`s2mask.io.radiometry`     :mod:`s2mask.io.radiometry`
==========================  ==============================  =========================================

Remote assets are read through GDAL's ``/vsicurl/`` (``/vsis3/`` for ``s3://``): byte ranges of the
COG tiles a window needs, never a whole download. COGs are read at full resolution and reduced in
numpy (exact area means): their overviews are not guaranteed to be area means. The detector footprints
and the L1C cloud mask are not published as assets; invalid pixels are those the band marks no data
(outside the swath ESA writes DN 0, which is what the footprint masks mark there too).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import quote, urljoin

from osgeo import gdal

from ..bands import NATIVE_RESOLUTION, RESOLUTIONS
from ..errors import ProductFormatError, ProductIOError
from .product_mtd import ProductMetadata, parse_time
from .radiometry import PixelSource, scaling
from .safe import Product
from .tile_mtd import read_tile_metadata
from .xmlutil import XmlDocument, parse_xml
from .zarrstore import is_remote, vsi_path

#: Asset key of each band: (earth-search and stactools, Planetary Computer).
ASSET_KEYS: dict[str, tuple[str, str]] = {
    "B1": ("coastal", "B01"), "B2": ("blue", "B02"), "B3": ("green", "B03"), "B4": ("red", "B04"),
    "B5": ("rededge1", "B05"), "B6": ("rededge2", "B06"), "B7": ("rededge3", "B07"), "B8": ("nir", "B08"),
    "B8A": ("nir08", "B8A"), "B9": ("nir09", "B09"), "B10": ("cirrus", "B10"), "B11": ("swir16", "B11"),
    "B12": ("swir22", "B12"),
}
GRANULE_METADATA = ("granule_metadata", "granule-metadata")
SCENE_CLASSIFICATION = ("scl", "SCL")
LEVELS = {"S2MSI1C": "L1C", "S2MSI2A": "L2A"}
_RESOLUTION_SUFFIX = re.compile(r"^(.+)_(10|20|60)m$")
_BASELINE = re.compile(r"_N(\d{2})(\d{2})_")
_KEY_BAND = {key: band for band, keys in ASSET_KEYS.items() for key in keys}


@dataclass
class StacProduct(Product):
    """One opened STAC item; ``pixel_source`` tells how its DN become reflectance."""

    pixel_source: PixelSource = PixelSource.DECLARED

    @property
    def format(self) -> str:
        return f"STAC item ({self.pixel_source.value})"

    def source_files(self) -> dict[str, dict[str, Any]]:
        """The item JSON by SHA-256 and every asset read by its href (and size where it is a local file)."""
        files: dict[str, dict[str, Any]] = {
            "item": {"sha256": hashlib.sha256(read_bytes(self.location.display_name)).hexdigest()}}
        for key in self.files_read():
            href = self.location.href(key)
            files[key] = {"href": href, **({} if is_remote(href) else {"bytes": Path(href).stat().st_size})}
        return files


class StacLocation:
    """The assets of one item: asset key -> the name GDAL opens (hrefs resolved against the item's own
    location), with the few methods the SAFE reader asks of a location."""

    def __init__(self, item_path: str, assets: Mapping[str, Any]):
        self.display_name = item_path
        self.assets = dict(assets)
        self._base = item_path if is_remote(item_path) else Path(item_path).resolve().as_uri()

    def href(self, key: str) -> str:
        """The asset's href as an absolute URL or local path."""
        href = str(self.assets[key].get("href", ""))
        if "://" in href or href.startswith("/"):
            return href
        resolved = urljoin(self._base, href)
        return resolved.removeprefix("file://")

    def exists(self, key: str) -> bool:
        if key not in self.assets:
            return False
        href = self.href(key)
        return is_remote(href) or Path(href).exists()

    def describe(self, key: str) -> Path:
        return Path(self.href(key)) if key in self.assets else Path(f"{self.display_name}#{key}")

    def gdal_path(self, key: str) -> str:
        """GDAL's name of an asset; an http(s) COG is opened without listing its folder (one request less per
        band, and buckets that refuse listings do not slow every open)."""
        href = self.href(key)
        if href.startswith(("https://", "http://")):
            return f"/vsicurl?list_dir=no&url={quote(href, safe='')}"
        return vsi_path(href)

    def read_bytes(self, key: str) -> bytes:
        return read_bytes(self.href(key))


def spacecraft_name(platform: Any) -> str:
    """STAC's ``platform`` (``sentinel-2b``) as ESA names the spacecraft (``Sentinel-2B``)."""
    text = str(platform or "")
    return text[:1].upper() + text[1:-1] + text[-1:].upper() if text.lower().startswith("sentinel-2") else text


def read_bytes(path: str) -> bytes:
    """A whole (small) file, local or remote: item JSON, granule metadata."""
    try:
        if not is_remote(path):
            return Path(path).read_bytes()
        handle = gdal.VSIFOpenL(vsi_path(path), "rb")
        if handle is None:
            raise OSError("cannot open")
        try:
            gdal.VSIFSeekL(handle, 0, 2)
            size = gdal.VSIFTellL(handle)
            gdal.VSIFSeekL(handle, 0, 0)
            return bytes(gdal.VSIFReadL(1, size, handle))
        finally:
            gdal.VSIFCloseL(handle)
    except (OSError, RuntimeError) as err:
        raise ProductIOError(f"cannot read ({str(err).strip() or 'unknown error'})", Path(path)) from err


def load_item(path: str | Path) -> dict[str, Any]:
    """The item JSON of a file or URL; anything else than a STAC Feature is refused."""
    text = str(path)
    try:
        item = json.loads(read_bytes(text))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ProductFormatError(f"not a JSON document ({err})", Path(text)) from err
    if not isinstance(item, dict) or item.get("type") != "Feature" or not isinstance(item.get("assets"), dict):
        raise ProductFormatError("not a STAC item (a JSON Feature with assets)", Path(text))
    return item


def band_assets(assets: Mapping[str, Any]) -> dict[str, dict[int, str]]:
    """Band -> resolution -> asset key, from the key tables (``-jp2`` copies of earth-search skipped)."""
    files: dict[str, dict[int, str]] = {}
    for key, asset in assets.items():
        match = _RESOLUTION_SUFFIX.match(key)
        band = _KEY_BAND.get(match.group(1) if match else key)
        if band is None:
            continue
        resolution = int(match.group(2)) if match else _declared_resolution(asset) or NATIVE_RESOLUTION[band]
        if resolution not in RESOLUTIONS:
            raise ProductFormatError(f"asset {key} has {resolution} m pixels; expected 10, 20 or 60")
        files.setdefault(band, {})[resolution] = key
    return files


def _declared_resolution(asset: Mapping[str, Any]) -> int | None:
    bands = asset.get("raster:bands") or [{}]
    value = bands[0].get("spatial_resolution") or asset.get("gsd")
    return int(round(float(value))) if value else None


def _declared(asset: Mapping[str, Any]) -> tuple[float | None, float | None]:
    bands = asset.get("raster:bands") or [{}]
    return bands[0].get("scale"), bands[0].get("offset")


def pixel_source(item: Mapping[str, Any], files: dict[str, dict[int, str]]) -> PixelSource:
    """Who produced the item's pixels (see :mod:`s2mask.io.radiometry`): by collection, asset keys and
    what ``raster:bands`` declares."""
    collection = str(item.get("collection", ""))
    keys = {key for resolutions in files.values() for key in resolutions.values()}
    declared = any(_declared(item["assets"][key])[0] for key in keys)
    if collection.startswith("sentinel-2-c1-"):
        return PixelSource.EARTH_SEARCH_C1
    if collection == "sentinel-2-l2a" and keys & {keys_[1] for keys_ in ASSET_KEYS.values()} and not declared:
        return PixelSource.PLANETARY_COMPUTER
    if collection == "sentinel-2-l2a" and keys & {keys_[0] for keys_ in ASSET_KEYS.values()}:
        return PixelSource.EARTH_SEARCH_L2A
    if declared:
        return PixelSource.DECLARED
    raise ProductFormatError(f"items of collection {collection or '(none)'!r} declare no raster:bands scale and "
                             "offset and are not of a collection s2mask knows (earth-search sentinel-2-l2a, "
                             "sentinel-2-c1-l2a, Planetary Computer sentinel-2-l2a): their pixels cannot be "
                             "turned into reflectance safely")


def _level(item: Mapping[str, Any], where: str) -> str:
    properties = item.get("properties", {})
    level = LEVELS.get(str(properties.get("s2:product_type", "")))
    for text in (str(item.get("collection", "")), str(item.get("id", ""))):
        level = level or next((name for name in ("L1C", "L2A") if name.lower() in text.lower()), None)
    if level is None:
        raise ProductFormatError("cannot tell L1C from L2A (no s2:product_type)", Path(where))
    return level


def _baseline(properties: Mapping[str, Any]) -> str | None:
    baseline = properties.get("s2:processing_baseline")
    if baseline:
        return str(baseline)
    match = _BASELINE.search(str(properties.get("s2:product_uri", "")))
    return f"{match.group(1)}.{match.group(2)}" if match else None


def _require_signed(location: StacLocation, files: dict[str, dict[int, str]]) -> None:
    """Planetary Computer's blobs answer only requests that carry a SAS token: say so before GDAL fails."""
    for resolutions in files.values():
        for key in resolutions.values():
            href = location.href(key)
            if ".blob.core.windows.net/" in href and "?" not in href:
                raise ProductIOError("Planetary Computer asset URLs need a SAS token: sign the item first "
                                     "(planetary_computer.sign, or the API's sign endpoint) and open the signed "
                                     "item", location.describe(key))


def open_stac(path: str | Path, mask_footprint: bool = True, check_files: bool = True) -> StacProduct:
    """Open a STAC item (a JSON file or URL) of one Sentinel-2 product."""
    where = str(path)
    item = load_item(where)
    location = StacLocation(where, item["assets"])
    properties = item.get("properties", {})
    files = band_assets(item["assets"])
    if not files:
        raise ProductFormatError("the item has no Sentinel-2 band assets (blue, red, ... or B02, B04, ...)",
                                 Path(where))
    source = pixel_source(item, files)
    if source is PixelSource.PLANETARY_COMPUTER:
        _require_signed(location, files)
    baseline = _baseline(properties)
    if baseline is None and source is PixelSource.PLANETARY_COMPUTER:
        raise ProductFormatError("no s2:processing_baseline: whether the -1000 offset applies is unknown",
                                 Path(where))
    baseline = baseline or "unknown"
    offsets, quantifications = {}, set()
    for band, resolutions in files.items():
        for key in resolutions.values():
            scale, offset = _declared(item["assets"][key])
            rule = scaling(source, location.describe(key), baseline=baseline, scale=scale, offset=offset)
            offsets[band] = rule.offset
            quantifications.add(rule.quantification)
    if len(quantifications) != 1:
        raise ProductFormatError(f"the band assets declare different scales ({sorted(quantifications)})",
                                 Path(where))
    granule = next((key for key in GRANULE_METADATA if key in item["assets"]), None)
    if granule is None:
        raise ProductFormatError("the item has no granule_metadata asset (ESA's MTD_TL.xml): its tile grids and "
                                 "sun and view angles are needed", Path(where))
    tile_source = location.describe(granule)
    tile = read_tile_metadata(XmlDocument(parse_xml(location.read_bytes(granule), tile_source), tile_source))
    scl = next((key for key in SCENE_CLASSIFICATION if key in item["assets"]), None)
    metadata = ProductMetadata(
        product_uri=str(properties.get("s2:product_uri") or item.get("id")),
        level=_level(item, where),
        product_type=str(properties.get("s2:product_type", "")),
        baseline=baseline,
        spacecraft=spacecraft_name(properties.get("platform")),
        start_time=parse_time(str(properties.get("datetime") or properties.get("start_datetime"))),
        generation_time=parse_time(properties["s2:generation_time"]) if properties.get("s2:generation_time") else None,
        relative_orbit=properties.get("sat:relative_orbit"),
        orbit_direction=str(properties.get("sat:orbit_state", "")).upper() or None,
        quantification_value=quantifications.pop(),
        offsets=offsets,
        nodata_value=0,
        saturated_value=65535,
        cloud_cover=properties.get("eo:cloud_cover"),
        reflectance_conversion=properties.get("s2:reflectance_conversion_factor"),
        solar_irradiance={},
        image_files=files,
        auxiliary_files={"SCL": {20: scl}} if scl else {},
    )
    # The QI masks MTD_TL lists are files of the SAFE, not assets of the item.
    product = StacProduct(location, metadata, replace(tile, mask_files={}), "", mask_footprint,
                          use_jp2_levels=False, pixel_source=source)
    if check_files:
        product.check_files()
    return product
