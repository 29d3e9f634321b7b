"""The metadata documents of a synthetic SAFE product, modelled on real ESA trees.

Element names, nesting and attribute forms follow the real ``MTD_MSIL1C.xml``, ``MTD_MSIL2A.xml``,
``MTD_TL.xml`` and ``manifest.safe`` files of ``../shared/data`` (PSD 14, SAFE_COMPACT). Only what a
reader of the product can use is written; ESA's GIPP lists and spectral response tables are left out.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
from lxml import etree

from ..bands import ALL_BANDS, BANDWIDTH_NM, CENTRAL_WAVELENGTH_NM, NATIVE_RESOLUTION
from ..classes import SCL_NAMES
from .product import ProductDescription, sun_grids, view_grids

PSD = "https://psd-14.sentinel2.eo.esa.int/PSD"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SOLAR_IRRADIANCE = (1884.69, 1959.66, 1823.24, 1512.06, 1424.64, 1287.61, 1162.08, 1041.63, 955.32, 812.92,
                    367.15, 245.59, 85.25)


def _el(parent: etree._Element, tag: str, text: object = None, **attributes: object) -> etree._Element:
    element = etree.SubElement(parent, tag, {k: str(v) for k, v in attributes.items()})
    if text is not None:
        element.text = str(text)
    return element


def _time(value: datetime, digits: int = 3) -> str:
    text = value.strftime("%Y-%m-%dT%H:%M:%S.%f")
    return text[: len(text) - 6 + digits] + "Z"


def _document(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=False, pretty_print=True)


def product_mtd(desc: ProductDescription) -> bytes:
    """``MTD_MSIL1C.xml`` or ``MTD_MSIL2A.xml``."""
    short = "1C" if desc.level == "L1C" else "2A"
    n1 = f"{PSD}/User_Product_Level-{short}.xsd"
    root = etree.Element(f"{{{n1}}}Level-{short}_User_Product", nsmap={"n1": n1, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", n1)
    general = _el(root, f"{{{n1}}}General_Info")
    info = _el(general, "Product_Info")
    _el(info, "PRODUCT_START_TIME", _time(desc.sensing_time))
    _el(info, "PRODUCT_STOP_TIME", _time(desc.sensing_time))
    _el(info, "PRODUCT_URI", desc.product_uri)
    _el(info, "PROCESSING_LEVEL", f"Level-{short}")
    _el(info, "PRODUCT_TYPE", f"S2MSI{short}")
    _el(info, "PROCESSING_BASELINE", desc.baseline)
    _el(info, "GENERATION_TIME", _time(desc.generation_time, 6))
    datatake = _el(info, "Datatake", datatakeIdentifier=f"G{desc.product_uri[:3]}_"
                   f"{desc.sensing_time:%Y%m%dT%H%M%S}_{desc.absolute_orbit:06d}_N{desc.baseline}")
    _el(datatake, "SPACECRAFT_NAME", desc.spacecraft)
    _el(datatake, "DATATAKE_TYPE", "INS-NOBS")
    _el(datatake, "DATATAKE_SENSING_START", _time(desc.sensing_time))
    _el(datatake, "SENSING_ORBIT_NUMBER", desc.relative_orbit)
    _el(datatake, "SENSING_ORBIT_DIRECTION", "DESCENDING")
    _el(_el(info, "Query_Options", completeSingleTile="true"), "PRODUCT_FORMAT", "SAFE_COMPACT")
    granule = _el(_el(_el(info, "Product_Organisation"), "Granule_List"), "Granule",
                  datastripIdentifier=desc.datastrip_id, granuleIdentifier=desc.tile_id, imageFormat="JPEG2000")
    for path in desc.image_files:
        _el(granule, "IMAGE_FILE", path)

    image = _el(general, "Product_Image_Characteristics")
    for text, index in (("NODATA", 0), ("SATURATED", 65535)):
        special = _el(image, "Special_Values")
        _el(special, "SPECIAL_VALUE_TEXT", text)
        _el(special, "SPECIAL_VALUE_INDEX", index)
    order = _el(image, "Image_Display_Order")
    for channel, value in (("RED_CHANNEL", 3), ("GREEN_CHANNEL", 2), ("BLUE_CHANNEL", 1)):
        _el(order, channel, value)
    bands = ALL_BANDS if desc.level == "L1C" else tuple(b for b in ALL_BANDS if b != "B10")
    if desc.level == "L1C":
        _el(image, "QUANTIFICATION_VALUE", 10000, unit="none")
        offsets_parent, offset_tag = (_el(image, "Radiometric_Offset_List") if desc.has_offsets else None,
                                      "RADIO_ADD_OFFSET")
    else:
        values = _el(image, "QUANTIFICATION_VALUES_LIST")
        _el(values, "BOA_QUANTIFICATION_VALUE", 10000, unit="none")
        _el(values, "AOT_QUANTIFICATION_VALUE", "1000.0", unit="none")
        _el(values, "WVP_QUANTIFICATION_VALUE", "1000.0", unit="cm")
        offsets_parent, offset_tag = (_el(image, "BOA_ADD_OFFSET_VALUES_LIST") if desc.has_offsets else None,
                                      "BOA_ADD_OFFSET")
    if offsets_parent is not None:
        for band in bands:
            _el(offsets_parent, offset_tag, -1000, band_id=ALL_BANDS.index(band))
    conversion = _el(image, "Reflectance_Conversion")
    _el(conversion, "U", "1.01857391425764")
    irradiance = _el(conversion, "Solar_Irradiance_List")
    for index, value in enumerate(SOLAR_IRRADIANCE):
        _el(irradiance, "SOLAR_IRRADIANCE", value, bandId=index, unit="W/m²/µm")
    spectral = _el(image, "Spectral_Information_List")
    for index, band in enumerate(ALL_BANDS):
        item = _el(spectral, "Spectral_Information", bandId=index, physicalBand=band)
        _el(item, "RESOLUTION", NATIVE_RESOLUTION[band])
        wavelength = _el(item, "Wavelength")
        centre, width = CENTRAL_WAVELENGTH_NM[band], BANDWIDTH_NM[band]
        _el(wavelength, "MIN", round(centre - width / 2), unit="nm")
        _el(wavelength, "MAX", round(centre + width / 2), unit="nm")
        _el(wavelength, "CENTRAL", centre, unit="nm")
    _el(image, "REFERENCE_BAND", 3)
    if desc.level == "L2A":
        classes = _el(image, "Scene_Classification_List")
        for code, name in SCL_NAMES.items():
            entry = _el(classes, "Scene_Classification_ID")
            _el(entry, "SCENE_CLASSIFICATION_TEXT", f"SC_{name}")
            _el(entry, "SCENE_CLASSIFICATION_INDEX", code)

    geometric = _el(root, f"{{{n1}}}Geometric_Info")
    crs = _el(geometric, "Coordinate_Reference_System")
    _el(crs, "GEO_TABLES", "EPSG", version="1")
    _el(crs, "HORIZONTAL_CS_TYPE", "GEOGRAPHIC")
    quality = _el(root, f"{{{n1}}}Quality_Indicators_Info")
    _el(quality, "Cloud_Coverage_Assessment", f"{desc.cloud_cover:.4f}")
    return _document(root)


def _values_list(parent: etree._Element, values: np.ndarray) -> None:
    _el(parent, "COL_STEP", 5000, unit="m")
    _el(parent, "ROW_STEP", 5000, unit="m")
    listing = _el(parent, "Values_List")
    for row in values:
        _el(listing, "VALUES", " ".join("NaN" if not np.isfinite(v) else f"{v:.6g}" for v in row))


def tile_mtd(desc: ProductDescription) -> bytes:
    """``GRANULE/<granule>/MTD_TL.xml``."""
    short = "1C" if desc.level == "L1C" else "2A"
    n1 = f"{PSD}/S2_PDI_Level-{short}_Tile_Metadata.xsd"
    root = etree.Element(f"{{{n1}}}Level-{short}_Tile_ID", nsmap={"n1": n1, "xsi": XSI})
    root.set(f"{{{XSI}}}schemaLocation", n1)
    general = _el(root, f"{{{n1}}}General_Info")
    _el(general, "TILE_ID", desc.tile_id, metadataLevel="Brief")
    _el(general, "DATASTRIP_ID", desc.datastrip_id, metadataLevel="Standard")
    _el(general, "DOWNLINK_PRIORITY", "NOMINAL", metadataLevel="Standard")
    _el(general, "SENSING_TIME", _time(desc.sensing_time, 6), metadataLevel="Standard")

    geometric = _el(root, f"{{{n1}}}Geometric_Info")
    geocoding = _el(geometric, "Tile_Geocoding", metadataLevel="Brief")
    zone = desc.epsg % 100
    hemisphere = "N" if desc.epsg // 100 == 326 else "S"
    _el(geocoding, "HORIZONTAL_CS_NAME", f"WGS84 / UTM zone {zone}{hemisphere}")
    _el(geocoding, "HORIZONTAL_CS_CODE", f"EPSG:{desc.epsg}")
    rows, cols = desc.shape_10m
    for resolution in (10, 20, 60):
        size = _el(geocoding, "Size", resolution=resolution)
        _el(size, "NROWS", rows * 10 // resolution)
        _el(size, "NCOLS", cols * 10 // resolution)
    for resolution in (10, 20, 60):
        position = _el(geocoding, "Geoposition", resolution=resolution)
        _el(position, "ULX", f"{desc.ulx:g}")
        _el(position, "ULY", f"{desc.uly:g}")
        _el(position, "XDIM", resolution)
        _el(position, "YDIM", -resolution)

    angles = _el(geometric, "Tile_Angles", metadataLevel="Standard")
    sun = _el(angles, "Sun_Angles_Grid")
    sun_zenith, sun_azimuth = sun_grids(desc)
    _values_list(_el(sun, "Zenith"), sun_zenith)
    _values_list(_el(sun, "Azimuth"), sun_azimuth)
    mean_sun = _el(angles, "Mean_Sun_Angle")
    _el(mean_sun, "ZENITH_ANGLE", repr(desc.sun_zenith), unit="deg")
    _el(mean_sun, "AZIMUTH_ANGLE", repr(desc.sun_azimuth), unit="deg")
    bands = ALL_BANDS if desc.level == "L1C" else tuple(b for b in ALL_BANDS if b != "B10")
    for band in bands:
        for detector, (zenith, azimuth) in zip(desc.detectors, view_grids(desc)):
            grids = _el(angles, "Viewing_Incidence_Angles_Grids", bandId=ALL_BANDS.index(band), detectorId=detector)
            _values_list(_el(grids, "Zenith"), zenith)
            _values_list(_el(grids, "Azimuth"), azimuth)
    mean_view = _el(angles, "Mean_Viewing_Incidence_Angle_List")
    for band in bands:
        item = _el(mean_view, "Mean_Viewing_Incidence_Angle", bandId=ALL_BANDS.index(band))
        _el(item, "ZENITH_ANGLE", repr(desc.view_zenith), unit="deg")
        _el(item, "AZIMUTH_ANGLE", repr(desc.view_azimuth), unit="deg")

    quality = _el(root, f"{{{n1}}}Quality_Indicators_Info", metadataLevel="Standard")
    content = _el(quality, "Image_Content_QI")
    _el(content, "CLOUDY_PIXEL_PERCENTAGE", f"{desc.cloud_cover:.6f}")
    _el(content, "DEGRADED_MSI_DATA_PERCENTAGE", 0)
    pixel = _el(quality, "Pixel_Level_QI", geometry="FULL_RESOLUTION")
    for mask_type, band, path in desc.mask_files:
        attributes = {"bandId": ALL_BANDS.index(band)} if band else {}
        _el(pixel, "MASK_FILENAME", path, **attributes, type=mask_type)
    return _document(root)


def manifest(desc: ProductDescription, files: list[tuple[str, str, str]]) -> bytes:
    """``manifest.safe``: an XFDU listing every file as ``(object id, relative path, md5)``."""
    xfdu = "urn:ccsds:schema:xfdu:1"
    root = etree.Element(f"{{{xfdu}}}XFDU", nsmap={"xfdu": xfdu, "gml": "http://www.opengis.net/gml",
                                                     "safe": "http://www.esa.int/safe/sentinel/1.1"})
    short = "l1c" if desc.level == "L1C" else "l2a"
    root.set("version", f"esa/safe/sentinel/1.1/sentinel-2/msi/archive_{short}_user_product")
    package = _el(_el(root, "informationPackageMap"), f"{{{xfdu}}}contentUnit",
                  textInfo=f"SENTINEL-2 MSI Level-{desc.level[1:]} User Product",
                  unitType=f"Product_Level-{desc.level[1:]}")
    objects = _el(root, "dataObjectSection")
    for object_id, relative, md5 in files:
        unit = _el(package, f"{{{xfdu}}}contentUnit", ID=f"{object_id}_Unit", unitType="Measurement Data Unit")
        _el(unit, "dataObjectPointer", dataObjectID=object_id)
        data_object = _el(objects, "dataObject", ID=object_id)
        stream = _el(data_object, "byteStream", mimeType="application/octet-stream")
        _el(stream, "fileLocation", href=f"./{relative}", locatorType="URL")
        _el(stream, "checksum", md5, checksumName="MD5")
    return _document(root)
