"""The product metadata file (``MTD_MSIL1C.xml`` / ``MTD_MSIL2A.xml``), mapped as ESA names it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from ..bands import ALL_BANDS, NATIVE_RESOLUTION, band_from_file_id
from ..errors import ProductFormatError
from .xmlutil import XmlDocument, shown_path

GENERAL = "{*}General_Info"
PRODUCT_INFO = f"{GENERAL}/Product_Info"
IMAGE_CHARACTERISTICS = f"{GENERAL}/Product_Image_Characteristics"

LEVELS = {"Level-1C": "L1C", "Level-2A": "L2A"}
#: Radiometric offsets were introduced with processing baseline 04.00 (January 2022).
OFFSET_BASELINE = (4, 0)
SUPPORTED_BASELINES = ((2, 0), (5, 99))

_IMAGE_FILE = re.compile(r"_(B\d{2}|B8A|TCI|AOT|WVP|SCL)(?:_(\d{2})m)?$")


def parse_time(text: str) -> datetime:
    """ESA's UTC time stamps (``2024-03-05T10:48:19.024Z``), as timezone-aware datetimes."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def document_time(doc: XmlDocument, path: str, required: bool = True) -> datetime | None:
    """The time stamp at ``path`` of ``doc`` (None when optional and absent); a malformed one names both."""
    text = doc.required_text(path) if required else doc.optional_text(path)
    if text is None:
        return None
    try:
        return parse_time(text)
    except ValueError:
        raise ProductFormatError(f"element {shown_path(path)} is not a UTC time like 2024-03-05T10:48:19.024Z: "
                                 f"{text!r}", doc.source) from None


def baseline_tuple(baseline: str) -> tuple[int, int]:
    major, _, minor = baseline.partition(".")
    return int(major), int(minor or 0)


@dataclass(frozen=True)
class ProductMetadata:
    product_uri: str
    level: str
    product_type: str
    baseline: str
    spacecraft: str
    start_time: datetime
    generation_time: datetime | None
    relative_orbit: int | None
    orbit_direction: str | None
    quantification_value: float
    offsets: dict[str, float]
    nodata_value: int
    saturated_value: int
    cloud_cover: float | None
    reflectance_conversion: float | None
    solar_irradiance: dict[str, float]
    #: relative path (with ``.jp2``) of every band image, by band name and file resolution
    image_files: dict[str, dict[int, str]] = field(default_factory=dict)
    #: the other images of the product (TCI, and for L2A AOT, WVP, SCL), by name and resolution
    auxiliary_files: dict[str, dict[int, str]] = field(default_factory=dict)

    @property
    def product_id(self) -> str:
        return self.product_uri.removesuffix(".SAFE")


def _level(doc: XmlDocument) -> str:
    text = doc.required_text(f"{PRODUCT_INFO}/PROCESSING_LEVEL")
    if text not in LEVELS:
        raise ProductFormatError(f"unsupported processing level {text!r}; s2mask reads Level-1C and Level-2A",
                                 doc.source)
    return LEVELS[text]


def _baseline(doc: XmlDocument) -> str:
    baseline = doc.required_text(f"{PRODUCT_INFO}/PROCESSING_BASELINE")
    try:
        number = baseline_tuple(baseline)
    except ValueError:
        raise ProductFormatError(f"unreadable processing baseline {baseline!r}", doc.source) from None
    low, high = SUPPORTED_BASELINES
    if not low <= number <= high:
        raise ProductFormatError(f"processing baseline {baseline} is not supported (02.00 to 05.99)", doc.source)
    return baseline


def _per_band(doc: XmlDocument, path: str, attribute: str) -> dict[str, float]:
    values = {}
    for element in doc.findall(path):
        try:
            values[ALL_BANDS[int(element.get(attribute))]] = float(element.text)
        except (TypeError, ValueError, IndexError):
            raise ProductFormatError(f"malformed {shown_path(path)} entry {element.get(attribute)!r}",
                                     doc.source) from None
    return values


def _image_files(doc: XmlDocument, level: str) -> tuple[dict[str, dict[int, str]], dict[str, dict[int, str]]]:
    bands: dict[str, dict[int, str]] = {}
    auxiliary: dict[str, dict[int, str]] = {}
    elements = doc.findall(f"{PRODUCT_INFO}/Product_Organisation/Granule_List/Granule/IMAGE_FILE")
    if not elements:
        raise ProductFormatError(f"no IMAGE_FILE under {PRODUCT_INFO}/Product_Organisation; old-format (pre-2016, "
                                 "multi-granule) products are not supported", doc.source)
    for element in elements:
        relative = doc.relative_path(element.text, "IMAGE_FILE")
        match = _IMAGE_FILE.search(relative)
        if not match:
            raise ProductFormatError(f"unrecognised IMAGE_FILE name {relative!r}", doc.source)
        name, resolution = match.group(1), match.group(2)
        if resolution is None and level == "L2A":
            raise ProductFormatError(f"L2A IMAGE_FILE {relative!r} lacks its resolution suffix", doc.source)
        path = relative + ".jp2"
        if name.startswith("B"):
            band = band_from_file_id(name)
            bands.setdefault(band, {})[int(resolution) if resolution else NATIVE_RESOLUTION[band]] = path
        else:
            auxiliary.setdefault(name, {})[int(resolution) if resolution else 10] = path
    return bands, auxiliary


def read_product_metadata(doc: XmlDocument) -> ProductMetadata:
    """Map a parsed ``MTD_MSIL1C.xml``/``MTD_MSIL2A.xml`` onto :class:`ProductMetadata`."""
    level = _level(doc)
    baseline = _baseline(doc)
    if level == "L1C":
        quantification = doc.optional_float(f"{IMAGE_CHARACTERISTICS}/QUANTIFICATION_VALUE")
        offsets = _per_band(doc, f"{IMAGE_CHARACTERISTICS}/Radiometric_Offset_List/RADIO_ADD_OFFSET", "band_id")
        quantification_name = "QUANTIFICATION_VALUE"
    else:
        quantification = doc.optional_float(
            f"{IMAGE_CHARACTERISTICS}/QUANTIFICATION_VALUES_LIST/BOA_QUANTIFICATION_VALUE")
        offsets = _per_band(doc, f"{IMAGE_CHARACTERISTICS}/BOA_ADD_OFFSET_VALUES_LIST/BOA_ADD_OFFSET", "band_id")
        quantification_name = "BOA_QUANTIFICATION_VALUE"
    if quantification is None or quantification <= 0:
        raise ProductFormatError(f"the product metadata has no valid {quantification_name}; reflectance cannot be "
                                 "computed", doc.source)
    if not offsets and baseline_tuple(baseline) >= OFFSET_BASELINE:
        name = "RADIO_ADD_OFFSET" if level == "L1C" else "BOA_ADD_OFFSET"
        raise ProductFormatError(f"baseline {baseline} products must carry {name} values, none found", doc.source)
    special = {(e.findtext("SPECIAL_VALUE_TEXT") or "").strip(): doc.child_int(e, "SPECIAL_VALUE_INDEX",
                                                                               "Special_Values")
               for e in doc.findall(f"{IMAGE_CHARACTERISTICS}/Special_Values")}
    image_files, auxiliary_files = _image_files(doc, level)
    return ProductMetadata(
        product_uri=doc.required_text(f"{PRODUCT_INFO}/PRODUCT_URI"),
        level=level,
        product_type=doc.required_text(f"{PRODUCT_INFO}/PRODUCT_TYPE"),
        baseline=baseline,
        spacecraft=doc.required_text(f"{PRODUCT_INFO}/Datatake/SPACECRAFT_NAME"),
        start_time=document_time(doc, f"{PRODUCT_INFO}/PRODUCT_START_TIME"),
        generation_time=document_time(doc, f"{PRODUCT_INFO}/GENERATION_TIME", required=False),
        relative_orbit=doc.optional_int(f"{PRODUCT_INFO}/Datatake/SENSING_ORBIT_NUMBER"),
        orbit_direction=doc.optional_text(f"{PRODUCT_INFO}/Datatake/SENSING_ORBIT_DIRECTION"),
        quantification_value=quantification,
        offsets=offsets,
        nodata_value=special.get("NODATA", 0),
        saturated_value=special.get("SATURATED", 65535),
        cloud_cover=doc.optional_float("{*}Quality_Indicators_Info/Cloud_Coverage_Assessment"),
        reflectance_conversion=doc.optional_float(f"{IMAGE_CHARACTERISTICS}/Reflectance_Conversion/U"),
        solar_irradiance=_per_band(
            doc, f"{IMAGE_CHARACTERISTICS}/Reflectance_Conversion/Solar_Irradiance_List/SOLAR_IRRADIANCE", "bandId"),
        image_files=image_files,
        auxiliary_files=auxiliary_files,
    )
