"""The detector footprint is decoded only where it can add to the no-data DN, and that changes nothing.

A product with a slanted swath edge (partial footprints, no data west of it) read block by block, and
masked end to end, must give exactly what reading every footprint in every window gives.
"""

import numpy as np
import pytest
from osgeo import gdal

from s2mask.grid import iter_blocks
from s2mask.io.safe import Product, open_product
from s2mask.pipeline import run
from s2mask.sim.clouds import cloudy_scene
from s2mask.sim.safe import write_product


@pytest.fixture(scope="module")
def swath_edge_product(tmp_path_factory):
    scene = cloudy_scene(240, 240, seed=5, sun_zenith=40.0, sun_azimuth=150.0, cloud_cover=0.2,
                         nodata_fraction=0.3)
    return write_product(scene, tmp_path_factory.mktemp("swath_edge"), level="L1C", baseline="05.10")


def _every_window_decodes(self: Product, *args) -> bool:
    """The reader as it was: the footprint read in every window."""
    return self.mask_footprint


def _blocked_reads(path) -> dict:
    product = open_product(path)
    reads = {}
    for resolution in (10, 20, 60):
        for block in iter_blocks(product.grid(resolution), 48, 4):
            for band in product.bands:
                reads[band, resolution, block.outer] = product.read(band, resolution, block.outer)
    return reads


def test_blocked_reads_equal_those_that_decode_every_footprint(swath_edge_product, monkeypatch):
    skipped = _blocked_reads(swath_edge_product)
    with monkeypatch.context() as patch:
        patch.setattr(Product, "_footprint_may_add", _every_window_decodes)
        decoded = _blocked_reads(swath_edge_product)
    assert any(np.isnan(values).all() for values in decoded.values())  # the swath edge is in the blocks
    for key, values in decoded.items():
        np.testing.assert_array_equal(skipped[key], values, err_msg=str(key))


def test_masks_equal_those_that_decode_every_footprint(swath_edge_product, tmp_path, monkeypatch):
    def classes(folder):
        result = run(swath_edge_product, folder, model="physics", resolution=10, block_size=128,
                     outputs=("cog",))
        return gdal.Open(str(result.outputs["classes"])).ReadAsArray()

    skipped = classes(tmp_path / "skipped")
    monkeypatch.setattr(Product, "_footprint_may_add", _every_window_decodes)
    decoded = classes(tmp_path / "decoded")
    assert (decoded == 0).any() and (decoded != 0).any()
    np.testing.assert_array_equal(skipped, decoded)


def test_only_windows_with_no_data_decode_a_native_footprint(swath_edge_product, monkeypatch):
    product = open_product(swath_edge_product)
    decoded = []
    footprint = Product._footprint
    monkeypatch.setattr(Product, "_footprint", lambda self, band, *args: decoded.append(band) or footprint(
        self, band, *args))
    east = product.grid(20).full_window
    east = type(east)(0, east.width - 24, 24, 24)
    assert np.isfinite(product.read("B11", 20, east)).any()
    assert decoded == []
    assert np.isnan(product.read("B11", 20, product.grid(20).full_window)).any()
    assert decoded == ["B11"]
    product.read("B4", 20, east)  # a 10 m band at its reduced JPEG 2000 level keeps its footprint
    assert decoded == ["B11", "B4"]
