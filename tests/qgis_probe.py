"""Open rasters in QGIS the way a user does (headless) and print, as JSON, what QGIS shows for each.

Run with a Python that has PyQGIS (Debian: ``apt-get install python3-qgis``, then ``/usr/bin/python3``)::

    QT_QPA_PLATFORM=offscreen /usr/bin/python3 tests/qgis_probe.py OUT/NAME_s2mask.tif ... [--png DIR]

For each raster: the renderer QGIS chose (with the layer's default style, ``NAME.qml``, when one lies
beside it), its classes or colour ramp, the rows of its legend and its no-data value. ``--png DIR``
also renders each layer with its legend to ``DIR/<file name>.png`` (no-data shows the magenta
background). ``tests/test_gis_outputs.py`` runs it; GDAL writes any ``.aux.xml`` QGIS causes when the
process ends, so look at the folder after this script has exited.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # Qt reads QT_QPA_PLATFORM when it loads
    Qgis,
    QgsApplication,
    QgsLayerTree,
    QgsLayerTreeLayer,
    QgsLayerTreeModel,
    QgsLegendRenderer,
    QgsLegendSettings,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsRasterLayer,
    QgsRenderContext,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor, QImage, QPainter

BACKGROUND = QColor(255, 0, 255)
MAP_SIZE = (450, 350)


def describe(layer: QgsRasterLayer) -> dict:
    renderer = layer.renderer()
    report = {"valid": layer.isValid(), "renderer": renderer.type(), "bands": layer.bandCount()}
    if renderer.type() == "paletted":
        report["classes"] = [[int(c.value), c.label, c.color.name(QColor.HexArgb)] for c in renderer.classes()]
    elif renderer.type() == "singlebandpseudocolor":
        shader = renderer.shader().rasterShaderFunction()
        report.update(band=renderer.band(), min=renderer.classificationMin(), max=renderer.classificationMax(),
                      ramp=[[item.value, item.color.name(QColor.HexArgb)] for item in shader.colorRampItemList()])
    elif renderer.type() == "singlebandgray":
        enhancement = renderer.contrastEnhancement()
        report.update(band=renderer.grayBand(), min=enhancement.minimumValue(), max=enhancement.maximumValue())
    elif renderer.type() == "multibandcolor":
        report["rgb"] = [renderer.redBand(), renderer.greenBand(), renderer.blueBand()]
    nodes = layer.legend().createLayerTreeModelLegendNodes(QgsLayerTreeLayer(layer))
    # A colour ramp's node has no text: name it by its type.
    report["legend"] = [node.data(0) if isinstance(node.data(0), str) else type(node).__name__ for node in nodes]
    provider = layer.dataProvider()
    report["nodata"] = provider.sourceNoDataValue(1) if provider.sourceHasNoDataValue(1) else None
    return report


def render(layer: QgsRasterLayer, path: str, legend_scale: float = 4.0) -> None:
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(layer.crs())
    settings.setExtent(layer.extent())
    settings.setOutputSize(QSize(*MAP_SIZE))
    settings.setBackgroundColor(BACKGROUND)
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    picture = job.renderedImage()
    tree = QgsLayerTree()
    tree.addLayer(layer)
    model = QgsLayerTreeModel(tree)  # the renderer does not keep the model alive
    legend = QgsLegendRenderer(model, QgsLegendSettings())
    legend_size = legend.minimumSize()
    legend_image = QImage(int(legend_size.width() * legend_scale) + 4, int(legend_size.height() * legend_scale) + 4,
                          QImage.Format_ARGB32)
    legend_image.fill(QColor(255, 255, 255))
    painter = QPainter(legend_image)
    painter.scale(legend_scale, legend_scale)
    legend.drawLegend(QgsRenderContext.fromQPainter(painter))
    painter.end()
    canvas = QImage(picture.width() + legend_image.width(), max(picture.height(), legend_image.height()),
                    QImage.Format_ARGB32)
    canvas.fill(QColor(255, 255, 255))
    painter = QPainter(canvas)
    painter.drawImage(0, 0, picture)
    painter.drawImage(picture.width(), 0, legend_image)
    painter.end()
    canvas.save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rasters", nargs="+")
    parser.add_argument("--png", help="folder for a rendering of each raster with its legend")
    args = parser.parse_args()
    application = QgsApplication([], False)
    application.initQgis()
    report = {"qgis": Qgis.QGIS_VERSION}
    for path in args.rasters:
        layer = QgsRasterLayer(path, os.path.basename(path))
        report[path] = describe(layer)
        if args.png:
            render(layer, os.path.join(args.png, os.path.basename(path) + ".png"))
        del layer
    application.exitQgis()
    print(json.dumps(report))


if __name__ == "__main__":
    main()
