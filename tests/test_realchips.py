"""The real 4-band chips with and without human cloud labels (skipped when ../shared/data is absent)."""

import numpy as np
import pytest

from s2mask.classes import MaskClass
from s2mask.train import realchips, realdata


@pytest.fixture(autouse=True)
def _data(real_data, monkeypatch):
    monkeypatch.setenv(realdata.DATA_ENV, str(real_data))


def test_labelled_chips_hold_four_l2a_bands_and_labels_on_their_grid():
    chips = realchips.labelled_chips()
    assert [chip.name for chip in chips][:3] == ["oncloudn_chip_id_1", "oncloudn_chip_id_2", "course_100301"]
    for chip in chips:
        assert chip.scene.level == "L2A" and tuple(chip.scene.bands) == ("B2", "B3", "B4", "B8")
        assert chip.scene.bands["B2"].shape == (512, 512)
        assert chip.cloud.shape == (int(5120 / chip.label_resolution),) * 2
        assert set(np.unique(chip.cloud)) <= {0, 1}
    # the README's pixel counts (clear / cloud)
    assert int(chips[0].cloud.sum()) == 156841
    assert sum(int(chip.cloud.sum()) for chip in chips[2:]) == 203032


def test_a_chip_scores_cloud_and_thin_cloud_as_cloud_on_the_label_grid():
    chip = realchips.course_chips()[0]
    perfect = np.where(chip.cloud.repeat(2, 0).repeat(2, 1) == 1, MaskClass.THIN_CLOUD, MaskClass.WATER)
    confusion = chip.confusion(perfect.astype(np.uint8))
    assert confusion[0, 1] == confusion[1, 0] == 0 and confusion.sum() == 256 * 256
    nodata = perfect.astype(np.uint8)
    nodata[:2] = MaskClass.NO_DATA
    assert chip.confusion(nodata).sum() == 255 * 256


def test_unlabelled_chips_get_overpass_sun_angles():
    chips = realchips.oncloudn_unlabelled()
    assert [chip.name for chip in chips] == ["oncloudn_adwp", "oncloudn_adwu", "oncloudn_adwz", "oncloudn_adxp",
                                              "oncloudn_akny"]
    # Chifunfu (2.5 S) at the end of April: the sun stands north-east in the morning
    assert 20 < chips[0].sun_zenith < 35 and 30 < chips[0].sun_azimuth < 70


def test_imputed_swir_is_the_mean_of_the_nearest_real_spectra(monkeypatch):
    rng = np.random.default_rng(1)
    land, cloud = np.array([0.05, 0.08, 0.07, 0.3]), np.array([0.5, 0.5, 0.5, 0.55])
    visible = np.concatenate([land + rng.normal(0, 0.005, (8, 4)), cloud + rng.normal(0, 0.005, (8, 4))])
    swir = np.repeat([[0.2, 0.1], [0.4, 0.3]], 8, axis=0)
    monkeypatch.setattr(realchips, "swir_library", lambda: (visible, swir))
    chip = realchips.course_chips()[0]
    bands = {band: np.where(np.arange(512) < 256, land[i], cloud[i]).astype(np.float32)[None].repeat(512, 0)
             for i, band in enumerate(realchips.CHIP_BANDS)}
    chip = realchips.LabelledChip(realdata.RealScene("half", "L2A", 10.0, bands), chip.cloud, chip.label_resolution)
    (imputed,) = realchips.with_imputed_swir([chip])
    assert imputed.scene.bands["B11"][:, :256] == pytest.approx(0.2)
    assert imputed.scene.bands["B12"][:, 256:] == pytest.approx(0.3)
    assert imputed.scene.bands["B2"] is bands["B2"] and imputed.cloud is chip.cloud and "B11" not in chip.scene.bands
