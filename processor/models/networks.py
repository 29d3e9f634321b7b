"""The three mask networks: CNN1D (spectral), CNN2D (spatial) and CNN3D (spectral-spatial).

Every network takes a feature stack (batch, channels, rows, cols) whose first ``n_bands`` channels are
the normalised bands in ESA order and whose last ``n_aux`` channels are the auxiliary features of
:mod:`s2mask.models.features`, and returns class logits for the six classes CLEAR_LAND ... CLOUD_SHADOW.
All convolutions are unpadded ("valid"): an output pixel depends on the inputs within ``radius``
pixels, and the output is ``2 * radius`` smaller than the input. The caller gives the context
(:mod:`s2mask.inference` pads the image edge once, by replication), so a block with a halo of
``radius`` gives exactly what the whole image gives: no padding inside the network can differ between
the two.
"""

from __future__ import annotations

import torch
from torch import nn

from .fused import conv2d, sequential

#: Output classes of every network, in output order: the classes of ``s2mask.classes`` except NO_DATA.
OUTPUT_CLASSES: tuple[str, ...] = ("CLEAR_LAND", "WATER", "SNOW_ICE", "CLOUD", "THIN_CLOUD", "CLOUD_SHADOW")


def crop(x: torch.Tensor, margin: int) -> torch.Tensor:
    """``x`` without ``margin`` pixels on every side (a view)."""
    return x[..., margin:x.shape[-2] - margin, margin:x.shape[-1] - margin] if margin else x


class ContextBlock(nn.Module):
    """A dilated 3x3 convolution with a ReLU, added to the (cropped) input.

    Dilations give a wide receptive field for the cost of a 3x3 kernel; the block runs on a few
    channels only (the CPU speed target rules out wide 3x3 layers at full resolution). Dense rather than
    depthwise: on CPUs, depthwise convolutions train about ten times slower for little saving.
    """

    def __init__(self, width: int, dilation: int):
        super().__init__()
        self.dilation = dilation
        self.conv = nn.Conv2d(width, width, 3, dilation=dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled():
            return crop(x, self.dilation) + torch.relu(self.conv(x))
        # Inference: the ReLU fused into the convolution, the sum in place.
        return conv2d(self.conv, x, relu=True).add_(crop(x, self.dilation))


class CNN2D(nn.Module):
    """Per-pixel spectral encoder over all channels; a narrow branch of dilated 3x3 convolutions for the
    spatial context; a per-pixel classifier over both."""

    def __init__(self, n_bands: int, n_aux: int, n_classes: int = len(OUTPUT_CLASSES), width: int = 16,
                 context: int = 8, dilations: tuple[int, ...] = (1, 2, 4, 8)):
        super().__init__()
        self.n_bands, self.n_aux, self.n_classes = n_bands, n_aux, n_classes
        self.radius = int(sum(dilations))
        self.encode = nn.Sequential(nn.Conv2d(n_bands + n_aux, width, 1), nn.ReLU(inplace=True))
        self.context = nn.Sequential(nn.Conv2d(width, context, 1), nn.ReLU(inplace=True),
                                     *[ContextBlock(context, d) for d in dilations])
        self.classify = nn.Sequential(nn.Conv2d(width + context, width, 1), nn.ReLU(inplace=True),
                                      nn.Conv2d(width, n_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pixels = sequential(self.encode, x)
        context = sequential(self.context, pixels)
        return sequential(self.classify, torch.cat([crop(pixels, self.radius), context], dim=1))


class CNN1D(nn.Module):
    """Convolutions along the spectrum of each pixel (bands as a 1-D signal), then a per-pixel head that
    also sees the auxiliary features. No spatial context: ``radius`` 0."""

    radius = 0

    def __init__(self, n_bands: int, n_aux: int, n_classes: int = len(OUTPUT_CLASSES), filters: int = 16,
                 hidden: int = 32, kernel: int = 3):
        super().__init__()
        self.n_bands, self.n_aux, self.n_classes = n_bands, n_aux, n_classes
        self.spectral = nn.Sequential(nn.Conv2d(1, filters, (kernel, 1)), nn.ReLU(inplace=True),
                                      nn.Conv2d(filters, filters, (kernel, 1)), nn.ReLU(inplace=True))
        flat = filters * (n_bands - 2 * (kernel - 1))
        self.head = nn.Sequential(nn.Conv2d(flat + n_aux, hidden, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, n_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, _, height, width = x.shape
        # (batch, 1, bands, pixels): a 2-D convolution with (k, 1) kernels is a 1-D one along the bands.
        spectra = x[:, :self.n_bands].reshape(batch, 1, self.n_bands, height * width)
        features = sequential(self.spectral, spectra).reshape(batch, -1, height, width)
        return sequential(self.head, torch.cat([features, x[:, self.n_bands:]], dim=1))


class CNN3D(nn.Module):
    """3-D convolutions over (band, row, col), so kernels mix neighbouring bands and pixels, then a
    per-pixel head with the auxiliary features."""

    def __init__(self, n_bands: int, n_aux: int, n_classes: int = len(OUTPUT_CLASSES), filters: int = 8,
                 hidden: int = 32, dilations: tuple[int, ...] = (1, 2)):
        super().__init__()
        self.n_bands, self.n_aux, self.n_classes = n_bands, n_aux, n_classes
        self.radius = int(sum(dilations))
        layers: list[nn.Module] = []
        channels = 1
        for dilation in dilations:
            layers += [nn.Conv3d(channels, filters, 3, dilation=(1, dilation, dilation)), nn.ReLU(inplace=True)]
            channels = filters
        self.spectral_spatial = nn.Sequential(*layers)
        flat = filters * (n_bands - 2 * len(dilations))
        self.head = nn.Sequential(nn.Conv2d(flat + n_aux, hidden, 1), nn.ReLU(inplace=True),
                                  nn.Conv2d(hidden, n_classes, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch = x.shape[0]
        volume = self.spectral_spatial(x[:, None, :self.n_bands])
        features = volume.reshape(batch, -1, *volume.shape[-2:])
        return sequential(self.head, torch.cat([features, crop(x[:, self.n_bands:], self.radius)], dim=1))


ARCHITECTURES: dict[str, type[nn.Module]] = {"CNN1D": CNN1D, "CNN2D": CNN2D, "CNN3D": CNN3D}
#: The model names users choose (``--model cnn2d``) and the architecture each stands for.
FAMILIES: dict[str, str] = {"cnn1d": "CNN1D", "cnn2d": "CNN2D", "cnn3d": "CNN3D"}


def build_network(architecture: str, n_bands: int, n_aux: int, **kwargs) -> nn.Module:
    """A fresh network of ``architecture`` ("CNN1D", "CNN2D", "CNN3D") for this many inputs."""
    try:
        network_class = ARCHITECTURES[architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of {', '.join(ARCHITECTURES)}") from None
    if "dilations" in kwargs:
        kwargs["dilations"] = tuple(kwargs["dilations"])
    return network_class(n_bands, n_aux, **kwargs)


def count_parameters(network: nn.Module) -> int:
    return sum(p.numel() for p in network.parameters())
