"""Raster grids and the block/halo iteration that every streaming stage shares.

A :class:`Grid` is a north-up raster: CRS, upper-left corner, square pixel size and shape. Sentinel-2
tiles have one grid per resolution (10/20/60 m) sharing the upper-left corner, so the grids of a tile are
exactly nested: pixel (r, c) at 20 m covers pixels (2r..2r+1, 2c..2c+1) at 10 m.
A :class:`Window` is a rectangle of rows and columns on one grid.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .errors import ParameterError


@dataclass(frozen=True)
class Window:
    """Rows ``row .. row+height`` and columns ``col .. col+width`` of a grid (half-open)."""

    row: int
    col: int
    height: int
    width: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def slices(self) -> tuple[slice, slice]:
        return (slice(self.row, self.row + self.height), slice(self.col, self.col + self.width))

    def relative_to(self, outer: Window) -> tuple[slice, slice]:
        """Slices that cut this window out of an array covering ``outer``."""
        r, c = self.row - outer.row, self.col - outer.col
        if r < 0 or c < 0 or r + self.height > outer.height or c + self.width > outer.width:
            raise ValueError(f"{self} does not lie inside {outer}")
        return (slice(r, r + self.height), slice(c, c + self.width))

    def padded(self, halo: int, limit: Window | None = None) -> Window:
        """This window grown by ``halo`` pixels on every side, clipped to ``limit`` when given."""
        row, col = self.row - halo, self.col - halo
        end_row, end_col = self.row + self.height + halo, self.col + self.width + halo
        if limit is not None:
            row, col = max(row, limit.row), max(col, limit.col)
            end_row = min(end_row, limit.row + limit.height)
            end_col = min(end_col, limit.col + limit.width)
        return Window(row, col, end_row - row, end_col - col)


@dataclass(frozen=True)
class Grid:
    """A north-up grid: ``crs_wkt``, upper-left corner (``x0``, ``y0``), square ``resolution``, shape."""

    crs_wkt: str
    x0: float
    y0: float
    resolution: float
    width: int
    height: int
    epsg: int | None = None

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def geotransform(self) -> tuple[float, float, float, float, float, float]:
        """GDAL's geotransform (x0, dx, 0, y0, 0, -dy)."""
        return (self.x0, self.resolution, 0.0, self.y0, 0.0, -self.resolution)

    @property
    def full_window(self) -> Window:
        return Window(0, 0, self.height, self.width)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in CRS units."""
        return (self.x0, self.y0 - self.height * self.resolution,
                self.x0 + self.width * self.resolution, self.y0)

    def at_resolution(self, resolution: float) -> Grid:
        """The grid covering the same extent at another pixel size (the extent must divide exactly)."""
        width = self.width * self.resolution / resolution
        height = self.height * self.resolution / resolution
        if abs(width - round(width)) > 1e-6 or abs(height - round(height)) > 1e-6:
            raise ParameterError(
                f"a {self.width}x{self.height} grid at {self.resolution:g} m does not divide into "
                f"{resolution:g} m pixels")
        return Grid(self.crs_wkt, self.x0, self.y0, float(resolution), int(round(width)),
                    int(round(height)), self.epsg)

    def subgrid(self, window: Window) -> Grid:
        """The grid of a window of this grid."""
        return Grid(self.crs_wkt, self.x0 + window.col * self.resolution,
                    self.y0 - window.row * self.resolution, self.resolution, window.width,
                    window.height, self.epsg)


@dataclass(frozen=True)
class Block:
    """One step of a blocked pass: the ``core`` it produces and the ``outer`` window it reads."""

    index: int
    core: Window
    outer: Window

    @property
    def core_in_outer(self) -> tuple[slice, slice]:
        return self.core.relative_to(self.outer)


def iter_blocks(grid: Grid, block_size: int, halo: int = 0) -> Iterator[Block]:
    """Cover ``grid`` with square blocks of ``block_size`` (edge blocks are smaller), row by row.

    Each block's ``outer`` window is its core grown by ``halo`` pixels, clipped to the grid, so
    neighbourhood operations computed on ``outer`` are exact on ``core``.
    """
    if block_size < 1 or halo < 0:
        raise ParameterError(f"block size must be positive and halo non-negative, got {block_size}, {halo}")
    full = grid.full_window
    index = 0
    for row in range(0, grid.height, block_size):
        for col in range(0, grid.width, block_size):
            core = Window(row, col, min(block_size, grid.height - row), min(block_size, grid.width - col))
            yield Block(index, core, core.padded(halo, full))
            index += 1


def count_blocks(grid: Grid, block_size: int) -> int:
    return -(-grid.height // block_size) * -(-grid.width // block_size)
