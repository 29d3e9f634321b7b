"""The quicklook PNG: true colour beside the classes, with a title and a legend.

The pipeline never holds a full-resolution RGB: :class:`QuicklookAccumulator` reduces each block as it
passes (mean reflectance and majority class per quicklook pixel), and :func:`write_quicklook` draws the
small result. The PNG goes through GDAL's PNG driver; text uses the bitmap font of :mod:`.font`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from osgeo import gdal

from ..classes import CLASS_TABLE, N_CLASSES, MaskClass
from ..grid import Window
from . import font
from .atomic import output_errors

gdal.UseExceptions()

DEFAULT_MAX_SIZE = 1000
#: Percentiles of the true-colour stretch (common to the three bands, so colours stay balanced).
STRETCH_PERCENTILES = (2.0, 98.0)
_MARGIN, _GAP, _SCALE, _SWATCH = 12, 12, 2, 14
_BACKGROUND, _INK = (255, 255, 255), (0, 0, 0)


class QuicklookAccumulator:
    """Reduce blocks of a ``grid_shape`` raster to at most ``max_size`` pixels on the long side.

    Each quicklook pixel covers ``factor`` x ``factor`` grid pixels: its true colour is the mean of the
    valid (finite) reflectances it covers, its class the most frequent valid class (NO_DATA only when
    it covers no valid pixel). Blocks may have any size and alignment.
    """

    def __init__(self, grid_shape: tuple[int, int], max_size: int = DEFAULT_MAX_SIZE):
        height, width = grid_shape
        self.factor = max(1, math.ceil(max(height, width) / max_size))
        self.shape = (math.ceil(height / self.factor), math.ceil(width / self.factor))
        cells = self.shape[0] * self.shape[1]
        self._sums = np.zeros((3, cells), dtype=np.float64)
        self._valid = np.zeros(cells, dtype=np.int64)
        self._class_counts = np.zeros((cells, N_CLASSES), dtype=np.int32)  # at most factor**2 per cell

    def add(self, window: Window, rgb: np.ndarray | None = None, classes: np.ndarray | None = None) -> None:
        """Add a block: ``rgb`` float (3, h, w) reflectance (NaN = invalid), ``classes`` uint8 (h, w)."""
        if window.height == 0 or window.width == 0:
            return
        rows = (window.row + np.arange(window.height)) // self.factor
        cols = (window.col + np.arange(window.width)) // self.factor
        if rgb is not None:
            if rgb.shape != (3, *window.shape):
                raise ValueError(f"quicklook rgb must be (3, {window.height}, {window.width}), got {rgb.shape}")
            valid = np.isfinite(rgb).all(axis=0)
            cells = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            self._valid.reshape(self.shape)[cells] += _cell_sums(valid[None].astype(np.int32), rows, cols)[0]
            self._sums.reshape(3, *self.shape)[(slice(None), *cells)] += _cell_sums(
                np.where(valid, rgb, np.float32(0)), rows, cols)
        if classes is not None:
            if classes.shape != window.shape or classes.max(initial=0) >= N_CLASSES:
                raise ValueError(f"quicklook classes must be {window.shape} with values < {N_CLASSES}")
            cells = (rows[:, None] * self.shape[1] + cols[None, :]).ravel()
            first, span = int(cells[0]), int(cells[-1] - cells[0] + 1)
            local = cells - first
            codes = local * N_CLASSES + classes.ravel()
            counts = np.bincount(codes, minlength=span * N_CLASSES).reshape(span, N_CLASSES)
            self._class_counts[first:first + span] += counts

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(rgb float32 (3, h, w) with NaN where nothing valid, classes uint8 (h, w))."""
        with np.errstate(invalid="ignore", divide="ignore"):
            rgb = (self._sums / self._valid).astype(np.float32)
        valid_counts = self._class_counts[:, 1:]
        classes = np.where(valid_counts.any(axis=1), valid_counts.argmax(axis=1) + 1, MaskClass.NO_DATA)
        return rgb.reshape(3, *self.shape), classes.astype(np.uint8).reshape(self.shape)


def _cell_sums(values: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Sums of (k, h, w) ``values`` over the quicklook cells ``rows`` and ``cols`` (non-decreasing cell
    indices of each row and column) fall in: contiguous reductions, several times faster than binning."""
    row_starts = np.flatnonzero(np.diff(rows, prepend=rows[0] - 1))
    col_starts = np.flatnonzero(np.diff(cols, prepend=cols[0] - 1))
    # Columns first: reducing along the contiguous axis first leaves a sixth as much for the other.
    return np.add.reduceat(np.add.reduceat(values, col_starts, axis=2), row_starts, axis=1)


def true_colour(rgb: np.ndarray) -> np.ndarray:
    """Stretch reflectance (3, h, w) to uint8 between the :data:`STRETCH_PERCENTILES`; NaN becomes black."""
    finite = np.isfinite(rgb).all(axis=0)
    image = np.zeros(rgb.shape, dtype=np.uint8)
    if not finite.any():
        return image
    low, high = np.percentile(rgb[:, finite], STRETCH_PERCENTILES)
    scaled = (rgb[:, finite] - low) / max(high - low, 1e-6)
    image[:, finite] = np.round(np.clip(scaled, 0.0, 1.0) * 255).astype(np.uint8)
    return image


def class_colours(classes: np.ndarray) -> np.ndarray:
    """Classes (h, w) as RGB (3, h, w) from the class table (NO_DATA black)."""
    lookup = np.array([info.rgba[:3] for info in CLASS_TABLE], dtype=np.uint8)
    return np.moveaxis(lookup[classes], -1, 0)


def _legend(width: int) -> tuple[list[tuple[int, int, int]], int]:
    """Positions (row offset, col, class value) of legend entries flowed into ``width``, and the height."""
    line = max(_SWATCH, font.GLYPH_HEIGHT * _SCALE) + 6
    places, row, col = [], 0, _MARGIN
    for info in CLASS_TABLE:
        entry = _SWATCH + 6 + font.text_size(info.name, _SCALE)[1] + 18
        if col + entry > width - _MARGIN and col > _MARGIN:
            row, col = row + line, _MARGIN
        places.append((row, col, info.value))
        col += entry
    return places, row + line


def compose(rgb: np.ndarray, classes: np.ndarray, title: str = "") -> np.ndarray:
    """The quicklook picture (3, H, W) uint8: title, true colour and classes side by side, legend below."""
    height, width = classes.shape
    if rgb.shape != (3, height, width):
        raise ValueError(f"quicklook rgb {rgb.shape} and classes {classes.shape} differ")
    text_height = font.GLYPH_HEIGHT * _SCALE
    canvas_width = max(2 * width + _GAP + 2 * _MARGIN, 420)
    places, legend_height = _legend(canvas_width)
    panel_top = _MARGIN + (text_height + _GAP if title else 0) + text_height + 6
    legend_top = panel_top + height + _GAP
    canvas = np.empty((3, legend_top + legend_height + _MARGIN, canvas_width), dtype=np.uint8)
    canvas[:] = np.array(_BACKGROUND, dtype=np.uint8)[:, None, None]
    if title:
        font.draw(canvas, title, _MARGIN, _MARGIN, _INK, _SCALE)
    right = _MARGIN + width + _GAP
    font.draw(canvas, "True colour (B4 B3 B2)", panel_top - text_height - 6, _MARGIN, _INK, _SCALE)
    font.draw(canvas, "s2mask classes", panel_top - text_height - 6, right, _INK, _SCALE)
    canvas[:, panel_top:panel_top + height, _MARGIN:_MARGIN + width] = true_colour(rgb)
    canvas[:, panel_top:panel_top + height, right:right + width] = class_colours(classes)
    for row, col, value in places:
        top = legend_top + row
        canvas[:, top:top + _SWATCH, col:col + _SWATCH] = 0  # the border keeps white CLOUD visible
        canvas[:, top + 1:top + _SWATCH - 1, col + 1:col + _SWATCH - 1] = \
            np.array(CLASS_TABLE[value].rgba[:3], dtype=np.uint8)[:, None, None]
        font.draw(canvas, CLASS_TABLE[value].name, top + (_SWATCH - text_height) // 2, col + _SWATCH + 6, _INK, _SCALE)
    return canvas


def write_quicklook(path: str | Path, rgb: np.ndarray, classes: np.ndarray, title: str = "") -> None:
    """Write the quicklook PNG of ``rgb`` (3, h, w) reflectance and ``classes`` (h, w) uint8 to ``path``."""
    picture = compose(rgb, classes, title)
    path = Path(path)
    with output_errors(path):
        memory = gdal.GetDriverByName("MEM").Create("", picture.shape[2], picture.shape[1], 3, gdal.GDT_Byte)
        for band in range(3):
            memory.GetRasterBand(band + 1).WriteArray(picture[band])
        png = gdal.GetDriverByName("PNG").CreateCopy(str(path), memory, options=["ZLEVEL=6"])
        png.FlushCache()
        png = None
