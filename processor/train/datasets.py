"""Training batches: feature stacks of the labelled scenes and class-balanced patches of selected pixels.

Each scene becomes a normalised feature stack (:func:`s2mask.models.features.feature_stack`) padded
by the network's radius (by replication, as inference pads the image edge) and a target map holding
the network's class index (0..5) on selected pixels and :data:`IGNORE` elsewhere. A patch is drawn
around a selected pixel: first a class, with a probability proportional to its selected pixels raised
to ``class_balance`` (0: uniformly among the classes present, full class balancing; 1: as common as the
class is), then a pixel of that class, real scenes weighted up; the eight flips and rotations augment it. Soft targets
(class probabilities of an ensemble, for distillation) travel with the patch when given.
:func:`jitter_gains` multiplies each band of a batch by its own random gain, as a calibration error
or a different atmosphere would (the consistency term of the trainer compares the two views).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..models.features import FeatureSpec, aux_layers, feature_stack
from ..models.networks import OUTPUT_CLASSES
from .labels import LabelledScene

IGNORE = 255
#: How much more often a selected pixel of a real scene is drawn than one of a synthetic scene.
REAL_WEIGHT = 4.0


def scene_features(scene: LabelledScene, spec: FeatureSpec) -> np.ndarray:
    """The normalised feature stack of a scene."""
    return feature_stack(scene.bands, spec, level=scene.level, resolution=scene.resolution,
                         sun_zenith=scene.sun_zenith, sun_azimuth=scene.sun_azimuth, elevation=scene.elevation,
                         valid=scene.valid)


def normalisation(scenes: Sequence[LabelledScene], bands: tuple[str, ...], aux: tuple[str, ...],
                  sample: int = 20000, seed: int = 0) -> FeatureSpec:
    """A :class:`FeatureSpec` whose mean and std are those of up to ``sample`` valid pixels per scene."""
    rng = np.random.default_rng(seed)
    identity = FeatureSpec(bands, aux, (0.0,) * (len(bands) + len(aux)), (1.0,) * (len(bands) + len(aux)))
    columns = []
    for scene in scenes:
        rows, cols = np.nonzero(scene.valid)
        pick = rng.choice(rows.size, size=min(sample, rows.size), replace=False)
        raw = [scene.bands[band][rows[pick], cols[pick]] for band in bands]
        for layer in aux_layers(identity, scene.shape, level=scene.level, resolution=scene.resolution,
                                sun_zenith=scene.sun_zenith, sun_azimuth=scene.sun_azimuth,
                                elevation=scene.elevation):
            raw.append(np.broadcast_to(np.asarray(layer, dtype=np.float32), scene.shape)[rows[pick], cols[pick]])
        columns.append(np.stack(raw))
    values = np.concatenate(columns, axis=1).astype(np.float64)
    # A floor on the spread keeps constant channels (no elevation in most scenes) from blowing up.
    std = np.maximum(values.std(axis=1), 0.05)
    return FeatureSpec(bands, aux, tuple(float(v) for v in values.mean(axis=1)), tuple(float(v) for v in std))


def targets(scene: LabelledScene, selected: np.ndarray) -> np.ndarray:
    """Network class index (class value - 1) where selected, :data:`IGNORE` elsewhere (uint8)."""
    return np.where(selected & scene.valid, scene.labels.astype(np.int16) - 1, IGNORE).astype(np.uint8)


class PatchSampler:
    """Draws (inputs, targets) batches of ``patch`` x ``patch`` output pixels from labelled scenes."""

    def __init__(self, scenes: Sequence[LabelledScene], selections: Sequence[np.ndarray], spec: FeatureSpec,
                 radius: int, patch: int, soft: Sequence[np.ndarray] | None = None, class_balance: float = 0.0):
        self.radius, self.patch = radius, patch
        self.inputs, self.targets = [], []
        self.soft: list[np.ndarray] | None = None if soft is None else []
        pools: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in OUTPUT_CLASSES]
        for index, (scene, selected) in enumerate(zip(scenes, selections)):
            if min(scene.shape) < patch:
                continue
            if self.soft is not None:
                self.soft.append(soft[index])
            stack = scene_features(scene, spec)
            self.inputs.append(np.pad(stack, ((0, 0), (radius, radius), (radius, radius)), mode="edge"))
            target = targets(scene, selected)
            self.targets.append(target)
            weight = REAL_WEIGHT if scene.source == "real" else 1.0
            for k in range(len(OUTPUT_CLASSES)):
                flat = np.flatnonzero(target == k)
                if flat.size:
                    pools[k].append((np.full(flat.size, len(self.inputs) - 1, dtype=np.int32), flat,
                                     np.full(flat.size, weight)))
        self.pools = []
        for pool in pools:
            if pool:
                weights = np.concatenate([p[2] for p in pool])
                self.pools.append((np.concatenate([p[0] for p in pool]), np.concatenate([p[1] for p in pool]),
                                   np.cumsum(weights) / weights.sum()))
        if not self.pools:
            raise ValueError("no selected pixel to train on")
        sizes = np.array([pool[1].size for pool in self.pools], dtype=np.float64) ** class_balance
        self.class_draws = np.cumsum(sizes) / sizes.sum() if class_balance else None

    def class_counts(self) -> np.ndarray:
        """Selected pixels per network class over all scenes."""
        counts = np.zeros(len(OUTPUT_CLASSES), dtype=np.int64)
        for target in self.targets:
            counts += np.bincount(target[target != IGNORE], minlength=len(OUTPUT_CLASSES))[:len(OUTPUT_CLASSES)]
        return counts

    def batch(self, size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """``size`` patches: inputs (size, C, patch + 2 r, patch + 2 r) float32, targets (size, patch, patch)
        int64 and, with soft targets, their (size, classes, patch, patch) float32 (else None)."""
        span = self.patch + 2 * self.radius
        channels = self.inputs[0].shape[0]
        inputs = np.empty((size, channels, span, span), dtype=np.float32)
        labels = np.empty((size, self.patch, self.patch), dtype=np.int64)
        soft = None if self.soft is None else np.empty((size, len(OUTPUT_CLASSES), self.patch, self.patch),
                                                       dtype=np.float32)
        for i in range(size):
            if self.class_draws is None:  # uniform: the draw of the recipes before class_balance existed
                pool = int(rng.integers(len(self.pools)))
            else:
                pool = min(int(np.searchsorted(self.class_draws, rng.random())), len(self.pools) - 1)
            scenes, flats, cumulative = self.pools[pool]
            pick = min(int(np.searchsorted(cumulative, rng.random())), flats.size - 1)
            scene = scenes[pick]
            height, width = self.targets[scene].shape
            row, col = divmod(int(flats[pick]), width)
            top = int(np.clip(row - self.patch // 2, 0, height - self.patch))
            left = int(np.clip(col - self.patch // 2, 0, width - self.patch))
            turns, flip = int(rng.integers(4)), bool(rng.integers(2))
            core = (slice(top, top + self.patch), slice(left, left + self.patch))
            inputs[i] = _dihedral(self.inputs[scene][:, top:top + span, left:left + span], turns, flip)
            labels[i] = _dihedral(self.targets[scene][core], turns, flip)
            if soft is not None:
                soft[i] = _dihedral(self.soft[scene][(slice(None), *core)], turns, flip)
        return inputs, labels, soft


def _dihedral(array: np.ndarray, turns: int, flip: bool) -> np.ndarray:
    """``array`` turned by ``turns`` quarter turns and mirrored left-right when ``flip``, over its last two axes."""
    turned = np.rot90(array, turns, axes=(-2, -1))
    return turned[..., ::-1] if flip else turned


def jitter_gains(inputs: np.ndarray, spec: FeatureSpec, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """A copy of normalised ``inputs`` (batch, C, H, W) whose band channels are those of reflectance
    multiplied by a gain ``exp(N(0, sigma))`` per patch and band (auxiliary channels unchanged)."""
    n_bands = len(spec.bands)
    gains = np.exp(rng.normal(0.0, sigma, size=(inputs.shape[0], n_bands))).astype(np.float32)[..., None, None]
    mean = np.asarray(spec.mean[:n_bands], dtype=np.float32)[:, None, None]
    std = np.asarray(spec.std[:n_bands], dtype=np.float32)[:, None, None]
    jittered = inputs.copy()
    # reflectance = x * std + mean; (gain * reflectance - mean) / std = gain * x + (gain - 1) * mean / std
    jittered[:, :n_bands] = gains * inputs[:, :n_bands] + (gains - 1) * (mean / std)
    return jittered
