"""Band access and spectral indices for the rules: which bands are there, which pixels are valid.

The rules accept any subset of the 13 MSI bands on one grid. Where a rule can use either of two bands
(NIR: B8 at 10 m or B8A at 20 m), :meth:`Spectra.pick` takes the first one present.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..bands import band_index
from ..errors import MissingBandError

#: The band the rules call NIR, in order of preference: B8A is the narrow band of [S2C]'s tests and
#: lies outside the chlorophyll red edge; B8 (10 m) stands in when B8A is missing.
NIR_BANDS: tuple[str, ...] = ("B8A", "B8")
VISIBLE_BANDS: tuple[str, ...] = ("B2", "B3", "B4")


class Spectra:
    """float32 reflectance arrays by band name, all of one shape, with the mask of valid pixels."""

    def __init__(self, bands: Mapping[str, np.ndarray]):
        if not bands:
            raise MissingBandError("no band given to the spectral rules")
        shapes = {np.shape(array) for array in bands.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 2:
            raise ValueError(f"bands must be 2-D arrays of one shape, got shapes {sorted(shapes)}")
        for name in bands:
            band_index(name)
        self.shape: tuple[int, int] = shapes.pop()
        self._bands = {name: np.asarray(array, dtype=np.float32) for name, array in bands.items()}
        self.valid = np.ones(self.shape, dtype=bool)
        for array in self._bands.values():
            self.valid &= np.isfinite(array)

    def has(self, *names: str) -> bool:
        return all(name in self._bands for name in names)

    def missing(self, *names: str) -> tuple[str, ...]:
        return tuple(name for name in names if name not in self._bands)

    def __getitem__(self, name: str) -> np.ndarray:
        """The band with invalid pixels set to 0, so that the rules never see NaN."""
        array = self._bands[name]
        return np.where(self.valid, array, np.float32(0))

    def pick(self, names: tuple[str, ...]) -> str | None:
        """The first of ``names`` present, or None."""
        return next((name for name in names if name in self._bands), None)


def normalized_difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(a - b) / (a + b), 0 where the sum is not positive."""
    total = a + b
    safe = np.where(total > 0, total, np.float32(1))
    return np.where(total > 0, (a - b) / safe, np.float32(0)).astype(np.float32)


def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a / b, with b floored at 1e-3 reflectance (dark pixels give large ratios, not infinities)."""
    return (a / np.maximum(b, np.float32(1e-3))).astype(np.float32)


def visible_mean(spectra: Spectra) -> np.ndarray:
    """Mean of the visible bands present ([ZW12]'s MeanVis)."""
    names = [name for name in VISIBLE_BANDS if spectra.has(name)]
    return (sum(spectra[name] for name in names) / np.float32(len(names))).astype(np.float32)


def whiteness(spectra: Spectra) -> np.ndarray:
    """[ZW12] whiteness: sum over the visible bands of |b - mean| / mean (0 for a flat spectrum)."""
    mean = visible_mean(spectra)
    spread = sum(np.abs(spectra[name] - mean) for name in VISIBLE_BANDS)
    return (spread / np.maximum(mean, np.float32(1e-3))).astype(np.float32)


def haze_optimized_transform(blue: np.ndarray, red: np.ndarray) -> np.ndarray:
    """[Z02] HOT as used by [ZW12]: B2 - 0.5 B4 - 0.08 (positive for haze and cloud)."""
    return (blue - np.float32(0.5) * red - np.float32(0.08)).astype(np.float32)


def require_any(spectra: Spectra, groups: tuple[tuple[str, ...], ...]) -> None:
    """Raise :class:`MissingBandError` unless each group has at least one band present."""
    for group in groups:
        if spectra.pick(group) is None:
            raise MissingBandError(f"the spectral rules need at least one of {', '.join(group)}")
