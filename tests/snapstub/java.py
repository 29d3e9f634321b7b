"""Stand-ins for the Java classes the S2Mask operator touches, with jpy's rules where they matter.

Only what the operator uses exists; a call to anything else fails with AttributeError, as a misspelt
Java method would. Rules from shared/snap.md: Tile.setSamples takes only C-contiguous arrays whose
dtype maps onto a Java array of the band's type (int64/uint64 would land in double[], float16 in
short[]: garbage), a Python list is an "ambiguous Java method call"; type codes are ProductData's.
"""

from __future__ import annotations

import numpy as np


class JavaError(RuntimeError):
    """What jpy raises when a call cannot reach Java."""


class ProductData:
    TYPE_INT8, TYPE_INT16, TYPE_INT32, TYPE_INT64 = 10, 11, 12, 13
    TYPE_UINT8, TYPE_UINT16, TYPE_UINT32, TYPE_UINT64 = 20, 21, 22, 23
    TYPE_FLOAT32, TYPE_FLOAT64 = 30, 31


#: The numpy dtype that jpy turns into the Java array of each band type's ``setSamples`` overload.
SAMPLE_DTYPES = {ProductData.TYPE_INT8: np.int8, ProductData.TYPE_UINT8: np.uint8,
                 ProductData.TYPE_INT16: np.int16, ProductData.TYPE_UINT16: np.uint16,
                 ProductData.TYPE_INT32: np.int32, ProductData.TYPE_UINT32: np.uint32,
                 ProductData.TYPE_FLOAT32: np.float32, ProductData.TYPE_FLOAT64: np.float64}
_GARBAGE = {np.dtype(np.int64): "double[]", np.dtype(np.uint64): "double[]", np.dtype(np.float16): "short[]"}


def check_java_array(values: object, data_type: int, size: int) -> np.ndarray:
    """The array jpy would hand to ``setSamples`` of a band of ``data_type``, or the error it raises."""
    if isinstance(values, (list, tuple)):
        raise JavaError("ambiguous Java method call, too many matching method overloads found")
    if not isinstance(values, np.ndarray) or not values.flags.c_contiguous:
        raise JavaError("no matching Java method overloads found")
    if values.dtype in _GARBAGE:
        raise JavaError(f"{values.dtype} reaches Java as {_GARBAGE[values.dtype]}: raw bits, garbage")
    if values.dtype != np.dtype(SAMPLE_DTYPES[data_type]):
        raise JavaError(f"{values.dtype} samples for a band of type {data_type}")
    if values.size != size:
        raise JavaError(f"{values.size} samples for a tile of {size} pixels")
    return values


class Rectangle:
    def __init__(self, x: int, y: int, width: int, height: int):
        for value in (x, y, width, height):
            if not isinstance(value, (int, np.integer)) or isinstance(value, bool):
                raise JavaError(f"java.awt.Rectangle takes int arguments, got {value!r}")
        self.x, self.y, self.width, self.height = int(x), int(y), int(width), int(height)

    def __repr__(self) -> str:
        return f"Rectangle({self.x}, {self.y}, {self.width}, {self.height})"


class Color:
    def __init__(self, red: int, green: int, blue: int, alpha: int = 255):
        self.rgba = (red, green, blue, alpha)
        if not all(isinstance(v, int) and 0 <= v <= 255 for v in self.rgba):
            raise JavaError(f"java.awt.Color takes ints 0..255, got {self.rgba}")


class AffineTransform:
    def __init__(self, scale_x: float, scale_y: float, translate_x: float, translate_y: float):
        self._values = (scale_x, scale_y, translate_x, translate_y)

    def getScaleX(self) -> float:
        return self._values[0]

    def getScaleY(self) -> float:
        return self._values[1]

    def getTranslateX(self) -> float:
        return self._values[2]

    def getTranslateY(self) -> float:
        return self._values[3]


class CrsGeoCoding:
    """A map geocoding: the grid's image-to-map transform (enough to compare geocodings)."""

    def __init__(self, transform: AffineTransform, width: int, height: int):
        self.transform, self.width, self.height = transform, width, height

    def getImageToMapTransform(self) -> AffineTransform:
        return self.transform


class IndexCoding:
    def __init__(self, name: str):
        self.name = name
        self.indexes: list[tuple[str, int, str]] = []

    def addIndex(self, name: str, value: int, description: str) -> None:
        if not isinstance(value, int):
            raise JavaError(f"IndexCoding.addIndex takes an int value, got {value!r}")
        self.indexes.append((name, value, description))


class JavaArray(list):
    """What ``jpy.array(type, items)`` returns: a typed Java array."""

    def __init__(self, type_name: str, items: list):
        super().__init__(items)
        self.type_name = type_name


class ColorPaletteDef:
    class Point:
        def __init__(self, sample: float, color: Color, label: str):
            if not isinstance(sample, float) or not isinstance(color, Color):
                raise JavaError("ColorPaletteDef.Point(double, Color, String)")
            self.sample, self.color, self.label = sample, color, label

    def __init__(self, points: JavaArray, num_colors: int):
        if not isinstance(points, JavaArray) or points.type_name != PALETTE_POINT:
            raise JavaError("ColorPaletteDef needs a ColorPaletteDef$Point[] (jpy.array), not a Python list")
        self.points, self.num_colors = list(points), num_colors


PALETTE_POINT = "org.esa.snap.core.datamodel.ColorPaletteDef$Point"


class ImageInfo:
    def __init__(self, palette: ColorPaletteDef):
        self.palette = palette


class MetadataElement:
    """A node of SNAP's metadata tree; attributes keep their order and may repeat (``VALUES``)."""

    def __init__(self, name: str):
        self.name = name
        self.elements: list[MetadataElement] = []
        self.attributes: list[tuple[str, str]] = []

    def getName(self) -> str:
        return self.name

    def getElement(self, name: str) -> MetadataElement | None:
        return next((e for e in self.elements if e.name == name), None)

    def getElements(self) -> JavaArray:
        return JavaArray("org.esa.snap.core.datamodel.MetadataElement", self.elements)

    def getAttributeString(self, name: str) -> str:
        for key, value in self.attributes:
            if key == name:
                return value
        raise JavaError(f"java.lang.IllegalArgumentException: no attribute {name!r} in {self.name}")


class NodeGroup:
    def __init__(self):
        self.items: list = []

    def add(self, item: object) -> None:
        self.items.append(item)


class Logger:
    def __init__(self):
        self.warnings: list[str] = []

    def warning(self, message: str) -> None:
        self.warnings.append(message)

