"""DSen2 super-resolution benchmark: throughput and seams. Prints Markdown.

    .venv/bin/python bench/superres.py [--threads 2] [--data ../shared/data] [--skip-full-speed]
                                       [--only seams|speed]

Accuracy is measured leave-one-scene-out by bench/superres_loso.py.
Throughput: ``superresolve`` (both networks, all of its own overhead) on the real T33UUB crop mirrored
to 1200 x 1200 at 10 m (the full size on a CPU: the 600 x 600 crop), repeated; megapixels of 10 m output
per second and the time for a 10980 x 10980 tile, also with the extra area a pipeline block of 1024
pixels reads for its HALO_10M context.
Seams: the T49JGM crop processed whole, in small tiles, and in pipeline-style blocks with HALO_10M.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import torch

from s2mask.grid import Grid, iter_blocks
from s2mask.superres import HALO_10M, superresolve
from s2mask.train.realdata import data_root
from s2mask.train.superres_scenes import load_scenes

TILE_PIXELS = 10980**2
BLOCK = 1024


def mirrored(scene, copies: int = 2) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The full-scale crop mirrored ``copies`` x ``copies`` times (continuous at the joins)."""
    def grow(array: np.ndarray) -> np.ndarray:
        row = np.concatenate([array if i % 2 == 0 else array[:, :, ::-1] for i in range(copies)], axis=2)
        return np.concatenate([row if i % 2 == 0 else row[:, ::-1] for i in range(copies)], axis=1)
    return grow(scene.bands10), grow(scene.bands20), grow(scene.bands60)


def throughput(bands, variant: str, device: str, repeats: int) -> list[tuple[float, float]]:
    """(wall seconds, CPU seconds of this process) of each run of both networks together."""
    superresolve(*(a[:, :a.shape[1] // 4, :a.shape[2] // 4] for a in bands), variant=variant, device=device)
    runs = []
    for _ in range(repeats):
        wall, cpu = time.perf_counter(), time.process_time()
        superresolve(*bands, variant=variant, device=device)
        runs.append((time.perf_counter() - wall, time.process_time() - cpu))
    return runs


def speed(scene, skip_full: bool) -> None:
    large = mirrored(scene)
    halo_area = ((BLOCK + 2 * HALO_10M) / BLOCK) ** 2
    print(f"\n### Throughput (both networks: the six 20 m bands and B1 B9; torch threads {torch.get_num_threads()})\n")
    print("The machine is shared with other jobs, so every run is repeated: the fastest run is the best estimate of "
          "two cores of our own (contention only adds time), the median shows what a busy machine gives. "
          "Full tile = 10980 x 10980 at the fastest rate; the last column adds the context a 1024-pixel "
          f"pipeline block reads (HALO_10M = {HALO_10M}).\n")
    print("| device | variant | area (10 m px) | runs | fastest s | median s | MP/s fastest | MP/s median | "
          "load avg | full tile | full tile, 1024 blocks + halo |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        for variant in ("light", "full"):
            if variant == "full" and device == "cpu" and skip_full:
                continue
            # The full size on a CPU runs on a quarter of the area: its rate per pixel is the same.
            bands = large if variant == "light" or device == "cuda" else mirrored(scene, 1)
            megapixels = bands[0].shape[1] * bands[0].shape[2] / 1e6
            load = os.getloadavg()[0]
            walls = sorted(wall for wall, _ in throughput(bands, variant, device, 5 if variant == "light" else 3))
            fastest, median = walls[0], walls[len(walls) // 2]
            tile_seconds = TILE_PIXELS / 1e6 / (megapixels / fastest)
            print(f"| {device} | {variant} | {bands[0].shape[1]} x {bands[0].shape[2]} | {len(walls)} | "
                  f"{fastest:.2f} | {median:.2f} | {megapixels / fastest:.4f} | {megapixels / median:.4f} | "
                  f"{load:.1f} | {tile_seconds / 60:.1f} min | {tile_seconds * halo_area / 60:.1f} min |")
    if len(devices) == 1:
        print("\nNo GPU in this run (torch.cuda.is_available() is False).")


def seams(scene) -> None:
    bands10, bands20, bands60 = scene.bands10, scene.bands20, scene.bands60
    height, width = bands10.shape[1:]
    print(f"\n### Seams ({height} x {width} crop at 10 m; max |difference| in reflectance)\n")
    print("| variant | whole vs 60-pixel tiles | whole vs 96-pixel blocks with HALO_10M = "
          f"{HALO_10M} |")
    print("|---|---|---|")
    grid = Grid("", 0.0, 0.0, 10.0, width, height)
    for variant in ("light", "full"):
        whole = superresolve(bands10, bands20, bands60, variant=variant, tile=max(height, width))
        tiled = superresolve(bands10, bands20, bands60, variant=variant, tile=60, batch_size=7)
        blocked = {name: np.empty_like(band) for name, band in whole.items()}
        for block in iter_blocks(grid, 96, HALO_10M):
            r, c, h, w = block.outer.row, block.outer.col, block.outer.height, block.outer.width
            part = superresolve(bands10[:, r:r + h, c:c + w], bands20[:, r // 2:(r + h) // 2, c // 2:(c + w) // 2],
                                bands60[:, r // 6:(r + h) // 6, c // 6:(c + w) // 6], variant=variant)
            for name, band in part.items():
                blocked[name][block.core.slices] = band[block.core_in_outer]
        tile_diff = max(float(np.abs(whole[n] - tiled[n]).max()) for n in whole)
        block_diff = max(float(np.abs(whole[n] - blocked[n]).max()) for n in whole)
        print(f"| {variant} | {tile_diff:.2e} | {block_diff:.2e} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default=None)
    parser.add_argument("--skip-full-speed", action="store_true", help="skip the slow CPU timing of the full size")
    parser.add_argument("--only", choices=("seams", "speed"), default=None, help="run one section")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    root = data_root() if args.data is None else Path(args.data)
    if args.only in (None, "seams"):
        seams(*load_scenes(root, ("T49JGM",)))
    if args.only in (None, "speed"):
        speed(*load_scenes(root, ("T33UUB",)), args.skip_full_speed)


if __name__ == "__main__":
    main()
