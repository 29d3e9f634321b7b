"""Evaluation against reference masks: hand-computed scores, reference reading, the CLI."""

import json

import numpy as np
import pytest

from s2mask.classes import MaskClass
from s2mask.cli import main
from s2mask.errors import ParameterError
from s2mask.evaluation.compare import compare, match_grid, one_vs_rest_balanced_accuracy, read_reference

C, L, S = MaskClass.CLOUD, MaskClass.CLEAR_LAND, MaskClass.CLOUD_SHADOW


def test_scores_of_a_small_confusion_matrix_by_hand():
    # reference: 6 cloud, 4 clear; prediction: 5 of the clouds right, 1 as clear; 1 clear as cloud
    reference = np.array([C] * 6 + [L] * 4, dtype=np.uint8)[None]
    predicted = np.array([C] * 5 + [L] + [C] + [L] * 3, dtype=np.uint8)[None]
    result = compare(reference, predicted, "cloud")
    assert result["confusion_matrix"] == [[3, 1], [1, 5]]  # rows clear, cloud
    cloud = result["per_group"]["cloud"]
    assert cloud["f1"] == pytest.approx(10 / 12)
    assert cloud["iou"] == pytest.approx(5 / 7)
    assert cloud["balanced_accuracy"] == pytest.approx(0.5 * (5 / 6 + 3 / 4))
    assert result["balanced_accuracy"] == pytest.approx(0.5 * (5 / 6 + 3 / 4))
    # MCC = (tp tn - fp fn) / sqrt(...) = (15 - 1) / sqrt(6 * 4 * 6 * 4) = 14 / 24
    assert result["normalized_mcc"] == pytest.approx((14 / 24 + 1) / 2)


def test_one_vs_rest_balanced_accuracy_of_three_groups():
    cm = np.array([[5, 0, 1], [2, 3, 0], [0, 0, 4]])
    # group 0: recall 5/6, specificity (3 + 0 + 0 + 4) / 9
    np.testing.assert_allclose(one_vs_rest_balanced_accuracy(cm)[0], 0.5 * (5 / 6 + 7 / 9))


def test_no_data_is_left_out_and_groupings_merge_classes():
    reference = np.array([[C, MaskClass.THIN_CLOUD, L, 0]], dtype=np.uint8)
    predicted = np.array([[MaskClass.THIN_CLOUD, C, MaskClass.WATER, C]], dtype=np.uint8)
    result = compare(reference, predicted, "cloud")
    assert result["pixels"] == 3 and result["balanced_accuracy"] == 1.0
    assert compare(reference, predicted, "classes")["pixels"] == 3


def test_references_from_npz_and_geotiff_with_mappings(tmp_path):
    scl = np.array([[9, 8, 4], [3, 6, 0]], dtype=np.uint8)
    np.savez(tmp_path / "ref.npz", scl=scl)
    classes = read_reference(tmp_path / "ref.npz", "scl")
    np.testing.assert_array_equal(classes, [[C, C, L], [S, MaskClass.WATER, 0]])
    custom = read_reference(tmp_path / "ref.npz", '{"9": 4}')
    assert custom[0, 0] == C and custom[0, 2] == 0
    with pytest.raises(ParameterError):
        read_reference(tmp_path / "ref.npz", "nonsense")
    assert match_grid(classes, (4, 6)).shape == (4, 6)


def test_evaluate_cli_scores_a_class_geotiff(tmp_path, capsys):
    from osgeo import gdal

    prediction = np.array([[C, C, L, L]] * 4, dtype=np.uint8)
    dataset = gdal.GetDriverByName("GTiff").Create(str(tmp_path / "pred.tif"), 4, 4, 1, gdal.GDT_Byte)
    dataset.GetRasterBand(1).WriteArray(prediction)
    del dataset
    np.savez(tmp_path / "ref.npz", mask=(prediction == C).astype(np.uint8))
    code = main(["evaluate", str(tmp_path / "pred.tif"), "--reference", str(tmp_path / "ref.npz"),
                 "--mapping", "binary_cloud", "--grouping", "cloud", "--json", str(tmp_path / "out.json")])
    assert code == 0
    assert "| input | 1.000 | 1.000 |" in capsys.readouterr().out
    assert json.loads((tmp_path / "out.json").read_text())["input"]["pixels"] == 16


def _npz_inputs(folder):
    """A cloudy synthetic scene's bands at 20 m (with its sun angles) and its truth, as .npz files."""
    from s2mask.bands import ALL_BANDS, NATIVE_RESOLUTION
    from s2mask.evaluation.metrics import majority
    from s2mask.resample import resample_to_resolution
    from s2mask.sim.clouds import cloudy_scene

    scene = cloudy_scene(240, 240, seed=2, sun_zenith=35.0, sun_azimuth=140.0, cloud_cover=0.3)
    bands = {b: resample_to_resolution(scene.band(b), NATIVE_RESOLUTION[b], 20) for b in ALL_BANDS}
    np.savez(folder / "bands.npz", sun_zenith=35.0, sun_azimuth=140.0, **bands)
    np.savez(folder / "truth.npz", truth=majority(scene.truth, 2))
    return ["evaluate", str(folder / "bands.npz"), "-r", str(folder / "truth.npz"), "--grouping", "cloud_shadow",
            "--model", "physics", "--json", str(folder / "out.json")]


def test_evaluate_cli_runs_s2mask_physics_on_npz_bands(tmp_path, capsys):
    assert main([*_npz_inputs(tmp_path), "--no-peers"]) == 0
    results = json.loads((tmp_path / "out.json").read_text())
    assert set(results) == {"s2mask physics"} and results["s2mask physics"]["normalized_mcc"] > 0.8
    assert "confusion matrix" in capsys.readouterr().out


def test_evaluate_cli_runs_the_peers_beside_s2mask(tmp_path):
    """The peers extra (pip install s2mask[peers]): without it this test says so in the skip summary."""
    pytest.importorskip("s2cloudless")
    pytest.importorskip("ukis_csmask")
    assert main(_npz_inputs(tmp_path)) == 0
    results = json.loads((tmp_path / "out.json").read_text())
    assert set(results) == {"s2mask physics", "s2cloudless", "ukis-csmask"}, set(results)
    assert results["s2mask physics"]["normalized_mcc"] > 0.8
