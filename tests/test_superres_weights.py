"""The shipped DSen2 weights: registry entries agree with files, networks and the leave-one-scene-out results
in bench/superres_loso/; the light 20 m network beats bicubic interpolation on a real crop."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch

from s2mask import weights
from s2mask.superres import SPECS, VARIANTS, DSen2, load_network, superresolve, weights_name
from s2mask.superres.network import INPUT_SCALE
from s2mask.superres.wald import interpolate_targets, reduced_scale, rmse
from s2mask.train.superres import TrainingConfig, summary
from s2mask.train.superres_scenes import SCENES, load_scenes

NAMES = [(network, variant) for network in SPECS for variant in VARIANTS]
LOSO = Path(__file__).resolve().parents[1] / "bench" / "superres_loso"


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
    assert training["network"] == network and training["variant"] == variant
    assert training["data"] == list(SCENES) and training["excluded"] == []


@pytest.mark.parametrize("network, variant", NAMES)
def test_registered_metrics_are_the_leave_one_out_results_of_the_same_recipe(network, variant):
    item = weights.entry(weights_name(network, variant))
    results = json.loads((LOSO / f"{item['name']}.json").read_text())
    recipe = {k: v for k, v in asdict(TrainingConfig(network, variant, 1)).items() if k != "excluded"}
    assert set(results["recipe"]) == set(recipe)
    assert results["recipe"] == {k: item["training"][k] for k in recipe}
    scored = sorted(r["scene"] for r in results["scenes"])
    # The light recipes are scored on every scene; the full ones, dearer on CPUs, on the T49JGM fold only.
    assert scored == (sorted(SCENES) if variant == "light" else ["T49JGM"])
    assert item["metrics_detail"] == results["scenes"] and item["metrics"] == summary(results["scenes"])


def test_networks_are_loaded_once():
    assert load_network("20m", "light", "cpu") is load_network("20m", "light", "cpu")


def test_light_20m_network_beats_bicubic_on_a_real_crop(real_data):
    # A training scene (every scene is one): this checks the shipped weights and the band order end to end;
    # bench/superres_loso.py measures how the recipe does on scenes it never saw.
    (scene,) = load_scenes(real_data, ("T49JGM",))
    degraded, truth = reduced_scale("20m", scene.bands10, scene.bands20, scene.bands60)
    ours = superresolve(*degraded, variant="light", device="cpu")
    estimate = np.stack([ours[band] for band in SPECS["20m"].outputs])
    ratio = rmse(estimate, truth) / rmse(interpolate_targets("20m", degraded, "bicubic"), truth)
    assert (ratio < 1.0).all(), ratio
    assert ratio.mean() < 0.8, ratio
