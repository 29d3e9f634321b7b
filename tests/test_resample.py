import numpy as np
import pytest

from s2mask.grid import Grid, Window, iter_blocks
from s2mask.resample import (
    coarse_window_for,
    downsample_mean,
    resample_to_resolution,
    upsample,
    upsample_margin,
    upsample_window,
)


def test_a_20m_pixel_is_the_mean_of_its_2x2_10m_pixels():
    rng = np.random.default_rng(1)
    fine = rng.random((12, 18)).astype(np.float32)
    coarse = downsample_mean(fine, 2)
    assert coarse.shape == (6, 9)
    for r in range(6):
        for c in range(9):
            assert coarse[r, c] == pytest.approx(fine[2 * r:2 * r + 2, 2 * c:2 * c + 2].mean(), abs=1e-7)
    sixty = resample_to_resolution(fine, 10, 60)
    assert sixty[1, 2] == pytest.approx(fine[6:12, 12:18].mean(), abs=1e-7)


def test_downsampling_propagates_invalid_pixels():
    fine = np.ones((4, 4), dtype=np.float32)
    fine[0, 1] = np.nan
    coarse = downsample_mean(fine, 2)
    assert np.isnan(coarse[0, 0]) and np.isfinite(coarse[[0, 1, 1], [1, 0, 1]]).all()


def test_downsampling_needs_whole_blocks():
    with pytest.raises(ValueError):
        downsample_mean(np.zeros((5, 4)), 2)


@pytest.mark.parametrize("method", ["bilinear", "bicubic"])
def test_upsampling_reproduces_a_linear_ramp_away_from_the_edges(method):
    rows, cols = np.mgrid[0:10, 0:12].astype(np.float32)
    ramp = 0.3 * rows + 0.1 * cols
    fine = upsample(ramp, 2, method)
    fine_rows, fine_cols = np.mgrid[0:20, 0:24]
    expected = 0.3 * ((fine_rows + 0.5) / 2 - 0.5) + 0.1 * ((fine_cols + 0.5) / 2 - 0.5)
    assert np.allclose(fine[4:-4, 4:-4], expected[4:-4, 4:-4], atol=1e-5)


def test_upsampled_area_means_return_the_coarse_values():
    coarse = np.random.default_rng(3).random((8, 8)).astype(np.float32)
    assert np.allclose(downsample_mean(upsample(coarse, 3, "nearest"), 3), coarse)


@pytest.mark.parametrize("method", ["nearest", "bilinear", "bicubic"])
@pytest.mark.parametrize("factor", [2, 3, 6])
def test_windows_upsampled_alone_equal_the_whole_grid(method, factor):
    coarse = np.random.default_rng(factor).random((20, 17)).astype(np.float32)
    coarse[5, 5] = np.nan
    whole = upsample(coarse, factor, method)
    full = Window(0, 0, *coarse.shape)
    grid = Grid("", 0, 0, 10, 17 * factor, 20 * factor)
    for block in iter_blocks(grid, 23):
        source = coarse_window_for(block.core, factor, upsample_margin(method), full)
        part = upsample_window(coarse[source.slices], source, factor, block.core, method)
        np.testing.assert_array_equal(part, whole[block.core.slices])


def test_nan_spreads_only_to_pixels_that_use_it():
    coarse = np.ones((6, 6), dtype=np.float32)
    coarse[3, 3] = np.nan
    fine = upsample(coarse, 2, "bilinear")
    invalid = np.argwhere(np.isnan(fine))
    assert invalid.min() >= 5 and invalid.max() <= 8
    assert np.isfinite(fine).sum() == fine.size - len(invalid)


def test_unknown_method_is_refused():
    with pytest.raises(ValueError, match="unknown up-sampling method"):
        upsample(np.zeros((2, 2)), 2, "lanczos")
