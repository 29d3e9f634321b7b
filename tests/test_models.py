"""The mask networks, their features and the shipped weights' registry entries."""

import numpy as np
import pytest
import torch

from s2mask import cpu, weights
from s2mask.bands import ALL_BANDS, BANDS_10M, L2A_BANDS, REDUCED_BANDS
from s2mask.choice import select_masker
from s2mask.errors import MissingBandError, ModelError
from s2mask.masking import BlockPrediction, decode, predict_block
from s2mask.models import choose_entry, fused, load_masker, load_network
from s2mask.models.features import FeatureSpec, feature_stack, incidence_cosine
from s2mask.models.fused import fusable
from s2mask.models.networks import OUTPUT_CLASSES, build_network

AUX = ("cos_sun_zenith", "cos_incidence", "elevation", "has_elevation")


@pytest.mark.parametrize("architecture", ["CNN1D", "CNN2D", "CNN3D"])
def test_networks_shrink_by_their_radius_and_give_six_class_logits(architecture):
    torch.manual_seed(0)
    network = build_network(architecture, 13, 4).eval()
    x = torch.randn(2, 17, 30 + 2 * network.radius, 30 + 2 * network.radius)
    with torch.no_grad():
        logits = network(x)
    assert logits.shape == (2, len(OUTPUT_CLASSES), 30, 30)
    probabilities = torch.softmax(logits, dim=1)
    torch.testing.assert_close(probabilities.sum(dim=1), torch.ones(2, 30, 30))


@pytest.mark.parametrize("architecture", ["CNN1D", "CNN2D", "CNN3D"])
def test_fused_cpu_inference_gives_the_training_forward(architecture, monkeypatch):
    torch.manual_seed(2)
    network = build_network(architecture, 13, 4).eval()
    x = torch.randn(1, 30 + 2 * network.radius, 30 + 2 * network.radius, 17).permute(0, 3, 1, 2)
    with torch.inference_mode():
        assert fusable(x) == torch.backends.mkldnn.is_available()
        inferred = network(x)
    with torch.enable_grad():
        assert not fusable(x)
        trained = network(x).detach()
    torch.testing.assert_close(inferred, trained, rtol=1e-5, atol=1e-5)
    with torch.inference_mode():
        half = x.to(torch.bfloat16)
        # fused where oneDNN runs bfloat16; elsewhere torch's modules compute the same
        assert fusable(half) == (fused._POINTWISE is not None and cpu.bfloat16_runs())
        rounded = build_network(architecture, 13, 4).eval()
        rounded.load_state_dict(network.state_dict())
        inferred_half = rounded.to(torch.bfloat16)(half).float()
    torch.testing.assert_close(inferred_half, trained, rtol=0.05, atol=0.05)
    monkeypatch.setattr(cpu, "bfloat16_runs", lambda: False)
    with torch.inference_mode():
        assert not fusable(half)
        torch.testing.assert_close(rounded(half).float(), trained, rtol=0.05, atol=0.05)
    monkeypatch.setattr(torch.backends.mkldnn, "enabled", False)
    with torch.inference_mode():
        assert not fusable(x)
        torch.testing.assert_close(rounded(half).float(), trained, rtol=0.05, atol=0.05)


def test_a_torch_without_the_fused_convolution_falls_back(monkeypatch):
    monkeypatch.setattr(torch.backends.mkldnn, "is_available", lambda: False)
    assert fused._find_pointwise() is None


def test_cnn2d_output_depends_only_on_inputs_within_its_radius():
    torch.manual_seed(1)
    network = build_network("CNN2D", 6, 1).eval()
    r = network.radius
    x = torch.randn(1, 7, 2 * r + 5, 2 * r + 5)
    with torch.no_grad():
        before = network(x)
        x[..., 0, :] += 10  # input row 0 lies within the field of output row 0 only
        after = network(x)
    torch.testing.assert_close(after[..., 1:, :], before[..., 1:, :])
    assert not torch.allclose(after[..., 0, :], before[..., 0, :])


def spec(bands=("B2", "B8"), aux=AUX):
    return FeatureSpec(bands, aux, (0.1,) * (len(bands) + len(aux)), (0.5,) * (len(bands) + len(aux)))


def test_feature_stack_normalises_and_zeroes_invalid_pixels():
    bands = {"B2": np.full((4, 5), 0.6, np.float32), "B8": np.full((4, 5), 0.1, np.float32)}
    bands["B2"][1, 1] = np.nan
    stack = feature_stack(bands, spec(), level="L1C", resolution=20, sun_zenith=60.0)
    assert stack.shape == (6, 4, 5)
    assert stack[0, 0, 0] == pytest.approx((0.6 - 0.1) / 0.5)
    assert stack[2, 0, 0] == pytest.approx((0.5 - 0.1) / 0.5)  # cos 60 degrees
    assert stack[3, 0, 0] == stack[2, 0, 0]  # flat terrain without elevation
    assert stack[5, 0, 0] == pytest.approx((0.0 - 0.1) / 0.5)  # has_elevation 0
    assert (stack[:, 1, 1] == 0).all()


def test_incidence_faces_the_sun_on_a_slope_towards_it():
    rows = np.arange(20, dtype=np.float32)[:, None] * np.ones((1, 20), np.float32)
    south_facing = 100 - rows * 20 * np.tan(np.deg2rad(30))  # 30 degrees down towards the south
    cosine = incidence_cosine(south_facing, 20.0, np.full((20, 20), 30.0), np.full((20, 20), 180.0))
    assert cosine[10, 10] == pytest.approx(1.0, abs=1e-5)  # sun 30 degrees from zenith in the south


def test_feature_stack_needs_the_model_bands():
    with pytest.raises(MissingBandError, match="B8"):
        feature_stack({"B2": np.zeros((2, 2), np.float32)}, spec(), level="L1C", resolution=20)


SHIPPED = weights.entries("mask")


@pytest.mark.parametrize("item", SHIPPED, ids=[item["name"] for item in SHIPPED])
def test_registry_entries_match_their_networks(item):
    path = weights.weight_file(item)  # checks the sha256
    assert path.stat().st_size < 20e6
    assert tuple(item["classes"]) == OUTPUT_CLASSES
    assert list(item["bands"]) == [band for band in ALL_BANDS if band in item["bands"]]
    network = load_network(item["name"], device="cpu")
    first = next(p for p in network.parameters() if p.dim() == 4 or p.dim() == 5)
    spec_ = FeatureSpec.from_registry(item)
    in_channels = first.shape[1] if item["architecture"] == "CNN2D" else None
    if in_channels is not None:
        assert in_channels == spec_.in_channels
    assert item["halo"] == network.radius + spec_.halo
    for key in ("command", "data", "seed", "epochs", "strategy"):
        assert key in item["training"]
    assert item["metrics"]


def test_the_pipeline_finds_a_model_for_each_level_and_the_reduced_bands():
    assert choose_entry("cnn2d", "L1C", ALL_BANDS)["bands"] == list(ALL_BANDS)
    assert choose_entry("cnn2d", "L2A", L2A_BANDS)["bands"] == list(L2A_BANDS)
    for level in ("L1C", "L2A"):
        reduced = choose_entry("cnn2d", level, REDUCED_BANDS + ("B5",))
        # one reduced-band network per level: the levels' reflectances differ (TOA vs BOA)
        assert reduced["bands"] == list(REDUCED_BANDS) and reduced["levels"] == [level]
        four = choose_entry("cnn2d", level, BANDS_10M + ("B11",))
        assert four["bands"] == list(BANDS_10M) and four["levels"] == [level]


def test_maskers_compute_in_the_precision_asked_for(monkeypatch):
    monkeypatch.setattr(cpu, "bfloat16_runs", lambda: True)  # loading runs no convolution: any CPU will do
    for precision in ("float32", "bfloat16"):
        masker = load_masker("cnn", level="L1C", bands=ALL_BANDS, device="cpu", precision=precision)
        assert masker.precision == precision
        assert all(p.dtype == getattr(torch, precision) for p in masker.network.parameters())
    assert next(load_network(SHIPPED[0]["name"], device="cpu").parameters()).dtype == torch.float32


def test_auto_falls_back_to_physics_and_cnn_refuses_without_the_bands():
    masker = select_masker("auto", level="L1C", bands=("B2", "B3", "B8", "B11"))
    assert masker.model_id == "physics"
    with pytest.raises(MissingBandError, match="B4"):
        select_masker("cnn", level="L1C", bands=("B2", "B3", "B8", "B11"))
    with pytest.raises(ModelError, match="no shipped weights"):
        select_masker("no-such-model", level="L1C", bands=ALL_BANDS)


def test_a_block_that_keeps_no_probabilities_gets_the_same_classes_without_them():
    masker = load_masker("cnn", level="L2A", bands=REDUCED_BANDS)
    rng = np.random.default_rng(5)
    bands = {band: rng.uniform(0.0, 0.6, (60, 70)).astype(np.float32) for band in REDUCED_BANDS}
    bands["B2"][:5] = np.nan
    kept, prediction = predict_block(masker, bands, level="L2A", resolution=20, sun_zenith=np.full((60, 70), 40.0))
    skipped, lean = predict_block(masker, bands, level="L2A", resolution=20, probabilities=False,
                                  sun_zenith=np.full((60, 70), 40.0))
    assert prediction.probabilities.shape == (7, 60, 70) and lean.probabilities is None
    np.testing.assert_array_equal(skipped, kept)
    assert (kept[:5] == 0).all() and (kept[5:] > 0).all()
    with pytest.raises(ModelError, match="neither"):
        decode(BlockPrediction(None), np.ones((2, 2), dtype=bool))
