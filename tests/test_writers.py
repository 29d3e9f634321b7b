"""GeoTIFF (COG) outputs and the run's output set, reopened by GDAL; faults leave no partial output."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from lxml import etree
from osgeo import gdal, osr

from s2mask.classes import CLASS_TABLE, SCL_NAMES, to_scl
from s2mask.errors import OutputError
from s2mask.grid import Grid, Window, iter_blocks
from s2mask.io import dimap as dimap_module
from s2mask.io.atomic import OutputStage
from s2mask.io.geotiff import class_cog, probability_cog
from s2mask.io.writers import (
    DEFAULT_PROBABILITY_CLASSES,
    OutputOptions,
    RunInfo,
    RunOutputs,
    encode_probabilities,
    output_names,
)

gdal.UseExceptions()
HEIGHT, WIDTH = 700, 900  # above one 512 tile each way, so the COG has overviews and edge tiles


def utm31_grid(height=HEIGHT, width=WIDTH):
    srs = osr.SpatialReference()
    srs.ImportFromEPSG(32631)
    return Grid(srs.ExportToWkt(), 300000.0, 4900020.0, 20.0, width, height, 32631)


@pytest.fixture(scope="module")
def arrays():
    rng = np.random.default_rng(42)
    coarse = rng.integers(0, 7, (HEIGHT // 25 + 1, WIDTH // 25 + 1))
    classes = np.kron(coarse, np.ones((25, 25), dtype=np.int64))[:HEIGHT, :WIDTH].astype(np.uint8)
    probabilities = rng.random((len(DEFAULT_PROBABILITY_CLASSES), HEIGHT, WIDTH)).astype(np.float32)
    rgb = rng.random((3, HEIGHT, WIDTH)).astype(np.float32) * 0.4
    ndvi = rng.uniform(-0.2, 0.9, (HEIGHT, WIDTH)).astype(np.float32)
    return classes, probabilities, rgb, ndvi


def run(folder, arrays, options, block=300, info=None):
    classes, probabilities, rgb, ndvi = arrays
    grid = utm31_grid()
    info = info or RunInfo("S2X_TEST", "L1C", "cnn2d-test", {"resolution": 20, "super_resolution": False})
    with RunOutputs(folder, grid, info, options) as outputs:
        for block_ in iter_blocks(grid, block):
            rows, cols = block_.core.slices
            outputs.write(block_.core, classes[rows, cols], probabilities=probabilities[:, rows, cols],
                          ndvi=ndvi[rows, cols], rgb=rgb[:, rows, cols])
        report = outputs.finish({"predict": 1.5})
    return outputs, report


@pytest.fixture(scope="module")
def full_run(tmp_path_factory, arrays):
    folder = tmp_path_factory.mktemp("out")
    options = OutputOptions(dimap=True, scl=True, probability_classes=DEFAULT_PROBABILITY_CLASSES,
                            quicklook_size=300)
    outputs, report = run(folder, arrays, options)
    return folder, outputs, report


def test_every_output_has_its_design_name_and_nothing_else_is_left(full_run):
    folder, outputs, report = full_run
    names = output_names("S2X_TEST")
    assert sorted(os.listdir(folder)) == sorted([
        names["classes"], names["classes"] + ".aux.xml", names["classes_style"], names["probabilities"],
        names["probabilities_style"], names["scl"], names["scl"] + ".aux.xml", names["scl_style"], names["dimap"],
        names["dimap_data"], names["quicklook"], names["stac"], names["report"]])
    assert names["classes"] == "S2X_TEST_s2mask.tif" and names["dimap"] == "S2X_TEST_s2mask.dim"
    assert (names["classes_style"], names["scl_style"]) == ("S2X_TEST_s2mask.qml", "S2X_TEST_s2mask_scl.qml")
    assert {kind: path.name for kind, path in outputs.paths.items()} == report["outputs"]
    assert all(path.exists() for path in outputs.paths.values())


def test_class_cog_keeps_values_colours_names_nodata_crs_transform_metadata(full_run, arrays):
    folder, _, _ = full_run
    dataset = gdal.Open(str(folder / "S2X_TEST_s2mask.tif"))
    band = dataset.GetRasterBand(1)
    np.testing.assert_array_equal(band.ReadAsArray(), arrays[0])
    # QGIS's order: colour table first, then the category names as labels.
    table = band.GetColorTable()
    assert [table.GetColorEntry(c.value) for c in CLASS_TABLE] == [c.rgba for c in CLASS_TABLE]
    assert table.GetColorEntry(0)[3] == 0  # no data is transparent
    assert band.GetCategoryNames() == [c.name for c in CLASS_TABLE]
    assert band.GetNoDataValue() == 0
    assert band.GetDescription() == "s2mask_class"
    assert dataset.GetGeoTransform() == (300000.0, 20.0, 0.0, 4900020.0, 0.0, -20.0)
    assert dataset.GetSpatialRef().GetAuthorityCode(None) == "32631"
    metadata = dataset.GetMetadata()
    assert metadata["S2MASK_MODEL"] == "cnn2d-test"
    assert json.loads(metadata["S2MASK_PARAMETERS"]) == {"resolution": 20, "super_resolution": False}
    assert metadata["S2MASK_PRODUCT"] == "S2X_TEST" and metadata["TIFFTAG_SOFTWARE"].startswith("s2mask ")
    rat = band.GetDefaultRAT()
    assert [rat.GetValueAsString(row, 1) for row in range(rat.GetRowCount())] == [c.name for c in CLASS_TABLE]
    assert [rat.GetValueAsString(row, 6) for row in range(rat.GetRowCount())] == [c.description for c in CLASS_TABLE]
    assert band.GetMetadataItem("flag_meanings") == " ".join(c.name for c in CLASS_TABLE)


def test_class_output_is_a_cloud_optimized_geotiff(full_run):
    folder, _, _ = full_run
    dataset = gdal.Open(str(folder / "S2X_TEST_s2mask.tif"))
    band = dataset.GetRasterBand(1)
    assert dataset.GetMetadata("IMAGE_STRUCTURE")["LAYOUT"] == "COG"
    assert dataset.GetMetadata("IMAGE_STRUCTURE")["COMPRESSION"] == "DEFLATE"
    assert band.GetBlockSize() == [512, 512]
    assert [band.GetOverview(i).XSize for i in range(band.GetOverviewCount())] == [450]
    # Overviews of classes hold class values (MODE), never averages.
    assert set(np.unique(band.GetOverview(0).ReadAsArray())) <= {c.value for c in CLASS_TABLE}


def test_probability_cog_holds_percentages_with_class_names(full_run, arrays):
    folder, _, _ = full_run
    classes, probabilities, _, _ = arrays
    dataset = gdal.Open(str(folder / "S2X_TEST_s2mask_prob.tif"))
    assert dataset.RasterCount == len(DEFAULT_PROBABILITY_CLASSES)
    expected = encode_probabilities(probabilities, classes)
    for index, value in enumerate(DEFAULT_PROBABILITY_CLASSES):
        band = dataset.GetRasterBand(index + 1)
        assert band.GetDescription() == CLASS_TABLE[value].name
        assert band.GetNoDataValue() == 255
        np.testing.assert_array_equal(band.ReadAsArray(), expected[index])
    assert dataset.GetMetadata("IMAGE_STRUCTURE")["LAYOUT"] == "COG"


def test_scl_cog_holds_sen2cor_codes_and_names(full_run, arrays):
    folder, _, _ = full_run
    classes, _, _, ndvi = arrays
    dataset = gdal.Open(str(folder / "S2X_TEST_s2mask_scl.tif"))  # GDAL 3.6: a band does not keep it alive
    band = dataset.GetRasterBand(1)
    np.testing.assert_array_equal(band.ReadAsArray(), to_scl(classes, ndvi))
    table = band.GetColorTable()
    assert band.GetCategoryNames() == [SCL_NAMES[code] for code in range(12)]
    assert band.GetNoDataValue() == 0
    # ESA's SCL colours: vegetation, bare soil, shadows and unclassified no longer share one green.
    assert [table.GetColorEntry(code)[:3] for code in (3, 4, 5, 7)] == [(100, 50, 0), (0, 128, 0),
                                                                        (255, 230, 90), (129, 129, 129)]
    assert table.GetColorEntry(1) == (255, 0, 0, 255)


def test_dimap_of_a_run_carries_probabilities_and_run_metadata(full_run, arrays):
    folder, _, _ = full_run
    root = etree.parse(str(folder / "S2X_TEST_s2mask.dim")).getroot()
    assert [i.findtext("BAND_NAME") for i in root.iter("Spectral_Band_Info")] == \
        ["s2mask_class", *(f"prob_{CLASS_TABLE[v].name.lower()}" for v in DEFAULT_PROBABILITY_CLASSES)]
    attributes = {a.get("name"): a.text for a in root.iter("MDATTR")}
    assert attributes["S2MASK_MODEL"] == "cnn2d-test" and not any(k.startswith("TIFFTAG") for k in attributes)
    image = np.fromfile(folder / "S2X_TEST_s2mask.data" / "s2mask_class.img", dtype=">u1")
    np.testing.assert_array_equal(image.reshape(HEIGHT, WIDTH), arrays[0])


def test_encode_probabilities_golden():
    probabilities = np.array([[[0.0, 0.004, 0.555, 1.2], [np.nan, 0.5, -0.1, 0.999]]], dtype=np.float32)
    classes = np.array([[1, 1, 1, 1], [1, 0, 1, 1]], dtype=np.uint8)
    np.testing.assert_array_equal(encode_probabilities(probabilities, classes),
                                  [[[0, 0, 56, 100], [255, 255, 0, 100]]])


def test_report_matches_the_written_classes(full_run, arrays):
    folder, _, report = full_run
    on_disk = json.loads((folder / "S2X_TEST_s2mask_report.json").read_text())
    assert on_disk == report
    counts = np.bincount(arrays[0].ravel(), minlength=7)
    assert [report["classes"][c.name]["pixels"] for c in CLASS_TABLE] == counts.tolist()
    valid = counts[1:].sum()
    assert report["cloud_cover_percent"] == pytest.approx(100 * (counts[4] + counts[5]) / valid, abs=1e-4)
    assert report["valid_percent"] == pytest.approx(100 * valid / counts.sum(), abs=1e-4)
    assert report["pixels"] == {"total": HEIGHT * WIDTH, "valid": valid, "no_data": counts[0]}
    assert report["grid"]["upper_left_x_m"] == 300000.0 and report["grid"]["width_px"] == WIDTH
    assert report["timings_s"]["predict"] == 1.5 and report["timings_s"]["close"] >= 0


def test_cog_writer_blocks_of_any_size_give_the_same_file_content(tmp_path, arrays):
    classes = arrays[0]
    grid = utm31_grid()
    for block in (128, 333):
        path, scratch = tmp_path / f"c{block}.tif", tmp_path / f"s{block}.tif"
        with class_cog(path, scratch, grid, {}) as writer:
            for block_ in iter_blocks(grid, block):
                writer.write(block_.core, classes[block_.core.slices])
        assert not scratch.exists()
        np.testing.assert_array_equal(gdal.Open(str(path)).ReadAsArray(), classes)


def test_cog_writer_refuses_wrong_shapes_and_windows(tmp_path):
    grid = utm31_grid(10, 10)
    with probability_cog(tmp_path / "p.tif", tmp_path / "s.tif", grid, (1, 4), {}) as writer:
        with pytest.raises(ValueError, match="expected uint8"):
            writer.write(Window(0, 0, 10, 10), np.zeros((10, 10), np.uint8))
        with pytest.raises(ValueError, match="outside"):
            writer.write(Window(5, 5, 10, 10), np.zeros((2, 10, 10), np.uint8))
        writer.write(Window(0, 0, 10, 10), np.zeros((2, 10, 10), np.uint8))


def test_finish_refuses_a_run_with_gaps(tmp_path, arrays):
    grid = utm31_grid()
    with pytest.raises(OutputError, match="wrote 90000 of 630000 pixels"):
        with RunOutputs(tmp_path, grid, RunInfo("P"), OutputOptions(quicklook=False)) as outputs:
            outputs.write(Window(0, 0, 100, 900), arrays[0][:100])
            outputs.finish()
    assert os.listdir(tmp_path) == []


def test_leaving_without_finish_writes_nothing(tmp_path):
    with pytest.raises(OutputError, match="finish"):
        with RunOutputs(tmp_path, utm31_grid(), RunInfo("P")):
            pass
    assert os.listdir(tmp_path) == []


def test_ctrl_c_just_after_the_stage_is_made_leaves_nothing(tmp_path, monkeypatch):
    enter = OutputStage.__enter__

    def enter_then_interrupted(stage):
        enter(stage)
        raise KeyboardInterrupt  # as a SIGINT landing between the stage's return and the writers

    monkeypatch.setattr(OutputStage, "__enter__", enter_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        with RunOutputs(tmp_path / "out", utm31_grid(), RunInfo("P")):
            pass
    assert os.listdir(tmp_path) == []


def test_exception_mid_run_keeps_previous_outputs_and_adds_nothing(tmp_path, arrays):
    run(tmp_path, arrays, OutputOptions(dimap=True, quicklook=False, report=False))
    before = {name: (tmp_path / name).stat().st_mtime_ns for name in os.listdir(tmp_path)}
    grid = utm31_grid()
    with pytest.raises(ZeroDivisionError):
        with RunOutputs(tmp_path, grid, RunInfo("S2X_TEST"), OutputOptions(dimap=True)) as outputs:
            outputs.write(Window(0, 0, 100, 900), arrays[0][:100])
            raise ZeroDivisionError("model crashed")
    assert {name: (tmp_path / name).stat().st_mtime_ns for name in os.listdir(tmp_path)} == before


def test_disk_full_in_the_dimap_mid_run_leaves_nothing(tmp_path, arrays, monkeypatch):
    calls = {"n": 0}
    real_pwrite = os.pwrite

    def pwrite(fd, data, offset):
        calls["n"] += 1
        if calls["n"] > 5:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_pwrite(fd, data, offset)

    monkeypatch.setattr(dimap_module.os, "pwrite", pwrite)
    with pytest.raises(OutputError, match="no space left on device") as caught:
        run(tmp_path, arrays, OutputOptions(dimap=True))
    assert caught.value.path == tmp_path / "S2X_TEST_s2mask.data" / "s2mask_class.img"
    assert os.listdir(tmp_path) == []


def test_a_real_gdal_write_failure_mid_run_leaves_nothing(tmp_path):
    """RLIMIT_FSIZE makes write(2) fail (EFBIG) inside GDAL, as a full disk would; run in a child process."""
    script = textwrap.dedent(f"""
        import resource, signal, sys
        import numpy as np
        sys.path.insert(0, {os.path.dirname(__file__)!r})
        from test_writers import utm31_grid
        from s2mask.errors import OutputError
        from s2mask.grid import iter_blocks
        from s2mask.io.writers import OutputOptions, RunInfo, RunOutputs
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, 200_000))
        grid = utm31_grid(1500, 1500)
        classes = np.random.default_rng(0).integers(0, 7, grid.shape).astype(np.uint8)
        try:
            with RunOutputs(sys.argv[1], grid, RunInfo("P"), OutputOptions(quicklook=False)) as outputs:
                for block in iter_blocks(grid, 512):
                    outputs.write(block.core, classes[block.core.slices])
                outputs.finish()
        except OutputError as err:
            print("OutputError:", err)
    """)
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert f"OutputError: {tmp_path / 'P_s2mask.tif'}: cannot write:" in done.stdout, done.stdout + done.stderr
    assert "Exception ignored" not in done.stderr
    assert os.listdir(tmp_path) == []
