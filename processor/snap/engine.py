"""What the S2Mask operator computes for one GPF tile: the classes ``s2mask run`` writes for those pixels.

GPF asks for one rectangle at a time and cannot show a tile call the whole product, while a masker
may finish with a whole-tile step (the physics model projects cloud shadows across the tile).
:class:`TileComputer` therefore works in one of two ways, chosen by the masker:

* a masker without whole-tile layers (``tile_layers`` empty) is run per GPF tile on the tile grown by
  the masker's halo (clipped to the image, as :func:`s2mask.grid.iter_blocks` clips it), then cropped;
* a masker with whole-tile layers is run once, at the first tile call, over the whole mask grid in
  ``block_size`` blocks exactly as ``s2mask run`` does, finished with the tile geometry, and kept as
  compact uint8 layers that later tile calls cut from. That first call takes the whole processing time;
  GPF serialises Python tile calls anyway (shared/snap.md section 1.1).

Either way the bands come through :func:`s2mask.stream.read_bands` and the prediction through
:func:`s2mask.masking.predict_block`, the functions ``s2mask run`` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..choice import select_masker
from ..classes import MaskClass
from ..grid import Grid, Window
from ..io.geotiff import PROBABILITY_NODATA
from ..io.writers import encode_probabilities
from ..masking import Masker, TileGeometry, block_angles, predict_block, require_bands
from ..params import ProcessingParameters
from ..stream import Reading, TileLayers, mask_resolution, read_bands, stream_blocks
from .source import GridSource


@dataclass
class TileResult:
    """The uint8 classes of a window and, when asked for, uint8 probabilities (k, h, w) in 0..100 for
    classes 1..6 (255 where the class is NO_DATA), as ``s2mask run`` writes them."""

    classes: np.ndarray
    probabilities: np.ndarray | None = None


class TileComputer:
    """Classes (and probabilities) of any window of the mask grid of ``source``.

    ``geometry`` gives the tile's mean sun and view angles when a whole-tile step needs them;
    ``masker`` replaces the model chosen by ``params.model`` (as ``run(masker=...)`` does).
    """

    def __init__(self, source: GridSource, params: ProcessingParameters, geometry: Callable[[], TileGeometry],
                 *, probabilities: bool = False, masker: Masker | None = None):
        self.source = source
        self.block_size = params.block_size
        self.grid: Grid = source.grid(params.resolution)
        self.geometry = geometry
        self.probabilities = probabilities
        if params.super_resolution:
            source.require_native_grids()
        self.masker = masker or select_masker(params.model, level=source.level, bands=source.bands,
                                              device=params.device, threads=params.threads,
                                              precision=params.precision)
        require_bands(self.masker.bands, source.bands, f"model {self.masker.model_id}")
        self.reading = Reading.of(params)
        self.halo = self.masker.halo + self.reading.halo
        self._whole: TileLayers | None = None
        self._classes: np.ndarray | None = None

    @property
    def whole_tile(self) -> bool:
        """True when the masker finishes over the whole tile (computed once, then cut per GPF tile)."""
        return bool(self.masker.tile_layers)

    def compute(self, window: Window) -> TileResult:
        """The result for ``window`` (rows/columns of the mask grid)."""
        if self.whole_tile:
            return self._cut(window)
        outer = window.padded(self.halo, self.grid.full_window)
        classes, prediction = self._predict(outer)
        core = window.relative_to(outer)
        classes = classes[core]
        probabilities = (encode_probabilities(prediction.probabilities[(slice(1, None), *core)], classes)
                         if self.probabilities else None)
        return TileResult(classes, probabilities)

    def release(self) -> None:
        """Drop the whole-tile layers (GPF's dispose)."""
        self._whole = self._classes = None

    def _predict(self, window: Window) -> tuple:
        bands = read_bands(self.source, self.masker.bands, self.grid, window, self.reading)
        resolution = mask_resolution(self.grid)
        return predict_block(self.masker, bands, level=self.source.level, resolution=resolution,
                             probabilities=self.probabilities,
                             **self.source.angles(resolution, window, block_angles(self.masker)))

    def _cut(self, window: Window) -> TileResult:
        if self._classes is None:
            self._run_whole_tile()
        classes = self._classes[window.slices]
        probabilities = None
        if self.probabilities:
            stored = self._whole.probabilities[(slice(None), *window.slices)]
            nodata = np.uint8(PROBABILITY_NODATA)
            probabilities = np.where(classes == MaskClass.NO_DATA, nodata, stored).astype(np.uint8)
        return TileResult(classes, probabilities)

    def _run_whole_tile(self) -> None:
        layers = TileLayers(self.grid, self.masker, self.probabilities, ndvi=False)
        finished = stream_blocks(self.source, self.masker, self.grid, layers, self.geometry, reading=self.reading,
                                 block_size=self.block_size)
        self._whole, self._classes = layers, np.ascontiguousarray(finished, dtype=np.uint8)
