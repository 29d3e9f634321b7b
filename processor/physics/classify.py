"""Both passes of the physics classifier on in-memory arrays, and the shadow confidences.

The pipeline streams blocks through :func:`~s2mask.physics.spectral_pass`, then runs
:func:`~s2mask.physics.shadow_pass` on the whole-tile class and potential-shadow layers and calls
:func:`add_shadow_probabilities`; :func:`classify` does the same on arrays that fit in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..classes import MaskClass
from .shadow import shadow_pass
from .spectral import spectral_pass
from .thresholds import Thresholds


@dataclass
class PhysicsResult:
    """``classes`` uint8 (H, W), ``probabilities`` float32 (7, H, W) summing to 1 per pixel, and the
    tests that could not run for lack of bands."""

    classes: np.ndarray
    probabilities: np.ndarray
    skipped_tests: tuple[str, ...]


def add_shadow_probabilities(probabilities: np.ndarray, classes: np.ndarray,
                             potential_shadow: np.ndarray) -> np.ndarray:
    """Give the CLOUD_SHADOW pixels of ``classes`` their confidence, in place, and return the array.

    A geometric shadow gets ``0.5 + 0.5 * darkness`` (so it stays the most likely class); the other
    classes share the rest in their former proportions.
    """
    shadow = classes == MaskClass.CLOUD_SHADOW
    confidence = np.float32(0.5) + np.float32(0.5) * np.asarray(potential_shadow, dtype=np.float32)[shadow]
    others = probabilities[:, shadow]
    others *= (1 - confidence) / np.maximum(others.sum(axis=0), np.float32(1e-6))
    others[MaskClass.CLOUD_SHADOW] = confidence
    probabilities[:, shadow] = others
    return probabilities


def classify(bands: Mapping[str, np.ndarray], level: str, *, sun_zenith: np.ndarray | float,
             sun_azimuth: np.ndarray | float, view_zenith: np.ndarray | float = 0.0,
             view_azimuth: np.ndarray | float = 0.0, resolution: float, shadows: bool = True,
             thresholds: Thresholds | None = None) -> PhysicsResult:
    """Classify whole arrays: the spectral pass, then (``shadows=True``) the geometric shadow pass.

    ``bands`` as for :func:`~s2mask.physics.spectral_pass`; angles in degrees (scalars or per-pixel
    arrays); ``resolution`` the pixel size in metres.
    """
    spectral = spectral_pass(bands, level, thresholds=thresholds)
    classes, probabilities = spectral.classes, spectral.probabilities
    if shadows:
        classes = shadow_pass(classes, spectral.potential_shadow, sun_zenith=sun_zenith, sun_azimuth=sun_azimuth,
                              view_zenith=view_zenith, view_azimuth=view_azimuth, resolution=resolution)
        add_shadow_probabilities(probabilities, classes, spectral.potential_shadow)
    return PhysicsResult(classes=classes, probabilities=probabilities, skipped_tests=spectral.skipped_tests)
