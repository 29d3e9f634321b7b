"""DSen2 training: seeded determinism, small scenes, the loss, the real scene catalogue, the CLI command."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from s2mask.cli import build_parser
from s2mask.cli import main as cli_main
from s2mask.superres.wald import degrade
from s2mask.train.superres import TrainingConfig, evaluate, loss_function, spectral_angle, summary, train
from s2mask.train.superres_scenes import FOLDS, SCENES, Scene, load_scenes, training_scenes


def _tiny_scene(seed: int, size: int = 72) -> Scene:
    rng = np.random.default_rng(seed)
    fine = rng.uniform(0.05, 0.4, (12, size, size)).astype(np.float32)
    return Scene(f"tiny{seed}", fine[:4], degrade(fine[4:10], 2), degrade(fine[10:12], 6))


@pytest.mark.parametrize("network, gain_jitter, sam_weight", [("20m", 0.0, 0.0), ("60m", 1.0, 1.0)])
def test_training_is_deterministic_for_a_seed(network, gain_jitter, sam_weight):
    config = TrainingConfig(network, "light", steps=3, batch_size=2, patch=12, seed=5, gain_jitter=gain_jitter,
                            sam_weight=sam_weight)
    scenes = [_tiny_scene(1), _tiny_scene(2)]
    first = train(config, scenes, log=lambda line: None).state_dict()
    second = train(config, scenes, log=lambda line: None).state_dict()
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert first["tail.weight"].abs().max() > 0  # it moved away from the bilinear start


def test_scenes_smaller_than_the_patch_train_with_their_padding_left_out():
    # The 60 m network's reduced grid of a 72-px scene is 12 px: patches of 20 are padded.
    config = TrainingConfig("60m", "light", steps=2, batch_size=2, patch=20)
    model = train(config, [_tiny_scene(3)], log=lambda line: None)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_loss_ignores_the_padding_and_adds_the_spectral_angle():
    target = torch.rand(1, 3, 4, 4) + 0.1
    estimate = target.clone()
    estimate[..., 2:] = 5.0  # wrong only where the mask is 0
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., :2] = 1
    assert loss_function(estimate, target, mask, sam_weight=1.0) < 1e-2
    scaled = target * 2  # same spectra, twice as bright: L1 sees it, the angle does not
    assert spectral_angle(scaled, target).max() < 2e-3
    tilted = target * torch.tensor([1.0, 1.0, 1.5])[None, :, None, None]
    full = torch.ones(1, 1, 4, 4)
    assert loss_function(tilted, target, full, 1.0) > loss_function(tilted, target, full, 0.0)


def test_evaluate_scores_every_method_per_band_and_pools_parts():
    parts = [_tiny_scene(4), _tiny_scene(5)]
    model = train(TrainingConfig("20m", "light", steps=1, batch_size=1, patch=12), parts, log=lambda line: None)
    result = evaluate(model, "20m", parts)
    assert result["pixels"] == 2 * 36 * 36 and result["bands"] == ["B5", "B6", "B7", "B8A", "B11", "B12"]
    assert set(result["methods"]) == {"nearest", "bilinear", "bicubic", "dsen2"}
    assert all(len(m["rmse"]) == 6 and len(m["sre_db"]) == 6 for m in result["methods"].values())
    assert summary([result, result])["ratio_to_bicubic"] == result["ratio_to_bicubic"]


def test_folds_leave_out_every_scene_exactly_once():
    held_out = [name for names in FOLDS.values() for name in names]
    assert sorted(held_out) == sorted(SCENES)
    assert training_scenes(FOLDS["BigEarthNet"]) == ("T33UUB", "T49JGM", "T33UUU", "29RKH")


def test_every_real_scene_is_read_on_native_grids(real_data):
    for part in load_scenes(real_data, tuple(SCENES)):
        height, width = part.bands10.shape[1:]
        assert part.bands10.shape[0] == 4 and part.bands20.shape == (6, height // 2, width // 2), part.name
        assert part.bands60.shape == (2, height // 6, width // 6), part.name
        for array in (part.bands10, part.bands20, part.bands60):
            assert not np.isnan(array).any() and 0 <= array.min() and array.max() < 3.0, part.name


def test_dsen2_crop_is_read_in_contract_order(real_data):
    path = real_data / SCENES["T49JGM"].parts[0]
    (scene,) = load_scenes(real_data, ("T49JGM",))
    with np.load(path) as raw:
        order = list(raw["band_order_im10"])
        np.testing.assert_allclose(scene.bands10[0], raw["im10"][order.index("B2")] / 1e4, rtol=1e-6)
    assert scene.bands10.shape == (4, 600, 600) and scene.bands60.shape == (2, 100, 100)


def test_cli_offers_train_superres():
    args = build_parser().parse_args(["train-superres", "--network", "60m", "--steps", "3", "--sam-weight", "0.5",
                                      "--folds", "T33UUB,BigEarthNet", "--leave-one-out", "out.json"])
    assert (args.network, args.variant, args.steps, args.sam_weight) == ("60m", "light", 3, 0.5)
    assert args.folds == ("T33UUB", "BigEarthNet")
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train-superres", "--network", "20m", "--steps", "3", "--exclude", "Mars"])


def test_metrics_of_another_recipe_are_refused(tmp_path, capsys):
    results = tmp_path / "loso.json"
    results.write_text(json.dumps({"recipe": {"network": "20m"}, "scenes": []}))
    status = cli_main(["train-superres", "--network", "20m", "--steps", "1", "--metrics", str(results),
                       "--output", str(tmp_path)])
    assert status == 1 and "another recipe" in capsys.readouterr().err
    assert not list(tmp_path.glob("*.pt"))
