"""A stand-in for esa_snappy, jpy and GPF, so the S2Mask operator runs in tests without SNAP.

``load_operator(monkeypatch)`` puts a fake ``esa_snappy`` module into ``sys.modules`` and imports
``snap_plugin/s2mask_op.py`` against it; ``context_for(product, **parameters)`` gives an operator
context whose ``getParameter`` answers with the values and defaults of the committed
``s2mask_op-info.xml``, typed as jpy converts them.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from pathlib import Path

from lxml import etree

from . import java
from .gpf import Context, Product, ProductUtils

REPO = Path(__file__).resolve().parents[2]
PLUGIN = REPO / "snap_plugin"

_TYPES = {
    "java.awt.Color": java.Color,
    "java.awt.Rectangle": java.Rectangle,
    "org.esa.snap.core.datamodel.IndexCoding": java.IndexCoding,
    "org.esa.snap.core.datamodel.ColorPaletteDef": java.ColorPaletteDef,
    java.PALETTE_POINT: java.ColorPaletteDef.Point,
    "org.esa.snap.core.datamodel.ImageInfo": java.ImageInfo,
}


def _get_type(name: str) -> type:
    if name not in _TYPES:
        raise java.JavaError(f"Java class '{name}' not found (not modelled by the stand-in)")
    return _TYPES[name]


def fake_esa_snappy() -> types.ModuleType:
    jpy = types.SimpleNamespace(get_type=_get_type, array=java.JavaArray)
    module = types.ModuleType("esa_snappy")
    module.jpy, module.Product, module.ProductData, module.ProductUtils = jpy, Product, java.ProductData, ProductUtils
    return module


def load_operator(monkeypatch: object) -> types.ModuleType:
    """Import ``snap_plugin/s2mask_op.py`` with the stand-in installed as ``esa_snappy``."""
    monkeypatch.setitem(sys.modules, "esa_snappy", fake_esa_snappy())
    spec = importlib.util.spec_from_file_location("s2mask_op", PLUGIN / "s2mask_op.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _typed(data_type: str, text: str) -> object:
    if data_type == "int":
        return int(text)
    if data_type == "boolean":
        return text.strip().lower() == "true"
    return text


def declared_parameters() -> dict[str, object]:
    """Parameter defaults of the committed descriptor, as GPF hands them to Python."""
    root = etree.parse(str(PLUGIN / "s2mask_op-info.xml")).getroot()
    return {p.findtext("name"): _typed(p.findtext("dataType"), p.findtext("defaultValue"))
            for p in root.iterfind("parameters/parameter")}


def context_for(product: Product, source_id: str = "source", **parameters: object) -> Context:
    declared = declared_parameters()
    unknown = set(parameters) - set(declared)
    if unknown:
        raise java.JavaError(f"parameters not declared by the operator: {sorted(unknown)}")
    return Context({source_id: product}, parameters, declared)
