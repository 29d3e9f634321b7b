"""Wald's protocol: real Sentinel-2 bands become their own ground truth at a reduced scale.

Every band is degraded by the network's factor (2 for the 20 m network, 6 for the 60 m network) the way
a coarser sensor would see it: a Gaussian point spread function (sigma = 1/factor input pixels, as in
DSen2's ``downPixelAggr``) followed by the area mean over factor x factor pixels. Super-resolving the
degraded 20 m bands with the degraded 10 m bands must then give back the real 20 m bands; the same
holds one level up for the 60 m bands. Training and the benchmark use the same functions, and the
quality metrics of the benchmark (RMSE, SRE, SAM) live here too.
"""

from __future__ import annotations

import numpy as np
from scipy.ndimage import gaussian_filter

from ..resample import downsample_mean, upsample
from .network import spec_for


def degrade(array: np.ndarray, factor: int) -> np.ndarray:
    """Blur (band, row, col) with the sensor PSF and average ``factor`` x ``factor`` blocks (float32)."""
    sigma = 1.0 / factor
    blurred = gaussian_filter(np.asarray(array, dtype=np.float64), sigma=(0, sigma, sigma), mode="reflect")
    return downsample_mean(blurred, factor)


def crop_to_multiple(bands10: np.ndarray, bands20: np.ndarray, bands60: np.ndarray | None,
                     multiple: int) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Cut the three grids to the largest common extent whose 10 m size divides by ``multiple``.

    ``multiple`` must be a multiple of 6 so the 20 m and 60 m grids are cut at whole pixels.
    """
    height = min(bands10.shape[1], 2 * bands20.shape[1], *([6 * bands60.shape[1]] if bands60 is not None else []))
    width = min(bands10.shape[2], 2 * bands20.shape[2], *([6 * bands60.shape[2]] if bands60 is not None else []))
    height, width = height - height % multiple, width - width % multiple
    cut60 = bands60[:, :height // 6, :width // 6] if bands60 is not None else None
    return bands10[:, :height, :width], bands20[:, :height // 2, :width // 2], cut60


def reduced_scale(network: str, bands10: np.ndarray, bands20: np.ndarray, bands60: np.ndarray | None
                  ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray | None], np.ndarray]:
    """The degraded inputs ``(bands10, bands20, bands60)`` of ``network`` and its real target bands.

    The degraded arrays keep the 1:2:6 grid ratio, so they can go straight into ``superresolve``
    (whose 10 m grid is then 20 m or 60 m on the ground). ``bands60`` is needed for the 60 m network
    and ignored by the 20 m one.
    """
    spec = spec_for(network)
    factor = spec.factor
    # The degraded 10 m grid must itself divide by 6 for superresolve: cut to 6 x factor at full scale.
    if spec.name == "20m":
        bands10, bands20, _ = crop_to_multiple(bands10, bands20, None, 6 * factor)
        return (degrade(bands10, factor), degrade(bands20, factor), None), np.asarray(bands20, np.float32)
    if bands60 is None:
        raise ValueError("the 60 m network needs the 60 m bands")
    bands10, bands20, bands60 = crop_to_multiple(bands10, bands20, bands60[:len(spec.outputs)], 6 * factor)
    degraded = (degrade(bands10, factor), degrade(bands20, factor), degrade(bands60, factor))
    return degraded, np.asarray(bands60, np.float32)


def interpolate_targets(network: str, degraded: tuple[np.ndarray, np.ndarray, np.ndarray | None],
                        method: str) -> np.ndarray:
    """The classical answer: the degraded target bands of ``network`` interpolated by ``method``
    ("nearest", "bilinear" or "bicubic") onto the reduced-scale 10 m grid."""
    spec = spec_for(network)
    coarse = degraded[1] if spec.name == "20m" else degraded[2]
    return upsample(coarse, spec.factor, method)


def rmse(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Root-mean-square error per band of (band, row, col) arrays."""
    diff = np.asarray(estimate, np.float64) - np.asarray(truth, np.float64)
    return np.sqrt(np.nanmean(diff**2, axis=(1, 2)))


def sre(estimate: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Signal-to-reconstruction error per band in dB: 10 log10(mean(truth)^2 / MSE), higher is better."""
    mean = np.nanmean(np.asarray(truth, np.float64), axis=(1, 2))
    return 10.0 * np.log10(mean**2 / rmse(estimate, truth) ** 2)


def sam(estimate: np.ndarray, truth: np.ndarray) -> float:
    """Mean spectral angle in degrees between the per-pixel spectra (bands on axis 0)."""
    a = np.asarray(estimate, np.float64).reshape(estimate.shape[0], -1)
    b = np.asarray(truth, np.float64).reshape(truth.shape[0], -1)
    cosine = (a * b).sum(0) / np.maximum(np.linalg.norm(a, axis=0) * np.linalg.norm(b, axis=0), 1e-12)
    return float(np.degrees(np.nanmean(np.arccos(np.clip(cosine, -1.0, 1.0)))))
