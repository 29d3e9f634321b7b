"""EOPF stores with the structure of ESA's real products (shared/data/metadata/eopf_zarr) and real pixels:
the reader maps the real layout (every group ESA writes, chunking, attributes) onto the right numbers."""

import json

import numpy as np
import pytest

from s2mask.bands import L2A_BANDS, NATIVE_RESOLUTION
from s2mask.io.eopf import open_eopf
from s2mask.io.formats import detect_format
from s2mask.sim import zarr_store
from s2mask.sim.eopf import structure
from s2mask.sim.product import describe

from helpers import small_scene
from realfixtures import EOPF_L1C, EOPF_L2A, eopf_store, reflectance


@pytest.fixture(scope="module", params=["L1C", "L2A"])
def real_store(request, real_data, tmp_path_factory):
    root, pixels = eopf_store(real_data, request.param, tmp_path_factory.mktemp("eopf_real") / "product.zarr")
    return request.param, root, pixels


def test_real_structure_reads_the_real_pixels(real_store):
    level, root, pixels = real_store
    assert detect_format(root) == "EOPF Zarr"
    product = open_eopf(root)
    assert product.level == level and product.baseline == "05.11"
    assert product.bands == (tuple(pixels) if level == "L1C" else L2A_BANDS)
    assert product.offset("B2") == -1000 and product.quantification_value == 10000
    assert product.epsg == (32633 if level == "L1C" else 32629)
    assert product.tile_id == ("32TLQ" if level == "L1C" else "32TQM")  # ESA's id kept in other_metadata
    for band, dn in pixels.items():
        np.testing.assert_array_equal(product.read(band, NATIVE_RESOLUTION[band]), reflectance(dn), err_msg=band)
    if level == "L2A":
        assert set(product.metadata.auxiliary_files["SCL"]) == {20, 60}
        assert product.band_files("B2") == {10: "measurements/reflectance/r10m/b02",
                                            20: "measurements/reflectance/r20m/b02",
                                            60: "measurements/reflectance/r60m/b02"}


def test_angles_come_from_the_geometry_group(real_store):
    _, root, _ = real_store
    product = open_eopf(root)
    angles = product.angles(60)
    np.testing.assert_allclose(angles["sun_zenith"], 41.706751569105, rtol=1e-6)
    np.testing.assert_allclose(angles["view_azimuth"], 100.0, rtol=1e-6)
    assert product.mean_sun_angles == pytest.approx((41.706751569105, 147.671041914385))


@pytest.mark.parametrize("level, name", [("L1C", EOPF_L1C), ("L2A", EOPF_L2A)])
def test_synthetic_structure_is_part_of_the_real_one(real_data, level, name):
    """Every group and array the sim writer makes exists in ESA's product with the same type, axes and (for
    a full tile) chunks, and its attributes are among ESA's."""
    real = dict(zarr_store.walk(json.loads((real_data / name).read_text())))
    detectors = (1, 2, 3, 4, 5, 6, 7) if level == "L1C" else (1, 2, 3, 4, 5, 6)  # as in the real products
    desc = describe(small_scene(), level=level, baseline="05.11", detectors=detectors)
    desc.shape_10m = (10980, 10980)  # the structure of a full tile (no pixels are written)
    ours = dict(zarr_store.walk(structure(desc)))
    for path, node in ours.items():
        assert path in real, path
        assert zarr_store.is_array(node) == zarr_store.is_array(real[path]), path
        if zarr_store.is_array(node):
            assert node["dtype"] == real[path]["dtype"], path
            assert node["attributes"]["_ARRAY_DIMENSIONS"] == real[path]["attributes"]["_ARRAY_DIMENSIONS"], path
            assert set(node["attributes"]) <= set(real[path]["attributes"]), path
            assert node["shape"] == real[path]["shape"] and node["chunks"] == real[path]["chunks"], path
    missing_arrays = {p for p, n in real.items() if zarr_store.is_array(n) and p.startswith("measurements")} - set(ours)
    assert not missing_arrays
