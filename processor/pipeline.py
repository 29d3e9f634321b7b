"""``run(product, params)``: the one path from a SAFE product to every output.

The tile streams through in blocks with a halo: read (and optionally super-resolve) the bands of the
block, add illumination, predict class probabilities, keep the block's core. Only compact whole-tile
layers stay in memory (uint8 classes, optional uint8 probabilities and the masker's own layers), so
memory depends on the block size, not on the number of bands. A masker may then finish with a
whole-tile step (geometric cloud shadows), after which the outputs are written block by block and
moved into place only when all of them are complete.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from .allocator import keep_freed_memory, release_freed_memory
from .bands import BANDS_10M, BANDS_20M
from .classes import N_CLASSES, MaskClass
from .cores import available_cores
from .errors import NoValidDataError
from .grid import Block, Grid, Window, count_blocks, iter_blocks
from .io.raster import cache_mb, drop_block_cache, gdal_config
from .io.safe import Product, open_product
from .io.writers import OutputOptions, RunInfo, RunOutputs
from .masker import Masker, TileGeometry, block_angles, predict_block, require_bands, select_masker
from .params import ProcessingParameters

Progress = Callable[[int, int], None]
QUICKLOOK_BANDS = ("B4", "B3", "B2")
#: The super-resolution networks work on windows aligned to the 60 m grid.
SUPERRES_ALIGNMENT = 6
#: Halo of the first block decoded while the model loads: more than any shipped model's (16); the
#: JPEG 2000 tiles that a halo reaches into are decoded whole anyway.
WARM_UP_HALO = 32


@dataclass
class RunResult:
    """Where the outputs are (by kind) and the run report."""

    outputs: dict[str, Path]
    report: dict[str, Any]


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, since: float) -> float:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - since
        return now


def output_options(params: ProcessingParameters) -> OutputOptions:
    probability_classes = tuple(range(1, N_CLASSES)) if "probabilities" in params.outputs else ()
    return OutputOptions(geotiff="cog" in params.outputs or bool(probability_classes),
                         dimap="dimap" in params.outputs, probability_classes=probability_classes,
                         scl="scl" in params.outputs, quicklook="quicklook" in params.outputs,
                         report="report" in params.outputs)


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


def tile_geometry(product: Product, resolution: int) -> TileGeometry:
    sun_zenith, sun_azimuth = product.mean_sun_angles
    view_zenith, view_azimuth = product.mean_view_angles()
    return TileGeometry(sun_zenith, sun_azimuth, view_zenith, view_azimuth, float(resolution))


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
    keep_freed_memory()
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
    # Nothing of the blocks is needed any more: their memory goes back before the whole-tile step,
    # which needs the most (at 10 m it peaked there, with GDAL's cache still full).
    drop_block_cache()
    release_freed_memory()
    if not masker.tile_layers:
        return layers.classes
    classes = masker.finish(layers.classes, layers.masker_layers, geometry())
    classes[layers.classes == MaskClass.NO_DATA] = MaskClass.NO_DATA
    if layers.probabilities is not None and hasattr(masker, "finish_probabilities"):
        masker.finish_probabilities(layers.probabilities, classes, layers.masker_layers)
    timings.add("finish", clock)
    return classes


def run_details(product: Product, masker: Masker) -> dict[str, Any]:
    """What the report says about the input and the model beyond the class statistics."""
    sun_zenith, sun_azimuth = product.mean_sun_angles
    return {
        "product": {"id": product.product_id, "level": product.level, "processing_baseline": product.baseline,
                    "spacecraft": product.spacecraft, "sensing_time": product.sensing_time.isoformat(),
                    "tile": product.tile_id, "esa_cloud_cover_percent": product.cloud_cover,
                    "sun_zenith_mean": sun_zenith, "sun_azimuth_mean": sun_azimuth},
        "model_bands": list(masker.bands),
        # what precision="auto" chose on this machine; None for a masker without networks
        "model_precision": getattr(masker, "precision", None),
        "notes": sorted(getattr(masker, "notes", ())),
    }


def run(product: str | Path | Product, output_dir: str | Path = ".", params: ProcessingParameters | None = None,
        *, progress: Progress | None = None, masker: Masker | None = None, **overrides: Any) -> RunResult:
    """Mask a SAFE product and write the outputs chosen in ``params`` into ``output_dir``.

    ``params`` (or keyword overrides of :class:`ProcessingParameters` fields) select resolution, model,
    outputs and performance settings; ``masker`` replaces the model by your own (see
    :class:`~s2mask.masker.Masker`). Returns the output paths by kind and the report. Any failure leaves
    no output of this run behind and raises an :class:`~s2mask.errors.S2MaskError`.
    """
    params = replace(params, **overrides) if params is not None else ProcessingParameters.from_mapping(overrides)
    timings = Timings()
    started = time.perf_counter()
    if not isinstance(product, Product):
        product = open_product(product, use_jp2_levels=not params.exact_downsampling)
    grid = product.grid(params.resolution)
    with gdal_config(params.threads or None, cache_mb(params.resolution)):
        masker = masker or select_masker_warming_up(product, grid, params)
        require_bands(masker.bands, product.bands, masker.model_id)
        options = output_options(params)
        info = RunInfo(product.product_id, product.level, masker.model_id, params.to_dict(),
                       product.sensing_time, product.sensing_time)
        with RunOutputs(output_dir, grid, info, options) as outputs:
            timings.add("open", started)
            report = _stream_and_write(product, masker, grid, params, outputs, timings, progress)
    return RunResult(outputs.paths, report)


def band_workers(params: ProcessingParameters) -> int:
    """Bands a SAFE run decodes at a time: one per core it may use. With GDAL's own threads inside each
    band this kept both cores of a 2-core machine busy while blocks wait for bands (a full 20 m tile:
    27.7 -> 26.8 s on average over three alternating pairs of runs)."""
    return params.threads or available_cores()


def select_masker_warming_up(product: Product, grid: Grid, params: ProcessingParameters) -> Masker:
    """:func:`~s2mask.masker.select_masker` while the first block's bands decode into GDAL's block cache
    in a background thread: loading a CNN (importing torch) takes about a second that the first read then
    no longer waits for. Only that thread touches the product meanwhile; leaving the executor waits for
    it, and a band that fails to decode fails again, with its message, when the blocks are read."""
    arguments = (params.model, product.level, product.bands, params.device, params.threads, params.precision)
    if params.super_resolution:
        return select_masker(*arguments)
    first = next(iter_blocks(grid, params.block_size, WARM_UP_HALO)).outer
    with ThreadPoolExecutor(1, thread_name_prefix="s2mask-warm-up") as warm_up:
        warm_up.submit(read_bands, product, product.bands, grid, first, params, band_workers(params))
        return select_masker(*arguments)


def _stream_and_write(product: Product, masker: Masker, grid: Grid, params: ProcessingParameters,
                      outputs: RunOutputs, timings: Timings, progress: Progress | None) -> dict[str, Any]:
    """Stream the blocks into the whole-tile layers, finish, write every output; returns the report."""
    options = outputs.options
    reading = tuple(dict.fromkeys(masker.bands + tuple(b for b in QUICKLOOK_BANDS if b in product.bands)
                                  + (("B4", "B8") if options.scl else ())))
    layers = TileLayers(grid, masker, bool(options.probability_classes), options.scl)

    def add_to_quicklook(window: Window, core: tuple[slice, slice], bands: dict[str, np.ndarray]) -> None:
        if outputs.quicklook is not None and all(b in bands for b in QUICKLOOK_BANDS):
            outputs.quicklook.add(window, rgb=np.stack([bands[b][core] for b in QUICKLOOK_BANDS]))

    classes = stream_blocks(product, masker, grid, params, layers,
                            lambda: tile_geometry(product, params.resolution), reading=reading,
                            on_block=add_to_quicklook, progress=progress, timings=timings, prefetch=True,
                            band_workers=band_workers(params))
    if not layers.classes.any():
        raise NoValidDataError("the product holds no valid pixel (every band is no data on the whole tile)",
                               product.location.display_name)
    clock = time.perf_counter()
    for block in iter_blocks(grid, params.block_size):
        window = block.core
        probabilities = (layers.probabilities[(slice(None), *window.slices)].astype(np.float32) / 100
                         if layers.probabilities is not None else None)
        ndvi = layers.ndvi[window.slices].astype(np.float32) / 100 if layers.ndvi is not None else None
        outputs.write(window, classes[window.slices], probabilities=probabilities, ndvi=ndvi)
    timings.add("write", clock)
    return outputs.finish(timings=timings.seconds, details=run_details(product, masker))
