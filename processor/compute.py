"""Where and in what arithmetic the networks run: the names the parameters offer, without torch.

:mod:`s2mask.inference` gives them their torch meaning (``select_device``, ``select_precision``).
"""

from __future__ import annotations

#: ``ProcessingParameters.device``: "auto" is a CUDA GPU when torch sees one, else the CPU.
DEVICES: tuple[str, ...] = ("auto", "cpu", "cuda")
#: ``ProcessingParameters.precision``: "auto" or the arithmetic the mask networks run in (int8: the
#: heaviest layers only, see :mod:`s2mask.models.quantized`).
PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16", "int8")
