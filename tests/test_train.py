"""Training on physics labels: selection strategies, patches, determinism, the train CLI."""

import json

import numpy as np
import pytest
import torch

from s2mask.bands import ALL_BANDS
from s2mask.classes import MaskClass
from s2mask.cli import main
from s2mask.models import masker_from_file
from s2mask.models.features import FeatureSpec
from s2mask.train.datasets import IGNORE, PatchSampler, jitter_gains, normalisation
from s2mask.train.scenes import synthetic_scene
from s2mask.train.selection import SelectionOptions, select_pixels, teacher_agrees, unique
from s2mask.train.trainer import TrainingConfig, train


@pytest.fixture(scope="module")
def scene():
    return synthetic_scene(3, "L1C", size=240, use_teacher=False)


def test_scene_is_labelled_by_physics_with_truth_beside(scene):
    assert scene.labels.shape == scene.truth.shape == (120, 120)
    assert scene.probabilities.shape == (7, 120, 120)
    assert (scene.labels == scene.truth).mean() > 0.7
    assert MaskClass.CLOUD in np.unique(scene.labels)


def test_strategies_keep_nested_subsets_of_the_valid_pixels(scene):
    full = select_pixels(scene, SelectionOptions("full"))
    uniqueness = select_pixels(scene, SelectionOptions("uniqueness"))
    rules = select_pixels(scene, SelectionOptions("physics_rules"))
    np.testing.assert_array_equal(full, scene.valid)
    assert uniqueness.sum() < full.sum() and not (uniqueness & ~full).any()
    assert 0 < rules.sum() < full.sum() and not (rules & ~full).any()
    # the selected labels agree with the truth more often than all labels do
    agree = scene.labels == scene.truth
    assert agree[rules].mean() > agree[full].mean()
    assert agree[uniqueness].mean() >= agree[full].mean()


def test_uniqueness_and_teacher_agreement_rules():
    probabilities = np.array([[0.7, 0.5, 0.9], [0.3, 0.4, 0.05], [0.0, 0.1, 0.05]])[:, None, :]
    np.testing.assert_array_equal(unique(probabilities, 0.6, 0.25), [[True, False, True]])
    labels = np.array([MaskClass.CLOUD, MaskClass.THIN_CLOUD, MaskClass.WATER, MaskClass.WATER], np.uint8)
    teacher = np.array([MaskClass.THIN_CLOUD, MaskClass.CLOUD, MaskClass.CLOUD_SHADOW, MaskClass.NO_DATA], np.uint8)
    np.testing.assert_array_equal(teacher_agrees(labels, teacher), [True, True, False, False])


def test_patches_carry_context_and_ignore_unselected_pixels(scene):
    spec = normalisation([scene], ALL_BANDS, ("cos_sun_zenith",))
    assert isinstance(spec, FeatureSpec) and spec.in_channels == 14
    selected = select_pixels(scene, SelectionOptions("physics_rules"))
    sampler = PatchSampler([scene], [selected], spec, radius=5, patch=24)
    inputs, labels, soft = sampler.batch(6, np.random.default_rng(0))
    assert inputs.shape == (6, 14, 34, 34) and labels.shape == (6, 24, 24) and soft is None
    assert set(np.unique(labels)) <= {0, 1, 2, 3, 4, 5, IGNORE} and (labels == IGNORE).any()
    counts = sampler.class_counts()
    assert counts.sum() == selected.sum()


def test_gain_jitter_scales_the_reflectance_of_each_band_and_leaves_auxiliary_inputs(scene):
    spec = normalisation([scene], ALL_BANDS, ("cos_sun_zenith",))
    sampler = PatchSampler([scene], [scene.valid], spec, radius=2, patch=8)
    inputs, _, _ = sampler.batch(4, np.random.default_rng(0))
    jittered = jitter_gains(inputs, spec, 0.1, np.random.default_rng(1))
    mean = np.asarray(spec.mean, np.float32)[:, None, None]
    std = np.asarray(spec.std, np.float32)[:, None, None]
    reflectance, scaled = inputs * std + mean, jittered * std + mean
    n = len(spec.bands)
    gains = scaled[:, :n] / reflectance[:, :n]
    # one gain per patch and band, the same on every pixel, about exp(N(0, 0.1))
    np.testing.assert_allclose(gains, gains[:, :, :1, :1] * np.ones_like(gains), rtol=1e-3)
    assert 0.6 < gains.min() and gains.max() < 1.6 and gains[:, :, 0, 0].std() > 0.02
    np.testing.assert_array_equal(jittered[:, n:], inputs[:, n:])
    np.testing.assert_array_equal(jitter_gains(inputs, spec, 0.0, np.random.default_rng(1)), inputs)


@pytest.mark.slow
def test_regularised_training_runs_and_records_its_options(scene):
    config = TrainingConfig(architecture="CNN2D", architecture_kwargs={"width": 8, "context": 4, "dilations": [1, 2]},
                            bands=ALL_BANDS, epochs=1, steps_per_epoch=2, batch_size=2, patch=16,
                            class_weighting=False, label_smoothing=0.05, gain_jitter=0.05, consistency=1.0)
    result = train(config, [scene], [scene], log=lambda _: None)
    assert np.isfinite(result.history[0]["loss"])
    assert result.config.to_dict()["consistency"] == 1.0 and not result.config.to_dict()["class_weighting"]


@pytest.mark.slow
def test_training_is_deterministic_for_a_seed(scene):
    config = TrainingConfig(architecture="CNN2D", architecture_kwargs={"width": 8, "context": 4, "dilations": [1, 2]},
                            bands=ALL_BANDS, epochs=1, steps_per_epoch=3, batch_size=2, patch=16)
    first, second = (train(config, [scene], [scene], log=lambda _: None) for _ in range(2))
    for a, b in zip(first.network.state_dict().values(), second.network.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert set(first.history[0]) >= {"loss", "physics_agreement", "truth_nmcc", "truth_nmcc_physics"}


def test_train_cli_writes_weights_that_load_as_a_masker(tmp_path, capsys):
    code = main(["train", "--model", "cnn1d", "--epochs", "1", "--steps", "2", "--batch-size", "2", "--patch", "16",
                 "--synthetic", "1", "--validation", "1", "--synthetic-size", "120", "--no-real", "--no-teacher",
                 "--threads", "1", "--name", "tiny", "--output", str(tmp_path), "--quiet"])
    assert code == 0
    entry = json.loads((tmp_path / "cnn_tiny.json").read_text())
    assert entry["bands"] == list(ALL_BANDS) and entry["training"]["strategy"].startswith("uniqueness")
    assert json.loads(capsys.readouterr().out)["weights"].endswith("cnn_tiny.pt")
    masker = masker_from_file(tmp_path / "cnn_tiny.json", device="cpu")
    assert masker.model_id == "tiny" and masker.halo == 1


def test_spectral_variety_changes_the_land_spectra_and_nothing_else(scene):
    varied = synthetic_scene(3, "L1C", size=240, use_teacher=False, spectral_variety=0.2)
    np.testing.assert_array_equal(varied.truth, scene.truth)
    assert varied.sun_azimuth == scene.sun_azimuth and varied.name == scene.name
    land = scene.truth == MaskClass.CLEAR_LAND
    assert not np.allclose(varied.bands["B12"][land], scene.bands["B12"][land])
