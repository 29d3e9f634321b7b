"""What a synthetic product holds, whatever its format: names, digital numbers, masks and angle grids.

:func:`describe` names a product as ESA would (product URI, granule, tile and datastrip ids, orbit,
cloud cover); the other functions give the arrays every format stores: the DN of each band file
(``(reflectance x 10000) - offset``, the offset -1000 from baseline 04.00; DN 0 no data, 65535
saturated), the detector footprints, ESA's L1C cloud mask, the L2A scene classification and the 5 km
sun and view angle grids. The SAFE, EOPF Zarr and STAC writers only lay them out, so one scene written
in the three formats holds the same numbers.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from ..bands import ALL_BANDS, L2A_BANDS, LEVELS, NATIVE_RESOLUTION
from ..classes import MaskClass, to_scl
from ..resample import downsample_mean
from .scene import Scene

#: The bands of each resolution folder of an L2A product (``IMG_DATA/R20m``, EOPF's ``r20m``).
L2A_FILE_BANDS = {
    10: ("B2", "B3", "B4", "B8"),
    20: ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8A", "B11", "B12"),
    60: ("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8A", "B9", "B11", "B12"),
}
#: Angle grid nodes: 23 x 23 at 5 km from the tile's upper-left corner.
ANGLE_NODES = 23
ANGLE_STEP = 5000


@dataclass
class ProductDescription:
    """Everything the metadata documents say about one synthetic product."""

    level: str
    baseline: str
    product_uri: str
    spacecraft: str
    sensing_time: datetime
    generation_time: datetime
    relative_orbit: int
    absolute_orbit: int
    tile: str
    epsg: int
    ulx: float
    uly: float
    shape_10m: tuple[int, int]
    granule: str
    tile_id: str
    datastrip_id: str
    cloud_cover: float
    sun_zenith: float
    sun_azimuth: float
    view_zenith: float
    view_azimuth: float
    detectors: tuple[int, ...]
    #: relative paths (without .jp2) of the images, in MTD order
    image_files: list[str] = field(default_factory=list)
    #: (mask type, band or "", relative path) of the QI masks
    mask_files: list[tuple[str, str, str]] = field(default_factory=list)

    @property
    def has_offsets(self) -> bool:
        major, _, minor = self.baseline.partition(".")
        return (int(major), int(minor)) >= (4, 0)

    @property
    def product_id(self) -> str:
        return self.product_uri.removesuffix(".SAFE")


def describe(scene: Scene, *, level: str = "L1C", baseline: str = "05.10", tile: str = "31TCJ",
             epsg: int = 32631, ulx: float = 300000.0, uly: float = 4900020.0,
             sensing_time: datetime | None = None, spacecraft: str = "Sentinel-2B", relative_orbit: int = 51,
             detectors: tuple[int, ...] = (4, 5, 6)) -> ProductDescription:
    """The identity of a product of ``scene``: ESA's names and the numbers its metadata states."""
    if level not in LEVELS:
        raise ValueError(f"level must be L1C or L2A, got {level!r}")
    sensing = sensing_time or datetime(2024, 3, 5, 10, 48, 19, 24000, tzinfo=UTC)
    generation = sensing + timedelta(hours=2, minutes=5, seconds=28)
    mission = "S2A" if spacecraft.endswith("A") else "S2B" if spacecraft.endswith("B") else "S2C"
    absolute = 36542 + (sensing - datetime(2024, 3, 5, tzinfo=UTC)).days * 14
    tag = f"N{baseline.replace('.', '')}"
    product_uri = (f"{mission}_MSI{level}_{sensing:%Y%m%dT%H%M%S}_{tag}_R{relative_orbit:03d}_T{tile}_"
                   f"{generation:%Y%m%dT%H%M%S}.SAFE")
    centre = f"{mission[1:]}PS"
    valid = scene.truth != MaskClass.NO_DATA
    cloudy = np.isin(scene.truth, (MaskClass.CLOUD, MaskClass.THIN_CLOUD)) & valid
    return ProductDescription(
        level=level, baseline=baseline, product_uri=product_uri, spacecraft=spacecraft, sensing_time=sensing,
        generation_time=generation, relative_orbit=relative_orbit, absolute_orbit=absolute, tile=tile, epsg=epsg,
        ulx=ulx, uly=uly, shape_10m=scene.shape,
        granule=f"{level}_T{tile}_A{absolute:06d}_{sensing + timedelta(minutes=10):%Y%m%dT%H%M%S}",
        tile_id=f"{mission}_OPER_MSI_{level}_TL_{centre}_{generation:%Y%m%dT%H%M%S}_A{absolute:06d}_T{tile}_{tag}",
        datastrip_id=f"{mission}_OPER_MSI_{level}_DS_{centre}_{generation:%Y%m%dT%H%M%S}_S{sensing:%Y%m%dT%H%M%S}_{tag}",
        cloud_cover=100.0 * cloudy.sum() / max(int(valid.sum()), 1), sun_zenith=scene.sun_zenith,
        sun_azimuth=scene.sun_azimuth, view_zenith=scene.view_zenith, view_azimuth=scene.view_azimuth,
        detectors=detectors)


def dn_offset(desc: ProductDescription) -> float:
    """The radiometric offset the DN carry: -1000 from baseline 04.00, 0 before."""
    return -1000.0 if desc.has_offsets else 0.0


def to_dn(reflectance: np.ndarray, offset: float) -> np.ndarray:
    """ESA's digital numbers: NaN -> 0 (no data), +inf -> 65535 (saturated), others in 1..65534."""
    dn = np.rint(np.nan_to_num(reflectance, nan=0.0, posinf=0.0) * 10000 - offset)
    dn = np.clip(dn, 1, 65534).astype(np.uint16)
    dn[np.isnan(reflectance)] = 0
    dn[np.isposinf(reflectance)] = 65535
    return dn


def band_files(level: str) -> Iterator[tuple[str, int]]:
    """(band, resolution) of every band file of a product, in ESA's order: L1C one file per band at its
    native resolution; L2A the R10m, R20m and R60m folders, where finer bands are also stored reduced."""
    if level == "L1C":
        yield from ((band, NATIVE_RESOLUTION[band]) for band in ALL_BANDS)
        return
    yield from ((band, resolution) for resolution, bands in L2A_FILE_BANDS.items() for band in bands)


def band_image(scene: Scene, level: str, band: str, resolution: int, offset: float) -> np.ndarray:
    """The DN of one band file: the area mean of the 10 m rendering on the file's grid."""
    if level == "L1C":
        return to_dn(scene.band(band, "L1C"), offset)
    return to_dn(downsample_mean(scene.render(band, "L2A"), resolution // 10), offset)


def scl_layers(scene: Scene) -> dict[int, np.ndarray]:
    """Sen2Cor's scene classification at 20 m and 60 m (vegetation split by the 20 m NDVI)."""
    red = downsample_mean(scene.render("B4", "L2A"), 2)
    nir = downsample_mean(scene.render("B8", "L2A"), 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (nir - red) / (nir + red)
    scl = to_scl(scene.truth[::2, ::2], ndvi)
    return {20: scl, 60: scl[::3, ::3]}


def footprint_bands(level: str) -> tuple[str, ...]:
    return ALL_BANDS if level == "L1C" else L2A_BANDS


def detector_index(scene: Scene, resolution: int, detectors: tuple[int, ...]) -> np.ndarray:
    """Detector numbers in slanted stripes across the tile (as the push-broom swath crosses it), 0 where
    no detector saw the ground."""
    factor = resolution // 10
    rows, cols = scene.shape[0] // factor, scene.shape[1] // factor
    position = (np.arange(cols)[None, :] + 0.12 * np.arange(rows)[:, None]) / (cols * 1.12)
    index = np.minimum((position * len(detectors)).astype(np.int64), len(detectors) - 1)
    numbers = np.asarray(detectors, dtype=np.uint8)[index]
    if scene.invalid is not None:
        outside = downsample_mean(scene.invalid.astype(np.float32), factor) > 0
        numbers[outside] = 0
    return numbers


def cloud_layers(scene: Scene) -> np.ndarray:
    """ESA's L1C cloud mask: opaque clouds, cirrus and snow layers at 60 m (majority of the 10 m truth)."""
    layers = [scene.truth == MaskClass.CLOUD, scene.truth == MaskClass.THIN_CLOUD,
              scene.truth == MaskClass.SNOW_ICE]
    return np.stack([(downsample_mean(layer.astype(np.float32), 6) > 0.5).astype(np.uint8) for layer in layers])


def angle_grid(mean: float, row_slope: float, col_slope: float, size: int = ANGLE_NODES) -> np.ndarray:
    """A 23 x 23 grid of angles varying linearly around ``mean`` (degrees per grid step)."""
    steps = np.arange(size) - size // 2
    return mean + row_slope * steps[:, None] + col_slope * steps[None, :]


def as_written(values: np.ndarray) -> np.ndarray:
    """Angles as MTD_TL.xml writes them (six significant digits), so every format stores the same numbers."""
    return np.vectorize(lambda value: float(f"{value:.6g}"))(values)


def sun_grids(desc: ProductDescription) -> tuple[np.ndarray, np.ndarray]:
    """Sun zenith and azimuth on the 5 km grid."""
    return as_written(angle_grid(desc.sun_zenith, 0.04, -0.015)), as_written(angle_grid(desc.sun_azimuth, -0.01, 0.075))


def detector_columns(desc: ProductDescription, size: int = ANGLE_NODES) -> list[np.ndarray]:
    """For each detector, which of the 23 angle-grid columns it sees (stripes across the tile)."""
    edges = np.linspace(0, size, len(desc.detectors) + 1)
    columns = np.arange(size)
    return [(columns >= low - 1) & (columns <= high) for low, high in zip(edges[:-1], edges[1:])]


def view_grids(desc: ProductDescription) -> list[tuple[np.ndarray, np.ndarray]]:
    """Viewing zenith and azimuth on the 5 km grid of each detector (NaN where it does not see), the
    same for every band."""
    grids = []
    for seen in detector_columns(desc):
        zenith = angle_grid(desc.view_zenith, 0.0, 0.45)
        azimuth = angle_grid(desc.view_azimuth, 0.02, 0.0)
        zenith[:, ~seen] = np.nan
        azimuth[:, ~seen] = np.nan
        grids.append((as_written(zenith), as_written(azimuth)))
    return grids
