"""CPU inference of the mask networks' 2-D convolutions through oneDNN, each fused with its ReLU.

The networks convolve few channels (6 to 24) over many pixels. torch's default CPU path hands a 1x1
convolution to a matrix product (MKL here) that is slow for such thin matrices, writes the bias in a
pass of its own and leaves the ReLU to a third. oneDNN's fused convolution (the call torch's own
compiler emits for convolution + activation) does all three in one pass: on a 414 x 414 tile of
CNN2D, 24.7 ms instead of 31.7 for the whole network on one core, the 1x1 layers two to three times
faster. It gives the same values to float rounding (a few 1e-6 on the logits of the shipped networks).

Only inference on the CPU in float32, or in bfloat16 where oneDNN runs it (:func:`s2mask.cpu.bfloat16_runs`),
takes this path; training, other devices and a torch built without oneDNN (or with it switched off) run
the modules as they are.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from .. import cpu


def _find_pointwise() -> Callable[..., torch.Tensor] | None:
    """oneDNN's fused convolution, if this torch has it and it answers like ``conv2d`` + ReLU: the op is
    internal to torch, so a build whose op is missing or has another signature falls back to the modules."""
    if not torch.backends.mkldnn.is_available():
        return None
    try:
        pointwise = torch.ops.mkldnn._convolution_pointwise
        with torch.no_grad():
            x, weight, bias = torch.randn(1, 3, 4, 4), torch.randn(2, 3, 1, 1), torch.randn(2)
            fused = pointwise(x, weight, bias, [0, 0], [1, 1], [1, 1], 1, "relu", [], "")
            plain = torch.relu(torch.nn.functional.conv2d(x, weight, bias))
        return pointwise if torch.allclose(fused, plain, atol=1e-5) else None
    except (AttributeError, RuntimeError, TypeError):
        return None


_POINTWISE = _find_pointwise()


def fusable(x: torch.Tensor) -> bool:
    """Whether a convolution of ``x`` may take the fused path: CPU inference in float32, or in bfloat16
    where oneDNN runs it, oneDNN present and not switched off (``torch.backends.mkldnn.enabled``)."""
    return (_POINTWISE is not None and torch.backends.mkldnn.enabled and not torch.is_grad_enabled()
            and x.device.type == "cpu"
            and (x.dtype == torch.float32 or (x.dtype == torch.bfloat16 and cpu.bfloat16_runs())))


def conv2d(conv: nn.Conv2d, x: torch.Tensor, relu: bool = False) -> torch.Tensor:
    """``conv(x)``, followed by a ReLU when ``relu``: one fused call where :func:`fusable`."""
    if fusable(x) and isinstance(conv.padding, tuple) and conv.padding_mode == "zeros":
        return _POINTWISE(x, conv.weight, conv.bias, list(conv.padding), list(conv.stride), list(conv.dilation),
                          conv.groups, "relu" if relu else "none", [], "")
    y = conv(x)
    # In place: y is the convolution's fresh output, which its backward pass does not need.
    return torch.relu_(y) if relu else y


def sequential(layers: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """``layers(x)``, with each Conv2d and the ReLU after it as one fused call where :func:`fusable`."""
    if not fusable(x):
        return layers(x)
    modules = list(layers)
    index = 0
    while index < len(modules):
        module = modules[index]
        if isinstance(module, nn.Conv2d):
            relu = index + 1 < len(modules) and isinstance(modules[index + 1], nn.ReLU)
            x = conv2d(module, x, relu)
            index += 2 if relu else 1
        else:
            x = module(x)
            index += 1
    return x
