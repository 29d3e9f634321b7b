"""Mask CNNs trained on physics-supervised labels: the networks, their features, the shipped weights.

:func:`load_masker` turns a model name into a :class:`CNNMasker` for a product's level and bands:
``"cnn"`` the default family (CNN2D), a family name (``"cnn2d"``) or the name of one registry entry.
Within a family the entry for the level with the most bands that the input has wins: the full L1C or
L2A model, else that level's reduced-band model. Falling back to the physics classifier ("auto") is
the business of :func:`s2mask.choice.select_masker`, above this package.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

from .. import weights
from ..errors import MissingBandError, ModelError
from ..inference import DTYPES, select_device, select_precision, set_threads
from ..masking import require_bands
from . import quantized
from .features import FeatureSpec
from .masker import CNNMasker
from .networks import FAMILIES, OUTPUT_CLASSES, build_network
from .quantized import Int8CNN2D

DEFAULT_FAMILY = "cnn2d"

__all__ = ["DEFAULT_FAMILY", "CNNMasker", "choose_entry", "load_masker", "load_network", "masker_from_file",
           "network_from_entry", "read_entry_file", "resolve_entry"]


def choose_entry(family: str, level: str, available_bands: tuple[str, ...]) -> dict[str, Any]:
    """The registry entry of ``family`` for ``level`` with the most bands among those available."""
    level = level.upper()
    candidates = [item for item in weights.entries("mask")
                  if weights.family(item) == family and level in item["levels"]]
    if not candidates:
        shipped = ", ".join(item["name"] for item in weights.entries("mask")) or "none"
        raise ModelError(f"no shipped {family} model for {level} (shipped masks: {shipped})")
    fitting = [item for item in candidates if set(item["bands"]) <= set(available_bands)]
    if not fitting:
        smallest = min(candidates, key=lambda item: len(item["bands"]))
        missing = [band for band in smallest["bands"] if band not in available_bands]
        raise MissingBandError(f"no shipped {family} model fits the bands given: even the smallest "
                               f"({smallest['name']}) needs {', '.join(missing)}")
    return max(fitting, key=lambda item: len(item["bands"]))


def network_from_entry(item: Mapping[str, Any], path: Path, device: torch.device,
                       precision: str = "float32") -> torch.nn.Module:
    """The network an entry describes with the weights in ``path``, in eval mode on ``device``, in
    ``precision``: "float32" (the weights are trained and stored so), "bfloat16", or "int8" (a CNN2D
    with its heaviest layers quantised by the entry's calibration, :mod:`s2mask.models.quantized`)."""
    spec, name = FeatureSpec.from_registry(item), item["name"]
    if tuple(item["classes"]) != OUTPUT_CLASSES:
        raise ModelError(f"weights {name!r} predict classes {item['classes']}, expected {list(OUTPUT_CLASSES)}")
    network = build_network(item["architecture"], len(spec.bands), len(spec.aux), **item["architecture_kwargs"])
    network = weights.load_into(network, path, name).eval().to(device=device)
    if precision == "int8":
        return Int8CNN2D(network.to(memory_format=torch.channels_last), quantized.calibration(item))
    network = network.to(dtype=DTYPES[precision])
    # Channels-last suits the 2-D convolutions (the inference feeds tiles in that layout); torch has no
    # such layout for the 5-D weights of CNN3D.
    return network if any(p.dim() == 5 for p in network.parameters()) else network.to(memory_format=torch.channels_last)


def int8_ready(item: Mapping[str, Any]) -> bool:
    """Whether an entry's network can run in int8: a CNN2D with a calibration for its weights, and a torch
    with quantised modules."""
    return item["architecture"] == "CNN2D" and quantized.available() and quantized.calibration(item) is not None


@lru_cache(maxsize=8)
def _cached_network(name: str, device: torch.device, precision: str) -> torch.nn.Module:
    item = weights.entry(name)
    return network_from_entry(item, weights.weight_file(item), device, precision)


def read_entry_file(entry_file: str | Path) -> tuple[dict[str, Any], Path]:
    """A scratch entry written by ``s2mask train`` (``<name>.json`` beside ``<name>.pt``) and the path of
    its weights, checked against the entry's sha256."""
    entry_file = Path(entry_file)
    try:
        item = json.loads(entry_file.read_text())
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read the weights entry ({err})", entry_file) from err
    path = entry_file.with_name(item["file"])
    if not path.is_file() or weights.sha256(path) != item["sha256"]:
        raise ModelError("weights are missing or do not match the sha256 of their entry", path)
    return item, path


def masker_from_file(entry_file: str | Path, device: str = "auto", shadows: str | None = None,
                     precision: str = "auto") -> CNNMasker:
    """A masker from a scratch entry written by ``s2mask train`` (``<name>.json`` beside ``<name>.pt``)."""
    item, path = read_entry_file(entry_file)
    torch_device = select_device(device)
    network = network_from_entry(item, path, torch_device, select_precision(precision, torch_device, int8_ready(item)))
    return CNNMasker(item, network, torch_device, shadows)


def load_network(name: str, device: str = "auto", precision: str = "float32") -> torch.nn.Module:
    """The network of registry entry ``name`` with its weights, in eval mode on ``device`` in
    ``precision`` (see :func:`~s2mask.inference.select_precision`; cached)."""
    torch_device = select_device(device)
    arithmetic = select_precision(precision, torch_device, int8_ready(weights.entry(name)))
    return _cached_network(name, torch_device, arithmetic)


def resolve_entry(model: str, level: str, available_bands: tuple[str, ...]) -> dict[str, Any]:
    """The registry entry ``model`` ("cnn", a family or an entry name) means for ``level`` and these bands;
    :class:`MissingBandError` or :class:`ModelError` when none fits."""
    if model == "cnn":
        return choose_entry(DEFAULT_FAMILY, level, available_bands)
    if model in FAMILIES:
        return choose_entry(model, level, available_bands)
    item = weights.entry(model)
    if level.upper() not in item["levels"]:
        raise ModelError(f"model {model} is trained for {', '.join(item['levels'])}, not {level}")
    require_bands(tuple(item["bands"]), available_bands, f"model {model}")
    return item


def load_masker(model: str, *, level: str, bands: tuple[str, ...], device: str = "auto", threads: int = 0,
                precision: str = "auto", shadows: str | None = None) -> CNNMasker:
    """The masker of :func:`resolve_entry` on ``device`` in ``precision`` (the networks' arithmetic,
    :func:`~s2mask.inference.select_precision`); ``shadows`` overrides the entry's shadow mode ("network"
    or "network+geometry"); ``threads`` are the CPU threads of the networks and the shadow step."""
    torch_device = select_device(device)
    item = resolve_entry(model, level, bands)
    arithmetic = select_precision(precision, torch_device, int8_ready(item))
    if torch_device.type == "cpu":
        set_threads(threads)
    return CNNMasker(item, _cached_network(item["name"], torch_device, arithmetic), torch_device, shadows,
                     threads=threads)
