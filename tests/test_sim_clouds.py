"""Cloudy synthetic scenes: truth classes, shadow geometry and plausible spectra."""

import numpy as np
import pytest

from s2mask.classes import MaskClass
from s2mask.physics import shadow_direction
from s2mask.resample import downsample_mean
from s2mask.sim import clouds
from s2mask.sim.clouds import cloudy_scene
from s2mask.sim.scene import landscape, smooth_field
from s2mask.sim.spectra import FIXED_SURFACES, SURFACE_SPECTRA, band_position, cloud_top_b10, varied_surface_spectra

C = MaskClass


@pytest.fixture(scope="module")
def scene():
    return cloudy_scene(480, 480, seed=4, sun_zenith=40.0, sun_azimuth=150.0, nodata_fraction=0.05)


def test_truth_holds_every_class_and_follows_the_layers(scene):
    truth = scene.truth
    assert truth.shape == (480, 480) and truth.dtype == np.uint8
    assert set(np.unique(truth)) == set(range(7))
    assert (truth[scene.invalid] == C.NO_DATA).all()
    valid = ~scene.invalid
    assert ((scene.cloud_opacity >= clouds.OPAQUE_OPACITY) == (truth == C.CLOUD))[valid].all()
    thin = (scene.cloud_opacity >= clouds.THIN_OPACITY) | (scene.cirrus >= clouds.THIN_CIRRUS)
    assert ((thin & (truth != C.CLOUD)) == (truth == C.THIN_CLOUD))[valid].all()
    shadow = (scene.shadow >= clouds.SHADOW_FRACTION) & ~thin
    assert (shadow == (truth == C.CLOUD_SHADOW))[valid].all()
    assert 0.03 < scene.invalid.mean() < 0.08


def test_the_same_seed_gives_the_same_scene_and_another_a_different_one():
    a = cloudy_scene(120, 120, seed=1, sun_zenith=30.0, sun_azimuth=140.0)
    b = cloudy_scene(120, 120, seed=1, sun_zenith=30.0, sun_azimuth=140.0)
    c = cloudy_scene(120, 120, seed=2, sun_zenith=30.0, sun_azimuth=140.0)
    np.testing.assert_array_equal(a.truth, b.truth)
    np.testing.assert_array_equal(a.render("B2"), b.render("B2"))
    assert (a.truth != c.truth).mean() > 0.1


def test_one_cloud_casts_its_shadow_height_times_tan_zenith_away_from_the_sun():
    amount = np.zeros((200, 200), dtype=np.float32)
    amount[150:170, 120:140] = 1.0
    transmitted = np.ones_like(amount)
    b10 = np.zeros_like(amount)
    deck = clouds.CloudDeck((1500.0, 1500.0), 1.0, 1.0)
    # Sun in the south-east at 45 degrees: 1.5 km north-west, i.e. 150 / sqrt(2) = 106 px at 10 m up and left.
    direction = shadow_direction(45.0, 135.0, 0.0, 0.0, 10.0)
    clouds._cast_shadows(amount, deck, direction, 1.0, np.random.default_rng(0), transmitted, b10)
    rows, cols = np.nonzero(transmitted < 0.5)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (150 - 106, 169 - 106, 120 - 106, 139 - 106)
    assert (transmitted == 0).sum() == 400 and (transmitted == 1).sum() == 200 * 200 - 400
    np.testing.assert_allclose(b10[150:170, 120:140], cloud_top_b10(1500.0))


@pytest.mark.parametrize("azimuth", [150.0, 250.0])
def test_scene_shadows_lie_on_the_anti_solar_side(azimuth):
    scene = cloudy_scene(360, 360, seed=2, sun_zenith=45.0, sun_azimuth=azimuth, view_zenith=0.0,
                         thin_cover=0.0, cirrus_cover=0.0, cloud_cover=0.15, cloud_size=40)
    cloud = downsample_mean((scene.cloud_opacity > 0.3).astype(np.float32), 4) > 0.5
    shadow = downsample_mean((scene.shadow > 0.3).astype(np.float32), 4) > 0.5
    overlaps = {(dr, dc): (np.roll(cloud, (dr, dc), axis=(0, 1)) & shadow).sum()
                for dr in range(-40, 41) for dc in range(-40, 41)}
    dr, dc = max(overlaps, key=overlaps.get)
    direction = np.degrees(np.arctan2(dc, -dr)) % 360  # east of north; rows grow southward
    assert abs((direction - azimuth - 180 + 180) % 360 - 180) < 12
    height = np.hypot(dr, dc) * 40.0  # 40 m pixels, tan(45) = 1
    assert clouds.CUMULUS.heights[0] - 100 <= height <= clouds.CUMULUS.heights[1] + 100


def test_spectra_are_physically_plausible(scene):
    def median(band, cls):
        return float(np.nanmedian(scene.render(band, "L1C")[scene.truth == cls]))

    cloud = [median(b, C.CLOUD) for b in ("B2", "B3", "B4", "B8", "B11", "B12")]
    assert max(cloud[:4]) - min(cloud[:4]) < 0.1 * np.mean(cloud[:4])  # flat across the VNIR
    assert cloud[4] < cloud[3] and cloud[5] < cloud[4]  # lower in the SWIR
    assert median("B3", C.SNOW_ICE) > 0.6 and median("B11", C.SNOW_ICE) < 0.15
    assert median("B8", C.WATER) < 0.05 and median("B8", C.CLEAR_LAND) > 0.15
    assert median("B8", C.CLOUD_SHADOW) < 0.5 * median("B8", C.CLEAR_LAND)
    b10 = scene.render("B10", "L1C")
    cirrus_only = (scene.cirrus >= clouds.THIN_CIRRUS) & (scene.cloud_opacity < 0.05)
    assert np.nanmedian(b10[cirrus_only]) >= clouds.THIN_CIRRUS
    assert np.nanmedian(b10[scene.truth == C.CLEAR_LAND]) < 0.003
    assert np.isnan(scene.render("B4")[scene.invalid]).all()


def test_l2a_is_the_surface_where_clear_and_brighter_clouds_in_the_blue(scene):
    clear = (scene.truth == C.CLEAR_LAND) & (scene.shadow == 0) & (scene.cirrus == 0) & (scene.cloud_opacity == 0)
    expected = np.array([v[band_position("B4")] for v in SURFACE_SPECTRA.values()], np.float32)[scene.cover]
    np.testing.assert_allclose(scene.render("B4", "L2A")[clear], (expected * scene.texture)[clear], atol=1e-5)
    cloud = scene.truth == C.CLOUD
    assert np.median(scene.render("B2", "L2A")[cloud]) > np.median(scene.render("B2", "L1C")[cloud])


def test_smooth_field_and_landscape_are_deterministic_and_unbiased():
    rng = np.random.default_rng(0)
    field = smooth_field((300, 240), 20, rng)
    assert field.dtype == np.float32 and field.shape == (300, 240)
    assert abs(float(field.mean())) < 0.2 and 0.4 < float(field.std()) < 1.0
    a, b = landscape(120, 120, seed=3), landscape(120, 120, seed=3)
    np.testing.assert_array_equal(a.cover, b.cover)
    np.testing.assert_array_equal(a.texture, b.texture)


def test_varied_spectra_change_land_smoothly_and_leave_water_and_snow():
    varied = varied_surface_spectra(np.random.default_rng(5), 0.2)
    assert varied.keys() == SURFACE_SPECTRA.keys()
    for name, spectrum in varied.items():
        ratio = spectrum / SURFACE_SPECTRA[name]
        if name in FIXED_SURFACES:
            np.testing.assert_array_equal(ratio, 1)
            continue
        assert np.abs(np.log(ratio)).max() > 0.01 and spectrum.max() <= 0.95
        # one factor per wavelength region: neighbouring red-edge bands move together
        red_edge = np.log(ratio[[band_position(b) for b in ("B5", "B6", "B7")]])
        assert np.ptp(red_edge) < 0.5 * np.abs(np.log(ratio)).max() + 1e-6
    again = varied_surface_spectra(np.random.default_rng(5), 0.2)
    assert all(np.array_equal(again[name], varied[name]) for name in varied)


def test_a_scene_with_its_own_spectra_keeps_its_layers_and_truth(scene):
    spectra = varied_surface_spectra(np.random.default_rng(1), 0.2)
    other = cloudy_scene(480, 480, seed=4, sun_zenith=40.0, sun_azimuth=150.0, nodata_fraction=0.05,
                         surface_spectra=spectra)
    np.testing.assert_array_equal(other.truth, scene.truth)
    land = (scene.truth == C.CLEAR_LAND) & (scene.shadow == 0) & (scene.cirrus == 0) & (scene.cloud_opacity == 0)
    expected = np.array([v[band_position("B12")] for v in spectra.values()], np.float32)[other.cover]
    np.testing.assert_allclose(other.render("B12", "L2A")[land], (expected * other.texture)[land], atol=1e-5)
    assert not np.allclose(other.render("B12", "L2A")[land], scene.render("B12", "L2A")[land])
