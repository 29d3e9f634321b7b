"""The shipped DSen2 weights: registry entries agree with files and networks; the light 20 m network
beats bicubic interpolation on the held-out real crop."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from s2mask import weights
from s2mask.superres import SPECS, VARIANTS, DSen2, load_network, superresolve, weights_name
from s2mask.superres.network import INPUT_SCALE
from s2mask.superres.wald import interpolate_targets, reduced_scale, rmse
from s2mask.train.superres import HELD_OUT_SCENE, TRAINING_SCENES, load_scene

NAMES = [(network, variant) for network in SPECS for variant in VARIANTS]


@pytest.mark.parametrize("network, variant", NAMES)
def test_registry_entry_matches_file_and_network(network, variant):
    item = weights.entry(weights_name(network, variant))
    path = weights.weight_file(item)  # checks the sha256
    assert item["kind"] == "superres" and path.stat().st_size < 20e6
    spec = SPECS[network]
    assert tuple(item["bands"]) == spec.inputs and tuple(item["outputs"]) == spec.outputs
    assert item["architecture"] == "DSen2" and item["resolution"] == 10
    assert f"{INPUT_SCALE:g}" in item["normalisation"]
    kwargs = item["architecture_kwargs"]
    assert kwargs == {"in_bands": len(spec.inputs), "out_bands": len(spec.outputs), **VARIANTS[variant]}
    DSen2(**kwargs).load_state_dict(torch.load(path, weights_only=True), strict=True)
    training = item["training"]
    assert training["held_out"] == HELD_OUT_SCENE and HELD_OUT_SCENE not in training["data"]
    assert training["network"] == network and training["variant"] == variant
    assert {"ratio_to_bicubic", "rmse", "rmse_bicubic", "sam_deg", "sre_db"} <= set(item["metrics"])


def test_networks_are_loaded_once():
    assert load_network("20m", "light", "cpu") is load_network("20m", "light", "cpu")


def test_light_20m_network_beats_bicubic_on_the_held_out_crop(real_data):
    scene = load_scene(real_data / HELD_OUT_SCENE)
    degraded, truth = reduced_scale("20m", scene.bands10, scene.bands20, scene.bands60)
    ours = superresolve(*degraded, variant="light", device="cpu")
    estimate = np.stack([ours[band] for band in SPECS["20m"].outputs])
    ratio = rmse(estimate, truth) / rmse(interpolate_targets("20m", degraded, "bicubic"), truth)
    assert (ratio < 1.0).all(), ratio
    assert ratio.mean() < 0.8, ratio


def test_held_out_crop_is_not_a_training_scene():
    assert HELD_OUT_SCENE not in TRAINING_SCENES
