"""Hardware paths and their fallbacks on any x86-64 CPU.

The capability checks are mocked, so both branches of each run on every machine; a child process with
oneDNN capped to AVX2 (``ONEDNN_MAX_CPU_ISA``, which makes it refuse bfloat16 exactly as an AVX2-only
CPU does) meets the real refusal wherever the tests run.
"""

import json
import os
import platform
import subprocess
import sys

import numpy as np
import pytest
import torch

import s2mask
from s2mask import cpu
from s2mask.bands import ALL_BANDS
from s2mask.errors import ModelError, ParameterError
from s2mask.inference import select_precision

pytestmark = pytest.mark.hardware
CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_the_bfloat16_probe_agrees_with_a_network_sized_convolution():
    image = torch.randn(1, 17, 40, 40).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    conv = torch.nn.Conv2d(17, 32, 3, dilation=2).to(torch.bfloat16)
    try:
        with torch.no_grad():
            torch.ops.mkldnn._convolution_pointwise(image, conv.weight, conv.bias, [0, 0], [1, 1], [2, 2], 1,
                                                   "relu", [], "")
        ran = True
    except (AttributeError, RuntimeError):
        ran = False
    assert cpu.bfloat16_runs() == ran
    assert not cpu.bfloat16_fast() or cpu.bfloat16_runs()


@pytest.mark.parametrize(("runs", "fast", "int8_fast", "calibrated", "auto"), [
    (True, True, True, True, "bfloat16"), (True, False, True, True, "int8"), (False, False, True, True, "int8"),
    (False, False, True, False, "float32"), (False, False, False, True, "float32"),
    (True, False, False, False, "float32")])
def test_auto_picks_hardware_bfloat16_else_int8_else_float32(monkeypatch, runs, fast, int8_fast, calibrated, auto):
    monkeypatch.setattr(cpu, "bfloat16_runs", lambda: runs)
    monkeypatch.setattr(cpu, "bfloat16_fast", lambda: fast)
    monkeypatch.setattr(cpu, "int8_fast", lambda: int8_fast)
    assert select_precision("auto", CPU, calibrated) == auto
    assert select_precision("auto", CUDA, calibrated) == "float32"
    assert select_precision("float32", CPU, calibrated) == "float32"
    assert select_precision("bfloat16", CUDA, calibrated) == "bfloat16"
    if runs:
        assert select_precision("bfloat16", CPU, calibrated) == "bfloat16"
    else:
        with pytest.raises(ParameterError, match="precision bfloat16 needs .* use precision auto or float32"):
            select_precision("bfloat16", CPU, calibrated)
    if int8_fast and calibrated:
        assert select_precision("int8", CPU, calibrated) == "int8"
    elif not int8_fast:
        with pytest.raises(ParameterError, match="precision int8 runs on the CPU only"):
            select_precision("int8", CPU, calibrated)
    else:
        with pytest.raises(ModelError, match="cannot run in int8"):
            select_precision("int8", CPU, calibrated)
    with pytest.raises(ParameterError, match="precision int8 runs on the CPU only"):
        select_precision("int8", CUDA, calibrated)
    with pytest.raises(ParameterError, match="precision"):
        select_precision("float16", CPU)


def test_a_cap_below_bfloat16_instructions_is_not_fast(monkeypatch):
    monkeypatch.setattr(cpu, "bfloat16_runs", lambda: True)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: True)
    monkeypatch.delenv("DNNL_MAX_CPU_ISA", raising=False)
    for cap, fast in (("AVX512_CORE", False), ("avx2", False), ("AVX512_CORE_BF16", True), ("", True)):
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", cap)
        assert cpu.bfloat16_fast() == fast, cap
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False)
    assert not cpu.bfloat16_fast()


def test_bfloat16_is_refused_before_any_output_where_onednn_cannot_run_it(monkeypatch, product_factory, tmp_path):
    monkeypatch.setattr(cpu, "bfloat16_runs", lambda: False)
    output = tmp_path / "out"
    with pytest.raises(ParameterError, match="precision bfloat16"):
        s2mask.run(product_factory("L1C", "05.10"), output, model="cnn", precision="bfloat16")
    assert not output.exists()
    bands = {name: np.full((20, 20), 0.2, np.float32) for name in ALL_BANDS}
    with pytest.raises(ParameterError, match="precision bfloat16"):
        s2mask.classify(bands, "L1C", precision="bfloat16")
    # The rules have no network: the precision does not concern them.
    assert s2mask.classify(bands, "L1C", model="physics", precision="bfloat16").shape == (20, 20)
    pytest.importorskip("distributed")
    with pytest.raises(ParameterError, match="precision bfloat16"):  # once, before a cluster starts
        s2mask.run_batch([product_factory("L1C", "05.10")], output, precision="bfloat16")
    assert not output.exists()


@pytest.mark.skipif(platform.machine().lower() not in ("x86_64", "amd64"), reason="ONEDNN_MAX_CPU_ISA is x86's")
def test_a_cpu_without_avx512_runs_int8_and_refuses_bfloat16_in_one_line(product_factory, tmp_path):
    product = product_factory("L1C", "05.10")
    avx2_only = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2"}

    def s2mask_run(output, *options):
        return subprocess.run([sys.executable, "-m", "s2mask.cli", "run", str(product), "-o", str(output),
                               "--model", "cnn", *options], capture_output=True, text=True, env=avx2_only)

    refused = s2mask_run(tmp_path / "refused", "--precision", "bfloat16")
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("s2mask: error: precision bfloat16 needs"), refused.stderr
    assert not (tmp_path / "refused").exists()
    auto = s2mask_run(tmp_path / "auto", "--json")
    assert auto.returncode == 0, auto.stderr
    # int8 needs no more than AVX2 (and torch's quantised engine, which the child shares with this process)
    assert json.loads(auto.stdout)["report"]["model_precision"] == ("int8" if cpu.int8_fast() else "float32")
