"""Physics-supervised labels: the rule-based classifier (and the Hollstein teacher) on one scene.

A :class:`LabelledScene` holds a scene's bands on one grid with everything the selection strategies
and the trainer need: the physics classes and confidences, its dark-pixel layer, the second teacher's
classes where its bands are there (L1C with B10), the exact truth of synthetic scenes and the reference
masks of real ones. Scenes with unknown sun geometry get the shadow direction that matches their
clouds best (:func:`estimate_sun_azimuth`), so their cloud shadows are labelled too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..classes import MaskClass
from ..physics import add_shadow_probabilities, shadow_pass, spectral_pass
from .hollstein import USED_BANDS, to_classes

#: Sun zenith assumed for scenes whose geometry is unknown (only the shadow direction is searched).
ASSUMED_SUN_ZENITH = 40.0
#: Sun azimuths tried when the geometry is unknown, degrees.
AZIMUTH_STEP = 15


@dataclass
class LabelledScene:
    """One scene on one grid, labelled by the physics classifier."""

    name: str
    level: str
    resolution: float
    bands: dict[str, np.ndarray]
    sun_zenith: float
    sun_azimuth: float
    labels: np.ndarray
    probabilities: np.ndarray
    potential_shadow: np.ndarray
    source: str = "synthetic"
    teacher: np.ndarray | None = None
    truth: np.ndarray | None = None
    elevation: np.ndarray | None = None
    references: dict[str, np.ndarray] = field(default_factory=dict)
    view_zenith: float = 0.0
    view_azimuth: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        return self.labels.shape

    @property
    def valid(self) -> np.ndarray:
        return self.labels != MaskClass.NO_DATA


def estimate_sun_azimuth(classes: np.ndarray, potential: np.ndarray, resolution: float,
                         sun_zenith: float = ASSUMED_SUN_ZENITH,
                         azimuths: range = range(0, 360, AZIMUTH_STEP)) -> float:
    """The sun azimuth (among ``azimuths``) whose projected clouds land on the most dark pixels (for
    scenes without angles)."""
    counts = {azimuth: int((shadow_pass(classes, potential, sun_zenith=sun_zenith, sun_azimuth=azimuth,
                                        resolution=resolution) == MaskClass.CLOUD_SHADOW).sum())
              for azimuth in azimuths}
    return float(max(counts, key=counts.get))


def physics_labels(bands: dict[str, np.ndarray], level: str, resolution: float, sun_zenith: float | None,
                   sun_azimuth: float | None, view_zenith: float = 0.0,
                   view_azimuth: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float]:
    """Physics classes, probabilities (7, H, W), dark-pixel layer and the sun angles used."""
    spectral = spectral_pass(bands, level)
    sun_zenith = ASSUMED_SUN_ZENITH if sun_zenith is None else sun_zenith
    if sun_azimuth is None:
        sun_azimuth = estimate_sun_azimuth(spectral.classes, spectral.potential_shadow, resolution, sun_zenith)
    classes = shadow_pass(spectral.classes, spectral.potential_shadow, sun_zenith=sun_zenith, sun_azimuth=sun_azimuth,
                          view_zenith=view_zenith, view_azimuth=view_azimuth, resolution=resolution)
    probabilities = add_shadow_probabilities(spectral.probabilities, classes, spectral.potential_shadow)
    return classes, probabilities, spectral.potential_shadow, float(sun_zenith), float(sun_azimuth)


def teacher_classes(bands: dict[str, np.ndarray], level: str) -> np.ndarray | None:
    """The Hollstein teacher's classes (ours), or None when it cannot judge (L2A, or bands missing)."""
    if level != "L1C" or any(band not in bands for band in USED_BANDS):
        return None
    from .hollstein import teacher

    labels, _ = teacher().predict(bands)
    return to_classes(labels)


def label_scene(name: str, level: str, resolution: float, bands: dict[str, np.ndarray], *,
                sun_zenith: float | None = None, sun_azimuth: float | None = None, view_zenith: float = 0.0,
                view_azimuth: float = 0.0, source: str = "real", use_teacher: bool = True,
                truth: np.ndarray | None = None, elevation: np.ndarray | None = None,
                references: dict[str, np.ndarray] | None = None) -> LabelledScene:
    """Label one scene with the physics classifier (and the second teacher when ``use_teacher``)."""
    classes, probabilities, potential, zenith, azimuth = physics_labels(
        bands, level, resolution, sun_zenith, sun_azimuth, view_zenith, view_azimuth)
    return LabelledScene(name, level, resolution, bands, zenith, azimuth, classes, probabilities, potential,
                         source=source, teacher=teacher_classes(bands, level) if use_teacher else None,
                         truth=truth, elevation=elevation, references=dict(references or {}),
                         view_zenith=view_zenith, view_azimuth=view_azimuth)
