"""A second, independent teacher: SICOR's histogram classifier learned from Hollstein et al. (2016).

The model (``../shared/data/teachers/sicor_hollstein/cld_mask_20160321_s2.h5``, GPL-3.0) holds six
per-class 5-D histograms of 3.67 million hand-labelled L1C spectra. It is read at run time and never
shipped with s2mask: this module is a training and evaluation aid. The inference follows the recipe of
that folder's README.txt (SICOR 0.20.5, ``classical_bayesian.py``):

1. L1C TOA reflectance with the PB 04.00 offset applied; bands B01 B02 B03 B8A B09 B10 B12 on one grid,
   rounded to float16 as SICOR stores them; no data where B02 is 0 or any band is NaN (label 255).
2. Features in float64, stored as float32: B03, B09 - B01, (B10 - B02)/(B10 + B02), B12,
   (B02 - B8A)/(B02 + B8A); the indices divide "safely" (NaN -> 0, zero denominators -> 1e-6,
   result clipped to +-100).
3. Bin k of each feature: ``clip(max(searchsorted(edges, f, 'left'), 1) - 1, 0, 24)``.
4. ``p_c = hh_c[bins] / hh_full[bins] / 6``; label ``argmax_c p_c`` (ties: first of 10..60), confidence
   ``max p / sum p``. Because ``hh_full`` is a positive mix of the ``hh_c``, this equals the argmax and
   the normalised maximum of ``hh_c[bins]`` alone, which is what is computed (no 95 MB ``hh_full``).
5. Empty cells (every ``hh_c`` 0): SICOR coarsens all histograms again and again
   (``zoom(order=1, zoom=0.5)`` then ``gaussian_filter(sigma=0.5)``), looks the pixel up at
   ``int(bin * n_new / 25)`` and takes the first level with a non-empty cell; none -> 255.
SICOR's optional majority filter and novelty detector are not applied (pixel-wise labels are wanted).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import ndimage

from ..classes import MaskClass
from ..errors import MissingBandError
from .realdata import DataNotFoundError, data_root

MODEL_FILE = "teachers/sicor_hollstein/cld_mask_20160321_s2.h5"
#: Bands the histograms use, in the order of the file's band_names (B01 ... B12).
USED_BANDS: tuple[str, ...] = ("B1", "B2", "B3", "B8A", "B9", "B10", "B12")
#: SICOR's class ids, in the order of the histograms; 255 = no data or no decision.
LABELS: tuple[int, ...] = (10, 20, 30, 40, 50, 60)
NO_LABEL = 255
LABEL_NAMES: dict[int, str] = {10: "Clear", 20: "Water", 30: "Shadow", 40: "Cirrus", 50: "Cloud", 60: "Snow",
                               NO_LABEL: "no data"}
LABEL_TO_CLASS: dict[int, int] = {10: MaskClass.CLEAR_LAND, 20: MaskClass.WATER, 30: MaskClass.CLOUD_SHADOW,
                                  40: MaskClass.THIN_CLOUD, 50: MaskClass.CLOUD, 60: MaskClass.SNOW_ICE,
                                  NO_LABEL: MaskClass.NO_DATA}
_BINS = 25
_CHUNK = 1 << 21


def model_path() -> Path:
    """Where the teacher's h5 file lives (under the shared data folder)."""
    return data_root() / MODEL_FILE


class HollsteinTeacher:
    """The histograms of one h5 file; :meth:`predict` labels pixels."""

    def __init__(self, path: str | Path | None = None):
        import h5py  # a test/training dependency, not one of the package's

        path = Path(path) if path is not None else model_path()
        if not path.is_file():
            raise DataNotFoundError("the Hollstein/SICOR teacher model is not there", path)
        with h5py.File(path, "r") as model:
            names = json.loads(model["band_names"][()])
            classes = [int(c) for c in model["classes"][()]]
            if classes != list(LABELS) or [names[i] for i in (2, 9, 0, 10, 1, 12, 8)] != [
                    "B03", "B09", "B01", "B10", "B02", "B12", "B8A"]:
                raise DataNotFoundError("unexpected class or band layout in the teacher model", path)
            self.edges = [np.asarray(model[f"bb_full_{k}"][()], dtype=np.float64) for k in range(5)]
            self.histograms = [np.asarray(model[f"hh_{c}_value"][()], dtype=np.float64) for c in LABELS]
        self._levels: list[list[np.ndarray]] = []

    def _coarse_levels(self) -> list[list[np.ndarray]]:
        """SICOR's successively coarsened histograms (computed once, when an empty cell needs them)."""
        if not self._levels:
            level = self.histograms
            while level[0].shape[0] > 1:
                level = [ndimage.gaussian_filter(ndimage.zoom(h, 0.5, order=1), sigma=0.5) for h in level]
                self._levels.append(level)
        return self._levels

    def features(self, bands: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """The five features (5, N) float32 of the valid pixels and the (H*W,) validity mask."""
        missing = [name for name in USED_BANDS if name not in bands]
        if missing:
            raise MissingBandError(f"the Hollstein teacher needs L1C bands {', '.join(missing)}")
        values = {name: np.asarray(bands[name], dtype=np.float16).astype(np.float64).ravel() for name in USED_BANDS}
        valid = (values["B2"] != 0) & np.all([np.isfinite(v) for v in values.values()], axis=0)
        v = {name: array[valid] for name, array in values.items()}
        features = np.stack([v["B3"], v["B9"] - v["B1"], _safe_index(v["B10"], v["B2"]), v["B12"],
                             _safe_index(v["B2"], v["B8A"])]).astype(np.float32)
        return features, valid

    def bins(self, features: np.ndarray) -> np.ndarray:
        """Bin indices (5, N) in 0 .. 24."""
        return np.stack([np.clip(np.maximum(np.searchsorted(edges, values, side="left"), 1) - 1, 0, _BINS - 1)
                         for edges, values in zip(self.edges, features)])

    def _scores(self, bins: np.ndarray, histograms: list[np.ndarray]) -> np.ndarray:
        size = histograms[0].shape[0]
        scaled = (bins * size // _BINS) if size != self.histograms[0].shape[0] else bins
        return np.stack([h[tuple(scaled)] for h in histograms])

    def predict(self, bands: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """SICOR labels (uint8: 10 clear, 20 water, 30 shadow, 40 cirrus, 50 cloud, 60 snow, 255 none)
        and confidences (float32 0..1) for bands of one shape (float reflectance, L1C, offset applied)."""
        shape = np.shape(next(iter(bands.values())))
        labels = np.full(int(np.prod(shape)), NO_LABEL, dtype=np.uint8)
        confidence = np.zeros(labels.size, dtype=np.float32)
        features, valid = self.features(bands)
        where = np.flatnonzero(valid)
        for start in range(0, where.size, _CHUNK):
            chunk = self.bins(features[:, start:start + _CHUNK])
            scores = self._scores(chunk, self.histograms)
            empty = np.flatnonzero(scores.sum(axis=0) == 0)
            for level in self._coarse_levels() if empty.size else ():
                fallback = self._scores(chunk[:, empty], level)
                found = fallback.sum(axis=0) > 0
                scores[:, empty[found]] = fallback[:, found]
                empty = empty[~found]
                if not empty.size:
                    break
            total = scores.sum(axis=0)
            decided = total > 0
            index = where[start:start + _CHUNK]
            labels[index[decided]] = np.asarray(LABELS, dtype=np.uint8)[scores[:, decided].argmax(axis=0)]
            confidence[index[decided]] = scores[:, decided].max(axis=0) / total[decided]
        return labels.reshape(shape), confidence.reshape(shape)


def _safe_index(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SICOR's safe (a - b) / (a + b)."""
    numerator, denominator = np.nan_to_num(a - b), np.nan_to_num(a + b)
    denominator[denominator == 0] = 1e-6
    return np.clip(np.nan_to_num(numerator / denominator), -100, 100)


def to_classes(labels: np.ndarray) -> np.ndarray:
    """SICOR labels as s2mask classes (Cirrus -> THIN_CLOUD, Shadow -> CLOUD_SHADOW, 255 -> NO_DATA)."""
    lookup = np.zeros(256, dtype=np.uint8)
    for label, value in LABEL_TO_CLASS.items():
        lookup[label] = value
    return lookup[np.asarray(labels, dtype=np.uint8)]


@lru_cache(maxsize=1)
def teacher() -> HollsteinTeacher:
    """The teacher from the shared data folder, loaded once (about 570 MB of histograms)."""
    return HollsteinTeacher()
