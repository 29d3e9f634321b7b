"""Benchmark: s2mask against its peers s2cloudless and ukis-csmask on the same tile, in one run.

Each tool masks the same synthetic cloudy L1C tile on the same grid (20 m by default), each in a fresh
process of its own:

- s2mask: ``s2mask.run`` end to end, SAFE in, classes COG and report out (its own reading included);
- s2cloudless (LightGBM per pixel on 10 bands) and ukis-csmask (EfficientNet-B4 U-Net in ONNX Runtime,
  6 bands): the bands read with s2mask's reader onto the grid, then the peer's own prediction
  (s2cloudless: probabilities and mask, ``average_over=4``, ``dilation_size=2``; ukis-csmask: the
  cloud/shadow classes and its valid mask).

Prints, for each: seconds (reading and predicting for the peers), megapixels of the grid per second
end to end, s2mask's speed as a multiple of the peer's, and the peak RSS of its process. The peers
come with the optional ``peers`` extra (``pip install -e ".[peers]"``); one that is not installed is
skipped with a note.

    .venv/bin/python bench/peers.py [--size 10980] [--resolution 20] [--model auto]
"""

from __future__ import annotations

import argparse
import importlib.util
import tempfile
import time

from common import cached_product, load_average, run_measured

CHILD_END = """
print(json.dumps(result))
"""

S2MASK = """
import json, sys, time
from s2mask.params import ProcessingParameters
from s2mask.pipeline import run
path, resolution, model, out = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
started = time.perf_counter()
report = run(path, out, ProcessingParameters(model=model, resolution=resolution, outputs=("cog", "report"))).report
grid = report["grid"]
result = {"seconds": time.perf_counter() - started, "pixels": grid["width_px"] * grid["height_px"],
          "cloud": report["cloud_cover_percent"] / 100, "label": f"s2mask ({report['model']})"}
""" + CHILD_END

#: Reads ``BANDS`` of the product onto the grid as (rows, cols, bands) float32 reflectance, NaN as 0.
READ_BANDS = """
import json, sys, time
import numpy as np
from s2mask.grid import iter_blocks
from s2mask.io.raster import gdal_config
from s2mask.io.safe import open_product
path, resolution = sys.argv[1], int(sys.argv[2])
started = time.perf_counter()
product = open_product(path)
grid = product.grid(resolution)
stack = np.empty((grid.height, grid.width, len(BANDS)), dtype=np.float32)
with gdal_config():
    for block in iter_blocks(grid, 1024):
        for index, band in enumerate(BANDS):
            stack[(*block.core.slices, index)] = product.read(band, resolution, block.core)
np.nan_to_num(stack, copy=False, nan=0.0)
read = time.perf_counter() - started
"""

S2CLOUDLESS = "BANDS = ('B1', 'B2', 'B4', 'B5', 'B8', 'B8A', 'B9', 'B10', 'B11', 'B12')\n" + READ_BANDS + """
from s2cloudless import S2PixelCloudDetector
detector = S2PixelCloudDetector(threshold=0.4, average_over=4, dilation_size=2, all_bands=False)
probabilities = detector.get_cloud_probability_maps(stack[np.newaxis])
mask = detector.get_mask_from_prob(probabilities)
predict = time.perf_counter() - started - read
result = {"seconds": read + predict, "read": read, "predict": predict, "pixels": grid.width * grid.height,
          "cloud": float(mask.mean()), "label": "s2cloudless"}
""" + CHILD_END

UKIS_CSMASK = "BANDS = ('B2', 'B3', 'B4', 'B8', 'B11', 'B12')\n" + READ_BANDS + """
from ukis_csmask.mask import CSmask
masked = CSmask(stack, band_order=["blue", "green", "red", "nir", "swir16", "swir22"], product_level="l1c")
predict = time.perf_counter() - started - read
result = {"seconds": read + predict, "read": read, "predict": predict, "pixels": grid.width * grid.height,
          "cloud": float((masked.csm == 1).mean()), "label": "ukis-csmask (6 bands)"}
""" + CHILD_END

#: Each peer: the modules it needs, and its child code.
PEERS = {"s2cloudless": (("s2cloudless", "lightgbm"), S2CLOUDLESS),
         "ukis-csmask": (("ukis_csmask", "onnxruntime"), UKIS_CSMASK)}


def describe(result: dict, reference: dict | None) -> str:
    speed = result["pixels"] / 1e6 / result["seconds"]
    parts = [f"{result['label']:<24} {result['seconds']:7.1f} s"]
    if "read" in result:
        parts.append(f"(read {result['read']:.1f} s + predict {result['predict']:.1f} s)")
    parts.append(f"{speed:6.2f} MP/s")
    if reference is not None:
        parts.append(f"s2mask is {result['seconds'] / reference['seconds']:.2f}x as fast")
    parts.append(f"peak RSS {result['peak_mb']} MB, cloud fraction {result['cloud']:.3f}")
    return "  ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--resolution", type=int, default=20, choices=(10, 20, 60))
    parser.add_argument("--model", default="auto")
    args = parser.parse_args()
    started = time.perf_counter()
    product = cached_product(args.size, cloudy=True)
    print(f"load average {load_average()}")
    print(f"product: {product.name} ({args.size} x {args.size} px at 10 m, cloudy), ready in "
          f"{time.perf_counter() - started:.0f} s; every tool works on the {args.resolution} m grid")
    inputs = (str(product), str(args.resolution))
    with tempfile.TemporaryDirectory() as out:
        reference, peak_mb = run_measured(S2MASK, *inputs, args.model, out)
    reference["peak_mb"] = peak_mb
    print(describe(reference, None))
    for name, (modules, code) in PEERS.items():
        missing = [module for module in modules if importlib.util.find_spec(module) is None]
        if missing:
            print(f"{name}: skipped, {', '.join(missing)} not installed (pip install -e \".[peers]\")")
            continue
        result, peak_mb = run_measured(code, *inputs)
        result["peak_mb"] = peak_mb
        print(describe(result, reference))


if __name__ == "__main__":
    main()
