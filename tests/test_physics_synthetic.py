"""The physics classifier against the exact truth of cloudy synthetic scenes (20 m, L1C and L2A).

The IoU floors sit a little under what the rules reach on these seeds (bench/physics.md has the figures).
``test_a_broken_rule_fails_the_floors`` checks that they are tight enough to catch a broken rule.
"""

import numpy as np
import pytest

from s2mask.classes import CLASS_NAMES, MaskClass
from s2mask.evaluation.metrics import confusion_matrix, iou, majority
from s2mask.physics import classify, thresholds_for
from s2mask.physics.thresholds import Ramp
from s2mask.sim.clouds import cloudy_scene

C = MaskClass
SEEDS = (0, 1, 2)
#: Per-class IoU floors (CLEAR_LAND, WATER, SNOW_ICE, CLOUD, THIN_CLOUD, CLOUD_SHADOW). L2A has no B10, so
#: cirrus-only thin cloud is invisible there and its THIN_CLOUD floor is lower.
FLOORS = {
    "L1C": (0.92, 0.74, 0.90, 0.87, 0.73, 0.74),
    "L2A": (0.88, 0.76, 0.90, 0.89, 0.56, 0.76),
}


@pytest.fixture(scope="module")
def scenes():
    made = {}
    for seed in SEEDS:
        scene = cloudy_scene(600, 600, seed, sun_zenith=40.0 + 5 * seed, sun_azimuth=150.0 + 20 * seed)
        made[seed] = (scene, {level: scene.bands_at(20, level) for level in FLOORS}, majority(scene.truth, 2))
    return made


def _ious(scenes, level, thresholds=None, azimuth_error=0.0):
    total = np.zeros((7, 7), dtype=np.int64)
    for scene, bands, truth in scenes.values():
        result = classify(bands[level], level, sun_zenith=scene.sun_zenith,
                          sun_azimuth=scene.sun_azimuth + azimuth_error, view_zenith=scene.view_zenith,
                          view_azimuth=scene.view_azimuth, resolution=20.0, thresholds=thresholds)
        total += confusion_matrix(truth, result.classes)
    return iou(total)[1:]


@pytest.mark.parametrize("level", sorted(FLOORS))
def test_per_class_iou_reaches_the_floors(scenes, level):
    values = _ious(scenes, level)
    report = {name: round(float(v), 3) for name, v in zip(CLASS_NAMES[1:], values)}
    assert (values >= np.array(FLOORS[level])).all(), report


BROKEN = {
    "haze transform inverted": (thresholds_for("L1C").with_changes(hot=Ramp(0.06, 0.0)), 0.0),
    "cloud NDSI test swapped": (thresholds_for("L1C").with_changes(cloud_ndsi=Ramp(-0.16, -0.24)), 0.0),
    "snow NDSI test swapped": (thresholds_for("L1C").with_changes(snow_ndsi=Ramp(0.50, 0.35)), 0.0),
    "snow SWIR2 test dropped, NDSI at Fmask's 0.15": (
        thresholds_for("L1C").with_changes(snow_ndsi=Ramp(0.10, 0.15), snow_swir2=Ramp(1.0, 0.9)), 0.0),
    "water index swapped": (thresholds_for("L1C").with_changes(water_index=Ramp(0.10, -0.05)), 0.0),
    "opaque and thin swapped": (thresholds_for("L1C").with_changes(opaque_blue=Ramp(0.45, 0.30)), 0.0),
    "shadows cast towards the sun": (None, 180.0),
    "cirrus threshold at Sen2Cor's high-probability level": (
        thresholds_for("L1C").with_changes(cirrus=Ramp(0.035, 0.06)), 0.0),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_a_broken_rule_fails_the_floors(scenes, name):
    thresholds, azimuth_error = BROKEN[name]
    values = _ious(scenes, "L1C", thresholds, azimuth_error)
    assert (values < np.array(FLOORS["L1C"])).any(), dict(zip(CLASS_NAMES[1:], values.round(3)))
