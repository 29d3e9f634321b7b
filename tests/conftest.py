"""Shared fixtures: the real data folder (skipped when absent) and small synthetic SAFE products; the
markers (pytest.ini) of tests that read the real data."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2mask.sim.safe import write_product
from s2mask.train.realdata import data_root

from helpers import small_scene


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that take the real data get the ``realdata`` marker (``-m "not realdata"`` leaves them out)."""
    for item in items:
        if "real_data" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.realdata)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real data folder, the one the loaders of :mod:`s2mask.train.realdata` read; skips without it."""
    folder = data_root()
    if not (folder / "README.md").exists():
        pytest.skip(f"real data not available at {folder}")
    return folder


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



def _cached_writer(tmp_path_factory, name: str, write):
    """``make(*key)``: ``write(folder, *key)`` once per key into a session folder, then its cached result."""
    cache: dict[tuple, Path] = {}
    root = tmp_path_factory.mktemp(name)

    def make(*key: str) -> Path:
        if key not in cache:
            cache[key] = write(root / "_".join(key), *key)
        return cache[key]

    return make


@pytest.fixture(scope="session")
def eopf_factory(tmp_path_factory):
    """``make(level="L1C", baseline="05.11", zipped="")``: a cached synthetic EOPF Zarr product of
    ``small_scene()`` (``zipped="zip"`` for its zip file)."""
    from s2mask.sim.eopf import write_eopf

    make = _cached_writer(tmp_path_factory, "eopf", lambda folder, level, baseline, zipped: write_eopf(
        small_scene(), folder, level=level, baseline=baseline, zipped=bool(zipped)))
    return lambda level="L1C", baseline="05.11", zipped=False: make(level, baseline, "zip" if zipped else "")


@pytest.fixture(scope="session")
def stac_factory(tmp_path_factory):
    """``make(style, level="L2A", baseline="05.09")``: the item JSON of a cached synthetic STAC product."""
    from s2mask.sim.stac import write_stac

    make = _cached_writer(tmp_path_factory, "stac", lambda folder, style, level, baseline: write_stac(
        small_scene(), folder, style=style, level=level, baseline=baseline))
    return lambda style, level="L2A", baseline="05.09": make(style, level, baseline)
