"""Stand-ins for SNAP's products and bands and for GPF's operator context, tiles and tile scheduling.

Every call the operator makes into them is recorded in ``calls`` lists so tests can assert on what was
read and written. A source tile may not leave its band's raster (GPF would need a BorderExtender);
a target tile enforces jpy's rules for ``setSamples`` (:func:`.java.check_java_array`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import numpy as np

from .java import (
    AffineTransform,
    CrsGeoCoding,
    JavaArray,
    JavaError,
    Logger,
    MetadataElement,
    NodeGroup,
    ProductData,
    Rectangle,
    check_java_array,
)


class Band:
    def __init__(self, name: str, data_type: int, width: int, height: int, values: np.ndarray | None = None,
                 transform: AffineTransform | None = None):
        self.name, self.data_type, self.width, self.height = name, data_type, width, height
        self.values = values
        self.transform = transform or AffineTransform(1.0, -1.0, 0.0, 0.0)
        self.geocoding = CrsGeoCoding(self.transform, width, height)
        self.properties: dict[str, object] = {}

    def getName(self) -> str:
        return self.name

    def getRasterWidth(self) -> int:
        return self.width

    def getRasterHeight(self) -> int:
        return self.height

    def getImageToModelTransform(self) -> AffineTransform:
        return self.transform

    def getGeoCoding(self) -> CrsGeoCoding:
        return self.geocoding

    def __getattr__(self, name: str):
        # Setters of a target band (setDescription, setNoDataValue, ...) record their value.
        if name.startswith("set") and len(name) > 3:
            return lambda value: self.properties.__setitem__(name[3:], value)
        raise AttributeError(name)


class Product:
    def __init__(self, name: str, product_type: str, width: int, height: int):
        self.name, self.product_type, self.width, self.height = name, product_type, width, height
        self.bands: dict[str, Band] = {}
        self.metadata = MetadataElement("metadata")
        self.index_codings = NodeGroup()
        self.masks: list[tuple] = []
        self.geocoding: CrsGeoCoding | None = None
        self.tile_size: tuple[int, int] | None = None
        self.start_time: datetime | None = None
        self.end_time: datetime | None = None

    def getName(self) -> str:
        return self.name

    def getProductType(self) -> str:
        return self.product_type

    def getSceneRasterWidth(self) -> int:
        return self.width

    def getSceneRasterHeight(self) -> int:
        return self.height

    def getBandNames(self) -> JavaArray:
        return JavaArray("java.lang.String", list(self.bands))

    def getBand(self, name: str) -> Band | None:
        return self.bands.get(name)

    def getMetadataRoot(self) -> MetadataElement:
        return self.metadata

    def addBand(self, name: str, data_type: int) -> Band:
        if not isinstance(data_type, int) or data_type not in vars(ProductData).values():
            raise JavaError(f"unknown ProductData type {data_type!r}")
        band = Band(name, data_type, self.width, self.height, np.full((self.height, self.width), -1.0))  # -1: unwritten
        self.bands[name] = band
        return band

    def getIndexCodingGroup(self) -> NodeGroup:
        return self.index_codings

    def addMask(self, name: str, expression: str, description: str, color: object, transparency: float) -> None:
        self.masks.append((name, expression, description, color, transparency))

    def setSceneGeoCoding(self, geocoding: CrsGeoCoding) -> None:
        if (geocoding.width, geocoding.height) != (self.width, self.height):
            raise JavaError("the geocoding does not fit the scene raster")
        self.geocoding = geocoding

    def setPreferredTileSize(self, width: int, height: int) -> None:
        self.tile_size = (width, height)


class ProductUtils:
    calls: list[tuple] = []

    @classmethod
    def copyTimeInformation(cls, source: Product, target: Product) -> None:
        cls.calls.append(("copyTimeInformation", source, target))
        target.start_time, target.end_time = source.start_time, source.end_time


class SourceTile:
    def __init__(self, band: Band, rect: Rectangle):
        self.band, self.rect = band, rect

    def getSamplesFloat(self) -> np.ndarray:
        r = self.rect
        samples = np.ascontiguousarray(self.band.values[r.y:r.y + r.height, r.x:r.x + r.width], np.float32).ravel()
        samples.flags.writeable = False  # a Java float[] seen through the buffer protocol
        return samples


class TargetTile:
    def __init__(self, band: Band, rect: Rectangle, log: list):
        self.band, self.rect, self.log = band, rect, log

    def setSamples(self, values: object) -> None:
        r = self.rect
        array = check_java_array(values, self.band.data_type, r.width * r.height)
        self.log.append(("setSamples", self.band.name, (r.x, r.y, r.width, r.height), array.dtype, array.shape))
        self.band.values[r.y:r.y + r.height, r.x:r.x + r.width] = array.reshape(r.height, r.width)


class TileMap:
    """``java.util.Map<Band, Tile>`` as jpy shows it: only ``get``."""

    def __init__(self, tiles: dict[Band, TargetTile]):
        self._tiles = tiles

    def get(self, band: Band) -> TargetTile | None:
        return self._tiles.get(band)


class Context:
    """The PyOperator as the Python operator sees it (public Operator methods only)."""

    def __init__(self, sources: dict[str, Product], parameters: dict[str, object],
                 declared: dict[str, object]):
        self.sources, self.parameters, self.declared = sources, parameters, declared
        self.target: Product | None = None
        self.calls: list[tuple] = []
        self.logger = Logger()

    def getSourceProduct(self, source_id: str | None = None) -> Product | None:
        self.calls.append(("getSourceProduct", source_id))
        if source_id is None:
            return self.sources.get("sourceProduct") or next(iter(self.sources.values()), None)
        return self.sources.get(source_id)

    def getParameter(self, name: str) -> object:
        if name not in self.declared:
            raise JavaError(f"unknown parameter {name!r}")
        self.calls.append(("getParameter", name))
        return self.parameters.get(name, self.declared[name])

    def setTargetProduct(self, product: Product) -> None:
        self.target = product

    def getSourceTile(self, band: Band, rect: Rectangle, extender: object = None) -> SourceTile:
        inside = (0 <= rect.x and 0 <= rect.y and rect.x + rect.width <= band.width
                  and rect.y + rect.height <= band.height)
        if not inside and extender is None:
            raise JavaError(f"{rect} leaves the {band.width}x{band.height} raster of {band.name}")
        self.calls.append(("getSourceTile", band.name, (rect.x, rect.y, rect.width, rect.height)))
        return SourceTile(band, rect)

    def getLogger(self) -> Logger:
        return self.logger


def tile_rectangles(width: int, height: int, size: tuple[int, int]) -> Iterator[Rectangle]:
    for y in range(0, height, size[1]):
        for x in range(0, width, size[0]):
            yield Rectangle(x, y, min(size[0], width - x), min(size[1], height - y))


def run_operator(operator: object, context: Context, tile_size: tuple[int, int] | None = None,
                 reverse: bool = True) -> Product:
    """What GPF does: initialize, one computeTileStack per tile of the target (here in reverse order, to
    show no tile depends on an earlier one), dispose. ``tile_size`` defaults to the preferred size."""
    operator.initialize(context)
    target = context.target
    rectangles = list(tile_rectangles(target.width, target.height, tile_size or target.tile_size))
    for rect in reversed(rectangles) if reverse else rectangles:
        tiles = {band: TargetTile(band, rect, context.calls) for band in target.bands.values()}
        operator.computeTileStack(context, TileMap(tiles), rect)
    operator.dispose(context)
    return target
