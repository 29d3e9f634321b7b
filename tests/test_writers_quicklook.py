"""Quicklook: block reduction equals whole-image reduction, the picture shows colours, legend and text."""

from __future__ import annotations

import numpy as np
import pytest
from osgeo import gdal

from s2mask.classes import CLASS_TABLE
from s2mask.grid import Grid, iter_blocks
from s2mask.io import font
from s2mask.io.quicklook import QuicklookAccumulator, class_colours, compose, true_colour, write_quicklook

gdal.UseExceptions()


def reduce_whole(rgb, classes, factor):
    """Reference: pad to a multiple of ``factor``, then nan-mean and per-cell majority."""
    height, width = classes.shape
    small = (-(-height // factor), -(-width // factor))
    padded = np.full((3, small[0] * factor, small[1] * factor), np.nan, dtype=np.float64)
    padded[:, :height, :width] = rgb
    padded[:, ~np.isfinite(padded).all(axis=0)] = np.nan
    cells = padded.reshape(3, small[0], factor, small[1], factor)
    with np.errstate(invalid="ignore"), pytest.warns(RuntimeWarning):
        mean = np.nanmean(cells, axis=(2, 4))
    counts = np.zeros((*small, 7), dtype=np.int64)
    for row in range(height):
        for col in range(width):
            counts[row // factor, col // factor, classes[row, col]] += 1
    majority = np.where(counts[..., 1:].any(axis=-1), counts[..., 1:].argmax(axis=-1) + 1, 0)
    return mean.astype(np.float32), majority.astype(np.uint8)


def test_blocked_reduction_equals_whole_image_reduction():
    rng = np.random.default_rng(5)
    height, width = 95, 131
    rgb = rng.random((3, height, width)).astype(np.float32)
    rgb[1, :10, :40] = np.nan  # an invalid corner (any band NaN invalidates the pixel)
    rgb[:, 40:50, 60:70] = np.nan  # whole quicklook cells without valid data
    classes = rng.integers(0, 7, (height, width)).astype(np.uint8)
    classes[:20, :20] = 0
    accumulator = QuicklookAccumulator((height, width), max_size=30)
    assert accumulator.factor == 5 and accumulator.shape == (19, 27)
    grid = Grid("", 0, 0, 10, width, height)
    for block in iter_blocks(grid, 37):
        rows, cols = block.core.slices
        accumulator.add(block.core, rgb[:, rows, cols], classes[rows, cols])
    small_rgb, small_classes = accumulator.result()
    expected_rgb, expected_classes = reduce_whole(rgb, classes, 5)
    np.testing.assert_allclose(small_rgb, expected_rgb, rtol=1e-6)
    np.testing.assert_array_equal(small_classes, expected_classes)
    assert np.isnan(small_rgb[:, 8:10, 12:14]).all()
    assert (small_classes[:4, :4] == 0).all()


def test_small_grids_are_not_reduced():
    accumulator = QuicklookAccumulator((40, 60), max_size=1000)
    assert accumulator.factor == 1 and accumulator.shape == (40, 60)


def test_true_colour_stretch_and_nan_black():
    rgb = np.linspace(0.0, 1.0, 3 * 10 * 10, dtype=np.float32).reshape(3, 10, 10)
    rgb[:, 0, 0] = np.nan
    image = true_colour(rgb)
    assert image.dtype == np.uint8
    assert (image[:, 0, 0] == 0).all()
    assert image.max() == 255 and image[2, -1, -1] == 255 and image[0, 0, 1] == 0
    assert (true_colour(np.full((3, 4, 4), np.nan, np.float32)) == 0).all()


def test_class_colours_come_from_the_table():
    classes = np.arange(7, dtype=np.uint8).reshape(1, 7)
    assert [tuple(class_colours(classes)[:, 0, v]) for v in range(7)] == [c.rgba[:3] for c in CLASS_TABLE]


def test_picture_has_both_panels_and_a_swatch_per_class():
    classes = np.full((40, 50), 4, dtype=np.uint8)
    classes[:, :25] = 2
    rgb = np.full((3, 40, 50), 0.1, dtype=np.float32)
    picture = compose(rgb, classes, title="S2X TEST")
    colours = {tuple(c) for c in picture.reshape(3, -1).T}
    assert all(c.rgba[:3] in colours for c in CLASS_TABLE)
    assert picture.shape[2] >= 2 * 50
    ink = (picture == 0).all(axis=0)
    assert ink[:40].any()  # the title and panel captions


def test_png_is_written_through_gdal(tmp_path):
    classes = np.random.default_rng(1).integers(0, 7, (30, 40)).astype(np.uint8)
    rgb = np.random.default_rng(2).random((3, 30, 40)).astype(np.float32)
    path = tmp_path / "P_s2mask_quicklook.png"
    write_quicklook(path, rgb, classes, title="P")
    dataset = gdal.Open(str(path))
    assert dataset.GetDriver().ShortName == "PNG"
    np.testing.assert_array_equal(dataset.ReadAsArray(), compose(rgb, classes, title="P"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["P_s2mask_quicklook.png"]


def test_font_renders_known_glyphs():
    zero = font.render("0")
    assert zero.shape == (7, 5)
    assert zero.astype(int).tolist()[0] == [0, 1, 1, 1, 0]
    assert font.render("A?", scale=2).shape == (14, 22)
    np.testing.assert_array_equal(font.render("\u00e9"), font.render("?"))
    assert font.text_size("CLOUD", 2) == (14, 58)
