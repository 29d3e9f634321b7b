"""Pixel-selection strategies: which physics labels a network may learn from.

Padilla-Zepeda et al. (JSTARS 2025) train on physics labels after removing the doubtful ones. Three
strategies, chosen by name (:data:`STRATEGIES`):

- ``full``: every valid labelled pixel (the baseline: the network sees the teacher's mistakes too);
- ``uniqueness``: pixels whose physics decision is unique: the most likely class has at least
  ``min_confidence`` and leads the runner-up by ``min_margin``; with ``teacher_agreement`` the
  Hollstein classifier (learned from hand-labelled spectra) must also agree where it can judge
  (opaque and thin cloud count as one group: its "Cirrus" and "Cloud" split semi-transparent cloud
  differently from ours);
- ``physics_rules``: pixels that pass strict per-class consistency rules: a confident label, the same
  class on all 8 neighbours, and a class-specific spectral or geometric check (below).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ..classes import MaskClass
from .labels import LabelledScene

STRATEGIES: tuple[str, ...] = ("full", "uniqueness", "physics_rules")
_CLOUD_GROUP = (MaskClass.CLOUD, MaskClass.THIN_CLOUD)


@dataclass(frozen=True)
class SelectionOptions:
    strategy: str = "uniqueness"
    min_confidence: float = 0.6
    min_margin: float = 0.25
    teacher_agreement: bool = False
    #: physics_rules: clear land must lie this far (20 m pixels) from any cloud, whose edges blur into it
    cloud_distance: int = 3

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"unknown selection strategy {self.strategy!r}; expected one of {', '.join(STRATEGIES)}")

    def describe(self) -> str:
        if self.strategy == "uniqueness":
            extra = ", agreeing with the Hollstein teacher" if self.teacher_agreement else ""
            return f"uniqueness (confidence >= {self.min_confidence}, margin >= {self.min_margin}{extra})"
        return self.strategy


def unique(probabilities: np.ndarray, min_confidence: float, min_margin: float) -> np.ndarray:
    """Pixels whose top class probability and lead over the second are both large enough."""
    top2 = np.partition(probabilities, -2, axis=0)[-2:]
    return (top2[1] >= min_confidence) & (top2[1] - top2[0] >= min_margin)


def teacher_agrees(labels: np.ndarray, teacher: np.ndarray) -> np.ndarray:
    """Where the second teacher gives the same class (cloud and thin cloud as one group)."""
    group = np.arange(256, dtype=np.uint8)
    group[MaskClass.THIN_CLOUD] = MaskClass.CLOUD
    return (group[labels] == group[teacher]) & (teacher != MaskClass.NO_DATA)


def _index(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    total = a + b
    return np.where(total > 0, (a - b) / np.where(total > 0, total, 1), 0).astype(np.float32)


def homogeneous(labels: np.ndarray) -> np.ndarray:
    """Pixels whose 3 x 3 neighbourhood holds one class."""
    low = ndimage.minimum_filter(labels, size=3, mode="nearest")
    high = ndimage.maximum_filter(labels, size=3, mode="nearest")
    return low == high


def rule_checks(scene: LabelledScene, cloud_distance: int = 3) -> dict[int, np.ndarray]:
    """The class-specific checks of ``physics_rules`` (each a boolean map); ``cloud_distance`` in
    pixels of a 20 m grid, scaled to the scene's."""
    bands, p = scene.bands, scene.probabilities
    nir = np.nan_to_num(bands["B8A"] if "B8A" in bands else bands["B8"])
    green, red = np.nan_to_num(bands["B3"]), np.nan_to_num(bands["B4"])
    swir1 = np.nan_to_num(bands["B11"]) if "B11" in bands else None
    cloudy = np.isin(scene.labels, _CLOUD_GROUP)
    far_from_cloud = ndimage.distance_transform_edt(~cloudy) > max(1.0, cloud_distance * 20.0 / scene.resolution)
    haze = np.nan_to_num(bands["B2"]) - 0.5 * red - 0.08
    thin_signal = np.nan_to_num(bands["B10"]) >= 0.012 if "B10" in bands else haze > 0.03
    checks = {
        MaskClass.CLEAR_LAND: (p[MaskClass.CLEAR_LAND] >= 0.8) & far_from_cloud & (scene.potential_shadow < 0.2),
        MaskClass.WATER: (p[MaskClass.WATER] >= 0.6) & (_index(green, nir) > 0) & (nir < 0.12),
        MaskClass.SNOW_ICE: (p[MaskClass.SNOW_ICE] >= 0.6) & (green > 0.3),
        MaskClass.CLOUD: (p[MaskClass.CLOUD] >= 0.8) & (np.nan_to_num(bands["B2"]) > 0.2),
        MaskClass.THIN_CLOUD: (p[MaskClass.THIN_CLOUD] >= 0.6) & thin_signal,
        MaskClass.CLOUD_SHADOW: (scene.potential_shadow >= 0.5) & (p[MaskClass.WATER] < 0.3),
    }
    if swir1 is not None:
        checks[MaskClass.WATER] &= swir1 < 0.08
        checks[MaskClass.SNOW_ICE] &= _index(green, swir1) > 0.4
    return checks


def select_pixels(scene: LabelledScene, options: SelectionOptions) -> np.ndarray:
    """The boolean map of the pixels of ``scene`` whose physics label the network may learn."""
    keep = scene.valid.copy()
    if options.strategy == "full":
        return keep
    if options.strategy == "uniqueness":
        keep &= unique(scene.probabilities, options.min_confidence, options.min_margin)
        if options.teacher_agreement and scene.teacher is not None:
            keep &= teacher_agrees(scene.labels, scene.teacher)
        return keep
    keep &= homogeneous(scene.labels)
    passed = np.zeros_like(keep)
    for code, check in rule_checks(scene, options.cloud_distance).items():
        passed |= (scene.labels == code) & check
    return keep & passed
