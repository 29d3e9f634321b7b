"""Peer cloud masks run on the same bands as s2mask, mapped onto our classes (optional extra ``peers``).

- s2cloudless (Sentinel Hub, LightGBM on 10 L1C bands): cloud / clear, its default threshold 0.4 with
  ``average_over=4`` and ``dilation_size=2`` (its README's settings); L1C only.
- ukis-csmask (DLR, U-Net in ONNX on B2 B3 B4 B8A B11 B12, L1C and L2A models): clear / cloud / shadow.

Neither knows water or snow: their clear pixels become CLEAR_LAND, so compare them with the ``cloud``
or ``cloud_shadow`` groupings of :mod:`s2mask.evaluation.compare`. A peer that is not installed, or whose
bands or level the input lacks, is skipped (:func:`available_peers` says which run).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping

import numpy as np

from ..bands import ALL_BANDS
from ..classes import MaskClass

#: ukis-csmask's band names for our bands (its NIR is the narrow B8A, B8 stands in).
_UKIS_BANDS = (("blue", "B2"), ("green", "B3"), ("red", "B4"), ("nir", "B8A"), ("swir16", "B11"), ("swir22", "B12"))


def _valid(bands: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
    return np.logical_and.reduce([np.isfinite(bands[name]) for name in names])


def s2cloudless_classes(bands: Mapping[str, np.ndarray], level: str, threads: int = 0) -> np.ndarray | None:
    """s2cloudless's cloud mask as CLOUD / CLEAR_LAND (NO_DATA where a band is invalid), or None."""
    if level != "L1C" or any(band not in bands for band in ALL_BANDS):
        return None
    from s2cloudless import S2PixelCloudDetector

    detector = S2PixelCloudDetector(threshold=0.4, average_over=4, dilation_size=2, all_bands=True)
    stack = np.stack([np.nan_to_num(bands[band], nan=0.0, posinf=1.0) for band in ALL_BANDS], axis=-1)
    options = {"num_threads": threads} if threads else {}
    cloud = detector.get_cloud_masks(stack[None].astype(np.float32), **options)[0]
    classes = np.where(cloud > 0, MaskClass.CLOUD, MaskClass.CLEAR_LAND).astype(np.uint8)
    classes[~_valid(bands, list(ALL_BANDS))] = MaskClass.NO_DATA
    return classes


def ukis_classes(bands: Mapping[str, np.ndarray], level: str, threads: int = 0) -> np.ndarray | None:
    """ukis-csmask's 6-band mask as CLEAR_LAND / CLOUD / CLOUD_SHADOW, or None."""
    names = [band if band in bands or band != "B8A" else "B8" for _, band in _UKIS_BANDS]
    if any(name not in bands for name in names):
        return None
    import warnings

    from ukis_csmask.mask import CSmask

    stack = np.stack([np.nan_to_num(bands[name], nan=0.0, posinf=1.0) for name in names], axis=-1).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # it warns about images under 256 x 256 px
        mask = CSmask(stack, band_order=[name for name, _ in _UKIS_BANDS], product_level=level.lower(),
                      intra_op_num_threads=threads, inter_op_num_threads=1).csm[..., 0]
    lookup = np.array([MaskClass.CLEAR_LAND, MaskClass.CLOUD, MaskClass.CLOUD_SHADOW], dtype=np.uint8)
    classes = lookup[np.clip(mask, 0, 2)]
    classes[~_valid(bands, names)] = MaskClass.NO_DATA
    return classes


PEERS: dict[str, tuple[str, Callable[..., np.ndarray | None]]] = {
    "s2cloudless": ("s2cloudless", s2cloudless_classes),
    "ukis-csmask": ("ukis_csmask", ukis_classes),
}


def available_peers() -> tuple[str, ...]:
    """The peers whose packages are installed."""
    return tuple(name for name, (module, _) in PEERS.items() if importlib.util.find_spec(module) is not None)


def run_peers(bands: Mapping[str, np.ndarray], level: str, threads: int = 0) -> dict[str, np.ndarray]:
    """The classes of every installed peer that can judge these bands."""
    results = {}
    for name in available_peers():
        classes = PEERS[name][1](bands, level, threads)
        if classes is not None:
            results[name] = classes
    return results
