"""The streaming pipeline: blocks equal the whole, resolutions agree, outputs are complete and consistent."""

import json
import threading

import numpy as np
import pytest
from osgeo import gdal

from s2mask.classes import N_CLASSES, MaskClass
from s2mask.io.report import report_schema
from s2mask.pipeline import run

from helpers import NeighbourhoodMasker


def read_raster(path):
    dataset = gdal.Open(str(path))
    return dataset.ReadAsArray(), dataset


@pytest.fixture(scope="module")
def product(product_factory):
    return product_factory("L1C", "05.10", size=240)


def test_blocked_and_whole_processing_give_identical_outputs(product, tmp_path):
    whole = run(product, tmp_path / "whole", masker=NeighbourhoodMasker(), block_size=4096,
                outputs=("cog", "probabilities"))
    blocked = run(product, tmp_path / "blocked", masker=NeighbourhoodMasker(), block_size=128,
                  outputs=("cog", "probabilities"))
    for kind in ("classes", "probabilities"):
        a, _ = read_raster(whole.outputs[kind])
        b, _ = read_raster(blocked.outputs[kind])
        np.testing.assert_array_equal(a, b)
    classes, _ = read_raster(blocked.outputs["classes"])
    assert (classes[:, :6] == MaskClass.NO_DATA).all()  # the no-data strip, 12 px at 10 m
    assert {MaskClass.CLEAR_LAND, MaskClass.WATER} <= set(np.unique(classes))


def test_a_10m_run_and_a_20m_run_agree_after_resampling(product, tmp_path):
    fine = run(product, tmp_path / "10", masker=NeighbourhoodMasker(), resolution=10, outputs=("cog",))
    coarse = run(product, tmp_path / "20", masker=NeighbourhoodMasker(), resolution=20, outputs=("cog",))
    classes10, _ = read_raster(fine.outputs["classes"])
    classes20, _ = read_raster(coarse.outputs["classes"])
    assert classes10.shape == (240, 240) and classes20.shape == (120, 120)
    # the 20 m class agrees with the 10 m class of the pixels it covers, except along class edges
    agree = np.mean([classes20 == classes10[dr::2, dc::2] for dr in (0, 1) for dc in (0, 1)])
    assert agree > 0.9


def test_every_output_is_written_and_consistent(product, tmp_path):
    result = run(product, tmp_path, masker=NeighbourhoodMasker(), block_size=128,
                 outputs=("cog", "probabilities", "scl", "quicklook", "report"))
    assert set(result.outputs) == {"classes", "probabilities", "scl", "quicklook", "report", "classes_style",
                                   "probabilities_style", "scl_style", "stac", "record"}
    classes, dataset = read_raster(result.outputs["classes"])
    assert dataset.GetRasterBand(1).GetColorTable() is not None
    assert dataset.GetGeoTransform() == (300000.0, 20.0, 0.0, 4900020.0, 0.0, -20.0)
    assert json.loads(dataset.GetMetadataItem("S2MASK_PARAMETERS"))["block_size"] == 128
    probabilities, _ = read_raster(result.outputs["probabilities"])
    assert probabilities.shape == (N_CLASSES - 1, 120, 120)
    scl, _ = read_raster(result.outputs["scl"])
    assert set(np.unique(scl[classes == MaskClass.WATER])) == {6}
    assert set(np.unique(scl[classes == MaskClass.CLEAR_LAND])) <= {4, 5}
    report = json.loads(result.outputs["report"].read_text())
    assert report == result.report
    counts = np.bincount(classes.ravel(), minlength=N_CLASSES)
    valid = counts[1:].sum()
    assert report["valid_percent"] == pytest.approx(100 * valid / classes.size, abs=1e-4)
    shadow = report["classes"]["CLOUD_SHADOW"]
    assert shadow["pixels"] == counts[MaskClass.CLOUD_SHADOW] > 0
    assert shadow["percent_of_valid"] == pytest.approx(100 * counts[MaskClass.CLOUD_SHADOW] / valid, abs=1e-4)
    assert report["model"] == "test-neighbourhood"
    assert report["model_bands"] == ["B2", "B8", "B11"]
    assert report["product"]["level"] == "L1C" and report["product"]["tile"] == "31TCJ"
    assert {"read", "predict", "write"} <= set(report["timings_s"])
    jsonschema = pytest.importorskip("jsonschema")
    jsonschema.Draft202012Validator(report_schema()).validate(report)  # the product details included
    expected = {p.name for p in result.outputs.values()}
    left = {p.name for p in tmp_path.iterdir()}
    assert expected <= left
    assert all(name in expected or name.removesuffix(".aux.xml") in expected for name in left), left


def test_python_api_entry_point(product, tmp_path):
    import s2mask

    result = s2mask.run(product, tmp_path, masker=NeighbourhoodMasker(), resolution=60, outputs=("cog", "report"))
    assert result.outputs["classes"].name.endswith("_s2mask.tif")
    assert result.report["parameters"]["resolution"] == 60


class RecordingSource:
    """A stand-in band source that records which thread read each window and can fail on one."""

    level = "L1C"
    bands = ("B2",)

    def __init__(self, fail_at_row: int | None = None):
        self.fail_at_row = fail_at_row
        self.threads: list[str] = []

    def read(self, band, resolution, window, method="bilinear"):
        self.threads.append(threading.current_thread().name)
        if window.row == self.fail_at_row:
            raise OSError(f"cannot decode rows {window.row}-{window.row + window.height}")
        return np.full(window.shape, window.row * 1000 + window.col, dtype=np.float32)


@pytest.mark.parametrize("prefetch", [False, True])
def test_blocks_come_in_order_with_their_own_bands_whether_prefetched_or_not(prefetch):
    from s2mask.grid import Grid
    from s2mask.stream import Reading, blocks_with_bands

    grid = Grid("", 0.0, 0.0, 20.0, width=400, height=300)
    source = RecordingSource()
    seen = list(blocks_with_bands(source, ("B2",), grid, Reading(), 128, 2, prefetch))
    assert [block.index for block, _ in seen] == list(range(12))
    for block, bands in seen:
        assert bands["B2"].shape == block.outer.shape
        assert bands["B2"][0, 0] == block.outer.row * 1000 + block.outer.col
    assert all(name.startswith("s2mask-read") for name in source.threads) == prefetch


def test_a_read_failing_in_the_prefetch_thread_reaches_the_caller():
    from s2mask.grid import Grid
    from s2mask.stream import Reading, blocks_with_bands

    grid = Grid("", 0.0, 0.0, 20.0, width=300, height=300)
    with pytest.raises(OSError, match="cannot decode rows 128-"):
        for _ in blocks_with_bands(RecordingSource(fail_at_row=128), ("B2",), grid, Reading(), 128, 0, True):
            pass


class BandSource(RecordingSource):
    """Several bands, one of which may fail after the others have started; records reads in flight."""

    bands = ("B2", "B3", "B4", "B8")

    def __init__(self, failing_band: str | None = None):
        super().__init__()
        self.failing_band = failing_band
        self.running = 0
        self.most_running = 0
        self.finished: list[str] = []
        self._lock = threading.Lock()

    def read(self, band, resolution, window, method="bilinear"):
        with self._lock:
            self.running += 1
            self.most_running = max(self.most_running, self.running)
        try:
            threading.Event().wait(0.05)  # long enough for the other worker to start
            if band == self.failing_band:
                raise OSError(f"cannot decode {band}")
            return np.full(window.shape, BandSource.bands.index(band), dtype=np.float32)
        finally:
            with self._lock:
                self.running -= 1
                self.finished.append(band)


def test_bands_read_side_by_side_equal_bands_read_in_turn_and_a_failure_waits_for_the_rest():
    from s2mask.grid import Grid, Window
    from s2mask.stream import Reading, read_bands

    grid = Grid("", 0.0, 0.0, 20.0, width=64, height=48)
    window, params = Window(8, 4, 20, 30), Reading()
    source = BandSource()
    together = read_bands(source, source.bands, grid, window, params, workers=2)
    assert source.most_running == 2 and list(together) == list(source.bands)
    in_turn = read_bands(BandSource(), source.bands, grid, window, params)
    for band in source.bands:
        np.testing.assert_array_equal(together[band], in_turn[band])
    failing = BandSource(failing_band="B2")
    with pytest.raises(OSError, match="cannot decode B2"):
        read_bands(failing, failing.bands, grid, window, params, workers=2)
    assert sorted(failing.finished) == sorted(failing.bands) and failing.running == 0
