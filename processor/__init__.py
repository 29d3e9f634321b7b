"""s2mask: Sentinel-2 cloud and cloud-shadow masking.

The public entry points are imported lazily, so ``import s2mask`` stays cheap (no torch, no GDAL)
until one of them is used.
"""

from __future__ import annotations

from importlib import import_module

__version__ = "0.1.0"

_PUBLIC = {
    "open_product": "s2mask.io.formats",
    "run": "s2mask.pipeline",
    "ProcessingParameters": "s2mask.params",
    "run_batch": "s2mask.batch",
    "classify": "s2mask.api",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name in _PUBLIC:
        return getattr(import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 's2mask' has no attribute {name!r}")
