"""Shared fixtures: the real data folder (skipped when absent) and small synthetic SAFE products."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from s2mask.sim.safe import write_product
from s2mask.sim.scene import landscape

REPO = Path(__file__).resolve().parents[1]


def data_dir() -> Path:
    """``../shared/data`` beside the repository, or ``$S2MASK_DATA``."""
    return Path(os.environ.get("S2MASK_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def real_data() -> Path:
    folder = data_dir()
    if not (folder / "README.md").exists():
        pytest.skip(f"real data not available at {folder}")
    return folder


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


@pytest.fixture(scope="session")
def product_factory(tmp_path_factory):
    """``make(level, baseline, zipped=False, size=120)``: a cached synthetic product path."""
    cache: dict[tuple, Path] = {}
    root = tmp_path_factory.mktemp("products")

    def make(level: str = "L1C", baseline: str = "05.10", zipped: bool = False, size: int = 120) -> Path:
        key = (level, baseline, zipped, size)
        if key not in cache:
            folder = root / "_".join(str(k) for k in key)
            cache[key] = write_product(small_scene(size), folder, level=level, baseline=baseline, zipped=zipped)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def eopf_factory(tmp_path_factory):
    """``make(level, baseline, zipped=False)``: a cached synthetic EOPF Zarr product of ``small_scene()``."""
    from s2mask.sim.eopf import write_eopf

    cache: dict[tuple, Path] = {}
    root = tmp_path_factory.mktemp("eopf")

    def make(level: str = "L1C", baseline: str = "05.11", zipped: bool = False) -> Path:
        key = (level, baseline, zipped)
        if key not in cache:
            cache[key] = write_eopf(small_scene(), root / "_".join(map(str, key)), level=level, baseline=baseline,
                                    zipped=zipped)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def stac_factory(tmp_path_factory):
    """``make(style, level="L2A", baseline="05.09")``: the item JSON of a cached synthetic STAC product."""
    from s2mask.sim.stac import write_stac

    cache: dict[tuple, Path] = {}
    root = tmp_path_factory.mktemp("stac")

    def make(style: str, level: str = "L2A", baseline: str = "05.09") -> Path:
        key = (style, level, baseline)
        if key not in cache:
            cache[key] = write_stac(small_scene(), root / "_".join(key), style=style, level=level, baseline=baseline)
        return cache[key]

    return make
