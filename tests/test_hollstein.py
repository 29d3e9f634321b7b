"""The Hollstein/SICOR teacher: the recipe's binning, and its published figures on real data."""

import numpy as np
import pytest

from s2mask.classes import MaskClass
from s2mask.train import hollstein, realdata


@pytest.fixture(scope="module")
def teacher(real_data):
    return hollstein.HollsteinTeacher(real_data / hollstein.MODEL_FILE)


def test_binning_follows_searchsorted_left_shifted_by_one(teacher):
    edges = teacher.edges[0]
    values = np.array([[-1.0, edges[0], edges[1], (edges[1] + edges[2]) / 2, edges[2], edges[24], 9.0]] * 5)
    bins = teacher.bins(values)
    # below the first edge and on the first two edges: bin 0; strictly inside (e1, e2]: bin 1; beyond: 24
    assert bins[0].tolist()[:3] == [0, 0, 0]
    assert bins[0, 3] == 1 and bins[0, 4] == 1 and bins[0, 6] == 24 and bins[0, 5] == 23


def test_safe_index_and_class_mapping():
    out = hollstein._safe_index(np.array([0.1, 0.0, np.nan]), np.array([0.1, 0.0, 0.2]))
    assert out.tolist() == [0.0, 0.0, 0.0]
    assert hollstein._safe_index(np.array([1.0]), np.array([-1.0 + 1e-9]))[0] == 100
    labels = np.array([10, 20, 30, 40, 50, 60, 255], dtype=np.uint8)
    assert hollstein.to_classes(labels).tolist() == [
        MaskClass.CLEAR_LAND, MaskClass.WATER, MaskClass.CLOUD_SHADOW, MaskClass.THIN_CLOUD, MaskClass.CLOUD,
        MaskClass.SNOW_ICE, MaskClass.NO_DATA]


def test_betsiboka_reproduces_the_readme_figures(teacher):
    scene = realdata.betsiboka()
    labels, confidence = teacher.predict(scene.bands)
    fractions = {hollstein.LABEL_NAMES[v]: c / labels.size for v, c in zip(*np.unique(labels, return_counts=True))}
    assert fractions["Clear"] == pytest.approx(0.344, abs=0.002)
    assert fractions["Cirrus"] == pytest.approx(0.333, abs=0.002)
    assert fractions["Cloud"] == pytest.approx(0.176, abs=0.002)
    assert fractions["Shadow"] == pytest.approx(0.075, abs=0.002)
    assert fractions["Water"] == pytest.approx(0.072, abs=0.002)
    cloudy = np.isin(labels, (40, 50))
    assert (cloudy == scene.references["s2cloudless_mask"]).mean() == pytest.approx(0.865, abs=0.002)
    assert confidence.dtype == np.float32 and 0.16 < confidence.min() and confidence.max() <= 1.0


def test_the_pb04_offset_matters_and_no_data_is_255(teacher):
    clear_n0209, clear_n0400 = realdata.ukis()
    for scene, clear in ((clear_n0209, 0.88), (clear_n0400, 0.889)):
        labels, _ = teacher.predict(scene.bands)
        assert (labels == 10).mean() == pytest.approx(clear, abs=0.002)
    without_offset = {name: band + np.float32(0.1) for name, band in clear_n0400.bands.items()}
    labels, _ = teacher.predict(without_offset)
    assert (labels == 40).mean() > 0.9  # README: 94 % cirrus without the offset
    bands = dict(clear_n0209.bands)
    bands["B2"] = bands["B2"].copy()
    bands["B2"][0, 0] = 0.0
    bands["B9"] = bands["B9"].copy()
    bands["B9"][0, 1] = np.nan
    labels, confidence = teacher.predict(bands)
    assert labels[0, 0] == labels[0, 1] == 255 and confidence[0, 0] == 0


def test_missing_bands_are_refused(teacher):
    scene = realdata.ukis()[0]
    bands = {k: v for k, v in scene.bands.items() if k != "B10"}
    with pytest.raises(hollstein.MissingBandError, match="B10"):
        teacher.predict(bands)
