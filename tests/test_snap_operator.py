"""The S2Mask GPF operator, driven by the SNAP stand-in, computes what ``s2mask run`` computes.

The stand-in's products come from the same synthetic SAFE that ``run`` reads: multi-size as SNAP's
reader gives it, or resampled to one grid (by s2mask's own resampling, so equality tests the operator,
not SNAP's resampler). GPF tiles are chosen not to divide the image, and computed in reverse order.
"""

import numpy as np
import pytest
from osgeo import gdal
from scipy import ndimage
from snapstub import context_for, load_operator
from snapstub.gpf import ProductUtils, run_operator
from snapstub.java import JavaError, ProductData, check_java_array
from snapstub.products import reader_product, resampled_product

from s2mask.classes import CLASS_TABLE, N_CLASSES, MaskClass
from s2mask.errors import ParameterError
from s2mask.masking import BlockInput, BlockPrediction
from s2mask.pipeline import run
from s2mask.sim.clouds import cloudy_scene
from s2mask.sim.safe import write_product


@pytest.fixture(scope="module")
def cloudy_l1c(tmp_path_factory):
    scene = cloudy_scene(240, 240, seed=5, sun_zenith=38.0, sun_azimuth=155.0, nodata_fraction=0.1)
    return write_product(scene, tmp_path_factory.mktemp("snap_l1c"), level="L1C")


@pytest.fixture
def op_module(monkeypatch):
    return load_operator(monkeypatch)


def run_classes(product, tmp_path, **params):
    """Classes and probabilities (uint8, 255 = no data) as ``s2mask run`` writes them."""
    result = run(product, tmp_path, exact_downsampling=True, outputs=("cog", "probabilities"), **params)
    return (gdal.Open(str(result.outputs["classes"])).ReadAsArray(),
            gdal.Open(str(result.outputs["probabilities"])).ReadAsArray())


def source_reads(context, band):
    """The rectangles (x, y, width, height) of every source tile read from ``band``."""
    return [call[2] for call in context.calls if call[0] == "getSourceTile" and call[1] == band]


def operator_output(op_module, product, tile, **parameters):
    context = context_for(product, **parameters)
    target = run_operator(op_module.S2MaskOp(), context, tile_size=(tile, tile))
    return target, context


def test_multi_size_reader_product_gives_the_classes_of_run(op_module, cloudy_l1c, tmp_path):
    classes, probabilities = run_classes(cloudy_l1c, tmp_path, model="physics", resolution=20, block_size=128)
    assert (classes == MaskClass.CLOUD_SHADOW).sum() > 50  # the whole-tile shadow step matters here
    target, context = operator_output(op_module, reader_product(cloudy_l1c), 48, model="physics", resolution=20,
                                      blockSize=128, probabilityBands=True)
    np.testing.assert_array_equal(target.bands["s2mask_class"].values, classes)
    for index, info in enumerate(CLASS_TABLE[1:]):
        np.testing.assert_array_equal(target.bands[f"prob_{info.name.lower()}"].values, probabilities[index])
    # each band is read on its own grid: B2 at 10 m (2x the 20 m window), B1 at 60 m, never outside
    assert source_reads(context, "B2") == [(0, 0, 240, 240)] and source_reads(context, "B1") == [(0, 0, 40, 40)]


def test_l2a_reader_product_gives_the_classes_of_run(op_module, tmp_path):
    scene = cloudy_scene(120, 120, seed=8, sun_zenith=30.0, sun_azimuth=140.0, nodata_fraction=0.1)
    l2a = write_product(scene, tmp_path / "l2a", level="L2A")
    classes, _ = run_classes(l2a, tmp_path / "out", model="physics", resolution=20)
    product = reader_product(l2a)
    assert product.product_type == "S2_MSI_Level-2A" and "B10" not in product.bands
    target, _ = operator_output(op_module, product, 25, model="physics", resolution=20)
    np.testing.assert_array_equal(target.bands["s2mask_class"].values, classes)


@pytest.mark.parametrize("resolution", [10, 60])
def test_multi_size_at_10_and_60_m(op_module, cloudy_l1c, tmp_path, resolution):
    classes, _ = run_classes(cloudy_l1c, tmp_path, model="physics", resolution=resolution)
    target, _ = operator_output(op_module, reader_product(cloudy_l1c), 37, model="physics", resolution=resolution)
    np.testing.assert_array_equal(target.bands["s2mask_class"].values, classes)


def test_resampled_single_size_product_gives_the_classes_of_run(op_module, cloudy_l1c, tmp_path):
    classes, _ = run_classes(cloudy_l1c, tmp_path, model="physics", resolution=20)
    target, _ = operator_output(op_module, resampled_product(cloudy_l1c, 20), 50, model="physics", resolution=20)
    np.testing.assert_array_equal(target.bands["s2mask_class"].values, classes)


class EdgeMasker:
    """A masker with a 2-pixel receptive field that sees zeros beyond the image edge (as a CNN's zero
    padding does): its result depends on how the halo is read, so it shows tile seams and edge reads."""

    model_id = "test-edge"
    bands = ("B3", "B8", "B11")
    halo = 2

    def __init__(self, tile_layers=()):
        self.tile_layers = tile_layers

    def predict(self, block: BlockInput) -> BlockPrediction:
        nir = ndimage.uniform_filter(np.nan_to_num(block.bands["B8"]), size=5, mode="constant")
        classes = np.where(nir < 0.15, MaskClass.WATER, MaskClass.CLEAR_LAND).astype(np.uint8)
        classes[block.bands["B3"] > 0.3] = MaskClass.CLOUD
        probabilities = np.zeros((N_CLASSES, *classes.shape), dtype=np.float32)
        np.put_along_axis(probabilities, classes[None].astype(np.int64), 0.7, axis=0)
        probabilities[MaskClass.SNOW_ICE] += nir.clip(0, 0.3)
        return BlockPrediction(probabilities, classes, {"dark": block.bands["B11"] < 0.08})

    def finish(self, classes, layers, geometry):
        assert geometry.sun_zenith == pytest.approx(38.0)
        shadow = np.roll(ndimage.binary_dilation(classes == MaskClass.CLOUD, iterations=2), 3, axis=0)
        return np.where(shadow & layers["dark"], MaskClass.CLOUD_SHADOW, classes).astype(np.uint8)


@pytest.mark.parametrize("tile_layers", [(), ("dark",)], ids=["per-tile", "whole-tile"])
def test_halo_and_whole_tile_step_match_run_across_tile_borders(op_module, cloudy_l1c, tmp_path, monkeypatch,
                                                                tile_layers):
    classes, probabilities = run_classes(cloudy_l1c, tmp_path, masker=EdgeMasker(tile_layers), resolution=10,
                                         block_size=128)
    monkeypatch.setattr("s2mask.snap.engine.select_masker", lambda *args, **kwargs: EdgeMasker(tile_layers))
    target, context = operator_output(op_module, reader_product(cloudy_l1c), 41, resolution=10, blockSize=128,
                                      probabilityBands=True)
    np.testing.assert_array_equal(target.bands["s2mask_class"].values, classes)
    np.testing.assert_array_equal(target.bands["prob_snow_ice"].values, probabilities[MaskClass.SNOW_ICE - 1])
    b8_reads = source_reads(context, "B8")
    if tile_layers:  # the whole 240 x 240 tile once, in run's 128-pixel blocks grown by the halo
        assert sorted(b8_reads) == [(0, 0, 130, 130), (0, 126, 130, 114), (126, 0, 114, 130), (126, 126, 114, 114)]
    else:  # every 41-pixel GPF tile grown by the 2-pixel halo, clipped to the image
        assert len(b8_reads) == 36 and (0, 0, 43, 43) in b8_reads and (39, 39, 45, 45) in b8_reads


def test_target_product_structure(op_module, cloudy_l1c):
    product = reader_product(cloudy_l1c)
    target, context = operator_output(op_module, product, 64, model="physics", resolution=20, blockSize=256)
    assert (target.width, target.height) == (120, 120)
    assert target.tile_size == (256, 256)
    assert target.geocoding is product.bands["B5"].geocoding  # a band whose native grid is the mask grid
    assert target.start_time == product.start_time and target.start_time is not None
    assert ("copyTimeInformation", product, target) in ProductUtils.calls
    band = target.bands["s2mask_class"]
    assert list(target.bands) == ["s2mask_class"] and band.data_type == ProductData.TYPE_UINT8
    coding = band.properties["SampleCoding"]
    assert target.index_codings.items == [coding]
    assert coding.indexes == [(c.name, c.value, c.description) for c in CLASS_TABLE]
    palette = band.properties["ImageInfo"].palette
    assert [(p.sample, p.color.rgba, p.label) for p in palette.points] == [
        (float(c.value), c.rgba, c.name) for c in CLASS_TABLE]
    assert [(m[0], m[1]) for m in target.masks] == [
        (f"s2mask_{c.name.lower()}", f"s2mask_class.raw == {c.value}") for c in CLASS_TABLE]
    assert band.properties["NoDataValueUsed"] is True and band.properties["NoDataValue"] == 0.0
    writes = [call for call in context.calls if call[0] == "setSamples"]
    assert len(writes) == 4 and all(dtype == np.uint8 for *_, dtype, _ in writes)


def test_source_found_under_the_positional_id_and_level_from_product_type(op_module, cloudy_l1c):
    context = context_for(reader_product(cloudy_l1c), source_id="sourceProduct", model="physics", resolution=60)
    target = run_operator(op_module.S2MaskOp(), context)
    assert ("getSourceProduct", "source") in context.calls and ("getSourceProduct", None) in context.calls
    assert (target.bands["s2mask_class"].values >= 0).all()  # every pixel written


def test_without_tile_angles_metadata_the_geometry_comes_from_the_angle_bands(op_module, cloudy_l1c):
    product = reader_product(cloudy_l1c, metadata=False)
    target, context = operator_output(op_module, product, 64, model="physics", resolution=60)
    assert len(context.logger.warnings) == 1 and "angle bands" in context.logger.warnings[0]
    assert (target.bands["s2mask_class"].values >= 0).all()


def test_super_resolution_refuses_an_already_resampled_product(op_module, cloudy_l1c):
    context = context_for(resampled_product(cloudy_l1c, 10), model="physics", resolution=10, superResolution=True)
    with pytest.raises(ParameterError, match="native 10/20/60 m grids"):
        op_module.S2MaskOp().initialize(context)


def test_a_resolution_the_resampled_source_does_not_have_is_refused(op_module, cloudy_l1c):
    context = context_for(resampled_product(cloudy_l1c, 20), model="physics", resolution=60)
    with pytest.raises(ParameterError, match="no band .* lies on the 60 m grid"):
        op_module.S2MaskOp().initialize(context)


@pytest.mark.parametrize("values, message", [
    (np.zeros(4, dtype=np.int64), "double"),
    (np.zeros(4, dtype=np.uint64), "double"),
    (np.zeros(4, dtype=np.float16), "short"),
    (np.zeros((4, 2), dtype=np.uint8)[:, 0], "overloads"),
    (np.asfortranarray(np.zeros((2, 2), dtype=np.uint8)), "overloads"),
    ([0, 1, 2, 3], "ambiguous"),
    (np.zeros(4, dtype=np.float32), "type 20"),
    (np.zeros(5, dtype=np.uint8), "5 samples"),
])
def test_the_stand_in_refuses_what_jpy_cannot_pass(values, message):
    with pytest.raises(JavaError, match=message):
        check_java_array(values, ProductData.TYPE_UINT8, 4)
    assert check_java_array(np.zeros(4, dtype=np.uint8), ProductData.TYPE_UINT8, 4).dtype == np.uint8
