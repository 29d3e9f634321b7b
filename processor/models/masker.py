"""A shipped mask network as a :class:`~s2mask.masking.Masker`: features, tiled inference, shadows.

A CNN sees a few hundred metres around each pixel; the shadow of a cloud 1-3 km high falls 1-4 km
away. Entries of the registry whose ``shadows`` is ``"network+geometry"`` therefore keep a dark-pixel
layer per block and finish the tile with :func:`s2mask.physics.shadow_pass`, which projects the
network's clouds along the sun and adds the shadows they cast; ``"network"`` keeps the network's own
shadows only. bench/mask.md measures both.

An entry's ``cloud_buffer_m`` is the cloud edge that human labels count as cloud (bench/real.md): clear
pixels that close to the network's cloud become THIN_CLOUD. Shadows are never buffered over, and the
geometric step projects the network's own clouds, not the buffer: a shadow often touches its cloud (on
synthetic scenes at 10 m, a quarter to a half of the shadow lies within 140 m of it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from scipy import ndimage

from ..classes import N_CLASSES, MaskClass
from ..inference import predict
from ..masking import BlockInput, BlockPrediction, TileGeometry
from ..physics import thresholds_for
from ..physics.masker import geometric_shadows
from .features import FeatureSpec, feature_stack

SHADOW_MODES = ("network", "network+geometry")
#: The finest grid a masker runs on (metres): the halo of a cloud buffer is sized for it.
FINEST_RESOLUTION = 10.0


def _disc_rectangles(radius: int) -> list[tuple[int, int]]:
    """Half-heights and half-widths of the rectangles whose union is the digital disc x² + y² <= r²."""
    widths = [int(np.sqrt(radius * radius - dy * dy) + 1e-9) for dy in range(radius + 1)]
    # a rectangle per distinct width, as tall as the disc is at that width
    return [(dy, width) for dy, width in enumerate(widths) if dy == radius or widths[dy + 1] < width]


def cloud_ring(classes: np.ndarray, pixels: int) -> np.ndarray | None:
    """Where the cloud buffer grows: the valid pixels, neither cloud nor cloud shadow, within ``pixels``
    (Euclidean) of a CLOUD or THIN_CLOUD pixel of ``classes`` (None where there are none). The disc is
    dilated as a union of rectangles, each two running maxima (fifty times faster than a distance
    transform on a 1,000-px block)."""
    if pixels <= 0:
        return None
    cloud = ((classes == MaskClass.CLOUD) | (classes == MaskClass.THIN_CLOUD)).view(np.uint8)
    if not cloud.any() or cloud.all():
        return None
    near = np.zeros_like(cloud)
    for half_height, half_width in _disc_rectangles(pixels):
        tall = ndimage.maximum_filter1d(cloud, 2 * half_height + 1, axis=0, mode="constant")
        near |= ndimage.maximum_filter1d(tall, 2 * half_width + 1, axis=1, mode="constant")
    return near.view(bool) & (cloud == 0) & (classes != MaskClass.NO_DATA) & (classes != MaskClass.CLOUD_SHADOW)


def buffer_clouds(classes: np.ndarray, pixels: int) -> np.ndarray:
    """``classes`` (uint8, in place) with its :func:`cloud_ring` of ``pixels`` made THIN_CLOUD."""
    ring = cloud_ring(classes, pixels)
    if ring is not None:
        classes[ring] = MaskClass.THIN_CLOUD
    return classes


def potential_shadow(bands: Mapping[str, np.ndarray], level: str) -> np.ndarray:
    """The physics classifier's dark-pixel membership (float16 0..1): NIR + SWIR1, or NIR alone."""
    thresholds = thresholds_for(level)
    nir = bands["B8A"] if "B8A" in bands else bands["B8"]
    if "B11" in bands:
        darkness = thresholds.shadow_nir_swir1(np.nan_to_num(nir + bands["B11"], nan=1.0))
    else:
        darkness = thresholds.shadow_nir(np.nan_to_num(nir, nan=1.0))
    return darkness.astype(np.float16)


class CNNMasker:
    """One network of the weights registry, ready to predict blocks; ``threads`` (0: every core) for the
    geometric shadow step."""

    def __init__(self, item: Mapping[str, Any], network: torch.nn.Module, device: torch.device,
                 shadows: str | None = None, *, threads: int = 0):
        self.model_id: str = item["name"]
        self.spec = FeatureSpec.from_registry(item)
        self.bands: tuple[str, ...] = self.spec.bands
        self.network, self.device, self.threads = network, device, threads
        #: clear pixels this close (metres) to the network's cloud become THIN_CLOUD (0: none)
        self.cloud_buffer: float = float(item.get("cloud_buffer_m", 0.0))
        self.halo: int = (int(network.radius) + self.spec.halo
                          + math.ceil(self.cloud_buffer / FINEST_RESOLUTION))
        self.shadows = shadows or item.get("shadows", "network")
        if self.shadows not in SHADOW_MODES:
            raise ValueError(f"shadows must be one of {', '.join(SHADOW_MODES)}, got {self.shadows!r}")
        self.tile_layers: tuple[str, ...] = ()
        if self.shadows == "network+geometry":
            # the buffer's pixels too, so that the geometric step projects the network's own clouds
            self.tile_layers = ("potential_shadow", "cloud_buffer") if self.cloud_buffer else ("potential_shadow",)
        # The sun azimuth only matters for the terrain incidence, which needs an elevation that blocks of
        # the pipeline do not have.
        self.angles: tuple[str, ...] = ("sun_zenith",)

    @property
    def precision(self) -> str:
        """The network's arithmetic, "float32", "bfloat16" or "int8" (what ``precision="auto"`` resolved to)."""
        dtype = str(next(self.network.parameters()).dtype).removeprefix("torch.")
        return getattr(self.network, "precision", dtype)

    def predict(self, block: BlockInput) -> BlockPrediction:
        stack = feature_stack(block.bands, self.spec, level=block.level, resolution=block.resolution,
                              sun_zenith=block.sun_zenith, sun_azimuth=block.sun_azimuth,
                              elevation=block.elevation, valid=block.valid)
        invalid = ~block.valid
        probabilities = np.empty((N_CLASSES, *invalid.shape), dtype=np.float32) if block.probabilities else None
        _, classes = predict(self.network, stack, device=self.device, probabilities=block.probabilities,
                             out=None if probabilities is None else probabilities[1:], valid=block.valid)
        classes += np.uint8(1)
        if probabilities is not None:
            probabilities[MaskClass.NO_DATA] = invalid
            np.copyto(probabilities[1:], np.float32(0), where=invalid)
        classes[invalid] = MaskClass.NO_DATA
        ring = cloud_ring(classes, round(self.cloud_buffer / block.resolution))
        layers = {"potential_shadow": potential_shadow(block.bands, block.level)} if self.tile_layers else {}
        if "cloud_buffer" in self.tile_layers:  # the class each buffered pixel had (NO_DATA elsewhere)
            layers["cloud_buffer"] = np.zeros_like(classes) if ring is None else np.where(ring, classes, np.uint8(0))
        if ring is not None:
            classes[ring] = MaskClass.THIN_CLOUD
        return BlockPrediction(probabilities, classes, layers)

    def finish(self, classes: np.ndarray, layers: Mapping[str, np.ndarray], geometry: TileGeometry) -> np.ndarray:
        if not self.tile_layers:
            return classes
        under = layers.get("cloud_buffer")
        ring = None if under is None else under != MaskClass.NO_DATA
        if ring is None or not ring.any():
            return geometric_shadows(classes, layers["potential_shadow"], geometry, self.threads)
        # The shadows are cast by the network's clouds: the buffered pixels get their classes back for
        # the projection, and the buffer returns where no shadow fell (``classes`` is restored).
        np.copyto(classes, under, where=ring)
        result = geometric_shadows(classes, layers["potential_shadow"], geometry, self.threads)
        classes[ring] = MaskClass.THIN_CLOUD
        ring &= result != MaskClass.CLOUD_SHADOW
        result[ring] = MaskClass.THIN_CLOUD
        return result
