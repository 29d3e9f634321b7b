"""What the values of a class band mean, in every form a client reads: one description, many encodings.

A :class:`ClassCoding` is the list of classes of a uint8 band (value, name, colour, description) and
its no-data value. GDAL's colour table, category names and attribute table, the band metadata that
travels inside a GeoTIFF, QGIS styles, ENVI classification headers and STAC's classification
extension are all derived from it, so they cannot disagree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ..classes import CLASS_TABLE, SCL_TABLE, ClassInfo, MaskClass


@dataclass(frozen=True)
class ClassCoding:
    """The classes of a uint8 band, sorted by value, and the value that marks no data."""

    classes: tuple[ClassInfo, ...]
    nodata: int

    def __post_init__(self) -> None:
        values = [info.value for info in self.classes]
        if values != sorted(set(values)) or not 0 <= values[0] <= values[-1] <= 255:
            raise ValueError(f"class values must be distinct uint8 values in ascending order, got {values}")

    def rgba(self, info: ClassInfo) -> tuple[int, int, int, int]:
        """The colour of a class; the no-data class is transparent whatever its table colour."""
        return (*info.rgba[:3], 0) if info.value == self.nodata else tuple(info.rgba)

    def category_names(self) -> list[str]:
        """GDAL's category list: entry ``i`` names value ``i`` (values without a class left empty)."""
        names = {info.value: info.name for info in self.classes}
        return [names.get(value, "") for value in range(self.classes[-1].value + 1)]

    def band_metadata(self) -> dict[str, str]:
        """Band metadata items naming the classes inside the GeoTIFF itself (GDAL's ``GDAL_METADATA`` tag),
        so a plain copy, an upload or ``gdalwarp`` keeps them and rasterio reads them (``tags(1)``).

        The keys are CF's ``flag_values`` and ``flag_meanings`` (GDAL's netCDF driver exposes CF flags
        the same way: a ``{a,b,c}`` list and blank-separated words) and ``flag_colors``, one ``#rrggbb``
        per value, as ESA's CCI land-cover maps carry them.
        """
        return {"flag_values": "{" + ",".join(str(info.value) for info in self.classes) + "}",
                "flag_meanings": " ".join(info.name for info in self.classes),
                "flag_colors": " ".join(hex_colour(info.rgba) for info in self.classes)}


def hex_colour(rgba: Sequence[int]) -> str:
    """``#rrggbb`` of an RGB(A) colour (alpha dropped)."""
    return "#" + "".join(f"{int(channel):02x}" for channel in rgba[:3])


#: Our classes (``NAME_s2mask.tif``, the DIMAP class band).
CLASS_CODING = ClassCoding(CLASS_TABLE, MaskClass.NO_DATA)
#: Sen2Cor SCL codes in ESA's colours (``NAME_s2mask_scl.tif``).
SCL_CODING = ClassCoding(SCL_TABLE, 0)
