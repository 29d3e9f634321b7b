"""``run(product, params)``: the one path from a SAFE product to every output.

The product's tile streams through the masker block by block (:mod:`s2mask.stream`), into compact
whole-tile layers; the outputs are then written block by block and moved into place only when all of
them are complete.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .choice import select_masker
from .cores import available_cores
from .errors import NoValidDataError, ParameterError
from .grid import Grid, Window, iter_blocks
from .io.atomic import as_folder
from .io.formats import open_product
from .io.raster import gdal_config
from .io.record import write_record
from .io.safe import Product
from .io.writers import DEFAULT_PROBABILITY_CLASSES, OutputOptions, RunInfo, RunOutputs
from .masking import Masker, TileGeometry, checked_masker, require_bands
from .params import ProcessingParameters
from .stream import Progress, Reading, TileLayers, Timings, read_bands, stream_blocks

QUICKLOOK_BANDS = ("B4", "B3", "B2")
#: Halo of the first block decoded while the model loads: more than any shipped model's (16); the
#: JPEG 2000 tiles that a halo reaches into are decoded whole anyway.
WARM_UP_HALO = 32


@dataclass
class RunResult:
    """Where the outputs are (by kind) and the run report."""

    outputs: dict[str, Path]
    report: dict[str, Any]


def output_options(params: ProcessingParameters) -> OutputOptions:
    probability_classes = DEFAULT_PROBABILITY_CLASSES if "probabilities" in params.outputs else ()
    return OutputOptions(cog="cog" in params.outputs or bool(probability_classes),
                         dimap="dimap" in params.outputs, probability_classes=probability_classes,
                         scl="scl" in params.outputs, quicklook="quicklook" in params.outputs,
                         report="report" in params.outputs)


def tile_geometry(product: Product, grid: Grid) -> TileGeometry:
    """The whole-tile geometry of ``grid`` from the product's mean sun and per-band viewing angles."""
    views = zip(product.tile.mean_view_zenith.values(), product.tile.mean_view_azimuth.values())
    return TileGeometry.from_means(product.mean_sun_angles, list(views), grid.resolution)


def run_details(product: Product, masker: Masker) -> dict[str, Any]:
    """What the report says about the input and the model beyond the class statistics."""
    sun_zenith, sun_azimuth = product.mean_sun_angles
    return {
        "product": {"id": product.product_id, "format": product.format, "level": product.level,
                    "processing_baseline": product.baseline,
                    "spacecraft": product.spacecraft, "sensing_time": product.sensing_time.isoformat(),
                    "tile": product.tile_id, "esa_cloud_cover_percent": product.cloud_cover,
                    "sun_zenith_mean_deg": sun_zenith, "sun_azimuth_mean_deg": sun_azimuth},
        "model_bands": list(masker.bands),
        # what precision="auto" chose on this machine; None for a masker without networks
        "model_precision": getattr(masker, "precision", None),
        "notes": sorted(getattr(masker, "notes", ())),
    }


def run(product: str | Path | Product, output_dir: str | Path = ".", params: ProcessingParameters | None = None,
        *, progress: Progress | None = None, masker: Masker | None = None, verify: bool = False,
        **overrides: Any) -> RunResult:
    """Mask a SAFE product and write the outputs chosen in ``params`` into ``output_dir``.

    ``params`` (or keyword overrides of :class:`ProcessingParameters` fields) select resolution, model,
    outputs and performance settings; ``masker`` replaces the model by your own (see
    :class:`~s2mask.masking.Masker`); ``verify`` checks the product's files against its ``manifest.safe``
    first. Returns the output paths by kind and the report. The outputs replace those of an earlier run
    of the product in ``output_dir``, and a completion record (:mod:`s2mask.io.record`) is written last.
    Any failure leaves no output of this run behind and raises an :class:`~s2mask.errors.S2MaskError`.
    """
    params = run_parameters(params, overrides)
    output_dir = as_folder(output_dir)
    timings = Timings()
    started = time.perf_counter()
    if not isinstance(product, Product):
        product = open_product(product, use_jp2_levels=not params.exact_downsampling, verify=verify)
    elif verify:
        product.verify()
    grid = product.grid(params.resolution)
    with gdal_config(params.threads or None, product.read_cache_mb(params.resolution)):
        masker = checked_masker(masker) if masker is not None else select_masker_warming_up(product, grid, params)
        require_bands(masker.bands, product.bands, f"model {masker.model_id}")
        options = output_options(params)
        info = RunInfo(product.product_id, product.level, masker.model_id, params.to_dict(),
                       product.sensing_time, product.sensing_time)
        with RunOutputs(output_dir, grid, info, options) as outputs:
            timings.add("open", started)
            report = _stream_and_write(product, masker, grid, params, outputs, timings, progress)
        record = write_record(output_dir, product, outputs.paths.values(), model=masker.model_id,
                              parameters=params.to_dict())
    return RunResult({**outputs.paths, "record": record}, report)


def run_parameters(params: ProcessingParameters | None, overrides: dict[str, Any]) -> ProcessingParameters:
    """``params`` with keyword ``overrides``, every name and value checked (:class:`ParameterError`)."""
    if params is not None and not isinstance(params, ProcessingParameters):
        raise ParameterError(f"params must be a ProcessingParameters, got {type(params).__name__}: pass single "
                             "parameters as keyword arguments", parameters=("params",))
    return ProcessingParameters.from_mapping(overrides, base=params)


def no_valid_pixel(product: Product, bands: tuple[str, ...]) -> str:
    """Why a run found no pixel to classify: the bands with no valid pixel (read again, at 60 m: a rare
    failure's cost), or that the valid pixels of the bands never meet."""
    empty = [band for band in bands if not np.isfinite(product.read(band, 60)).any()]
    if not empty or len(empty) == len(bands):
        return ("the product holds no valid pixel (every band is no data on the whole tile)" if empty else
                "no pixel is valid in every band the model reads (their valid areas do not meet)")
    return (f"band{'s' if len(empty) > 1 else ''} {', '.join(empty)} {'hold' if len(empty) > 1 else 'holds'} no "
            "valid pixel (no data, saturated or outside the detector footprint everywhere), and a pixel is "
            f"classified only where every band the model reads ({', '.join(bands)}) is valid")


def band_workers(params: ProcessingParameters) -> int:
    """Bands a SAFE run decodes at a time: one per core it may use. With GDAL's own threads inside each
    band this kept both cores of a 2-core machine busy while blocks wait for bands (a full 20 m tile:
    27.7 -> 26.8 s on average over three alternating pairs of runs)."""
    return params.threads or available_cores()


def select_masker_warming_up(product: Product, grid: Grid, params: ProcessingParameters) -> Masker:
    """:func:`~s2mask.choice.select_masker` while the first block's bands decode into GDAL's block cache
    in a background thread: loading a CNN (importing torch) takes about a second that the first read then
    no longer waits for. Only that thread touches the product meanwhile; leaving the executor waits for
    it, and a band that fails to decode fails again, with its message, when the blocks are read."""
    arguments = {"level": product.level, "bands": product.bands, "device": params.device,
                 "threads": params.threads, "precision": params.precision}
    if params.super_resolution:
        return select_masker(params.model, **arguments)
    first = next(iter_blocks(grid, params.block_size, WARM_UP_HALO)).outer
    with ThreadPoolExecutor(1, thread_name_prefix="s2mask-warm-up") as warm_up:
        warm_up.submit(read_bands, product, product.bands, grid, first, Reading.of(params), band_workers(params))
        return select_masker(params.model, **arguments)


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

    classes = stream_blocks(product, masker, grid, layers, lambda: tile_geometry(product, grid),
                            reading=Reading.of(params), block_size=params.block_size, bands=reading,
                            on_block=add_to_quicklook, progress=progress, timings=timings, prefetch=True,
                            band_workers=band_workers(params))
    if not layers.classes.any():
        raise NoValidDataError(no_valid_pixel(product, masker.bands), product.location.display_name)
    clock = time.perf_counter()
    for block in iter_blocks(grid, params.block_size):
        window = block.core
        probabilities = (layers.probabilities[(slice(None), *window.slices)].astype(np.float32) / 100
                         if layers.probabilities is not None else None)
        ndvi = layers.ndvi[window.slices].astype(np.float32) / 100 if layers.ndvi is not None else None
        outputs.write(window, classes[window.slices], probabilities=probabilities, ndvi=ndvi)
    timings.add("write", clock)
    return outputs.finish(timings=timings.seconds, details=run_details(product, masker))
