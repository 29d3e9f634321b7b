"""Every output of a run, fed block by block: the one object the pipeline writes through.

For a product ``NAME`` (shared/design.md, "Outputs")::

    NAME_s2mask.tif            COG, uint8 classes, colour table, class names, nodata 0 (+ .tif.aux.xml)
    NAME_s2mask_prob.tif       optional, per-class probabilities, uint8 0..100 (255 = no data)
    NAME_s2mask_scl.tif        optional, the classes as Sen2Cor SCL codes (+ .tif.aux.xml)
    NAME_s2mask*.qml           the QGIS style of each of these GeoTIFFs
    NAME_s2mask.dim + .data/   optional, BEAM-DIMAP for SNAP
    NAME_s2mask_quicklook.png  true colour beside the classes, with a legend
    NAME_s2mask_stac.json      STAC item of the outputs (with any GeoTIFF)
    NAME_s2mask_report.json    class shares, cloud cover, model, parameters, timings, versions

Use::

    with RunOutputs(folder, grid, RunInfo("NAME", "L1C", "cnn2d-v1", params), OutputOptions()) as outputs:
        for window, classes, probabilities, rgb in blocks:
            outputs.write(window, classes, probabilities=probabilities, rgb=rgb)
        outputs.finish(timings={"predict": 12.3})
    outputs.paths   # {"classes": Path(".../NAME_s2mask.tif"), ...}, all in place

Nothing appears in ``folder`` before the ``with`` block ends without error; on any error nothing of
this run is left (see :mod:`.atomic`).
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from .. import __version__
from ..classes import CLASS_TABLE, MaskClass, to_scl
from ..errors import OutputError
from ..grid import Grid, Window
from . import stac
from .atomic import OutputStage, check_output_folder, output_errors
from .dimap import DimapWriter, probability_band
from .geotiff import PROBABILITY_NODATA, CogWriter, class_cog, probability_cog, scl_cog
from .qml import write_style
from .quicklook import QuicklookAccumulator, write_quicklook
from .report import ClassCounter, build_report, write_report

__all__ = [
    "ClassCounter", "CogWriter", "DimapWriter", "OutputOptions", "OutputStage", "QuicklookAccumulator", "RunInfo",
    "RunOutputs", "build_report", "check_output_folder", "class_cog", "encode_probabilities", "output_errors",
    "output_names", "probability_band", "probability_cog", "run_metadata", "scl_cog", "tiff_metadata",
    "write_quicklook", "write_report",
]

#: Every class but NO_DATA: the usual probability bands.
DEFAULT_PROBABILITY_CLASSES = tuple(info.value for info in CLASS_TABLE if info.value != MaskClass.NO_DATA)


@dataclass(frozen=True)
class RunInfo:
    """What the outputs say about their origin."""

    product_id: str
    level: str = ""
    model_id: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    sensing_start: datetime | None = None
    sensing_stop: datetime | None = None


@dataclass(frozen=True)
class OutputOptions:
    """Which outputs to write: ``cog`` the classes (output kind ``cog`` of the parameters, ``classes`` among
    the paths), which the probability COG needs too; ``probability_classes``: class values with a
    probability band (empty: none)."""

    cog: bool = True
    dimap: bool = False
    probability_classes: tuple[int, ...] = ()
    scl: bool = False
    quicklook: bool = True
    quicklook_size: int = 1000
    report: bool = True
    #: A QGIS style beside each GeoTIFF, and a STAC item of the outputs when there is a GeoTIFF.
    styles: bool = True
    stac: bool = True


def output_names(product_id: str) -> dict[str, str]:
    """The file name of every output kind of product ``product_id``."""
    base = f"{product_id}_s2mask"
    return {"classes": f"{base}.tif", "probabilities": f"{base}_prob.tif", "scl": f"{base}_scl.tif",
            "classes_style": f"{base}.qml", "probabilities_style": f"{base}_prob.qml", "scl_style": f"{base}_scl.qml",
            "dimap_data": f"{base}.data", "dimap": f"{base}.dim", "quicklook": f"{base}_quicklook.png",
            "stac": f"{base}_stac.json", "report": f"{base}_report.json"}


def run_metadata(info: RunInfo) -> dict[str, str]:
    """Origin, model and parameters, as metadata items of every raster output (DIMAP ``Dataset_Sources``)."""
    return {"S2MASK_VERSION": __version__, "S2MASK_PRODUCT": info.product_id, "S2MASK_LEVEL": info.level,
            "S2MASK_MODEL": info.model_id,
            "S2MASK_PARAMETERS": json.dumps(dict(info.parameters), sort_keys=True, default=str)}


def tiff_metadata(info: RunInfo) -> dict[str, str]:
    """:func:`run_metadata` plus the TIFF software and date tags."""
    return {**run_metadata(info), "TIFFTAG_SOFTWARE": f"s2mask {__version__}",
            "TIFFTAG_DATETIME": datetime.now(UTC).strftime("%Y:%m:%d %H:%M:%S")}


def encode_probabilities(probabilities: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """Probabilities in 0..1 (k, h, w) as uint8 per cent; NaN and NO_DATA pixels become 255."""
    encoded = np.round(np.clip(probabilities, 0.0, 1.0) * 100.0)
    invalid = ~np.isfinite(probabilities) | (classes == MaskClass.NO_DATA)[np.newaxis]
    encoded[invalid] = PROBABILITY_NODATA
    return encoded.astype(np.uint8)


class RunOutputs:
    """All outputs of one run on ``grid``, staged until the ``with`` block ends without error."""

    def __init__(self, folder: str | Path, grid: Grid, info: RunInfo, options: OutputOptions | None = None):
        self.folder, self.grid, self.info = Path(folder), grid, info
        self.options = options or OutputOptions()
        self.names = output_names(info.product_id)
        self.paths: dict[str, Path] = {}
        self.counter = ClassCounter()
        self.quicklook = (QuicklookAccumulator(grid.shape, self.options.quicklook_size)
                          if self.options.quicklook else None)
        self._stage = OutputStage(self.folder, info.product_id)
        self._cogs: dict[str, CogWriter] = {}
        self._dimap: DimapWriter | None = None
        self._finished = False

    def __enter__(self) -> RunOutputs:
        try:  # the stage's entry too: a Ctrl-C just after it returns must not leave its folder behind
            self._stage.__enter__()
            self._open_writers()
        except BaseException:
            self.__exit__(*sys.exc_info())
            raise
        return self

    def _open_writers(self) -> None:
        options, metadata = self.options, tiff_metadata(self.info)
        probability_classes = tuple(options.probability_classes)
        if options.cog:
            self._add_cog("classes", class_cog, metadata)
            if probability_classes:
                self._add_cog("probabilities", probability_cog, probability_classes, metadata)
        if options.scl:
            self._add_cog("scl", scl_cog, metadata)
        if options.dimap:
            self._stage.path(self.names["dimap_data"])
            self._dimap = DimapWriter(
                self._stage.path(self.names["dimap"]), self.grid,
                description=f"s2mask cloud mask of {self.info.product_id}", start=self.info.sensing_start,
                stop=self.info.sensing_stop, probability_classes=probability_classes,
                metadata=run_metadata(self.info))

    def _add_cog(self, kind: str, make: Callable[..., CogWriter], *arguments: Any) -> None:
        """Open the COG of ``kind`` with ``make`` and write its QGIS style beside it; the style is staged
        first, so it is committed before the ``.tif`` and whoever sees the new ``.tif`` sees its style."""
        style = self._stage.path(self.names[f"{kind}_style"]) if self.options.styles else None
        writer = make(self._stage.path(self.names[kind]), self._stage.scratch_path(f"{kind}.tif"), self.grid,
                      *arguments)
        self._cogs[kind] = writer
        if style is not None:
            write_style(style, writer.style)

    def write(self, window: Window, classes: np.ndarray, *, probabilities: np.ndarray | None = None,
              ndvi: np.ndarray | None = None, rgb: np.ndarray | None = None) -> None:
        """One block: ``classes`` uint8 (h, w); ``probabilities`` float 0..1 (k, h, w) in the order of
        ``options.probability_classes``; ``ndvi`` (h, w) for the SCL vegetation split; ``rgb`` float
        reflectance (3, h, w) of B4, B3, B2 for the quicklook."""
        if classes.shape != window.shape or classes.dtype != np.uint8:
            raise ValueError(f"classes must be uint8 {window.shape}, got {classes.dtype} {classes.shape}")
        self.counter.add(classes)
        if self.quicklook is not None:
            self.quicklook.add(window, rgb, classes)
        layers = {"classes": classes}
        if self.options.probability_classes:
            if probabilities is None:
                raise ValueError("probabilities were requested but this block has none")
            layers["probabilities"] = encode_probabilities(probabilities, classes)
        if "scl" in self._cogs:
            layers["scl"] = to_scl(classes, ndvi)
        for kind, writer in self._cogs.items():
            writer.write(window, layers[kind])
        if self._dimap is not None:
            self._dimap.write(window, classes, layers.get("probabilities"))

    def finish(self, timings: Mapping[str, float] | None = None,
               details: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Complete every output (COG conversion, DIMAP header, quicklook, report); they move into place
        when the ``with`` block ends. Returns the report (empty without one), whose timings gain "close",
        the seconds spent completing the files."""
        closing = time.perf_counter()
        expected = self.grid.width * self.grid.height
        if self.counter.total != expected:
            raise OutputError(f"the run wrote {self.counter.total} of {expected} pixels; outputs would have gaps",
                              self.folder)
        suffixes = ("", "_style") if self.options.styles else ("",)
        kinds = [kind + suffix for kind in self._cogs for suffix in suffixes]  # each GeoTIFF, then its style
        completions: list[Callable[[], None]] = [writer.convert for writer in self._cogs.values()]
        if self._dimap is not None:
            completions.append(self._dimap.close)
            kinds.append("dimap")
        if self.quicklook is not None:
            cover = self.counter.cloud_cover_percent
            title = self.info.product_id + (f"  cloud cover {cover:.1f}%" if cover is not None else "")
            completions.append(partial(write_quicklook, self._stage.path(self.names["quicklook"]),
                                       *self.quicklook.result(), title=title))
            kinds.append("quicklook")
        # The files are independent and GDAL releases the GIL: complete them side by side (a COG's
        # overviews and the quicklook each keep one core busy). Leaving the pool waits for every one; the
        # first failure is raised after the intermediates are gone.
        try:
            with ThreadPoolExecutor(max(len(completions), 1), thread_name_prefix="s2mask-close") as pool:
                for future in [pool.submit(complete) for complete in completions]:
                    future.result()
        finally:
            for writer in self._cogs.values():
                writer.release()
        if self.options.stac and self._cogs:
            kinds.append("stac")
        report: dict[str, Any] = {}
        if self.options.report:
            kinds.append("report")
            report = build_report(
                product_id=self.info.product_id, level=self.info.level, counter=self.counter,
                model_id=self.info.model_id, parameters=self.info.parameters,
                timings={**(timings or {}), "close": time.perf_counter() - closing},
                outputs={kind: self.names[kind] for kind in kinds}, grid=self.grid)
            report.update(details or {})
            write_report(self._stage.path(self.names["report"]), report)
        if "stac" in kinds:
            stac.write_item(self._stage.path(self.names["stac"]), self._stac_item(kinds))
        self._finished = True
        self.paths = {kind: self._stage.final_path(self.names[kind]) for kind in kinds}
        return report

    def _stac_item(self, kinds: list[str]) -> dict[str, Any]:
        """The STAC item of the finished outputs in ``kinds`` (not the styles: they travel with their file)."""
        assets: dict[str, dict[str, Any]] = {}
        resolution = self.grid.resolution
        titles = {"classes": "Cloud mask classes", "scl": "Cloud mask as Sen2Cor scene classification codes"}
        for kind, title in titles.items():
            if kind in self._cogs:
                writer = self._cogs[kind]
                assets[kind] = stac.asset(
                    self.names[kind], stac.COG, title, ["data", "cloud", "cloud-shadow"],
                    **{"classification:classes": stac.classes(writer.coding, writer.histograms.counts[0]),
                       "raster:bands": [stac.raster_band(nodata=writer.nodata, resolution=resolution)]})
        if "probabilities" in self._cogs:
            writer = self._cogs["probabilities"]
            bands = [stac.raster_band(nodata=writer.nodata, resolution=resolution, unit=writer.unit,
                                      statistics=writer.histograms.statistics(index, writer.nodata),
                                      description=f"Probability of {CLASS_TABLE[value].name} (per cent)")
                     for index, value in enumerate(self.options.probability_classes)]
            assets["probabilities"] = stac.asset(self.names["probabilities"], stac.COG, "Class probabilities",
                                                 ["data", "cloud"], **{"raster:bands": bands})
        others = {"dimap": (stac.XML, "BEAM-DIMAP product for SNAP", ["data"]),
                  "quicklook": (stac.PNG, "Quicklook: true colour beside the classes", ["overview"]),
                  "report": (stac.JSON, "Run report", ["metadata"])}
        for kind, (media_type, title, roles) in others.items():
            if kind in kinds:
                assets[kind] = stac.asset(self.names[kind], media_type, title, roles)
        properties: dict[str, Any] = {"s2mask:model": self.info.model_id}
        if self.counter.cloud_cover_percent is not None:
            properties["eo:cloud_cover"] = self.counter.cloud_cover_percent
        return stac.build_item(f"{self.info.product_id}_s2mask", self.grid, sensing_time=self.info.sensing_start,
                               assets=assets, properties=properties)

    def _abort(self) -> None:
        self.paths = {}
        for writer in self._cogs.values():
            writer.abort()
        if self._dimap is not None:
            self._dimap.abort()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None and not self._finished:
            self._abort()
            self._stage.discard()
            raise OutputError("the run ended before its outputs were finished (finish() was not called)",
                              self.folder)
        if kind is not None:
            self._abort()
        self._stage.__exit__(kind, error, trace)
