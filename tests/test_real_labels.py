"""Shipped networks on real chips with human cloud labels (skipped when ../shared/data is absent).

Called as a user calls them, the 4-band networks must score a higher pooled cloud IoU on the seven
labelled chips than the physics rules given the same four bands, whether or not the caller says the
chips are at 10 m; bench/real.md has every figure. These chips select networks and buffers; they never
train them.
"""

import numpy as np
import pytest

import s2mask
from s2mask.bands import BANDS_10M
from s2mask.train import realchips

#: Pooled cloud IoU the 4-band L2A network must reach on the seven chips (bench/real.md: 0.80 is the goal).
FLOOR = 0.80


@pytest.fixture(scope="module")
def chips(real_data):
    # realdata looks where real_data found the folder: $S2MASK_DATA or ../shared/data
    return realchips.labelled_chips()


def pooled_iou(chips, model: str | None, level: str, **context) -> float:
    total = np.zeros((2, 2), dtype=np.int64)
    for chip in chips:
        bands = chip.scene.bands if level == "L2A" else _toa(chip.scene).bands
        # float32 on every machine, as the shipped-CNN checks of test_classify
        total += chip.confusion(s2mask.classify({b: bands[b] for b in BANDS_10M}, level, model=model,
                                                precision="float32", **context))
    (_, false_cloud), (missed, hits) = total
    return hits / (hits + false_cloud + missed)


def _toa(scene):
    from s2mask.train.scenes import as_level

    return as_level(scene, "L1C")


@pytest.mark.parametrize("context", [{"resolution": 10.0}, {}], ids=["resolution passed", "default resolution"])
def test_the_4_band_l2a_network_beats_the_rules_on_human_labels(chips, context):
    network = pooled_iou(chips, None, "L2A", **context)
    rules = pooled_iou(chips, "physics", "L2A", **context)
    assert network > rules and network >= FLOOR, (network, rules)


def test_the_4_band_l1c_network_beats_the_rules_on_the_chips_brought_to_toa(chips):
    network = pooled_iou(chips, None, "L1C", resolution=10.0)
    rules = pooled_iou(chips, "physics", "L1C", resolution=10.0)
    assert network > rules, (network, rules)
