"""Round trips through synthetic products: DN -> reflectance, grids, masks, blocks, zip."""

from types import SimpleNamespace

import numpy as np
import pytest

from s2mask.bands import ALL_BANDS, L2A_BANDS
from s2mask.grid import Window, iter_blocks
from s2mask.io.safe import dn_to_reflectance, open_product
from s2mask.masking import BLOCK_ANGLES
from s2mask.resample import downsample_mean
from s2mask.sim.product import to_dn
from s2mask.sim.safe import write_jp2

from helpers import small_scene

PRODUCTS = [("L1C", "05.10"), ("L1C", "02.09"), ("L2A", "05.09"), ("L2A", "02.14")]


@pytest.mark.parametrize("level, baseline", PRODUCTS)
def test_native_reads_return_the_reflectance_that_was_written(product_factory, level, baseline):
    product = open_product(product_factory(level, baseline))
    scene = small_scene()
    assert product.level == level and product.baseline == baseline
    assert product.bands == (ALL_BANDS if level == "L1C" else L2A_BANDS)
    assert (product.offset("B4") == -1000) == (baseline >= "04.00")
    for band in product.bands:
        truth = scene.band(band, level)
        ours = product.read(band)
        finite = np.isfinite(truth)
        assert (np.isnan(ours) == ~finite).all(), band
        offset = product.offset(band)
        quantized = dn_to_reflectance(to_dn(truth, offset), offset, 10000)
        np.testing.assert_array_equal(ours[finite], quantized[finite])
        assert np.abs(ours[finite] - truth[finite]).max() <= 1.0001e-4, band


@pytest.mark.parametrize("level, baseline", PRODUCTS)
def test_no_data_saturation_and_footprint_become_nan(product_factory, level, baseline):
    product = open_product(product_factory(level, baseline))
    b2 = product.read("B2", 10)
    assert np.isnan(b2[:, :12]).all()          # outside the swath: DN 0 and detector 0
    assert np.isnan(b2[60:62, 90:92]).all()    # saturated: DN 65535
    assert np.isfinite(b2[:, 12:]).sum() == b2[:, 12:].size - 4


def test_outside_the_detector_footprint_is_nan_even_with_valid_dn(product_factory, tmp_path):
    import shutil
    source = product_factory("L1C", "05.10")
    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    product = open_product(copy)
    mask_path = copy / product.tile.mask_files["MSK_DETFOO"]["B8"]
    detectors = product.detector_footprint("B8")
    detectors[100:, :] = 0
    georeference = SimpleNamespace(ulx=product.grid(10).x0, uly=product.grid(10).y0, epsg=product.epsg)
    write_jp2(mask_path, detectors, georeference, 10)
    reopened = open_product(copy)
    b8 = reopened.read("B8", 10)
    assert np.isnan(b8[100:]).all() and np.isfinite(b8[:60, 12:]).all()
    assert np.isnan(reopened.read("B8", 20)[50:]).all()
    assert np.isfinite(open_product(copy, mask_footprint=False).read("B8", 10)[100:, 12:]).all()


@pytest.mark.parametrize("level, baseline", [("L1C", "05.10"), ("L2A", "05.09")])
@pytest.mark.parametrize("use_jp2_levels", [False, True])
def test_any_band_on_any_grid_matches_the_area_mean_of_the_truth(product_factory, level, baseline,
                                                                  use_jp2_levels):
    product = open_product(product_factory(level, baseline), use_jp2_levels=use_jp2_levels)
    scene = small_scene()
    for resolution in (10, 20, 60):
        for band in product.bands:
            ours = product.read(band, resolution)
            assert ours.shape == product.grid(resolution).shape
            if product.source_resolution(band, resolution) > resolution:
                continue  # interpolated: checked in test_resample
            truth = downsample_mean(scene.render(band, level), resolution // 10)
            both = np.isfinite(ours) & np.isfinite(truth)
            assert not (np.isfinite(ours) & np.isnan(truth)).any(), (band, resolution)
            error = np.abs(ours[both] - truth[both])
            if use_jp2_levels and product.source_resolution(band, resolution) * 2 <= resolution:
                # a wavelet low-pass centred on the even pixel: close to, not equal to, the area mean
                assert error.mean() < 0.015, (band, resolution)
            else:
                assert error.max() <= 1.0001e-4, (band, resolution)


@pytest.mark.parametrize("resolution", [10, 20, 60])
def test_blocked_reads_equal_whole_reads(product_factory, resolution):
    product = open_product(product_factory("L1C", "05.10"))
    grid = product.grid(resolution)
    for band in ("B2", "B5", "B9"):
        whole = product.read(band, resolution)
        for block in iter_blocks(grid, 7 if resolution == 60 else 25, halo=3):
            np.testing.assert_array_equal(product.read(band, resolution, block.outer), whole[block.outer.slices])


def test_zipped_safe_reads_like_the_folder(product_factory):
    folder = open_product(product_factory("L2A", "05.09"))
    archive = open_product(product_factory("L2A", "05.09", zipped=True))
    assert archive.location.archive is not None
    assert archive.product_id == folder.product_id
    np.testing.assert_array_equal(archive.read("B11", 20), folder.read("B11", 20))


def test_product_metadata_file_opens_the_product(product_factory):
    path = product_factory("L1C", "02.09")
    assert open_product(path / "MTD_MSIL1C.xml").product_id == open_product(path).product_id


@pytest.mark.parametrize("level, baseline", [("L1C", "05.10"), ("L1C", "02.09")])
def test_l1c_cloud_mask_and_footprints_in_both_formats(product_factory, level, baseline):
    product = open_product(product_factory(level, baseline))
    footprint = product.detector_footprint("B2")
    assert (footprint[:, :12] == 0).all() and set(np.unique(footprint[:, 12:])) <= {4, 5, 6}
    flags = product.l1c_cloud_mask(20)
    assert flags.shape == product.grid(20).shape and not flags.any()  # a cloud-free landscape


def test_angles_are_interpolated_to_pixel_centres(product_factory):
    product = open_product(product_factory("L1C", "05.10"))
    zenith, azimuth = product.sun_angles(20)
    assert zenith.shape == (60, 60)
    # the product covers 1.2 km: the corner node of the 5 km grid and a fraction of its gradient
    corner_zenith = product.tile.sun_zenith.values[0, 0]
    corner_azimuth = product.tile.sun_azimuth.values[0, 0]
    assert abs(float(zenith[0, 0]) - corner_zenith) < 0.01 and abs(float(azimuth[0, 0]) - corner_azimuth) < 0.05
    assert zenith[-1, 0] > zenith[0, 0]  # the sim's zenith grows southward
    view_zenith, _ = product.view_angles("B8A", 60)
    assert np.isfinite(view_zenith).all()
    window = Window(10, 20, 30, 40)
    every = product.angles(20, window)
    assert sorted(every) == sorted(BLOCK_ANGLES)
    np.testing.assert_array_equal(every["view_zenith"], product.view_angles("B8A", 20, window)[0])
    only = product.angles(20, window, ("sun_zenith",))
    assert list(only) == ["sun_zenith"]
    np.testing.assert_array_equal(only["sun_zenith"], every["sun_zenith"])
