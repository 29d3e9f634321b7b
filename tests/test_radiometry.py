"""The offset rule of every source (io/radiometry.py), each case on its own and through a product of it."""

import json

import numpy as np
import pytest

from s2mask.errors import ProductFormatError
from s2mask.io.eopf import open_eopf
from s2mask.io.radiometry import PixelSource, Scaling, scaling
from s2mask.io.safe import dn_to_reflectance
from s2mask.io.stac_item import open_stac

from helpers import small_scene


def test_earth_search_old_collection_ignores_the_offset_it_declares():
    # harmonised pixels (earth-search issues 66, 71): raster:bands says offset -0.1 on 04.00+ items, the
    # COGs already had the -1000 taken out
    rule = scaling(PixelSource.EARTH_SEARCH_L2A, "item", baseline="05.09", scale=0.0001, offset=-0.1)
    assert rule == Scaling(0.0, 10000.0)
    assert scaling(PixelSource.EARTH_SEARCH_L2A, "item", baseline="02.14", scale=0.0001, offset=0) == rule


def test_earth_search_c1_applies_what_it_declares():
    assert scaling(PixelSource.EARTH_SEARCH_C1, "item", baseline="05.10", scale=0.0001, offset=-0.1) == \
        Scaling(-1000.0, 10000.0)


@pytest.mark.parametrize("baseline, offset", [("02.14", 0.0), ("03.01", 0.0), ("04.00", -1000.0), ("05.11", -1000.0)])
def test_planetary_computer_shift_follows_the_baseline(baseline, offset):
    # nothing declared (PlanetaryComputer issue 134): the -1000 applies from 04.00 on
    assert scaling(PixelSource.PLANETARY_COMPUTER, "item", baseline=baseline) == Scaling(offset, 10000.0)


def test_eopf_scale_factor_and_add_offset():
    assert scaling(PixelSource.EOPF, "b02", baseline="05.11", scale=0.0001, offset=-0.1) == Scaling(-1000.0, 10000.0)
    assert scaling(PixelSource.EOPF, "b02", baseline="02.09", scale=0.0001, offset=None) == Scaling(0.0, 10000.0)


@pytest.mark.parametrize("source", [PixelSource.EOPF, PixelSource.EARTH_SEARCH_C1, PixelSource.DECLARED])
def test_declared_sources_without_a_scale_are_refused(source):
    with pytest.raises(ProductFormatError, match="scale"):
        scaling(source, "b02", baseline="05.11", scale=None, offset=-0.1)


def _truth_b4(level="L2A"):
    return small_scene().band("B4", level)


@pytest.mark.parametrize("style, baseline", [("earth-search", "05.09"), ("earth-search", "02.14"),
                                             ("earth-search-c1", "05.09"), ("planetary-computer", "05.09"),
                                             ("planetary-computer", "02.14"), ("stactools", "05.09")])
def test_every_stac_style_reads_the_reflectance_that_was_written(stac_factory, style, baseline):
    path = stac_factory(style, baseline=baseline)
    product = open_stac(path)
    truth = _truth_b4()
    ours = product.read("B4", 10)
    finite = np.isfinite(truth) & (truth > 0.0001)  # harmonised DN cannot hold reflectance <= 0
    assert np.abs(ours[finite] - truth[finite]).max() <= 1.0001e-4
    declared = json.loads(path.read_text())["assets"]
    offsets = {asset.get("raster:bands", [{}])[0].get("offset") for asset in declared.values()} - {None}
    if style == "earth-search" and baseline >= "04.00":
        assert offsets == {-0.1} and product.offset("B4") == 0  # declared, and rightly ignored


def test_eopf_product_reads_its_declared_scaling(eopf_factory):
    product = open_eopf(eopf_factory("L2A", "05.11"))
    dn = product.location.read("measurements/reflectance/r10m/b04")
    assert product.offset("B4") == -1000 and product.quantification_value == 10000
    expected = dn_to_reflectance(dn, -1000, 10000, nodata=0, saturated=65535)
    np.testing.assert_array_equal(product.read("B4", 10), expected)
