"""The block-local spectral pass: per-pixel classes, per-class confidences and the dark-pixel layer.

``spectral_pass(bands, level)`` looks at one pixel at a time, so a block gives exactly what the same
pixels give in the whole image (``SPECTRAL_HALO = 0``). Class confidences come from the evidence of
:mod:`.rules`: clear land gets what the other classes leave, ``1 - max(evidence)``, and the scores are
normalised to sum to 1. CLOUD_SHADOW stays 0 here: shadows need the geometry of the whole image
(:func:`s2mask.physics.shadow_pass`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ..bands import LEVELS
from ..classes import N_CLASSES, MaskClass
from ..errors import ParameterError
from .features import NIR_BANDS, VISIBLE_BANDS, Spectra, require_any
from .rules import evaluate
from .thresholds import THRESHOLDS, Thresholds

#: Pixels of context the spectral pass needs around a block: none, every test is per pixel.
SPECTRAL_HALO = 0


@dataclass
class SpectralResult:
    """Output of :func:`spectral_pass` for an (H, W) block.

    ``classes`` uint8 (H, W) in the scheme of :mod:`s2mask.classes` (no CLOUD_SHADOW yet);
    ``probabilities`` float32 (7, H, W), per-class confidences summing to 1 (NO_DATA = 1 on invalid
    pixels); ``potential_shadow`` float32 (H, W) 0..1, how shadow-dark each pixel is;
    ``skipped_tests`` the tests that could not run, each with the bands it needed.
    """

    classes: np.ndarray
    probabilities: np.ndarray
    potential_shadow: np.ndarray
    skipped_tests: tuple[str, ...]


def thresholds_for(level: str) -> Thresholds:
    """The thresholds of a processing level ("L1C" or "L2A")."""
    try:
        return THRESHOLDS[level.upper()]
    except (KeyError, AttributeError):
        raise ParameterError(f"unknown processing level {level!r}; expected one of {', '.join(LEVELS)}") from None


def spectral_pass(bands: Mapping[str, np.ndarray], level: str, *,
                  thresholds: Thresholds | None = None) -> SpectralResult:
    """Classify every pixel of a block from its spectrum alone.

    ``bands`` maps band names ("B1" ... "B12", "B8A") to float32 reflectance arrays of one shape on one
    grid (TOA for ``level="L1C"``, BOA for ``"L2A"``); NaN or inf marks invalid pixels, which become
    NO_DATA. Any subset works as long as there is a visible band and a NIR band (B8 or B8A); the tests
    that need missing bands are listed in ``skipped_tests``. ``thresholds`` overrides the level's set.
    """
    spectra = Spectra(bands)
    require_any(spectra, (VISIBLE_BANDS, NIR_BANDS))
    evidence = evaluate(spectra, thresholds or thresholds_for(level))
    probabilities = np.zeros((N_CLASSES, *spectra.shape), dtype=np.float32)
    # What lies on top wins: a cloud hides the surface, so surface evidence counts only where the
    # clouds leave it visible.
    probabilities[MaskClass.CLOUD] = evidence.cloud
    probabilities[MaskClass.THIN_CLOUD] = evidence.thin_cloud
    visible_surface = (1 - evidence.cloud) * (1 - evidence.thin_cloud)
    probabilities[MaskClass.SNOW_ICE] = evidence.snow * visible_surface
    probabilities[MaskClass.WATER] = evidence.water * visible_surface
    probabilities[MaskClass.CLEAR_LAND] = 1 - probabilities.max(axis=0)
    probabilities /= probabilities.sum(axis=0, keepdims=True)
    invalid = ~spectra.valid
    probabilities[:, invalid] = 0
    probabilities[MaskClass.NO_DATA, invalid] = 1
    classes = probabilities.argmax(axis=0).astype(np.uint8)
    shadow = np.where(spectra.valid, evidence.shadow, np.float32(0)).astype(np.float32)
    return SpectralResult(classes=classes, probabilities=probabilities, potential_shadow=shadow,
                          skipped_tests=evidence.skipped)
