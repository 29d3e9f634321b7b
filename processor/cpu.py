"""What this CPU can compute for the mask networks, asked of oneDNN (torch's CPU convolutions) itself.

The CPU's flags are not the answer. oneDNN runs a bfloat16 convolution only with AVX512BW, AVX512VL and
AVX512DQ, or with AVX-NE-CONVERT (it emulates the arithmetic there); AVX2-only CPUs (AMD EPYC before
Zen 4, Intel before Skylake-SP) have neither and it raises. And ``ONEDNN_MAX_CPU_ISA`` may keep oneDNN
below what the hardware has, while torch still reports the hardware's AVX512-BF16. So
:func:`bfloat16_runs` tries one tiny convolution, and :func:`bfloat16_fast` adds the hardware check.
int8 (:func:`int8_fast`) needs torch's x86 quantised engine and AVX2, which every x86-64 CPU of the last
decade has.
"""

from __future__ import annotations

import os
from functools import cache

import torch

#: Values of ``ONEDNN_MAX_CPU_ISA`` that keep oneDNN below its bfloat16 instructions (AVX512-BF16, AMX):
#: it emulates bfloat16 there, at no gain over float32.
ISAS_WITHOUT_BFLOAT16 = ("SSE41", "AVX", "AVX2", "AVX2_VNNI", "AVX2_VNNI_2", "AVX512_CORE", "AVX512_CORE_VNNI")


@cache
def bfloat16_runs() -> bool:
    """Whether oneDNN runs a bfloat16 convolution on this CPU (tried once, on a 3 x 3 image)."""
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        with torch.no_grad():
            image, weight = torch.ones(1, 2, 3, 3, dtype=torch.bfloat16), torch.ones(2, 2, 1, 1, dtype=torch.bfloat16)
            torch.ops.mkldnn._convolution_pointwise(image, weight, None, [0, 0], [1, 1], [1, 1], 1, "relu", [], "")
    except (AttributeError, RuntimeError, TypeError):
        return False
    return True


def onednn_isa_cap() -> str:
    """The instruction set oneDNN was capped to (``ONEDNN_MAX_CPU_ISA``, formerly ``DNNL_MAX_CPU_ISA``), or ""."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA", os.environ.get("DNNL_MAX_CPU_ISA", "")).strip().upper()


def bfloat16_fast() -> bool:
    """Whether this CPU computes bfloat16 convolutions in hardware (AVX512-BF16 or AMX) and oneDNN uses it:
    there the mask networks run about twice as fast as in float32 (``precision="auto"`` picks it)."""
    probes = (getattr(torch.cpu, "_is_avx512_bf16_supported", None), getattr(torch.cpu, "_is_amx_tile_supported", None))
    hardware = any(probe is not None and probe() for probe in probes)
    return hardware and onednn_isa_cap() not in ISAS_WITHOUT_BFLOAT16 and bfloat16_runs()


def int8_fast() -> bool:
    """Whether int8 convolutions run fast here: torch's x86 quantised engine (oneDNN or FBGEMM) on a CPU
    with AVX2 at least, which runs them about twice as fast as float32 (four times with VNNI)."""
    engine = torch.backends.quantized.engine
    return (engine in ("x86", "onednn", "fbgemm") and engine in torch.backends.quantized.supported_engines
            and torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"))
