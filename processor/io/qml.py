"""QGIS layer styles (``.qml``) for the GeoTIFF outputs.

QGIS loads ``NAME.qml`` beside ``NAME.tif`` as the layer's default style. Without one it builds a
paletted renderer from the TIFF colour map, which always has 256 entries, so its legend lists 249
black classes after ours, and shows a multi-band file as RGB of its first three bands. The styles
here list exactly the classes of a :class:`~.coding.ClassCoding` (names, colours, no data transparent)
and show a probability band on a fixed 0..100 % colour ramp, so QGIS needs no statistics either.
The element and attribute names are those QGIS 3.22 writes itself (``QgsMapLayer.saveNamedStyle``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from .atomic import output_errors
from .coding import ClassCoding, hex_colour

#: QGIS version the documents follow; later versions read them unchanged.
QGIS_VERSION = "3.22.0"
_DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
#: Matplotlib's viridis at 0, 25, 50, 75 and 100 %: perceptually even and readable by colour-blind users.
PROBABILITY_RAMP: tuple[tuple[int, str], ...] = (
    (0, "#440154"), (25, "#3b528b"), (50, "#21918c"), (75, "#5ec962"), (100, "#fde725"))


def paletted_style(coding: ClassCoding, band: int = 1) -> bytes:
    """A style that draws ``band`` with one legend row per class of ``coding``."""
    root, renderer = _document(type="paletted", band=str(band))
    palette = etree.SubElement(renderer, "colorPalette")
    for info in coding.classes:
        red, green, blue, alpha = coding.rgba(info)
        etree.SubElement(palette, "paletteEntry", value=str(info.value), color=hex_colour((red, green, blue)),
                         alpha=str(alpha), label=info.name)
    return _finish(root)


def probability_style(band: int, ramp: Sequence[tuple[int, str]] = PROBABILITY_RAMP) -> bytes:
    """A style that draws ``band`` (per cent) on ``ramp`` from 0 to 100, with a continuous legend."""
    root, renderer = _document(type="singlebandpseudocolor", band=str(band), classificationMin="0",
                               classificationMax="100")
    shader = etree.SubElement(etree.SubElement(renderer, "rastershader"), "colorrampshader",
                              colorRampType="INTERPOLATED", classificationMode="1", clip="0",
                              minimumValue="0", maximumValue="100", labelPrecision="0")
    for value, colour in ramp:
        etree.SubElement(shader, "item", value=str(value), color=colour, alpha="255", label=f"{value} %")
    etree.SubElement(shader, "rampLegendSettings", useContinuousLegend="1", orientation="2", direction="0",
                     prefix="", suffix=" %", minimumLabel="", maximumLabel="")
    return _finish(root)


def write_style(path: str | Path, document: bytes) -> None:
    with output_errors(path):
        Path(path).write_bytes(document)


def _document(**renderer_attributes: str) -> tuple[etree._Element, etree._Element]:
    root = etree.Element("qgis", version=QGIS_VERSION, styleCategories="AllStyleCategories",
                         hasScaleBasedVisibilityFlag="0", minScale="1e+08", maxScale="0")
    pipe = etree.SubElement(root, "pipe")
    # Nearest neighbour: classes must never be blended into colours no class has.
    etree.SubElement(etree.SubElement(pipe, "provider"), "resampling", enabled="false", maxOversampling="2",
                     zoomedInResamplingMethod="nearestNeighbour", zoomedOutResamplingMethod="nearestNeighbour")
    renderer = etree.SubElement(pipe, "rasterrenderer", opacity="1", alphaBand="-1", nodataColor="",
                                **renderer_attributes)
    etree.SubElement(renderer, "rasterTransparency")
    origin = etree.SubElement(renderer, "minMaxOrigin")
    for tag, text in (("limits", "None"), ("extent", "WholeRaster"), ("statAccuracy", "Estimated"),
                      ("cumulativeCutLower", "0.02"), ("cumulativeCutUpper", "0.98"), ("stdDevFactor", "2")):
        etree.SubElement(origin, tag).text = text
    etree.SubElement(pipe, "brightnesscontrast", brightness="0", contrast="0", gamma="1")
    etree.SubElement(pipe, "huesaturation", saturation="0", grayscaleMode="0", invertColors="0", colorizeOn="0",
                     colorizeRed="255", colorizeGreen="128", colorizeBlue="128", colorizeStrength="100")
    etree.SubElement(pipe, "rasterresampler", maxOversampling="2")
    etree.SubElement(pipe, "resamplingStage").text = "resamplingFilter"
    etree.SubElement(root, "blendMode").text = "0"
    return root, renderer


def _finish(root: etree._Element) -> bytes:
    return etree.tostring(root, doctype=_DOCTYPE, encoding="UTF-8", xml_declaration=False, pretty_print=True)
