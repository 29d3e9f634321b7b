"""DSen2 training: seeded determinism, scene loading in the contract's band order, the CLI command."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from s2mask.cli import build_parser
from s2mask.superres.wald import degrade
from s2mask.train.superres import HELD_OUT_SCENE, TRAINING_SCENES, Scene, TrainingConfig, load_scene, train


def _tiny_scene(seed: int) -> Scene:
    rng = np.random.default_rng(seed)
    fine = rng.uniform(0.05, 0.4, (12, 72, 72)).astype(np.float32)
    return Scene(f"tiny{seed}", fine[:4], degrade(fine[4:10], 2), degrade(fine[10:12], 6))


@pytest.mark.parametrize("network, gain_jitter", [("20m", 0.0), ("60m", 1.0)])
def test_training_is_deterministic_for_a_seed(network, gain_jitter):
    config = TrainingConfig(network, "light", epochs=1, batch_size=2, patch=12, seed=5, scene_shares=(0.5, 0.5),
                            gain_jitter=gain_jitter)
    scenes = [_tiny_scene(1), _tiny_scene(2)]
    first = train(config, scenes, log=lambda line: None).state_dict()
    second = train(config, scenes, log=lambda line: None).state_dict()
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert first["tail.weight"].abs().max() > 0  # it moved away from the bilinear start


def test_scene_shares_must_match_the_scenes():
    config = TrainingConfig("20m", "light", epochs=1, batch_size=2, patch=8, scene_shares=(1.0,))
    with pytest.raises(ValueError, match="scene shares"):
        train(config, [_tiny_scene(1), _tiny_scene(2)], log=lambda line: None)


def test_dsen2_crop_is_read_in_contract_order(real_data):
    path = real_data / HELD_OUT_SCENE
    scene = load_scene(path)
    with np.load(path) as raw:
        order = list(raw["band_order_im10"])
        np.testing.assert_allclose(scene.bands10[0], raw["im10"][order.index("B2")] / 1e4, rtol=1e-6)
    assert scene.bands10.shape == (4, 600, 600) and scene.bands20.shape == (6, 300, 300)
    assert scene.bands60.shape == (2, 100, 100)


def test_folder_scene_keeps_the_grid_ratio(real_data):
    scene = load_scene(real_data / TRAINING_SCENES[1])
    assert scene.bands10.shape[1:] == (1098, 1098) and scene.bands20.shape[1:] == (549, 549)
    assert scene.bands60.shape[1:] == (183, 183)
    assert np.nanmax(scene.bands10) < 1.5


def test_cli_offers_train_superres():
    args = build_parser().parse_args(["train-superres", "--network", "60m", "--epochs", "3",
                                      "--scene-shares", "0.5,0.5"])
    assert (args.network, args.variant, args.epochs, args.scene_shares) == ("60m", "light", 3, (0.5, 0.5))
