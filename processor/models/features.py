"""The input stack of the mask networks: normalised bands plus illumination and terrain.

Channels, in order: the model's bands (ESA order), then its auxiliary features, each normalised as
``(value - mean) / std`` with the statistics of the training data (kept in the weights registry).
Auxiliary features (:data:`AUX_FEATURES`):

- ``cos_sun_zenith``: cosine of the sun zenith angle of each pixel;
- ``cos_incidence``: cosine of the local solar incidence angle on the terrain (slope and aspect from the
  elevation); equal to ``cos_sun_zenith`` when no elevation is given (flat terrain);
- ``elevation``: elevation in km (0 without elevation) and ``has_elevation`` (1 or 0), so one network
  serves inputs with and without a DEM;
- ``is_l2a``: 1 for L2A (BOA) input, 0 for L1C (TOA), for networks trained on both levels.

Invalid pixels (NaN or inf in any band) get 0 in every channel, the training mean: a constant keeps
the fill local, so blocks stay equal to the whole image. The terrain slope needs one pixel of context
(:attr:`FeatureSpec.halo`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ModelError
from ..masking import require_bands

AUX_FEATURES: tuple[str, ...] = ("cos_sun_zenith", "cos_incidence", "elevation", "has_elevation", "is_l2a")
#: Sun zenith (degrees) assumed when the caller knows none (mid-latitude morning overpass).
DEFAULT_SUN_ZENITH = 40.0
#: Sun azimuth (degrees) assumed with :data:`DEFAULT_SUN_ZENITH` (only terrain incidence uses it).
DEFAULT_SUN_AZIMUTH = 150.0


@dataclass(frozen=True)
class FeatureSpec:
    """Which channels a network takes and how each is normalised."""

    bands: tuple[str, ...]
    aux: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        unknown = [name for name in self.aux if name not in AUX_FEATURES]
        if unknown:
            raise ModelError(f"unknown auxiliary feature(s) {', '.join(unknown)}; known: {', '.join(AUX_FEATURES)}")
        if not len(self.mean) == len(self.std) == self.in_channels:
            raise ModelError(f"normalisation has {len(self.mean)} means and {len(self.std)} deviations for "
                             f"{self.in_channels} channels")

    @property
    def in_channels(self) -> int:
        return len(self.bands) + len(self.aux)

    @property
    def halo(self) -> int:
        """Pixels of context the features need (the terrain slope looks at the neighbours)."""
        return 1 if "cos_incidence" in self.aux else 0

    def to_dict(self) -> dict[str, Any]:
        return {"mean": list(self.mean), "std": list(self.std)}

    @classmethod
    def from_registry(cls, item: Mapping[str, Any]) -> FeatureSpec:
        norm = item["normalisation"]
        return cls(tuple(item["bands"]), tuple(item.get("aux", ())), tuple(norm["mean"]), tuple(norm["std"]))


def incidence_cosine(elevation: np.ndarray, resolution: float, sun_zenith: np.ndarray,
                     sun_azimuth: np.ndarray) -> np.ndarray:
    """cos of the angle between the sun and the terrain normal (slope and aspect from ``elevation``, m)."""
    d_row, d_col = np.gradient(np.asarray(elevation, dtype=np.float32), resolution)
    slope = np.arctan(np.hypot(d_row, d_col))
    # Rows grow southward: the downhill direction is (east, north) = (-d_col, d_row).
    aspect = np.arctan2(-d_col, d_row)
    zenith, azimuth = np.deg2rad(sun_zenith), np.deg2rad(sun_azimuth)
    cosine = np.cos(zenith) * np.cos(slope) + np.sin(zenith) * np.sin(slope) * np.cos(azimuth - aspect)
    return cosine.astype(np.float32)


def aux_layers(spec: FeatureSpec, shape: tuple[int, int], *, level: str, resolution: float,
               sun_zenith: np.ndarray | float | None, sun_azimuth: np.ndarray | float | None,
               elevation: np.ndarray | None) -> list[np.ndarray | float]:
    """The raw auxiliary features of ``spec`` (arrays of ``shape`` or scalars)."""
    zenith = DEFAULT_SUN_ZENITH if sun_zenith is None else sun_zenith
    azimuth = DEFAULT_SUN_AZIMUTH if sun_azimuth is None else sun_azimuth
    cos_zenith = np.cos(np.deg2rad(np.asarray(zenith, dtype=np.float32)))
    values: dict[str, Any] = {"is_l2a": float(level.upper() == "L2A"),
                              "has_elevation": float(elevation is not None), "cos_sun_zenith": cos_zenith}
    if elevation is None:
        values["elevation"], values["cos_incidence"] = 0.0, cos_zenith
    else:
        if np.shape(elevation) != shape:
            raise ValueError(f"elevation {np.shape(elevation)} does not match the bands {shape}")
        values["elevation"] = np.nan_to_num(np.asarray(elevation, dtype=np.float32)) / np.float32(1000)
        if "cos_incidence" in spec.aux:
            values["cos_incidence"] = incidence_cosine(np.nan_to_num(elevation), resolution,
                                                       np.broadcast_to(zenith, shape), np.broadcast_to(azimuth, shape))
    return [values[name] for name in spec.aux]


def feature_stack(bands: Mapping[str, np.ndarray], spec: FeatureSpec, *, level: str, resolution: float,
                  sun_zenith: np.ndarray | float | None = None, sun_azimuth: np.ndarray | float | None = None,
                  elevation: np.ndarray | None = None, valid: np.ndarray | None = None) -> np.ndarray:
    """The normalised (channels, H, W) float32 stack of ``spec`` from reflectance ``bands`` (NaN invalid).

    ``valid`` (H, W) may be passed when the caller already knows it; otherwise it is every pixel where
    all bands are finite.
    """
    require_bands(spec.bands, bands, "the network")
    shape = np.shape(bands[spec.bands[0]])
    stack = np.empty((spec.in_channels, *shape), dtype=np.float32)
    layers = [bands[band] for band in spec.bands] + aux_layers(
        spec, shape, level=level, resolution=resolution, sun_zenith=sun_zenith, sun_azimuth=sun_azimuth,
        elevation=elevation)
    for channel, (layer, mean, std) in enumerate(zip(layers, spec.mean, spec.std)):
        np.subtract(layer, np.float32(mean), out=stack[channel])
        stack[channel] *= np.float32(1 / std)
    if valid is None:
        valid = np.isfinite(stack[:len(spec.bands)]).all(axis=0)
    if not valid.all():
        np.copyto(stack, np.float32(0), where=~valid)
    return stack
