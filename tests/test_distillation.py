"""Distillation of an ensemble: soft targets, their augmentation with the patches, the train CLI."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from s2mask.bands import ALL_BANDS
from s2mask.cli import main
from s2mask.errors import ModelError
from s2mask.train.datasets import IGNORE, PatchSampler, normalisation
from s2mask.train.distillation import ensemble_probabilities, load_members, soft_cross_entropy
from s2mask.train.scenes import synthetic_scene
from s2mask.train.selection import SelectionOptions, select_pixels

TINY = ["--epochs", "1", "--steps", "2", "--batch-size", "2", "--patch", "16", "--synthetic", "1",
        "--validation", "1", "--synthetic-size", "120", "--no-real", "--no-teacher", "--threads", "1", "--quiet"]


@pytest.fixture(scope="module")
def scene():
    return synthetic_scene(3, "L1C", size=240, use_teacher=False)


@pytest.fixture(scope="module")
def members(tmp_path_factory):
    folder = tmp_path_factory.mktemp("members")
    for seed in (0, 1):
        assert main(["train", "--model", "cnn2d", "--network-args", '{"width": 8, "context": 4, "dilations": [1, 2]}',
                     "--seed", str(seed), "--name", f"member{seed}", "--output", str(folder), *TINY]) == 0
    return [folder / "cnn_member0.json", folder / "cnn_member1.json"]


def test_soft_cross_entropy_is_cross_entropy_on_one_hot_targets_and_skips_empty_ones():
    logits = torch.randn(2, 6, 5, 5)
    labels = torch.randint(0, 6, (2, 5, 5))
    soft = F.one_hot(labels, 6).permute(0, 3, 1, 2).float()
    torch.testing.assert_close(soft_cross_entropy(logits, soft), F.cross_entropy(logits, labels))
    soft[:, :, :2] = 0  # no target on the first two rows
    labels[:, :2] = IGNORE
    torch.testing.assert_close(soft_cross_entropy(logits, soft), F.cross_entropy(logits, labels, ignore_index=IGNORE))


def test_ensemble_probabilities_are_the_members_mean_and_zero_where_invalid(scene, members, capsys):
    pair = load_members(members)
    both = ensemble_probabilities(scene, pair).astype(np.float32)
    each = [ensemble_probabilities(scene, [member]).astype(np.float32) for member in pair]
    np.testing.assert_allclose(both, (each[0] + each[1]) / 2, atol=2e-3)
    np.testing.assert_allclose(both.sum(axis=0)[scene.valid], 1, atol=5e-3)
    assert not both[:, ~scene.valid].any()
    assert np.abs(each[0] - each[1]).max() > 0.05  # two seeds, two different members


def test_soft_targets_turn_and_mirror_with_their_patch(scene):
    spec = normalisation([scene], ALL_BANDS, ("cos_sun_zenith",))
    selected = select_pixels(scene, SelectionOptions("full"))
    one_hot = np.eye(6, dtype=np.float16)[np.clip(scene.labels.astype(int) - 1, 0, 5)].transpose(2, 0, 1)
    sampler = PatchSampler([scene], [selected], spec, radius=3, patch=20, soft=[one_hot])
    _, labels, soft = sampler.batch(16, np.random.default_rng(4))
    assert soft.shape == (16, 6, 20, 20)
    has_label = labels != IGNORE
    np.testing.assert_array_equal(soft.argmax(axis=1)[has_label], labels[has_label])


def test_train_cli_distils_an_ensemble_and_records_it(tmp_path, members, capsys):
    code = main(["train", "--model", "cnn2d", "--distill-from", *map(str, members), "--distillation", "2",
                 "--name", "student", "--output", str(tmp_path), *TINY])
    assert code == 0
    config = json.loads((tmp_path / "cnn_student.json").read_text())["training"]["config"]
    assert config["distill_from"] == [str(m) for m in members] and config["distillation"] == 2.0


def test_a_member_whose_weights_changed_is_refused(tmp_path, members):
    entry = json.loads(members[0].read_text())
    (tmp_path / entry["file"]).write_bytes(b"not the weights")
    (tmp_path / "cnn_member0.json").write_text(json.dumps(entry))
    with pytest.raises(ModelError, match="sha256"):
        load_members([tmp_path / "cnn_member0.json"])
