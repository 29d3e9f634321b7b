"""What several test modules share: small synthetic scenes and products, and a plumbing masker.

Fixtures live in conftest.py; plain functions and classes here, imported as ``from helpers import ...``
(pytest puts this folder on the path), so that no test module imports another.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy import ndimage

from s2mask.classes import N_CLASSES, MaskClass
from s2mask.masking import BlockInput, BlockPrediction
from s2mask.sim.safe import write_product
from s2mask.sim.scene import landscape

#: The repository's root folder.
REPO = Path(__file__).resolve().parents[1]


def small_scene(size: int = 120, seed: int = 7, nodata_columns: int = 12):
    """A 1.2 km landscape with a no-data strip on its west edge and a few saturated pixels."""
    scene = landscape(size, size, seed=seed, feature_size=30)
    invalid = np.zeros(scene.shape, dtype=bool)
    invalid[:, :nodata_columns] = True
    saturated = np.zeros(scene.shape, dtype=bool)
    saturated[60:62, 90:92] = True
    scene.invalid, scene.saturated = invalid, saturated
    scene.truth[invalid | saturated] = 0
    return scene


def make_products(folder: Path, count: int, size: int) -> list[Path]:
    """``count`` distinct products (one sensing day apart, different landscapes)."""
    return [write_product(small_scene(size, seed=day), folder, level="L1C", quality_masks=False,
                          sensing_time=datetime(2024, 3, 5 + day, 10, 48, 19, tzinfo=UTC)) for day in range(count)]


class NeighbourhoodMasker:
    """A small deterministic model with a 3x3 receptive field and a whole-tile step, to test the plumbing."""

    model_id = "test-neighbourhood"
    bands = ("B2", "B8", "B11")
    halo = 1
    tile_layers = ("dark",)

    def predict(self, block: BlockInput) -> BlockPrediction:
        nir = ndimage.uniform_filter(np.nan_to_num(block.bands["B8"]), size=3, mode="nearest")
        classes = np.where(nir < 0.12, MaskClass.WATER, MaskClass.CLEAR_LAND).astype(np.uint8)
        probabilities = np.zeros((N_CLASSES, *classes.shape), dtype=np.float32)
        np.put_along_axis(probabilities, classes[None].astype(np.int64), 0.8, axis=0)
        probabilities[MaskClass.CLOUD] += 0.2
        dark = (block.bands["B11"] < 0.05) & (block.sun_zenith > 0)
        return BlockPrediction(probabilities, classes, {"dark": dark})

    def finish(self, classes, layers, geometry):
        assert geometry.resolution in (10.0, 20.0, 60.0)
        shifted = np.roll(layers["dark"], 1, axis=1)
        return np.where(shifted & (classes == MaskClass.CLEAR_LAND), MaskClass.CLOUD_SHADOW, classes).astype(np.uint8)
