"""Tiled, batched application of a mask network: device and thread selection, exact tiling, softmax.

A network's output pixel depends only on inputs within ``network.radius`` pixels. :func:`predict` cuts
the image into equal tiles of at most ``tile`` x ``tile`` output pixels, each read with ``radius`` pixels of context
(the image edge replicated), runs ``batch_size`` tiles per forward pass and keeps every
tile's core. The result therefore does not depend on the tile size, the batch size, or on whether an
image is processed whole or as blocks whose halo is at least ``radius`` (the pipeline's case): the
tests compare them class for class. Small tiles keep the activations of a tile in the CPU caches;
GPUs get larger ones. On a CPU with several threads the tiles run in parallel, one per thread, each
single-threaded (:func:`predict`). A network converted to bfloat16 (:func:`select_precision`) gets its
input in bfloat16 and hands back float32 logits.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from . import cpu
from .allocator import keep_freed_memory
from .compute import PRECISIONS
from .cores import available_cores
from .errors import ModelError, ParameterError

#: Most output pixels per tile edge and tiles per forward pass, by device type. On the CPU, a 1056-pixel
#: block (1024 plus the halo) cut into 3 x 3 tiles of 352 took 0.34 CPU-s with CNN2D, against 0.49 as
#: 5 x 5 tiles of 256, whose last row and column were mostly edge padding.
DEFAULT_TILE = {"cpu": 384, "cuda": 1024}
DEFAULT_BATCH = {"cpu": 1, "cuda": 4}
#: The float arithmetics a mask network's parameters can be converted to.
DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


def select_device(device: str | torch.device | None = "auto") -> torch.device:
    """``"auto"`` (or None) picks CUDA when a GPU is present, else the CPU; ``"cpu"``/``"cuda"`` as given."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and not torch.cuda.is_available():
        raise ParameterError("device 'cuda' was asked for, but torch sees no CUDA GPU")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ParameterError(f"unknown torch device {device!r}") from err


def select_precision(precision: str, device: torch.device, int8: bool = True) -> str:
    """The arithmetic of the mask networks, "float32", "bfloat16" or "int8"; ``int8`` says whether the
    network has an int8 calibration (:mod:`s2mask.models.quantized`).

    ``"auto"`` is bfloat16 on a CPU that computes it in hardware (:func:`s2mask.cpu.bfloat16_fast`), else
    int8 where it runs fast and the network allows (:func:`s2mask.cpu.int8_fast`), else float32. An
    explicit choice the machine cannot honour is refused here, before any work: bfloat16 where oneDNN
    cannot run it (AVX2-only CPUs; emulated without oneDNN it ran twelve times slower than float32),
    int8 off the CPU or without the quantised engine or a calibration."""
    if precision not in PRECISIONS:
        raise ParameterError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    on_cpu = device.type == "cpu"
    if precision == "auto":
        if on_cpu and cpu.bfloat16_fast():
            return "bfloat16"
        return "int8" if on_cpu and int8 and cpu.int8_fast() else "float32"
    if precision == "bfloat16" and on_cpu and not cpu.bfloat16_runs():
        raise ParameterError("precision bfloat16 needs a CPU on which oneDNN runs bfloat16 (AVX512BW/VL/DQ or "
                             "AVX-NE-CONVERT), and this one has neither: use precision auto or float32")
    if precision == "int8" and not (on_cpu and cpu.int8_fast()):
        raise ParameterError("precision int8 runs on the CPU only, with torch's x86 quantised engine and AVX2: "
                             "use precision auto or float32")
    if precision == "int8" and not int8:
        raise ModelError("this network cannot run in int8 (it takes a CNN2D calibrated in processor/weights/int8.json "
                         "and torch's quantised modules): use precision auto or float32")
    return precision


def set_threads(threads: int = 0) -> int:
    """Let torch use ``threads`` CPU threads (0: every core available to this process); returns the count."""
    if threads < 0:
        raise ParameterError(f"threads must be 0 (all cores) or positive, got {threads}")
    count = threads or available_cores()
    if torch.get_num_threads() != count:
        torch.set_num_threads(count)
    return count


def balanced_tile(length: int, most: int) -> int:
    """The edge of the fewest equal tiles of at most ``most`` pixels that cover ``length`` pixels."""
    return -(-length // -(-length // most))


def _tiles(height: int, width: int, tile_rows: int, tile_cols: int) -> list[tuple[int, int, int, int]]:
    return [(row, col, min(tile_rows, height - row), min(tile_cols, width - col))
            for row in range(0, height, tile_rows) for col in range(0, width, tile_cols)]


def _tile_input(stack: np.ndarray, row: int, col: int, radius: int, out: np.ndarray) -> None:
    """Write into ``out`` (span rows, span cols, C) the channels-last input of the tile whose output starts
    at (``row``, ``col``) of a (C, H, W) stack: ``radius`` pixels of context, edges replicated beyond the
    image. Each worker thread fills its own buffer, which stays in the CPU caches (a whole-block
    channels-last copy did not) and is not allocated anew for every tile."""
    _, height, width = stack.shape
    span = out.shape[:2]
    rows = np.clip(np.arange(row - radius, row - radius + span[0]), 0, height - 1)
    cols = np.clip(np.arange(col - radius, col - radius + span[1]), 0, width - 1)
    window = stack[:, rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1].transpose(1, 2, 0)
    if window.shape[:2] != span:
        window = window[np.ix_(rows - rows[0], cols - cols[0])]
    np.copyto(out, window)


@torch.inference_mode()
def predict(network: torch.nn.Module, stack: np.ndarray, *, device: torch.device | None = None,
            tile: int | None = None, batch_size: int | None = None, out: np.ndarray | None = None,
            probabilities: bool = True, valid: np.ndarray | None = None) -> tuple[np.ndarray | None, np.ndarray]:
    """Softmax probabilities (classes, H, W) float32 and the most probable class index (H, W) uint8
    of ``network`` (in eval mode, on ``device``) over a (channels, H, W) feature stack; the
    probabilities are written into ``out`` when given. With ``probabilities=False`` (and no ``out``)
    only the classes are computed, and None stands for the probabilities. With ``valid`` (H, W), a tile
    without any valid pixel is not computed: its classes and probabilities are 0 (outside the swath of
    a partial tile, often half of it, the network has nothing to say).

    Edge tiles are padded to the full tile size by replication (their extra output is dropped), so every
    forward pass of a batch has one shape. The tiles take the dtype of the network's parameters.
    """
    device = device or next(network.parameters()).device
    dtype = next(network.parameters()).dtype
    keep_freed_memory()
    tile = tile or DEFAULT_TILE.get(device.type, DEFAULT_TILE["cpu"])
    batch_size = batch_size or DEFAULT_BATCH.get(device.type, DEFAULT_BATCH["cpu"])
    if tile < 1 or batch_size < 1:
        raise ParameterError(f"tile and batch size must be positive, got {tile} and {batch_size}")
    radius = int(network.radius)
    channels, height, width = stack.shape
    tile_rows, tile_cols = balanced_tile(height, tile), balanced_tile(width, tile)
    if out is None and probabilities:
        out = np.empty((network.n_classes, height, width), dtype=np.float32)
    classes = np.empty((height, width), dtype=np.uint8)
    boxes = _tiles(height, width, tile_rows, tile_cols)
    if valid is not None:
        computed = [valid[row:row + rows, col:col + cols].any() for row, col, rows, cols in boxes]
        for (row, col, rows, cols), compute in zip(boxes, computed):
            if not compute:
                classes[row:row + rows, col:col + cols] = 0
                if out is not None:
                    out[:, row:row + rows, col:col + cols] = 0
        boxes = [box for box, compute in zip(boxes, computed) if compute]
    shape = (batch_size, tile_rows + 2 * radius, tile_cols + 2 * radius, channels)
    chunks = [boxes[start:start + batch_size] for start in range(0, len(boxes), batch_size)]
    buffers = threading.local()

    def run(chunk: list[tuple[int, int, int, int]], threads: int = 0) -> None:
        if threads:
            torch.set_num_threads(threads)
        if not hasattr(buffers, "batch"):
            buffers.batch = np.empty(shape, dtype=np.float32)
        batch = buffers.batch[:len(chunk)]
        for k, (row, col, _, _) in enumerate(chunk):
            _tile_input(stack, row, col, radius, batch[k])
        with torch.inference_mode():  # thread-local: worker threads need their own
            tiles = torch.from_numpy(batch).to(device=device, dtype=dtype).permute(0, 3, 1, 2)
            logits = network(tiles).float()
            best = logits.argmax(dim=1).to(torch.uint8).cpu().numpy()
            soft = torch.softmax(logits, dim=1).cpu().numpy() if out is not None else None
        for k, (row, col, rows, cols) in enumerate(chunk):
            classes[row:row + rows, col:col + cols] = best[k, :rows, :cols]
            if soft is not None:
                out[:, row:row + rows, col:col + cols] = soft[k, :, :rows, :cols]

    threads = torch.get_num_threads()
    if device.type == "cpu" and threads > 1 and chunks:
        # One tile per thread, each single-threaded: the small convolutions of these networks spend
        # more time in OpenMP barriers than in arithmetic when threads share a tile (ten times more on a
        # busy machine). Every tile is computed single-threaded, so results do not depend on the count.
        with ThreadPoolExecutor(min(threads, len(chunks))) as pool:
            list(pool.map(lambda chunk: run(chunk, 1), chunks))
    else:
        for chunk in chunks:
            run(chunk)
    return out, classes
