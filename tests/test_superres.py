"""DSen2 super-resolution: network structure, exact tiling and blocking, NaN handling, input contract."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from s2mask.errors import ParameterError
from s2mask.grid import Grid, iter_blocks
from s2mask.resample import upsample
from s2mask.superres import HALO_10M, SPECS, VARIANTS, DSen2, build_network, superresolve, superresolve_with
from s2mask.superres.inference import apply_tiled, upsample_to_10m
from s2mask.superres.network import INPUT_SCALE, weights_name
from s2mask.superres.wald import degrade, reduced_scale


def _randomised(network: str, variant: str, seed: int = 0) -> torch.nn.Module:
    """A network with non-zero corrections (fresh ones return the bilinear input unchanged).

    "deep" has the depth, hence the receptive field, of the published size at a fraction of its cost.
    """
    torch.manual_seed(seed)
    if variant == "deep":
        spec = SPECS[network]
        model = DSen2(len(spec.inputs), len(spec.outputs), width=8, depth=VARIANTS["full"]["depth"])
    else:
        model = build_network(network, variant)
    torch.nn.init.normal_(model.tail.weight, std=0.05)
    return model.eval()


def _scene(size: int = 72, seed: int = 3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smooth random reflectances on nested 10/20/60 m grids (B1 B9 B10 at 60 m)."""
    rng = np.random.default_rng(seed)
    fine = upsample(rng.uniform(0.05, 0.4, (13, size // 6, size // 6)).astype(np.float32), 6)
    fine += rng.normal(0, 0.01, fine.shape).astype(np.float32)
    return fine[:4], degrade(fine[4:10], 2), degrade(fine[10:13], 6)


def test_published_size_and_our_variants():
    published = DSen2(10, 6, width=128, depth=6)
    assert sum(p.numel() for p in published.parameters()) == 1_789_574  # DSen2: "1.79 M parameters"
    full = build_network("20m", "full")
    assert (full.width, full.depth, full.receptive_radius) == (48, 6, 14)
    assert sum(p.numel() for p in full.parameters()) == 256_374
    light = build_network("60m", "light")
    assert (light.in_bands, light.out_bands, light.width, light.depth) == (12, 2, 32, 4)


def test_fresh_network_is_the_global_residual_and_corrections_add_to_it():
    model = build_network("20m", "light").eval()
    x = torch.rand(2, 10, 20, 24)
    with torch.no_grad():
        assert torch.equal(model(x), x[:, -6:])
        model = _randomised("20m", "light")
        out = model(x)
        correction = model.tail(model.blocks(model.head(x)))
    assert out.shape == (2, 6, 20, 24)
    assert torch.allclose(out - x[:, -6:], correction, atol=1e-6)
    assert correction.abs().max() > 1e-3


def test_receptive_radius_bounds_the_influence_of_one_pixel():
    model = _randomised("20m", "light")
    x = torch.rand(1, 10, 41, 41)
    y = x.clone()
    y[0, 0, 20, 20] += 1.0
    with torch.no_grad():
        changed = (model(y) - model(x)).abs().amax(dim=(0, 1)) > 0
    rows, cols = np.nonzero(changed.numpy())
    radius = model.receptive_radius
    assert rows.min() == cols.min() == 20 - radius and rows.max() == cols.max() == 20 + radius


@pytest.mark.parametrize("factor", [2, 6])
def test_torch_upsampling_matches_s2mask_resample(factor):
    coarse = np.random.default_rng(1).random((3, 7, 11)).astype(np.float32)
    ours = upsample_to_10m(torch.from_numpy(coarse), factor).numpy()
    np.testing.assert_allclose(ours, upsample(coarse, factor), atol=2e-6)


def test_tiles_equal_whole_image():
    model = _randomised("20m", "deep")
    stack = torch.rand(10, 50, 70) * INPUT_SCALE
    with torch.no_grad():
        whole = apply_tiled(model, stack, tile=100, batch_size=1)
        tiled = apply_tiled(model, stack, tile=16, batch_size=5)
    assert float((whole - tiled).abs().max()) / INPUT_SCALE < 1e-4


@pytest.mark.slow
def test_blocks_with_halo_equal_whole_image():
    models = {"20m": _randomised("20m", "deep", 1), "60m": _randomised("60m", "deep", 2)}
    bands10, bands20, bands60 = _scene(120)
    whole = superresolve_with(models, bands10, bands20, bands60, device="cpu")
    grid = Grid("", 0.0, 0.0, 10.0, 120, 120)
    blocked = {name: np.full((120, 120), np.nan, np.float32) for name in whole}
    for block in iter_blocks(grid, 48, HALO_10M):
        r, c, h, w = block.outer.row, block.outer.col, block.outer.height, block.outer.width
        part = superresolve_with(models, bands10[:, r:r + h, c:c + w],
                                 bands20[:, r // 2:(r + h) // 2, c // 2:(c + w) // 2],
                                 bands60[:, r // 6:(r + h) // 6, c // 6:(c + w) // 6], device="cpu", tile=30)
        for name, band in part.items():
            blocked[name][block.core.slices] = band[block.core_in_outer]
    assert HALO_10M % 6 == 0
    for name in whole:
        assert np.abs(blocked[name] - whole[name]).max() < 1e-4, name


def test_nan_inputs_give_nan_exactly_at_their_footprint():
    models = {"20m": _randomised("20m", "light"), "60m": _randomised("60m", "light")}
    bands10, bands20, bands60 = _scene(72)
    bands10[2, 5, 7] = np.nan
    bands20[4, 20, 30] = np.nan
    bands60[1, 8, 3] = np.nan
    bands60[2, 0, 0] = np.nan
    out = superresolve_with(models, bands10, bands20, bands60, device="cpu")
    invalid20 = np.zeros((72, 72), bool)
    invalid20[5, 7] = True
    invalid20[40:42, 60:62] = True
    invalid60 = invalid20.copy()
    invalid60[48:54, 18:24] = True
    invalid_b10 = np.zeros((72, 72), bool)
    invalid_b10[:6, :6] = True
    expected = {**dict.fromkeys(SPECS["20m"].outputs, invalid20), "B1": invalid60, "B9": invalid60, "B10": invalid_b10}
    assert set(out) == set(expected)
    for name, mask in expected.items():
        assert out[name].dtype == np.float32 and out[name].shape == (72, 72)
        np.testing.assert_array_equal(np.isnan(out[name]), mask, err_msg=name)


def test_without_60m_bands_only_the_20m_bands_come_back():
    bands10, bands20, _ = _scene(36)
    out = superresolve_with({"20m": _randomised("20m", "light")}, bands10, bands20, None, device="cpu")
    assert tuple(out) == SPECS["20m"].outputs


@pytest.mark.parametrize("shapes, message", [
    (((3, 12, 12), (6, 6, 6), None), "bands10"),
    (((4, 12, 12), (6, 5, 6), None), "bands20"),
    (((4, 12, 12), (6, 6, 6), (4, 2, 2)), "bands60"),
    (((4, 12, 9), (6, 6, 4), None), "multiple of 2"),
])
def test_inputs_that_break_the_contract_are_refused(shapes, message):
    arrays = [None if s is None else np.zeros(s, np.float32) for s in shapes]
    with pytest.raises(ParameterError, match=message):
        superresolve(*arrays)


def test_degradation_keeps_constants_and_the_grid_ratio():
    bands10, bands20, bands60 = np.full((4, 72, 72), 0.2), np.full((6, 36, 36), 0.3), np.full((2, 12, 12), 0.1)
    (d10, d20, d60), target = reduced_scale("60m", bands10, bands20, bands60)
    assert (d10.shape, d20.shape, d60.shape, target.shape) == ((4, 12, 12), (6, 6, 6), (2, 2, 2), (2, 12, 12))
    np.testing.assert_allclose(d20, 0.3, rtol=1e-6)


def test_weights_names():
    assert weights_name("60m", "light") == "dsen2_60m_light"
    with pytest.raises(ParameterError, match="variant"):
        weights_name("20m", "huge")


def test_spectral_anchor_keeps_brightness_and_blends_directions():
    from s2mask.superres.inference import spectrally_anchored
    rng = torch.Generator().manual_seed(0)
    estimate, anchor = torch.rand(6, 5, 7, generator=rng) + 0.1, torch.rand(6, 5, 7, generator=rng) + 0.1
    def unit(x):
        return x / x.norm(dim=0, keepdim=True)
    assert torch.allclose(spectrally_anchored(estimate, anchor, 1.0), estimate, atol=1e-6)
    anchored = spectrally_anchored(estimate, anchor, 0.0)
    assert torch.allclose(anchored.norm(dim=0), estimate.norm(dim=0), atol=1e-6)
    assert torch.allclose(unit(anchored), unit(anchor), atol=1e-6)
    halfway = unit(spectrally_anchored(estimate, anchor, 0.5))
    assert torch.allclose(halfway, unit(unit(estimate) + unit(anchor)), atol=1e-6)


def test_20m_spectra_are_anchored_to_bicubic_and_60m_spectra_are_the_network_s():
    from s2mask.superres.inference import network_stack, spectrally_anchored
    models = {"20m": _randomised("20m", "light"), "60m": _randomised("60m", "light")}
    bands10, bands20, bands60 = _scene(36)
    out = superresolve_with(models, bands10, bands20, bands60, device="cpu")
    with torch.no_grad():
        raw = {name: apply_tiled(models[name], network_stack(name, bands10, bands20, bands60), 36, 1) / INPUT_SCALE
               for name in models}
    anchor = torch.from_numpy(upsample(bands20, 2, "bicubic"))
    expected20 = spectrally_anchored(raw["20m"], anchor, SPECS["20m"].spectral_blend)
    assert SPECS["20m"].spectral_blend < 1 and SPECS["60m"].spectral_blend == 1
    np.testing.assert_allclose(np.stack([out[b] for b in SPECS["20m"].outputs]), expected20.numpy(), atol=1e-5)
    np.testing.assert_allclose(np.stack([out[b] for b in ("B1", "B9")]), raw["60m"].numpy(), atol=1e-5)
