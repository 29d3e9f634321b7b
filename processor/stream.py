"""The streaming engine: a band source's tile through a masker, block by block, into compact layers.

The tile streams through in blocks with a halo: read (and optionally super-resolve) the bands of the
block, add illumination, predict class probabilities, keep the block's core. Only compact whole-tile
layers stay in memory (uint8 classes, optional uint8 probabilities and the masker's own layers), so
memory depends on the block size, not on the number of bands. A masker may then finish with a
whole-tile step (geometric cloud shadows).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .bands import BANDS_10M, BANDS_20M
from .classes import N_CLASSES, MaskClass
from .grid import Block, Grid, Window, count_blocks, iter_blocks
from .io.safe import Product
from .masking import Masker, TileGeometry, block_angles, predict_block
from .params import ProcessingParameters

Progress = Callable[[int, int], None]
#: The super-resolution networks work on windows aligned to the 60 m grid.
SUPERRES_ALIGNMENT = 6


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - since
        return now


def aligned_window(window: Window, step: int, limit: Window) -> Window:
    """The smallest window holding ``window`` whose corners fall on multiples of ``step`` (inside ``limit``)."""
    row, col = window.row // step * step, window.col // step * step
    end_row = min(-(-(window.row + window.height) // step) * step, limit.height)
    end_col = min(-(-(window.col + window.width) // step) * step, limit.width)
    return Window(row, col, end_row - row, end_col - col)


def read_bands(product: Product, bands: tuple[str, ...], grid: Grid, window: Window,
               params: ProcessingParameters, workers: int = 1) -> dict[str, np.ndarray]:
    """The bands of one window of the mask grid, as float32 reflectance (NaN invalid).

    ``workers`` > 1 decodes that many bands at a time: each band is a file of its own, so no GDAL dataset
    is shared between threads. It is for the SAFE reader; a window spanning one JPEG 2000 tile per band
    otherwise decodes on one core while the other waits."""
    if not params.super_resolution:
        if workers <= 1:
            return {band: product.read(band, params.resolution, window, params.upsampling) for band in bands}
        with ThreadPoolExecutor(workers, thread_name_prefix="s2mask-band") as pool:
            reads = {band: pool.submit(product.read, band, params.resolution, window, params.upsampling)
                     for band in bands}
        # Leaving the pool waited for every read: a failure surfaces with no read still running.
        return {band: read.result() for band, read in reads.items()}
    from .superres import superresolve

    aligned = aligned_window(window, SUPERRES_ALIGNMENT, grid.full_window)
    low20 = Window(aligned.row // 2, aligned.col // 2, aligned.height // 2, aligned.width // 2)
    low60 = Window(aligned.row // 6, aligned.col // 6, aligned.height // 6, aligned.width // 6)
    bands10 = np.stack([product.read(band, 10, aligned) for band in BANDS_10M])
    bands20 = np.stack([product.read(band, 20, low20) for band in BANDS_20M])
    names60 = tuple(band for band in ("B1", "B9", "B10") if band in product.bands)
    bands60 = np.stack([product.read(band, 60, low60) for band in names60])
    sharp = superresolve(bands10, bands20, bands60, variant=params.superres_variant,
                         device=None if params.device == "auto" else params.device)
    every = {**dict(zip(BANDS_10M, bands10)), **sharp}
    cut = window.relative_to(aligned)
    return {band: every[band][cut] for band in bands}


def ndvi_percent(bands: dict[str, np.ndarray]) -> np.ndarray | None:
    """NDVI x 100 as int8 (the SCL vegetation split needs no more), or None without B4 and B8."""
    if "B4" not in bands or "B8" not in bands:
        return None
    red, nir = bands["B4"], bands["B8"]
    with np.errstate(invalid="ignore", divide="ignore"):
        ndvi = (nir - red) / (nir + red)
    return np.clip(np.nan_to_num(ndvi * 100, nan=0.0), -100, 100).astype(np.int8)


class TileLayers:
    """The compact whole-tile layers a run keeps while its blocks stream through."""

    def __init__(self, grid: Grid, masker: Masker, probabilities: bool, ndvi: bool):
        self.classes = np.zeros(grid.shape, dtype=np.uint8)
        self.probabilities = np.zeros((N_CLASSES - 1, *grid.shape), dtype=np.uint8) if probabilities else None
        self.ndvi = np.zeros(grid.shape, dtype=np.int8) if ndvi else None
        self.masker_layers: dict[str, np.ndarray] = {}
        self.names = masker.tile_layers

    def store(self, window: Window, core: tuple[slice, slice], classes: np.ndarray, probabilities: np.ndarray | None,
              layers: dict[str, np.ndarray], ndvi: np.ndarray | None) -> None:
        self.classes[window.slices] = classes
        if self.probabilities is not None:
            self.probabilities[(slice(None), *window.slices)] = np.round(
                np.clip(probabilities[(slice(1, None), *core)], 0, 1) * 100).astype(np.uint8)
        if self.ndvi is not None and ndvi is not None:
            self.ndvi[window.slices] = ndvi[core]
        for name in self.names:
            layer = layers[name][core]
            if name not in self.masker_layers:
                self.masker_layers[name] = np.zeros(self.classes.shape, dtype=layer.dtype)
            self.masker_layers[name][window.slices] = layer


def blocks_with_bands(source: Any, bands: tuple[str, ...], grid: Grid, params: ProcessingParameters, halo: int,
                      prefetch: bool, band_workers: int = 1) -> Iterator[tuple[Block, dict[str, np.ndarray]]]:
    """Every block of ``grid`` (row by row, grown by ``halo``) with its bands read from ``source``
    (``band_workers`` bands at a time, see :func:`read_bands`).

    With ``prefetch`` the next block is read in a background thread while the caller works on this one:
    decoding JPEG 2000 and predicting then share the cores (GDAL and torch release the GIL). Only that
    thread touches ``source`` meanwhile, one block at a time, as GDAL datasets require.
    """
    blocks = iter_blocks(grid, params.block_size, halo)

    def read(block: Block) -> dict[str, np.ndarray]:
        return read_bands(source, bands, grid, block.outer, params, band_workers)

    if not prefetch:
        for block in blocks:
            yield block, read(block)
        return
    with ThreadPoolExecutor(1, thread_name_prefix="s2mask-read") as reader:
        pending = None
        for block in blocks:
            upcoming = (block, reader.submit(read, block))
            if pending:
                yield pending[0], pending[1].result()
            pending = upcoming
        if pending:
            yield pending[0], pending[1].result()


def stream_blocks(source: Any, masker: Masker, grid: Grid, params: ProcessingParameters, layers: TileLayers,
                  geometry: Callable[[], TileGeometry], *, reading: tuple[str, ...] | None = None,
                  on_block: Callable[[Window, tuple[slice, slice], dict[str, np.ndarray]], None] | None = None,
                  progress: Progress | None = None, timings: Timings | None = None,
                  prefetch: bool = False, band_workers: int = 1) -> np.ndarray:
    """Classify every block of ``grid`` into ``layers`` and return the finished classes.

    ``source`` is anything with ``read(band, resolution, window, method)``, ``angles(resolution, window, names)``,
    ``bands`` and ``level`` (a SAFE :class:`Product` or the SNAP operator's grid source). Each block is read
    with the masker's halo (plus DSen2's when super-resolving), predicted, and its core stored; ``on_block``
    sees the core window, its slices in the block and the bands read (``reading``, default the masker's).
    A masker with whole-tile layers then finishes over the whole tile (``geometry`` is asked only then).
    ``prefetch`` reads the next block in a background thread (:func:`blocks_with_bands`), decoding
    ``band_workers`` bands at a time; the "read" timing is then the time spent waiting for bands.
    """
    timings = timings or Timings()
    halo = masker.halo
    if params.super_resolution:
        from .inference import set_threads
        from .superres import HALO_10M
        halo += HALO_10M
        set_threads(params.threads)
    angles = block_angles(masker)
    clock = time.perf_counter()
    total = count_blocks(grid, params.block_size)
    for block, bands in blocks_with_bands(source, reading or masker.bands, grid, params, halo, prefetch,
                                          band_workers):
        clock = timings.add("read", clock)
        classes, prediction = predict_block(masker, bands, level=source.level, resolution=params.resolution,
                                            probabilities=layers.probabilities is not None,
                                            **source.angles(params.resolution, block.outer, angles))
        clock = timings.add("predict", clock)
        core = block.core_in_outer
        layers.store(block.core, core, classes[core], prediction.probabilities, prediction.layers,
                     ndvi_percent(bands) if layers.ndvi is not None else None)
        if on_block:
            on_block(block.core, core, bands)
        if progress:
            progress(block.index + 1, total)
        clock = timings.add("store", clock)
    if not masker.tile_layers:
        return layers.classes
    classes = masker.finish(layers.classes, layers.masker_layers, geometry())
    classes[layers.classes == MaskClass.NO_DATA] = MaskClass.NO_DATA
    if layers.probabilities is not None and hasattr(masker, "finish_probabilities"):
        masker.finish_probabilities(layers.probabilities, classes, layers.masker_layers)
    timings.add("finish", clock)
    return classes
