"""The rule-based classifier of this package as a :class:`~s2mask.masking.Masker`."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..classes import MaskClass
from ..masking import BlockInput, BlockPrediction, TileGeometry
from .classify import add_shadow_probabilities
from .shadow import shadow_pass
from .spectral import SPECTRAL_HALO, spectral_pass


def geometric_shadows(classes: np.ndarray, potential_shadow: np.ndarray, geometry: TileGeometry,
                      threads: int = 0) -> np.ndarray:
    """:func:`~s2mask.physics.shadow_pass` over a whole tile of ``geometry``: the finishing step of every
    masker that projects its clouds' shadows."""
    return shadow_pass(classes, potential_shadow, sun_zenith=geometry.sun_zenith, sun_azimuth=geometry.sun_azimuth,
                       view_zenith=geometry.view_zenith, view_azimuth=geometry.view_azimuth,
                       resolution=geometry.resolution, threads=threads)


class PhysicsMasker:
    """The rule-based classifier of :mod:`s2mask.physics` as a masker: spectral tests per block, then
    geometric cloud shadows over the whole tile (with ``threads``, 0: every core)."""

    model_id = "physics"
    tile_layers = ("potential_shadow",)
    angles: tuple[str, ...] = ()

    def __init__(self, level: str, available_bands: tuple[str, ...], threads: int = 0):
        self.level = level
        self.threads = threads
        self.bands = tuple(available_bands)
        self.halo = SPECTRAL_HALO
        self.notes: set[str] = set()

    def predict(self, block: BlockInput) -> BlockPrediction:
        result = spectral_pass(block.bands, block.level)
        self.notes.update(result.skipped_tests)
        return BlockPrediction(result.probabilities, result.classes,
                               {"potential_shadow": np.asarray(result.potential_shadow)})

    def finish(self, classes: np.ndarray, layers: Mapping[str, np.ndarray], geometry: TileGeometry) -> np.ndarray:
        return geometric_shadows(classes, layers["potential_shadow"], geometry, self.threads)

    def finish_probabilities(self, percent: np.ndarray, classes: np.ndarray,
                             layers: Mapping[str, np.ndarray]) -> None:
        """Give the shadows found by :meth:`finish` their confidence in the stored probabilities
        (uint8 per cent of classes 1..6, modified in place on the shadow pixels only)."""
        shadow = classes == MaskClass.CLOUD_SHADOW
        if not shadow.any():
            return
        stored = percent[:, shadow].astype(np.float32) / 100
        full = np.concatenate([np.zeros((1, stored.shape[1]), np.float32), stored])
        add_shadow_probabilities(full, classes[shadow], layers["potential_shadow"][shadow])
        percent[:, shadow] = np.round(full[1:] * 100).astype(np.uint8)
