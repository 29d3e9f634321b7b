"""The streaming engine: a band source's tile through a masker, block by block, into compact layers.

The tile streams through in blocks with a halo: read (and optionally super-resolve) the bands of the
block, add illumination, predict class probabilities, keep the block's core. Only compact whole-tile
layers stay in memory (uint8 classes, optional probabilities and the masker's own layers), so memory
depends on the block size, not on the number of bands. A masker may then finish with a whole-tile step
(geometric cloud shadows).

Every caller goes through :func:`stream_blocks`: ``s2mask run`` with a SAFE :class:`~s2mask.io.safe.Product`,
the SNAP operator with its :class:`~s2mask.snap.source.GridSource`, ``s2mask.classify`` with an
:class:`ArraySource`. A new input format is a new :class:`BandSource`, nothing else.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .allocator import keep_freed_memory, release_freed_memory
from .bands import BANDS_10M, BANDS_20M, BANDS_60M
from .classes import N_CLASSES, MaskClass
from .grid import Block, Grid, Window, count_blocks, iter_blocks
from .io.raster import drop_block_cache
from .masking import Masker, TileGeometry, block_angles, predict_block
from .params import ProcessingParameters

Progress = Callable[[int, int], None]
#: The super-resolution networks work on windows aligned to the 60 m grid.
SUPERRES_ALIGNMENT = 6


class BandSource(Protocol):
    """What the engine reads a tile from. ``read`` gives float32 reflectance (NaN invalid) of a window of
    the ``resolution`` grid, bringing a band of another native resolution onto it with ``method``;
    ``angles`` the per-pixel angles of ``names`` (degrees, :data:`~s2mask.masking.BLOCK_ANGLES`) there.
    A source may also offer ``elevation(resolution, window)`` (metres, or None), as :class:`ArraySource` does.
    """

    @property
    def level(self) -> str: ...

    @property
    def bands(self) -> tuple[str, ...]: ...

    def read(self, band: str, resolution: int, window: Window, method: str = "bilinear") -> np.ndarray: ...

    def angles(self, resolution: int, window: Window, names: tuple[str, ...]) -> dict[str, np.ndarray]: ...


class ArraySource:
    """Bands already in memory on one grid (``s2mask.classify``): every read is a view of a window.

    ``angles`` maps the names of :data:`~s2mask.masking.BLOCK_ANGLES` to per-pixel arrays (broadcast views
    will do); ``elevation`` (metres) feeds the terrain features of the networks that use it.
    """

    def __init__(self, bands: Mapping[str, np.ndarray], level: str, angles: Mapping[str, np.ndarray],
                 elevation: np.ndarray | None = None):
        self.arrays, self.level, self.per_pixel, self.terrain = dict(bands), level, dict(angles), elevation
        self.bands = tuple(self.arrays)

    def read(self, band: str, resolution: int, window: Window, method: str = "bilinear") -> np.ndarray:
        return self.arrays[band][window.slices]

    def angles(self, resolution: int, window: Window, names: tuple[str, ...]) -> dict[str, np.ndarray]:
        return {name: self.per_pixel[name][window.slices] for name in names}

    def elevation(self, resolution: int, window: Window) -> np.ndarray | None:
        return None if self.terrain is None else np.asarray(self.terrain)[window.slices]


@dataclass(frozen=True)
class Reading:
    """How bands reach the mask grid: coarser bands interpolated with ``upsampling``, or, with a
    ``superres_variant``, the 20 m and 60 m bands sharpened to 10 m by DSen2 on ``device`` with ``threads``
    CPU threads. The one place that knows what super-resolution adds to a block (:attr:`halo`)."""

    upsampling: str = "bilinear"
    superres_variant: str | None = None
    device: str = "auto"
    threads: int = 0

    @classmethod
    def of(cls, params: ProcessingParameters) -> Reading:
        return cls(params.upsampling, params.superres_variant if params.super_resolution else None, params.device,
                   params.threads)

    @property
    def halo(self) -> int:
        """Pixels of context a block needs for the reading itself: DSen2's when sharpening, else none."""
        if self.superres_variant is None:
            return 0
        from .superres import HALO_10M

        return HALO_10M

    def prepare(self) -> None:
        """Give DSen2 its CPU threads (in the thread that starts the blocks; a CNN masker sets its own)."""
        if self.superres_variant is not None:
            from .inference import set_threads

            set_threads(self.threads)


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


def mask_resolution(grid: Grid) -> int:
    """The pixel size of the mask grid in whole metres, as readers and maskers take it."""
    return int(grid.resolution)


def read_bands(source: BandSource, bands: tuple[str, ...], grid: Grid, window: Window, reading: Reading,
               workers: int = 1) -> dict[str, np.ndarray]:
    """The bands of one window of the mask grid, as float32 reflectance (NaN invalid).

    ``workers`` > 1 decodes that many bands at a time: each band is a file of its own, so no GDAL dataset
    is shared between threads. It is for the SAFE reader; a window spanning one JPEG 2000 tile per band
    otherwise decodes on one core while the other waits."""
    if reading.superres_variant is not None:
        return _sharpened(source, bands, grid, window, reading)
    resolution = mask_resolution(grid)
    if workers <= 1:
        return {band: source.read(band, resolution, window, reading.upsampling) for band in bands}
    with ThreadPoolExecutor(workers, thread_name_prefix="s2mask-band") as pool:
        reads = {band: pool.submit(source.read, band, resolution, window, reading.upsampling) for band in bands}
    # Leaving the pool waited for every read: a failure surfaces with no read still running.
    return {band: read.result() for band, read in reads.items()}


def _sharpened(source: BandSource, bands: tuple[str, ...], grid: Grid, window: Window,
               reading: Reading) -> dict[str, np.ndarray]:
    """:func:`read_bands` on the 10 m grid with DSen2: every band read natively on a window aligned to the
    60 m grid, the 20 m and 60 m ones super-resolved, the window cut out."""
    from .superres import superresolve

    aligned = aligned_window(window, SUPERRES_ALIGNMENT, grid.full_window)
    low20 = Window(aligned.row // 2, aligned.col // 2, aligned.height // 2, aligned.width // 2)
    low60 = Window(aligned.row // 6, aligned.col // 6, aligned.height // 6, aligned.width // 6)
    bands10 = np.stack([source.read(band, 10, aligned) for band in BANDS_10M])
    bands20 = np.stack([source.read(band, 20, low20) for band in BANDS_20M])
    names60 = tuple(band for band in BANDS_60M if band in source.bands)
    bands60 = np.stack([source.read(band, 60, low60) for band in names60])
    sharp = superresolve(bands10, bands20, bands60, variant=reading.superres_variant, device=reading.device)
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
    """The compact whole-tile layers a run keeps while its blocks stream through: uint8 classes, the
    probabilities (uint8 per cent of classes 1..6, as written; or, with ``percent=False``, float32 of all
    seven classes), NDVI per cent for the SCL output, and the masker's own layers."""

    def __init__(self, grid: Grid, masker: Masker, probabilities: bool, ndvi: bool, *, percent: bool = True):
        self.classes = np.zeros(grid.shape, dtype=np.uint8)
        self.percent = percent
        shape = (N_CLASSES - 1, *grid.shape) if percent else (N_CLASSES, *grid.shape)
        self.probabilities = np.zeros(shape, dtype=np.uint8 if percent else np.float32) if probabilities else None
        self.ndvi = np.zeros(grid.shape, dtype=np.int8) if ndvi else None
        self.masker_layers: dict[str, np.ndarray] = {}
        self.names = masker.tile_layers

    def store(self, window: Window, core: tuple[slice, slice], classes: np.ndarray, probabilities: np.ndarray | None,
              layers: dict[str, np.ndarray], ndvi: np.ndarray | None) -> None:
        self.classes[window.slices] = classes
        if self.probabilities is not None:
            if self.percent:
                self.probabilities[(slice(None), *window.slices)] = np.round(
                    np.clip(probabilities[(slice(1, None), *core)], 0, 1) * 100).astype(np.uint8)
            else:
                self.probabilities[(slice(None), *window.slices)] = probabilities[(slice(None), *core)]
        if self.ndvi is not None and ndvi is not None:
            self.ndvi[window.slices] = ndvi[core]
        for name in self.names:
            layer = layers[name][core]
            if name not in self.masker_layers:
                self.masker_layers[name] = np.zeros(self.classes.shape, dtype=layer.dtype)
            self.masker_layers[name][window.slices] = layer


def blocks_with_bands(source: BandSource, bands: tuple[str, ...], grid: Grid, reading: Reading, block_size: int,
                      halo: int, prefetch: bool,
                      band_workers: int = 1) -> Iterator[tuple[Block, dict[str, np.ndarray]]]:
    """Every block of ``grid`` (``block_size`` pixels, row by row, grown by ``halo``) with its bands read from
    ``source`` (``band_workers`` bands at a time, see :func:`read_bands`).

    With ``prefetch`` the next block is read in a background thread while the caller works on this one:
    decoding JPEG 2000 and predicting then share the cores (GDAL and torch release the GIL). Only that
    thread touches ``source`` meanwhile, one block at a time, as GDAL datasets require.
    """
    blocks = iter_blocks(grid, block_size, halo)

    def read(block: Block) -> dict[str, np.ndarray]:
        return read_bands(source, bands, grid, block.outer, reading, band_workers)

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


def stream_blocks(source: BandSource, masker: Masker, grid: Grid, layers: TileLayers,
                  geometry: Callable[[], TileGeometry | None], *, reading: Reading, block_size: int,
                  bands: tuple[str, ...] | None = None,
                  on_block: Callable[[Window, tuple[slice, slice], dict[str, np.ndarray]], None] | None = None,
                  progress: Progress | None = None, timings: Timings | None = None,
                  prefetch: bool = False, band_workers: int = 1) -> np.ndarray:
    """Classify every block of ``grid`` into ``layers`` and return the finished classes.

    Each block of ``block_size`` is read from ``source`` as ``reading`` says, with the masker's halo plus the
    reading's, predicted, and its core stored; ``on_block`` sees the core window, its slices in the block and
    the bands read (``bands``, default the masker's). A masker with whole-tile layers then finishes over the
    whole tile with the ``geometry`` (asked only then; None: the geometry is unknown and the step is left out).
    ``prefetch`` reads the next block in a background thread (:func:`blocks_with_bands`), decoding
    ``band_workers`` bands at a time; the "read" timing is then the time spent waiting for bands.
    """
    timings = timings or Timings()
    keep_freed_memory()
    reading.prepare()
    resolution = mask_resolution(grid)
    terrain = getattr(source, "elevation", None)
    angles = block_angles(masker, terrain=terrain is not None)
    clock = time.perf_counter()
    total = count_blocks(grid, block_size)
    for block, read in blocks_with_bands(source, bands or masker.bands, grid, reading, block_size,
                                         masker.halo + reading.halo, prefetch, band_workers):
        clock = timings.add("read", clock)
        classes, prediction = predict_block(masker, read, level=source.level, resolution=resolution,
                                            probabilities=layers.probabilities is not None,
                                            elevation=terrain(resolution, block.outer) if terrain else None,
                                            **source.angles(resolution, block.outer, angles))
        clock = timings.add("predict", clock)
        core = block.core_in_outer
        layers.store(block.core, core, classes[core], prediction.probabilities, prediction.layers,
                     ndvi_percent(read) if layers.ndvi is not None else None)
        if on_block:
            on_block(block.core, core, read)
        if progress:
            progress(block.index + 1, total)
        clock = timings.add("store", clock)
    # Nothing of the blocks is needed any more: their memory goes back before the whole-tile step,
    # which needs the most (at 10 m it peaked there, with GDAL's cache still full).
    drop_block_cache()
    release_freed_memory()
    whole_tile = geometry() if masker.tile_layers else None
    if whole_tile is None:
        return layers.classes
    classes = masker.finish(layers.classes, layers.masker_layers, whole_tile)
    classes[layers.classes == MaskClass.NO_DATA] = MaskClass.NO_DATA
    if layers.probabilities is not None and layers.percent and hasattr(masker, "finish_probabilities"):
        masker.finish_probabilities(layers.probabilities, classes, layers.masker_layers)
    timings.add("finish", clock)
    return classes
