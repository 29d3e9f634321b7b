"""Tiled inference: tiles, batches and blocks with a halo give exactly what the whole image gives."""

import numpy as np
import pytest
import torch

from s2mask import cpu
from s2mask.errors import ParameterError
from s2mask.grid import Grid, iter_blocks
from s2mask.inference import balanced_tile, predict, select_device, set_threads
from s2mask.models.networks import build_network


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(3)
    return build_network("CNN2D", 5, 2).eval().to(memory_format=torch.channels_last)


@pytest.fixture(scope="module")
def stack():
    return np.random.default_rng(4).normal(size=(7, 150, 170)).astype(np.float32)


def test_tile_and_batch_size_do_not_change_the_result(network, stack):
    probabilities, classes = predict(network, stack, tile=256, batch_size=1)
    assert probabilities.shape == (6, 150, 170) and classes.dtype == np.uint8
    np.testing.assert_allclose(probabilities.sum(axis=0), 1, atol=1e-5)
    for tile, batch in ((32, 3), (64, 1), (100, 2)):
        other_probabilities, other_classes = predict(network, stack, tile=tile, batch_size=batch)
        np.testing.assert_array_equal(other_classes, classes)
        np.testing.assert_allclose(other_probabilities, probabilities, atol=1e-6)
    none, only_classes = predict(network, stack, tile=64, batch_size=2, probabilities=False)
    assert none is None
    np.testing.assert_array_equal(only_classes, classes)


def test_tiles_are_balanced_so_edge_tiles_are_not_mostly_padding():
    assert balanced_tile(1056, 384) == 352  # 3 x 352, not 384 + 384 + 288
    assert balanced_tile(1056, 264) == 264
    assert balanced_tile(386, 384) == 193
    assert balanced_tile(100, 384) == 100
    assert balanced_tile(385, 385) == 385


def test_blocks_with_a_halo_equal_the_whole_image(network, stack):
    _, whole = predict(network, stack)
    grid = Grid("", 0, 0, 20.0, stack.shape[2], stack.shape[1])
    blocked = np.zeros_like(whole)
    for block in iter_blocks(grid, 48, network.radius):
        _, classes = predict(network, stack[(slice(None), *block.outer.slices)], tile=40)
        blocked[block.core.slices] = classes[block.core_in_outer]
    np.testing.assert_array_equal(blocked, whole)


@pytest.mark.hardware
def test_devices_and_threads_are_checked():
    assert select_device("auto").type in ("cpu", "cuda")
    assert select_device("cpu").type == "cpu"
    with pytest.raises(ParameterError):
        select_device("tpu")
    before = torch.get_num_threads()
    try:
        assert set_threads(1) == 1 and torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)
    with pytest.raises(ParameterError):
        set_threads(-1)


@pytest.mark.hardware
@pytest.mark.parametrize("fused", [True, False])
def test_a_bfloat16_network_tiles_exactly_and_follows_float32(network, stack, monkeypatch, fused):
    # Fused where oneDNN runs bfloat16, else (and always when told it cannot) torch's own modules.
    if not fused:
        monkeypatch.setattr(cpu, "bfloat16_runs", lambda: False)
    half = build_network("CNN2D", 5, 2).eval().to(memory_format=torch.channels_last)
    half.load_state_dict(network.state_dict())
    half = half.to(torch.bfloat16)
    probabilities, whole = predict(half, stack)
    assert probabilities.dtype == np.float32
    np.testing.assert_allclose(probabilities.sum(axis=0), 1, atol=1e-5)
    _, tiled = predict(half, stack, tile=50, batch_size=2)
    np.testing.assert_array_equal(tiled, whole)
    _, single = predict(network, stack)
    # bfloat16 keeps 8 bits of mantissa: only pixels whose two best classes are nearly tied may change.
    assert (whole != single).mean() < 0.02


def test_tiles_without_a_valid_pixel_are_not_computed(network, stack):
    probabilities, classes = predict(network, stack, tile=50)
    valid = np.ones(stack.shape[1:], dtype=bool)
    valid[:, :110] = False  # 3 x 4 tiles of 50 x 43 px: the first two columns hold no valid pixel
    calls = []
    hook = network.register_forward_hook(lambda *_: calls.append(1))
    try:
        skipped_probabilities, skipped = predict(network, stack, tile=50, valid=valid)
    finally:
        hook.remove()
    assert len(calls) == 3 * 2
    np.testing.assert_array_equal(skipped[:, 86:], classes[:, 86:])
    np.testing.assert_allclose(skipped_probabilities[:, :, 86:], probabilities[:, :, 86:], atol=1e-6)
    assert not skipped[:, :86].any() and not skipped_probabilities[:, :, :86].any()
    _, none = predict(network, stack, valid=np.zeros_like(valid))
    assert not none.any()
