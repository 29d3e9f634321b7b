"""The EOPF Zarr reader on synthetic products: the same reflectance, NaN, angles and masks as the SAFE
of the same scene, from a folder, a zip, and a store GDAL reaches by a /vsi path (no network)."""

import pickle
import shutil
import zipfile
from pathlib import Path

import numpy as np
import pytest
from osgeo import gdal

from s2mask.errors import MissingBandError, ProductFormatError, ProductIOError
from s2mask.io.eopf import band_of, open_eopf
from s2mask.io.formats import detect_format, open_product
from s2mask.io.safe import open_product as open_safe
from s2mask.io.summary import summarize

PRODUCTS = [("L1C", "05.11"), ("L2A", "05.11"), ("L1C", "02.09")]


@pytest.mark.parametrize("level, baseline", PRODUCTS)
def test_reads_equal_the_safe_of_the_same_scene(product_factory, eopf_factory, level, baseline):
    safe = open_safe(product_factory(level, baseline), use_jp2_levels=False)
    eopf = open_eopf(eopf_factory(level, baseline))
    assert (eopf.level, eopf.baseline, eopf.bands, eopf.tile_id) == (level, baseline, safe.bands, safe.tile_id)
    assert eopf.offset("B4") == safe.offset("B4") and eopf.quantification_value == safe.quantification_value
    assert eopf.grid(20) == safe.grid(20)
    for resolution in (10, 20, 60):
        for band in safe.bands:
            np.testing.assert_array_equal(eopf.read(band, resolution), safe.read(band, resolution),
                                          err_msg=f"{band} at {resolution} m")
        for name, values in safe.angles(resolution).items():
            np.testing.assert_array_equal(eopf.angles(resolution)[name], values, err_msg=name)
    assert eopf.mean_sun_angles == safe.mean_sun_angles
    assert eopf.mean_view_angles() == pytest.approx(safe.mean_view_angles())
    np.testing.assert_array_equal(eopf.detector_footprint("B11"), safe.detector_footprint("B11"))


def test_no_data_saturation_and_footprint_are_nan(eopf_factory):
    b2 = open_eopf(eopf_factory("L1C", "05.11")).read("B2", 10)
    assert np.isnan(b2[:, :12]).all() and np.isnan(b2[60:62, 90:92]).all()
    assert np.isfinite(b2[:, 12:]).sum() == b2[:, 12:].size - 4


def test_l1c_cloud_mask_flags_are_the_safe_ones(product_factory, eopf_factory):
    safe, eopf = open_safe(product_factory("L1C", "05.11")), open_eopf(eopf_factory("L1C", "05.11"))
    np.testing.assert_array_equal(eopf.l1c_cloud_mask(20), safe.l1c_cloud_mask(20))


def test_zipped_store_and_vsi_path_read_like_the_folder(eopf_factory, tmp_path):
    folder = open_eopf(eopf_factory("L2A", "05.11"))
    archive = eopf_factory("L2A", "05.11", zipped=True)
    assert detect_format(archive) == "EOPF Zarr"
    zipped = open_product(archive)
    np.testing.assert_array_equal(zipped.read("B11", 20), folder.read("B11", 20))
    # a /vsi path goes the way a URL goes (GDAL's virtual file systems, no local checks): /vsimem/ here
    store = eopf_factory("L2A", "05.11")
    root = f"/vsimem/remote/{store.name}"
    names = [("/vsimem/remote", store), (root, store),
             *((f"{root}/{path.relative_to(store)}", path) for path in sorted(store.rglob("*")))]
    for name, path in names:
        if path.is_dir():
            gdal.Mkdir(name, 0o755)
        else:
            gdal.FileFromMemBuffer(name, path.read_bytes())
    try:
        remote = open_product(root)
        assert remote.format == "EOPF Zarr"
        np.testing.assert_array_equal(remote.read("B2", 60), folder.read("B2", 60))
    finally:
        for name, path in reversed(names):
            (gdal.Rmdir if path.is_dir() else gdal.Unlink)(name)


def test_product_survives_pickling(eopf_factory):
    product = open_eopf(eopf_factory("L1C", "05.11"))
    product.read("B3", 20)
    copy = pickle.loads(pickle.dumps(product))
    np.testing.assert_array_equal(copy.read("B3", 20), product.read("B3", 20))


def test_info_names_the_format(eopf_factory):
    summary = summarize(open_product(eopf_factory("L2A", "05.11")))
    assert summary["format"] == "EOPF Zarr" and summary["level"] == "L2A"
    assert summary["quality_masks"] == ["MSK_CLASSI", "MSK_DETFOO"]


def test_band_names():
    assert [band_of(n) for n in ("b01", "b8a", "b12", "b00", "scl", "x")] == ["B1", "B8A", "B12", None, None, None]


def _copy(eopf_factory, tmp_path):
    source = eopf_factory("L1C", "05.11")
    return Path(shutil.copytree(source, tmp_path / source.name))


def _edit_root_attributes(store, change):
    import json
    metadata = json.loads((store / ".zmetadata").read_text())
    change(metadata["metadata"][".zattrs"])
    (store / ".zmetadata").write_text(json.dumps(metadata))


def test_refuses_what_is_not_an_eopf_product(eopf_factory, tmp_path):
    with pytest.raises(ProductIOError, match="no such"):
        open_eopf(tmp_path / "missing.zarr")
    (tmp_path / "empty.zarr").mkdir()
    with pytest.raises(ProductFormatError, match="not a Zarr store"):
        open_eopf(tmp_path / "empty.zarr")
    store = _copy(eopf_factory, tmp_path)
    _edit_root_attributes(store, lambda attrs: attrs.pop("stac_discovery"))
    with pytest.raises(ProductFormatError, match="stac_discovery"):
        open_eopf(store)


def test_refuses_other_product_types(eopf_factory, tmp_path):
    store = _copy(eopf_factory, tmp_path)
    _edit_root_attributes(store, lambda attrs: attrs["stac_discovery"]["properties"].update(
        {"product:type": "S03OLCEFR"}))
    with pytest.raises(ProductFormatError, match="S03OLCEFR"):
        open_eopf(store)


def test_a_zip_without_a_store_is_named(tmp_path):
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("readme.txt", "nothing")
    with pytest.raises(ProductFormatError):
        open_product(archive)


def test_a_band_missing_from_a_store_is_reported(eopf_factory, tmp_path):
    store = _copy(eopf_factory, tmp_path)
    import json
    metadata = json.loads((store / ".zmetadata").read_text())
    for key in [k for k in metadata["metadata"] if k.startswith("measurements/reflectance/r20m/b8a/")]:
        del metadata["metadata"][key]
    (store / ".zmetadata").write_text(json.dumps(metadata))
    shutil.rmtree(store / "measurements/reflectance/r20m/b8a")
    product = open_eopf(store)
    assert "B8A" not in product.bands
    with pytest.raises(MissingBandError, match="B8A"):
        product.read("B8A", 20)



def test_a_format_3_store_asks_for_a_newer_gdal(tmp_path):
    # the root of EOPF's 2026 products (Zarr format 3, final specification); GDAL 3.6 knows only a draft
    store = tmp_path / "S2C_MSIL2A_20260105T101411_N0512_R022_T32TQM_20260105T120211.zarr"
    for group in (store, store / "measurements"):
        group.mkdir()
        (group / "zarr.json").write_text('{"zarr_format": 3, "node_type": "group", "attributes": {}}')
    assert detect_format(store) == "EOPF Zarr"
    # a GDAL that reads the final format sees the group and misses stac_discovery instead
    with pytest.raises(ProductFormatError, match="format 3" if gdal.VersionInfo() < "3070000" else "."):
        open_product(store)
