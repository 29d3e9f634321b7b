import numpy as np
import pytest

from s2mask.grid import Grid, Window, iter_blocks
from s2mask.resample import (
    UPSAMPLING_METHODS,
    _taps,
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


def _gathered(coarse: np.ndarray, coarse_window: Window, factor: int, target: Window, method: str) -> np.ndarray:
    """Every tap gathered at every output pixel (np.take), as the interpolation was first written."""
    values = np.asarray(coarse, dtype=np.float32)
    for axis, (start, size, origin) in ((0, (target.row, target.height, coarse_window.row)),
                                        (1, (target.col, target.width, coarse_window.col))):
        positions = (np.arange(start, start + size) + 0.5) / factor - 0.5 - origin
        indices, weights = _taps(positions, method)
        indices = np.clip(indices, 0, values.shape[axis] - 1)
        shape = (-1, 1, indices.shape[1]) if axis == 0 else (1, -1, indices.shape[1])
        weights = weights.astype(np.float32).reshape(shape)
        invalid = np.isnan(values)
        clean = np.where(invalid, np.float32(0), values)
        out = np.take(clean, indices[:, 0], axis=axis) * weights[..., 0]
        bad = np.take(invalid, indices[:, 0], axis=axis) & (weights[..., 0] != 0)
        for k in range(1, indices.shape[1]):
            out += np.take(clean, indices[:, k], axis=axis) * weights[..., k]
            bad |= np.take(invalid, indices[:, k], axis=axis) & (weights[..., k] != 0)
        out[bad] = np.nan
        values = out
    return values


@pytest.mark.parametrize("method", UPSAMPLING_METHODS)
@pytest.mark.parametrize("factor", [2, 3, 6])
def test_phase_slices_give_what_gathering_every_tap_gives(method, factor):
    rng = np.random.default_rng(factor)
    coarse_grid = Grid("", 0.0, 0.0, 20.0 * factor, 47, 61)
    coarse = rng.uniform(0, 1, (61, 47)).astype(np.float32)
    coarse[rng.uniform(size=coarse.shape) < 0.02] = np.nan
    fine = Window(0, 0, 61 * factor, 47 * factor)
    for target in (fine, Window(5, 7, 50, 33), Window(61 * factor - 41, 47 * factor - 29, 41, 29)):
        window = coarse_window_for(target, factor, upsample_margin(method), coarse_grid.full_window)
        part = coarse[window.slices]
        ours = upsample_window(part, window, factor, target, method)
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(_gathered(part, window, factor, target, method)))
        np.testing.assert_array_equal(ours, _gathered(part, window, factor, target, method))
    stack = np.stack([coarse, coarse[::-1]])
    np.testing.assert_array_equal(upsample(stack, factor, method)[1], upsample(coarse[::-1], factor, method))
