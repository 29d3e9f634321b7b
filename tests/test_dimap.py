"""BEAM-DIMAP re-read by an independent parser (lxml + numpy big-endian) and by GDAL's ENVI driver."""

from __future__ import annotations

import importlib.util
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from lxml import etree
from osgeo import gdal, osr

from s2mask.classes import CLASS_TABLE
from s2mask.grid import Grid, iter_blocks
from s2mask.io.dimap import DimapWriter, dimap_time, image_to_model_transform

gdal.UseExceptions()
HEIGHT, WIDTH = 130, 170
PROBABILITY_CLASSES = (4, 5, 6)

# shared/snap.md section 5.2: the children of Dimap_Document in the order SNAP's writer emits them.
DOCUMENT_ORDER = ["Metadata_Id", "Dataset_Id", "Dataset_Use", "Production", "Coordinate_Reference_System",
                  "Geoposition", "Index_Coding", "Raster_Dimensions", "Data_Access", "Image_Display", "Masks",
                  "Image_Interpretation", "Dataset_Sources"]
BAND_INFO_ORDER = ["BAND_INDEX", "BAND_DESCRIPTION", "BAND_NAME", "BAND_RASTER_WIDTH", "BAND_RASTER_HEIGHT",
                   "DATA_TYPE", "PHYSICAL_UNIT", "SOLAR_FLUX", "SPECTRAL_BAND_INDEX", "BAND_WAVELEN", "BANDWIDTH",
                   "INDEX_CODING_NAME", "SCALING_FACTOR", "SCALING_OFFSET", "LOG10_SCALED", "NO_DATA_VALUE_USED",
                   "NO_DATA_VALUE", "VALID_MASK_TERM", "IMAGE_TO_MODEL_TRANSFORM"]
MASK_ORDER = ["NAME", "MASK_RASTER_WIDTH", "MASK_RASTER_HEIGHT", "DESCRIPTION", "COLOR", "TRANSPARENCY",
              "IMAGE_TO_MODEL_TRANSFORM", "EXPRESSION"]
TRANSFORM = "20.0,0.0,0.0,-20.0,300000.0,4900020.0"


def utm31_grid():
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    return Grid(srs.ExportToWkt(), 300000.0, 4900020.0, 20.0, WIDTH, HEIGHT, 32631)


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    rng = np.random.default_rng(3)
    classes = rng.integers(0, 7, (HEIGHT, WIDTH)).astype(np.uint8)
    probabilities = rng.integers(0, 101, (len(PROBABILITY_CLASSES), HEIGHT, WIDTH)).astype(np.uint8)
    grid = utm31_grid()
    path = tmp_path_factory.mktemp("dimap") / "S2X_s2mask.dim"
    start = datetime(2023, 6, 1, 10, 56, 19, 24000, tzinfo=UTC)
    with DimapWriter(path, grid, product_type="S2MASK", start=start, stop=start + timedelta(seconds=5),
                     probability_classes=PROBABILITY_CLASSES, metadata={"S2MASK_MODEL": "cnn2d-test"}) as writer:
        for block in iter_blocks(grid, 48):  # unaligned blocks, partial rows
            rows, cols = block.core.slices
            writer.write(block.core, classes[rows, cols], probabilities[:, rows, cols])
    return path, classes, probabilities


def children(element):
    return [child.tag for child in element]


def in_canonical_order(tags, canonical):
    return [tag for tag in canonical if tag in tags] == tags


def test_document_elements_are_all_there_in_snap_order(written):
    root = etree.parse(str(written[0])).getroot()
    assert root.tag == "Dimap_Document" and root.get("name") == "S2X_s2mask.dim"
    assert children(root) == DOCUMENT_ORDER
    assert root.findtext("Metadata_Id/METADATA_FORMAT") == "DIMAP"
    assert root.find("Metadata_Id/METADATA_FORMAT").get("version") == "2.13.0"
    assert root.findtext("Metadata_Id/METADATA_PROFILE") == "BEAM-DATAMODEL-V1"
    assert root.findtext("Dataset_Id/DATASET_SERIES") == "BEAM-PRODUCT"
    assert root.findtext("Dataset_Id/DATASET_NAME") == "S2X_s2mask"
    assert root.findtext("Production/PRODUCT_TYPE") == "S2MASK"
    assert root.findtext("Production/PRODUCT_SCENE_RASTER_START_TIME") == "01-JUN-2023 10:56:19.024000"
    assert root.findtext("Production/PRODUCT_SCENE_RASTER_STOP_TIME") == "01-JUN-2023 10:56:24.024000"
    assert [root.findtext(f"Raster_Dimensions/{tag}") for tag in ("NCOLS", "NROWS", "NBANDS")] == ["170", "130", "4"]
    assert root.findtext("Geoposition/IMAGE_TO_MODEL_TRANSFORM") == TRANSFORM
    source = root.find("Dataset_Sources/MDElem[@name='metadata']/MDElem[@name='s2mask']/MDATTR")
    assert (source.get("name"), source.get("type"), source.text) == ("S2MASK_MODEL", "ascii", "cnn2d-test")


def test_header_declares_latin1_like_snap(written):
    assert written[0].read_bytes().startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")


def test_crs_is_ogc_wkt1_of_the_grid(written):
    wkt = etree.parse(str(written[0])).findtext("Coordinate_Reference_System/WKT")
    assert wkt.startswith("PROJCS[")
    assert osr.SpatialReference(wkt).IsSame(osr.SpatialReference(utm31_grid().crs_wkt))


def test_index_coding_palette_and_masks_come_from_the_class_table(written):
    root = etree.parse(str(written[0])).getroot()
    coding = root.find("Index_Coding")
    assert coding.get("name") == "s2mask_class"
    assert [(i.findtext("INDEX_NAME"), int(i.findtext("INDEX_VALUE")), i.findtext("INDEX_DESCRIPTION"))
            for i in coding.findall("Index")] == [(c.name, c.value, c.description) for c in CLASS_TABLE]
    statistics = root.find("Image_Display/Band_Statistics")
    assert statistics.findtext("BAND_INDEX") == "0" and statistics.findtext("NUM_COLORS") == str(len(CLASS_TABLE))
    points = statistics.findall("Color_Palette_Point")
    assert [(float(p.findtext("SAMPLE")), p.findtext("LABEL"),
             tuple(int(p.find("COLOR").get(k)) for k in ("red", "green", "blue", "alpha"))) for p in points] == \
        [(float(c.value), c.name, c.rgba) for c in CLASS_TABLE]
    assert statistics.findtext("HISTOGRAM_MATCHING") == "None"
    masks = root.findall("Masks/Mask")
    assert all(mask.get("type") == "Maths" and children(mask) == MASK_ORDER for mask in masks)
    assert [m.find("EXPRESSION").get("value") for m in masks] == [f"s2mask_class.raw == {c.value}" for c in CLASS_TABLE]
    assert [m.find("NAME").get("value") for m in masks][4] == "s2mask_cloud"
    assert masks[1].find("IMAGE_TO_MODEL_TRANSFORM").get("value") == TRANSFORM


def test_band_infos_list_every_element_in_order(written):
    root = etree.parse(str(written[0])).getroot()
    infos = root.findall("Image_Interpretation/Spectral_Band_Info")
    assert [info.findtext("BAND_NAME") for info in infos] == ["s2mask_class", "prob_cloud", "prob_thin_cloud",
                                                              "prob_cloud_shadow"]
    for index, info in enumerate(infos):
        tags = children(info)
        assert in_canonical_order(tags, BAND_INFO_ORDER), tags
        assert set(BAND_INFO_ORDER) - set(tags) <= {"INDEX_CODING_NAME", "VALID_MASK_TERM"}
        assert info.findtext("BAND_INDEX") == str(index) and info.findtext("DATA_TYPE") == "uint8"
        assert info.findtext("IMAGE_TO_MODEL_TRANSFORM") == TRANSFORM
    assert infos[0].findtext("INDEX_CODING_NAME") == "s2mask_class"
    assert (infos[0].findtext("NO_DATA_VALUE_USED"), infos[0].findtext("NO_DATA_VALUE")) == ("true", "0.0")
    assert infos[1].findtext("NO_DATA_VALUE") == "255.0" and infos[1].findtext("PHYSICAL_UNIT") == "%"


def read_band(dim_path, band_name):
    """Resolve the band through Data_Access the way SNAP's reader does: href relative to the .dim, .hdr -> .img."""
    root = etree.parse(str(dim_path)).getroot()
    index = next(info.findtext("BAND_INDEX") for info in root.iter("Spectral_Band_Info")
                 if info.findtext("BAND_NAME") == band_name)
    data_file = next(f for f in root.iter("Data_File") if f.findtext("BAND_INDEX") == index)
    header = dim_path.parent / data_file.find("DATA_FILE_PATH").get("href")
    width, height = int(root.findtext("Raster_Dimensions/NCOLS")), int(root.findtext("Raster_Dimensions/NROWS"))
    return header, np.fromfile(header.with_suffix(".img"), dtype=">u1").reshape(height, width)


def test_band_files_are_raw_big_endian_and_hold_the_exact_arrays(written):
    path, classes, probabilities = written
    header, array = read_band(path, "s2mask_class")
    np.testing.assert_array_equal(array, classes)
    for index, value in enumerate(PROBABILITY_CLASSES):
        np.testing.assert_array_equal(read_band(path, f"prob_{CLASS_TABLE[value].name.lower()}")[1],
                                      probabilities[index])
    text = header.read_text()
    assert "byte order = 1" in text and "data type = 1" in text and "interleave = bsq" in text
    assert header.with_suffix(".img").stat().st_size == WIDTH * HEIGHT


def test_gdal_envi_driver_reads_the_same_array_and_georeference(written):
    path, classes, _ = written
    dataset = gdal.Open(str(path.with_suffix(".data") / "s2mask_class.img"))
    assert dataset.GetDriver().ShortName == "ENVI"
    np.testing.assert_array_equal(dataset.ReadAsArray(), classes)
    assert dataset.GetGeoTransform() == utm31_grid().geotransform
    assert dataset.GetSpatialRef().IsSame(osr.SpatialReference(utm31_grid().crs_wkt))


def test_dimap_time_format():
    moment = datetime(2022, 12, 31, 23, 59, 58, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert dimap_time(moment) == "31-DEC-2022 21:59:58.123456"
    assert re.fullmatch(r"\d\d-[A-Z]{3}-\d{4} \d\d:\d\d:\d\d\.\d{6}", dimap_time(datetime(2023, 1, 2)))


def test_image_to_model_transform_is_java_matrix_order():
    assert image_to_model_transform(utm31_grid()) == TRANSFORM


def snap_envi_header(path):
    """Parse an ENVI header as SNAP's ENVI reader does (``HeaderParser.parse``): ``key = value`` lines, a
    value in braces may run over several lines, lists split at commas."""
    entries, lines = {}, iter(path.read_text(encoding="latin-1").splitlines())
    for line in lines:
        if "=" not in line:
            continue
        key, value = (part.strip() for part in line.split("=", 1))
        if value.startswith("{"):
            value = value[1:].strip()
            while not value.endswith("}"):
                value = (value + " " + next(lines).strip()).strip()
            value = value[:-1]
        entries[key] = value
    return entries


def test_class_header_is_an_envi_classification_snap_and_gdal_both_read(written):
    path, classes, _ = written
    header = snap_envi_header(path.with_suffix(".data") / "s2mask_class.hdr")
    assert header["file type"] == "ENVI Classification" and header["data ignore value"] == "0"
    names = [name.strip() for name in header["class names"].split(",")]
    lookup = [int(value) for value in header["class lookup"].split(",")]
    # SNAP's EnviProductReader builds its IndexCoding only when these three agree.
    assert int(header["classes"]) == len(names) == len(lookup) // 3 == len(CLASS_TABLE)
    assert names == [c.name for c in CLASS_TABLE]
    assert [tuple(lookup[i:i + 3]) for i in range(0, len(lookup), 3)] == [c.rgba[:3] for c in CLASS_TABLE]
    dataset = gdal.Open(str(path.with_suffix(".data") / "s2mask_class.img"))
    band = dataset.GetRasterBand(1)
    assert band.GetCategoryNames() == names and band.GetNoDataValue() == 0
    assert band.GetDescription() == "s2mask_class"  # the statistics sidecar keeps the header's band name
    table = band.GetColorTable()
    assert table.GetCount() == len(CLASS_TABLE)  # QGIS's legend: exactly the classes
    assert [table.GetColorEntry(c.value)[:3] for c in CLASS_TABLE] == [c.rgba[:3] for c in CLASS_TABLE]
    valid = classes[classes != 0].astype(float)
    np.testing.assert_allclose(band.GetStatistics(False, False), [valid.min(), valid.max(), valid.mean(), valid.std()],
                               rtol=1e-8)


def test_probability_headers_mark_no_data_and_carry_statistics(written):
    path, _, probabilities = written
    for index, value in enumerate(PROBABILITY_CLASSES):
        image = path.with_suffix(".data") / f"prob_{CLASS_TABLE[value].name.lower()}.img"
        header = snap_envi_header(image.with_suffix(".hdr"))
        assert (header["file type"], header["data ignore value"]) == ("ENVI Standard", "255")
        dataset = gdal.Open(str(image))  # GDAL 3.6: a band does not keep its dataset alive
        band = dataset.GetRasterBand(1)
        assert band.GetNoDataValue() == 255
        layer = probabilities[index].astype(float)
        np.testing.assert_allclose(band.GetStatistics(False, False),
                                   [layer.min(), layer.max(), layer.mean(), layer.std()], rtol=1e-8)


@pytest.fixture(scope="module")
def snap_sample():
    """The BEAM-DIMAP product SNAP itself wrote, shipped in the esa-snappy wheel (a dependency on Python 3.11)."""
    spec = importlib.util.find_spec("esa_snappy")  # found, not imported: importing it needs SNAP
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("esa_snappy is not installed")
    sample = Path(spec.submodule_search_locations[0]) / "testdata" / "MER_FRS_L1B_SUBSET.dim"
    if not sample.is_file():
        pytest.skip("esa_snappy ships no MER_FRS_L1B_SUBSET.dim")
    return sample


def relative_order(tags, reference):
    """``tags`` that ``reference`` also has, in ``tags``' order, and in ``reference``'s order."""
    shared = [tag for tag in dict.fromkeys(tags) if tag in reference]
    return shared, sorted(shared, key=list(dict.fromkeys(reference)).index)


def test_elements_and_header_keys_follow_snaps_own_dimap_writer(written, snap_sample):
    ours, theirs = etree.parse(str(written[0])).getroot(), etree.parse(str(snap_sample)).getroot()
    for xpath in (".", "Production", "Data_Access", "Image_Display/Band_Statistics", "Masks/Mask",
                  "Image_Interpretation/Spectral_Band_Info"):
        mine, reference = children(ours.find(xpath)), children(theirs.find(xpath))
        shared, in_snap_order = relative_order(mine, reference)
        assert shared == in_snap_order, xpath
        assert len(shared) >= 3, xpath
    for name, sample in (("s2mask_class", "l1_flags"), ("prob_cloud", "radiance_1")):
        mine = list(snap_envi_header(written[0].with_suffix(".data") / f"{name}.hdr"))
        reference = list(snap_envi_header(snap_sample.with_suffix(".data") / f"{sample}.hdr"))
        assert set(reference) - {"wavelength"} <= set(mine), name  # a spectral band's key; ours have none
        shared, in_snap_order = relative_order(mine, reference)
        assert shared == in_snap_order, name
        # Georeference where SNAP's writer puts it (its sample has none); our own keys after all of SNAP's.
        added = [key for key in mine if key not in reference and key not in ("map info", "coordinate system string")]
        assert added == ["data ignore value", *(["classes", "class lookup", "class names"] if name == "s2mask_class"
                                                else [])], name
        assert min(mine.index(key) for key in added) > max(mine.index(key) for key in shared), name
