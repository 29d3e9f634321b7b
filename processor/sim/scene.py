"""Synthetic Sentinel-2 scenes with exact truth.

A :class:`Scene` stores physical layers on the 10 m grid (surface type and texture, cloud opacity,
cirrus, shadow, invalid and saturated pixels) and renders any band as TOA (L1C) or BOA (L2A)
reflectance on its native grid, so that the 20 m and 60 m bands are exact area means of what the 10 m
grid holds. The truth is the class of every 10 m pixel (``s2mask.classes``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..bands import ALL_BANDS, L2A_BANDS, NATIVE_RESOLUTION
from ..classes import MaskClass
from ..resample import downsample_mean, resample_to_resolution
from .spectra import DIFFUSE_FRACTION, SURFACE_SPECTRA, band_position, from_toa, to_toa

SURFACES: tuple[str, ...] = tuple(SURFACE_SPECTRA)
SURFACE_CLASS = {name: MaskClass.WATER if "water" in name else MaskClass.SNOW_ICE if name == "snow"
                 else MaskClass.CLEAR_LAND for name in SURFACES}

#: TOA reflectance of an optically thick water cloud: flat across the VNIR, lower in the SWIR where
#: droplets absorb; B10 shows only the part of the cloud above the water vapour (set by cloud height).
OPAQUE_CLOUD_TOA = np.array([0.62, 0.60, 0.59, 0.58, 0.58, 0.58, 0.58, 0.57, 0.57, 0.48, 0.0, 0.42, 0.28],
                            dtype=np.float32)
#: Relative spectral shape of thin ice cloud (cirrus) reflectance, normalised to B10.
CIRRUS_SHAPE = np.array([1.1, 1.05, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.95, 1.0, 0.8, 0.6], dtype=np.float32)


@dataclass
class Scene:
    """Physical layers on the 10 m grid; ``height`` and ``width`` are multiples of 6."""

    cover: np.ndarray
    texture: np.ndarray
    truth: np.ndarray
    sun_zenith: float = 35.0
    sun_azimuth: float = 150.0
    view_zenith: float = 4.0
    view_azimuth: float = 105.0
    #: 0..1: fraction of each pixel's signal replaced by the opaque-cloud spectrum
    cloud_opacity: np.ndarray | None = None
    #: B10 reflectance of the cloud top (high clouds are visible at 1375 nm, low ones are not)
    cloud_b10: np.ndarray | None = None
    #: cirrus reflectance at 1375 nm; adds CIRRUS_SHAPE times this to every band
    cirrus: np.ndarray | None = None
    #: 0..1: fraction of the direct sunlight blocked by a cloud (cloud shadow)
    shadow: np.ndarray | None = None
    invalid: np.ndarray | None = None
    saturated: np.ndarray | None = None
    #: BOA spectrum of each surface type (default :data:`SURFACE_SPECTRA`)
    surface_spectra: dict[str, np.ndarray] | None = None

    def __post_init__(self) -> None:
        height, width = self.truth.shape
        if height % 6 or width % 6:
            raise ValueError(f"scene shape {height}x{width} must be a multiple of 6 (the 60 m grid)")

    @property
    def shape(self) -> tuple[int, int]:
        return self.truth.shape

    def render(self, band: str, level: str = "L1C") -> np.ndarray:
        """Reflectance of ``band`` on the 10 m grid (NaN no data, +inf saturated).

        The TOA signal mixes the (shadowed) surface seen through the atmosphere with the cloud and
        cirrus reflectance; L2A is that signal corrected back to BOA, ``(TOA - path) / transmittance``,
        as an atmospheric correction would: clear pixels return the surface, clouds come out brighter
        than at TOA in the blue. Computed in place, so a full tile costs two layers of temporaries.
        """
        index = band_position(band)
        library = self.surface_spectra or SURFACE_SPECTRA
        spectra = np.array([library[name][index] for name in SURFACES], dtype=np.float32)
        signal = spectra[self.cover]
        signal *= self.texture
        if self.shadow is not None:
            lit = self.shadow * np.float32(DIFFUSE_FRACTION[index] - 1)
            lit += 1
            signal *= lit
            del lit
        signal = to_toa(signal, band)
        if self.cloud_opacity is not None:
            cloud = self.cloud_opacity * np.float32(OPAQUE_CLOUD_TOA[index] if band != "B10" else 0.0)
            if band == "B10" and self.cloud_b10 is not None:
                cloud += self.cloud_opacity * self.cloud_b10
            signal *= 1 - self.cloud_opacity
            signal += cloud
            del cloud
        if self.cirrus is not None:
            signal += CIRRUS_SHAPE[index] * self.cirrus
        if level == "L2A":
            signal = from_toa(signal, band)
        if self.saturated is not None:
            signal[self.saturated] = np.inf
        if self.invalid is not None:
            signal[self.invalid] = np.nan
        return signal

    def band(self, band: str, level: str = "L1C") -> np.ndarray:
        """Reflectance of ``band`` on its native grid: the area mean of the 10 m rendering."""
        return downsample_mean(self.render(band, level), NATIVE_RESOLUTION[band] // 10)

    def bands_at(self, resolution: int, level: str = "L1C",
                 bands: tuple[str, ...] | None = None) -> dict[str, np.ndarray]:
        """Every band (default: those of ``level``) on the ``resolution`` grid, as the SAFE reader brings
        them there: area mean of finer native grids, bilinear interpolation of coarser ones."""
        names = bands or (ALL_BANDS if level == "L1C" else L2A_BANDS)
        return {name: resample_to_resolution(self.band(name, level), NATIVE_RESOLUTION[name], resolution)
                for name in names}


#: Rows per strip when filling full-tile layers, so that temporaries stay small (a 10980 x 10980 float32
#: layer is 480 MB; a strip of it is 45 MB).
STRIP_ROWS = 1024


def strips(height: int, rows: int = STRIP_ROWS) -> list[slice]:
    """Row slices that cover ``height`` rows in strips of ``rows``."""
    return [slice(start, min(start + rows, height)) for start in range(0, height, rows)]


def _bilinear_taps(size: int, scale: int, coarse_size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices and weight of the two coarse cells around each fine pixel centre (edge cells repeated)."""
    positions = (np.arange(size) + 0.5) / scale - 0.5
    base = np.floor(positions).astype(np.int64)
    weight = (positions - base).astype(np.float32)
    return np.clip(base, 0, coarse_size - 1), np.clip(base + 1, 0, coarse_size - 1), weight


def smooth_field(shape: tuple[int, int], scale: int, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise with features about ``scale`` pixels wide (bilinear interpolation of a coarse grid).

    Interpolated separably, strip by strip, in float32: a full 10 m tile costs one output array.
    """
    coarse = rng.standard_normal((shape[0] // scale + 2, shape[1] // scale + 2)).astype(np.float32)
    c0, c1, wc = _bilinear_taps(shape[1], scale, coarse.shape[1])
    r0, r1, wr = _bilinear_taps(shape[0], scale, coarse.shape[0])
    across = coarse[:, c0] * (1 - wc) + coarse[:, c1] * wc
    field = np.empty(shape, dtype=np.float32)
    for rows in strips(shape[0]):
        weight = wr[rows, None]
        field[rows] = across[r0[rows]] * (1 - weight) + across[r1[rows]] * weight
    return field


def quantile_level(field: np.ndarray, fraction: float) -> float:
    """The value that ``fraction`` of ``field`` exceeds (estimated on a sub-sample of about 200 x 200)."""
    step = (max(1, field.shape[0] // 200), max(1, field.shape[1] // 200))
    return float(np.quantile(field[:: step[0], :: step[1]], 1 - fraction))


def landscape(height: int, width: int, seed: int = 0, feature_size: int = 120,
              surfaces: tuple[str, ...] = ("vegetation", "cropland", "bare_soil", "urban"),
              water_fraction: float = 0.12) -> Scene:
    """A cloud-free landscape: patches of ``surfaces`` with texture and lakes covering ``water_fraction``."""
    rng = np.random.default_rng(seed)
    scale = max(2, min(feature_size, height // 2, width // 2))
    patches = smooth_field((height, width), scale, rng)
    edges = [quantile_level(patches, 1 - q) for q in np.linspace(0, 1, len(surfaces) + 1)[1:-1]]
    kinds = np.array([SURFACES.index(s) for s in surfaces], dtype=np.uint8)
    cover = np.empty((height, width), dtype=np.uint8)
    for rows in strips(height):
        cover[rows] = kinds[np.digitize(patches[rows], edges)]
    del patches
    if water_fraction > 0:
        lakes = smooth_field((height, width), scale * 2, rng)
        cover[lakes > quantile_level(lakes, water_fraction)] = SURFACES.index("water")
        del lakes
    texture = smooth_field((height, width), max(2, scale // 8), rng)
    texture *= np.float32(0.08)
    texture += np.float32(1)
    for rows in strips(height):
        texture[rows] += rng.normal(0, 0.02, size=(rows.stop - rows.start, width)).astype(np.float32)
    lookup = np.array([SURFACE_CLASS[name] for name in SURFACES], dtype=np.uint8)
    return Scene(cover=cover, texture=texture, truth=lookup[cover])
