"""int8 inference of the CNN2D networks: calibrations that match the shipped weights, exact tiling, and
classes that follow float32."""

import json

import numpy as np
import pytest
import torch

import s2mask
from s2mask import cpu, weights
from s2mask.bands import ALL_BANDS, L2A_BANDS, REDUCED_BANDS
from s2mask.inference import predict
from s2mask.models import choose_entry, int8_ready, load_network
from s2mask.models.quantized import CALIBRATION_FILE, Int8CNN2D, calibrate
from s2mask.train.scenes import synthetic_scene

pytestmark = pytest.mark.hardware
needs_int8 = pytest.mark.skipif(not cpu.int8_fast(), reason="no fast int8 here: tests/test_cpu.py checks the refusal")
DEFAULT = "cnn2d-l1c-v4"


def test_every_calibration_belongs_to_shipped_weights_and_every_default_cnn2d_has_one():
    stored = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))
    for name, calibration in stored.items():
        assert calibration["sha256"] == weights.entry(name)["sha256"], name
    for level, bands in (("L1C", ALL_BANDS), ("L2A", L2A_BANDS), ("L1C", REDUCED_BANDS), ("L2A", REDUCED_BANDS)):
        item = choose_entry("cnn2d", level, bands)
        assert int8_ready(item), f"{item['name']} has no int8 calibration: run python -m s2mask.train.quantization"


def test_calibration_records_every_quantised_activation():
    network = load_network(DEFAULT, device="cpu")
    stack = np.random.default_rng(0).normal(size=(17, 80, 80)).astype(np.float32)
    maxima = calibrate(network, [stack, stack[:, :50, :60]])
    blocks = sum(1 for name in maxima if name.startswith("block"))
    kinds = {f"{kind}{k}" for kind in ("block", "sum") for k in range(blocks)}
    assert blocks == 4 and set(maxima) == {"context", "hidden_input", "hidden", *kinds}
    # each block adds its non-negative output to its input
    assert all(maxima[f"sum{k}"] >= maxima[f"block{k}"] for k in range(blocks))
    assert maxima["hidden_input"] == max(maxima["sum3"], maxima["hidden_input"])


@needs_int8
def test_an_int8_network_tiles_exactly():
    network = load_network(DEFAULT, device="cpu", precision="int8")
    assert isinstance(network, Int8CNN2D)
    stack = np.random.default_rng(1).normal(size=(17, 130, 150)).astype(np.float32)
    probabilities, whole = predict(network, stack)
    np.testing.assert_allclose(probabilities.sum(axis=0), 1, atol=1e-5)
    _, tiled = predict(network, stack, tile=40, batch_size=2)
    np.testing.assert_array_equal(tiled, whole)


@needs_int8
def test_int8_classes_follow_float32_on_a_synthetic_scene():
    scene = synthetic_scene(200_001, "L1C", 480, use_teacher=False)
    angles = {"sun_zenith": scene.sun_zenith, "sun_azimuth": scene.sun_azimuth}
    exact = s2mask.classify(scene.bands, "L1C", precision="float32", **angles)
    int8 = s2mask.classify(scene.bands, "L1C", precision="int8", **angles)
    # bench/README.md: 0.4 % of the pixels of 8 such scenes differ, the scores against the truth do not
    assert (int8 != exact).mean() < 0.015
    with torch.inference_mode():
        x = torch.randn(1, 17, 40, 40).contiguous(memory_format=torch.channels_last)
        logits = load_network(DEFAULT, device="cpu", precision="int8")(x)
    assert logits.dtype == torch.float32 and logits.shape == (1, 6, 10, 10)
