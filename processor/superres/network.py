"""The DSen2 super-resolution network (Lanaras et al., ISPRS 2018) and its two configurations.

A network sees one stack on the 10 m grid: the 10 m bands followed by the bilinear-upsampled
lower-resolution bands, reflectance times :data:`INPUT_SCALE`. It predicts only the high-frequency
correction of its target bands: the last convolution is added to the upsampled target bands, which are
the last channels of the stack (the global residual). No batch norm, so a pixel's output depends only on
the inputs within :attr:`DSen2.receptive_radius` pixels: this is what makes tiled inference exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ..bands import BANDS_10M, BANDS_20M
from ..errors import ParameterError

#: DSen2 feeds DN / 2000, i.e. reflectance x 5: typical reflectances land near 1.
INPUT_SCALE = 5.0
#: DSen2's residual scaling: each block adds 0.1 x its output, which keeps deep stacks stable.
RESIDUAL_SCALE = 0.1


@dataclass(frozen=True)
class NetworkSpec:
    """What one of the two networks reads and writes, in stack order."""

    name: str
    #: Ratio between the target bands' native resolution and 10 m.
    factor: int
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    #: Share of the network's own spectral direction in each output pixel, the rest taken from bicubic
    #: interpolation (``s2mask.superres.inference.spectrally_anchored``); 1: the network's output as is.
    spectral_blend: float = 1.0


#: B10 (cirrus, 60 m) has no training data at native resolution in our set: it is not an input or an
#: output of the 60 m network and is upsampled bilinearly (see inference.py). The 20 m network's spectra
#: are anchored to bicubic's (0.25 was best for RMSE and SAM alike on the two folds it was chosen on,
#: bench/superres.md); the 60 m network's spectral angle is below bicubic's without it.
SPECS: dict[str, NetworkSpec] = {
    "20m": NetworkSpec("20m", 2, BANDS_10M + BANDS_20M, BANDS_20M, spectral_blend=0.25),
    "60m": NetworkSpec("60m", 6, BANDS_10M + BANDS_20M + ("B1", "B9"), ("B1", "B9")),
}

#: "full" has the published depth (6 residual blocks) at 48 features instead of 128 (0.26 M parameters
#: for the 20 m network instead of 1.8 M, 1/7 of the arithmetic): the largest size whose training on
#: every real scene, with its leave-one-scene-out check, fits our CPU budget; "light" is sized for a whole
#: tile on 2 CPU cores in minutes (about 1/3 of the full size's arithmetic). ``DSen2(width=128, depth=6)``
#: is the published network.
VARIANTS: dict[str, dict[str, int]] = {
    "full": {"width": 48, "depth": 6},
    "light": {"width": 32, "depth": 4},
}


def _conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
    # He-uniform as in DSen2 (its Keras layers use kernel_initializer="he_uniform").
    nn.init.kaiming_uniform_(conv.weight, nonlinearity="relu")
    nn.init.zeros_(conv.bias)
    return conv


class ResidualBlock(nn.Module):
    """conv-ReLU-conv, scaled by :data:`RESIDUAL_SCALE` and added to the block's input."""

    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(_conv(width, width), nn.ReLU(inplace=True), _conv(width, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + RESIDUAL_SCALE * self.body(x)


class DSen2(nn.Module):
    """The DSen2 network: (N, in_bands, H, W) scaled stack -> (N, out_bands, H, W) scaled bands."""

    def __init__(self, in_bands: int, out_bands: int, width: int = 128, depth: int = 6):
        super().__init__()
        if not 0 < out_bands < in_bands:
            raise ParameterError(f"DSen2 needs fewer output bands than input bands, got {out_bands}/{in_bands}")
        self.in_bands, self.out_bands, self.width, self.depth = in_bands, out_bands, width, depth
        self.head = nn.Sequential(_conv(in_bands, width), nn.ReLU(inplace=True))
        self.blocks = nn.Sequential(*(ResidualBlock(width) for _ in range(depth)))
        self.tail = _conv(width, out_bands)
        # A fresh network returns the bilinear up-sampling unchanged; training starts from that baseline
        # instead of from large random corrections (which costs many steps on a CPU budget).
        nn.init.zeros_(self.tail.weight)

    @property
    def receptive_radius(self) -> int:
        """Pixels of context on each side that an output pixel depends on (one per 3x3 convolution)."""
        return 2 * self.depth + 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        upsampled_targets = x[:, -self.out_bands:]
        return self.tail(self.blocks(self.head(x))) + upsampled_targets


def weights_name(network: str, variant: str) -> str:
    """The registry name of a shipped network: ``dsen2_20m_light`` and so on."""
    spec_for(network)
    variant_size(variant)
    return f"dsen2_{network}_{variant}"


def spec_for(network: str) -> NetworkSpec:
    try:
        return SPECS[network]
    except KeyError:
        raise ParameterError(f"unknown super-resolution network {network!r}; use one of {tuple(SPECS)}") from None


def variant_size(variant: str) -> dict[str, int]:
    try:
        return dict(VARIANTS[variant])
    except KeyError:
        raise ParameterError(f"unknown DSen2 variant {variant!r}; use one of {tuple(VARIANTS)}") from None


def build_network(network: str, variant: str) -> DSen2:
    """A freshly initialised network (``torch.manual_seed`` first for reproducible weights)."""
    spec = spec_for(network)
    return DSen2(len(spec.inputs), len(spec.outputs), **variant_size(variant))


def architecture_kwargs(model: DSen2) -> dict[str, int]:
    """The keyword arguments that rebuild ``model`` (stored in the weights registry)."""
    return {"in_bands": model.in_bands, "out_bands": model.out_bands, "width": model.width, "depth": model.depth}
