"""Geometric shadow projection: the direction convention and the per-object height matching."""

import numpy as np
import pytest

from s2mask.classes import MaskClass
from s2mask.physics import shadow as shadow_module
from s2mask.physics import shadow_direction, shadow_pass
from s2mask.physics.shadow import (
    MAX_CLOUD_HEIGHT,
    MAX_SAMPLES,
    ObjectPixels,
    _block_reduce,
    _sample_pixels,
    object_boxes,
)

C = MaskClass


def test_shadows_fall_away_from_the_sun_with_rows_growing_south():
    # Sun in the south-east at 45 degrees: a 1 km cloud's shadow lies 1 km to the north-west.
    drow, dcol = shadow_direction(45.0, 135.0, 0.0, 0.0, resolution=10.0)
    assert drow * 1000 == pytest.approx(-100 / np.sqrt(2) * np.sqrt(2) * np.cos(np.pi / 4))
    assert dcol * 1000 == pytest.approx(-100 * np.sin(np.pi / 4))
    # Evening sun in the west: shadow to the east, same row.
    drow, dcol = shadow_direction(60.0, 270.0, 0.0, 0.0, resolution=20.0)
    assert drow * 1000 == pytest.approx(0, abs=1e-9) and dcol * 1000 == pytest.approx(np.tan(np.pi / 3) * 50)
    # Southern-hemisphere noon sun in the north: shadow to the south (larger rows).
    drow, dcol = shadow_direction(30.0, 0.0, 0.0, 0.0, resolution=10.0)
    assert drow > 0 and dcol == pytest.approx(0, abs=1e-12)


def test_parallax_moves_the_shadow_towards_the_sensor_side():
    # Sensor in the east: the image shows the cloud displaced west, so its shadow is further east of it.
    no_view = np.array(shadow_direction(40.0, 180.0, 0.0, 0.0, resolution=10.0))
    east_view = np.array(shadow_direction(40.0, 180.0, 10.0, 90.0, resolution=10.0))
    np.testing.assert_allclose(east_view - no_view, [0, np.tan(np.radians(10)) / 10], atol=1e-12)


def _scene(size=240, cloud=(100, 100, 30), shift=(-40, -20), decoy=None):
    """Classes with one square cloud and a dark square ``shift`` pixels away (plus an optional decoy)."""
    classes = np.full((size, size), C.CLEAR_LAND, dtype=np.uint8)
    potential = np.zeros((size, size), dtype=np.float32)
    r, c, n = cloud
    classes[r:r + n, c:c + n] = C.CLOUD
    potential[r + shift[0]:r + shift[0] + n, c + shift[1]:c + shift[1] + n] = 0.9
    if decoy is not None:
        potential[decoy[0]:decoy[0] + n, decoy[1]:decoy[1] + n] = 0.9
    return classes, potential


def _sun_for(shift, height, resolution):
    """Sun angles (view at nadir) that put a cloud at ``height`` metres ``shift`` pixels away."""
    drow, dcol = shift
    distance = np.hypot(drow, dcol) * resolution
    azimuth = np.degrees(np.arctan2(-dcol, drow)) % 360  # shadow direction + 180, with north = -row
    return float(np.degrees(np.arctan(distance / height))), float(azimuth)


def test_the_matching_height_paints_the_shadow_and_ignores_a_decoy():
    classes, potential = _scene(decoy=(160, 160))
    zenith, azimuth = _sun_for((-40, -20), 2000.0, 20.0)
    result = shadow_pass(classes, potential, sun_zenith=zenith, sun_azimuth=azimuth, resolution=20.0)
    shadow = result == C.CLOUD_SHADOW
    assert shadow[60:90, 80:110].mean() > 0.95  # the true shadow (its part not under the cloud)
    assert not shadow[160:190, 160:190].any()  # a dark patch off the sun line
    assert (result[classes == C.CLOUD] == C.CLOUD).all()
    assert ((result == classes) | shadow).all()


def test_per_pixel_angles_give_the_scalar_result():
    classes, potential = _scene()
    zenith, azimuth = _sun_for((-40, -20), 3000.0, 20.0)
    scalar = shadow_pass(classes, potential, sun_zenith=zenith, sun_azimuth=azimuth, resolution=20.0)
    grids = shadow_pass(classes, potential, sun_zenith=np.full(classes.shape, zenith, np.float32),
                        sun_azimuth=np.full(classes.shape, azimuth, np.float32),
                        view_zenith=np.zeros(classes.shape), view_azimuth=np.zeros(classes.shape), resolution=20.0)
    np.testing.assert_array_equal(scalar, grids)
    assert (scalar == C.CLOUD_SHADOW).sum() > 500


def test_no_match_no_shadow():
    classes, potential = _scene(shift=(-40, -20))
    # The sun in the north-west: the shadow would lie south-east, where nothing is dark.
    result = shadow_pass(classes, potential, sun_zenith=40.0, sun_azimuth=315.0, resolution=20.0)
    assert not (result == C.CLOUD_SHADOW).any()
    # A match would need a cloud higher than the search range.
    zenith, azimuth = _sun_for((-40, -20), MAX_CLOUD_HEIGHT * 3, 20.0)
    result = shadow_pass(classes, potential, sun_zenith=zenith, sun_azimuth=azimuth, resolution=20.0)
    assert not (result == C.CLOUD_SHADOW).any()
    empty = np.full((50, 50), C.CLEAR_LAND, dtype=np.uint8)
    np.testing.assert_array_equal(shadow_pass(empty, np.ones((50, 50)), sun_zenith=30.0, sun_azimuth=150.0,
                                              resolution=10.0), empty)


def test_shadows_stay_off_no_data_and_need_darkness():
    classes, potential = _scene()
    classes[60:75, :] = C.NO_DATA
    potential[80:90, 80:110] = 0.1  # a bright strip inside the projected footprint
    zenith, azimuth = _sun_for((-40, -20), 2000.0, 20.0)
    result = shadow_pass(classes, potential, sun_zenith=zenith, sun_azimuth=azimuth, resolution=20.0)
    assert (result[60:75] == C.NO_DATA).all()
    assert not (result[80:90, 80:110] == C.CLOUD_SHADOW).any()
    assert (result[75:80, 80:110] == C.CLOUD_SHADOW).all()
    with pytest.raises(ValueError, match="does not match"):
        shadow_pass(classes, potential[:10], sun_zenith=30.0, sun_azimuth=150.0, resolution=20.0)


def test_block_reduction_sums_and_maxima_with_edge_repetition():
    values = np.arange(7 * 5, dtype=np.uint8).reshape(7, 5)
    padded = np.pad(values, ((0, 2), (0, 1)), mode="edge").astype(np.int64)
    blocks = padded.reshape(3, 3, 2, 3)
    np.testing.assert_array_equal(_block_reduce(values, 3, "sum"), blocks.sum(axis=(1, 3)))
    np.testing.assert_array_equal(_block_reduce(values > 20, 3, "max"), blocks.max(axis=(1, 3)) > 20)


def test_samples_cap_large_objects_and_keep_small_ones_whole():
    labels = np.zeros((400, 400), dtype=np.int64)
    labels[10:390, 10:200] = 1  # 72200 pixels
    labels[100:110, 300:310] = 2  # 100 pixels
    rows, cols, objects = _sample_pixels(ObjectPixels(labels, object_boxes(labels), labels.shape))
    assert np.all(labels[rows, cols] == objects)
    large = objects == 1
    assert MAX_SAMPLES <= large.sum() <= 4 * MAX_SAMPLES
    assert rows[large].min() < 30 and rows[large].max() > 370  # spread over the whole object
    assert (objects == 2).sum() == 100


def test_splitting_the_heights_among_threads_changes_nothing(monkeypatch):
    classes, potential = _scene(decoy=(160, 160))
    zenith, azimuth = _sun_for((-40, -20), 2000.0, 20.0)
    results = []
    for threads in (1, 3):
        monkeypatch.setattr(shadow_module, "_threads", lambda threads=threads: threads)
        results.append(shadow_pass(classes, potential, sun_zenith=zenith, sun_azimuth=azimuth, resolution=20.0))
    np.testing.assert_array_equal(results[0], results[1])
    assert (results[0] == C.CLOUD_SHADOW).any()
