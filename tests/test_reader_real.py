"""The reader on real ESA metadata trees and real SAFE products (skipped without ../shared/data)."""

import json

import numpy as np
import pytest
from osgeo import gdal

from s2mask.errors import ProductFormatError
from s2mask.io.product_mtd import read_product_metadata
from s2mask.io.safe import dn_to_reflectance, open_product
from s2mask.io.xmlutil import XmlDocument, parse_xml

METADATA_TREES = [
    "S2A_MSIL1C_20200717T221941_R029_T01LAC_20200717T234135.SAFE",
    "S2A_MSIL1C_20210908T042701_N0301_R133_T46RER_20210908T070248.SAFE",
    "S2A_MSIL2A_20230821T221941_N0509_R029_T01KAB_20230822T021825.SAFE",
    "esa_S2B_MSIL2A_20210122T133229_N0214_R081_T22HBD_20210122T155500.SAFE",
]
STAC_BANDS = {"coastal": "B1", "blue": "B2", "red": "B4", "nir": "B8", "swir16": "B11", "blue_20m": "B2"}


@pytest.mark.parametrize("name", METADATA_TREES)
def test_real_metadata_agrees_with_stactools(real_data, name):
    folder = real_data / "metadata" / name
    product = open_product(folder, check_files=False)
    stac = json.loads((folder / "expected_output.json").read_text())
    properties = stac["properties"]
    assert product.metadata.start_time.isoformat().replace("+00:00", "Z") == properties["datetime"]
    assert product.baseline == properties["s2:processing_baseline"]
    assert product.metadata.product_type == properties["s2:product_type"]
    assert product.spacecraft.lower() == properties["platform"]
    assert product.cloud_cover == pytest.approx(properties["eo:cloud_cover"])
    assert product.metadata.relative_orbit == properties["sat:relative_orbit"]
    assert product.tile_id == "{:02d}{}{}".format(properties["mgrs:utm_zone"], properties["mgrs:latitude_band"],
                                                   properties["mgrs:grid_square"])
    sun_zenith, sun_azimuth = product.mean_sun_angles
    assert 90 - sun_zenith == pytest.approx(properties["view:sun_elevation"], abs=1e-9)
    assert sun_azimuth == pytest.approx(properties["view:sun_azimuth"], abs=1e-9)
    view_zenith, view_azimuth = product.mean_view_angles()
    assert view_zenith == pytest.approx(properties["view:incidence_angle"], abs=1e-6)
    assert view_azimuth == pytest.approx(properties["view:azimuth"], abs=0.01)
    for key, band in STAC_BANDS.items():
        if key not in stac["assets"]:
            continue
        asset = stac["assets"][key]
        resolution = int(asset["proj:transform"][0])
        grid = product.grid(resolution)
        assert [grid.height, grid.width] == asset["proj:shape"]
        assert list(grid.geotransform) == [asset["proj:transform"][i] for i in (2, 0, 1, 5, 3, 4)]
        raster = asset["raster:bands"][0]
        assert product.offset(band) / product.quantification_value == pytest.approx(raster["offset"])
        assert 1 / product.quantification_value == pytest.approx(raster["scale"])
        assert asset["href"].endswith(product.band_files(band)[resolution].split("/")[-1])
    if product.level == "L2A":
        assert set(product.band_files("B2")) == {10, 20, 60}
        assert "B10" not in product.bands


def test_real_metadata_tree_without_images_fails_clearly_when_files_are_required(real_data):
    with pytest.raises(ProductFormatError, match="listed in the product metadata but its file is missing"):
        open_product(real_data / "metadata" / METADATA_TREES[2])


@pytest.fixture(params=["S2A_MSIL1C_20240120T105341_N0510_R051_T31TCJ_20240120T125244.SAFE",
                        "S2B_MSIL1C_20240305T104819_N0510_R051_T31TCJ_20240305T125347.SAFE"])
def alcd(real_data, request):
    return open_product(real_data / "safe" / "alcd_T31TCJ" / "s2" / "Toulouse" / request.param)


def test_real_alcd_products_open_with_their_masks_and_angles(alcd):
    assert alcd.level == "L1C" and alcd.baseline == "05.10" and alcd.tile_id == "31TCJ"
    assert alcd.offset("B11") == -1000 and len(alcd.bands) == 13
    footprint = alcd.detector_footprint("B1")
    assert footprint.shape == (1830, 1830) and set(np.unique(footprint)) <= set(range(13))
    zenith, azimuth = alcd.sun_angles(60)
    assert zenith.shape == (1830, 1830)
    assert abs(float(zenith.mean()) - alcd.mean_sun_angles[0]) < 0.05
    flags = alcd.l1c_cloud_mask(60)
    cloudy = (flags & 1).mean()
    expected = 0.0 if "20240120" in alcd.product_id else 0.47
    assert cloudy == pytest.approx(expected, abs=0.02)


def test_real_alcd_band_sizes_that_contradict_the_metadata_are_named(alcd):
    with pytest.raises(ProductFormatError, match=r"_B03\.jp2: band B3 \(10 m\) is 30x30 pixels but the tile "
                                                 r"metadata declares 10980x10980"):
        alcd.read("B3", 10)


@pytest.mark.parametrize("stem, offset", [("S2B_MSIL1C_20200406T101559_N0209_R065_T32UPC_20200406T130159", 0),
                                          ("S2B_MSIL1C_20220615T101559_N0400_R065_T32UPC_20220615T122549", -1000)])
def test_real_dn_to_toa_across_the_baseline_04_offset(real_data, stem, offset):
    folder = real_data / "real" / "ukis_pysat_toa"
    source = folder / f"{stem}_MTD.xml"
    metadata = read_product_metadata(XmlDocument(parse_xml(source.read_bytes(), source), source))
    assert metadata.offsets.get("B4", 0) == offset
    dn = gdal.Open(str(folder / f"{stem}.tif")).ReadAsArray()
    expected = gdal.Open(str(folder / f"{stem}_toa.tif")).ReadAsArray()
    for index, band in enumerate(("B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12")):
        ours = dn_to_reflectance(dn[index], metadata.offsets.get(band, 0.0), metadata.quantification_value,
                                 metadata.nodata_value, metadata.saturated_value)
        valid = np.isfinite(ours) & (expected[index] > -1)
        assert valid.any()
        np.testing.assert_allclose(ours[valid], expected[index][valid], atol=1e-6)
