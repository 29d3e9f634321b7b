"""int8 arithmetic for the heaviest layers of a CNN2D, for CPUs without hardware bfloat16.

Without AVX512-BF16 or AMX a mask network had only float32, and the dilated 3 x 3 convolutions of the
context branch plus the classifier's hidden 1 x 1 layer are nine tenths of its arithmetic (cnn2d-l1c-v4:
10,750 of 12,000 multiply-adds per pixel). torch's x86 quantised engine (oneDNN and FBGEMM) runs them in
int8 on any AVX2 CPU: on a 382-px tile with oneDNN capped to AVX2, one context block took 3.0-3.2 ms
instead of 5.1-5.5 in float32 (1.2 instead of 2.8 with AVX-512 VNNI).

Weights are quantised per output channel (symmetric int8), activations per tensor as uint8 with zero
point 0 (every one is a ReLU output or a sum of them) and the scale of the largest value met on
calibration scenes. The encoder and the output layer stay in float32: quantising the input features too
(bands and illumination of very different ranges) changed more pixels for little time. Each output
pixel still depends only on its receptive field, so tiles and blocks give exactly the whole image.

The calibration of each shipped network is kept in ``processor/weights/int8.json`` beside the registry,
tied to the weights' sha256 (``python -m s2mask.train.quantization`` writes it); a network without a
calibration runs in float32.

torch 2.13 marks its quantised tensors deprecated (to be replaced by torchao); its warning, given once per
process, is silenced where the first is made, and a torch without them leaves int8 out (:func:`available`).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import weights
from . import fused
from .networks import CNN2D, ContextBlock, crop

try:
    from torch.ao.nn.intrinsic.quantized import ConvReLU2d
except ImportError:
    ConvReLU2d = None

CALIBRATION_FILE = weights.WEIGHTS_DIR / "int8.json"
#: uint8 steps of an activation: zero point 0, the largest calibration value at the top.
STEPS = 255


def available() -> bool:
    """Whether this torch has the quantised modules int8 inference is built on."""
    return ConvReLU2d is not None


def calibration(item: Mapping[str, Any]) -> dict[str, float] | None:
    """The activation maxima calibrated for a registry entry's weights, or None (none, or for other weights)."""
    if not CALIBRATION_FILE.exists():
        return None
    stored = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8")).get(item["name"])
    return stored["maxima"] if stored and stored["sha256"] == item.get("sha256") else None


def _parts(network: CNN2D) -> tuple[nn.Sequential, list[ContextBlock]]:
    """The context branch's per-pixel entry layers and its dilated blocks."""
    blocks = [module for module in network.context if isinstance(module, ContextBlock)]
    return nn.Sequential(*[module for module in network.context if not isinstance(module, ContextBlock)]), blocks


@torch.inference_mode()
def calibrate(network: CNN2D, stacks: Iterable[np.ndarray]) -> dict[str, float]:
    """The largest value of each quantised activation of ``network`` (float32) over feature stacks
    (channels, H, W): ``context`` (the blocks' input), ``block<k>`` (block k's convolution),
    ``sum<k>`` (its output), ``hidden_input`` and ``hidden`` (the classifier's hidden layer)."""
    entry, blocks = _parts(network)
    maxima: dict[str, float] = {}

    def seen(name: str, value: torch.Tensor) -> torch.Tensor:
        maxima[name] = max(maxima.get(name, 0.0), float(value.max()))
        return value

    for stack in stacks:
        x = torch.from_numpy(np.ascontiguousarray(stack))[None].contiguous(memory_format=torch.channels_last)
        pixels = fused.sequential(network.encode, x)
        context = seen("context", fused.sequential(entry, pixels))
        for k, block in enumerate(blocks):
            convolved = seen(f"block{k}", fused.conv2d(block.conv, context, relu=True))
            context = seen(f"sum{k}", convolved + crop(context, block.dilation))
        both = seen("hidden_input", torch.cat([crop(pixels, network.radius), context], dim=1))
        seen("hidden", fused.conv2d(network.classify[0], both, relu=True))
    return maxima


def _quantised_conv(conv: nn.Conv2d, maximum: float) -> ConvReLU2d:
    """``conv`` followed by a ReLU in int8: weights per output channel, output scaled to ``maximum``."""
    weight = conv.weight.detach().float()
    scales = (weight.abs().amax(dim=(1, 2, 3)) / 127).clamp(min=1e-12).double()
    quantised = ConvReLU2d(conv.in_channels, conv.out_channels, conv.kernel_size, dilation=conv.dilation)
    quantised.set_weight_bias(torch.quantize_per_channel(weight, scales, torch.zeros(len(scales), dtype=torch.long),
                                                         0, torch.qint8), conv.bias.detach().float())
    quantised.scale, quantised.zero_point = maximum / STEPS, 0
    return quantised


def _quantise(x: torch.Tensor, maximum: float) -> torch.Tensor:
    return torch.quantize_per_tensor(x, maximum / STEPS, 0, torch.quint8)


class Int8CNN2D(nn.Module):
    """A float32 CNN2D (eval mode, CPU) with its context blocks and hidden classifier layer in int8."""

    precision = "int8"

    def __init__(self, network: CNN2D, maxima: Mapping[str, float]):
        super().__init__()
        self.radius, self.n_classes = network.radius, network.n_classes
        self.encode, self.output = network.encode, network.classify[2]
        self.entry, blocks = _parts(network)
        self.dilations = [block.dilation for block in blocks]
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=r".*quantized tensor creation functions .* are deprecated")
            self.blocks = nn.ModuleList(_quantised_conv(block.conv, maxima[f"block{k}"])
                                        for k, block in enumerate(blocks))
            self.hidden = _quantised_conv(network.classify[0], maxima["hidden"])
        self.maxima = dict(maxima)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = fused.sequential(self.encode, x)
        context = _quantise(fused.sequential(self.entry, pixels), self.maxima["context"])
        for k, (block, dilation) in enumerate(zip(self.blocks, self.dilations)):
            # quantized.add takes inputs of one layout: the cropped view is copied (0.05 ms a tile)
            skip = crop(context, dilation).contiguous(memory_format=torch.channels_last)
            context = torch.ops.quantized.add(block(context), skip, self.maxima[f"sum{k}"] / STEPS, 0)
        both = torch.cat([crop(pixels, self.radius), context.dequantize()], dim=1)
        hidden = self.hidden(_quantise(both, self.maxima["hidden_input"])).dequantize()
        return fused.conv2d(self.output, hidden)
