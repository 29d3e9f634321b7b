"""Benchmark: read all 13 bands of a full-size synthetic L1C tile onto the 20 m grid in blocks.

Prints the wall time as a ratio to decoding the same JPEG 2000 files with ``gdal_translate`` in the same
run (at the resolution each band is read: 10 m bands at their half-resolution level, the others in full),
and the peak RSS of the reading process. Goal: ratio <= 1.2, peak RSS <= 2 GB.

    .venv/bin/python bench/read.py [--size 10980] [--block 1024]
"""

from __future__ import annotations

import argparse
import time

from common import cached_product, gdal_translate_seconds, load_average, run_measured

READER = """
import json, sys, time
from s2mask.grid import iter_blocks
from s2mask.io.raster import gdal_config
from s2mask.io.safe import open_product
path, block, footprint = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
product = open_product(path, mask_footprint=footprint)
grid = product.grid(20)
started = time.perf_counter()
with gdal_config():
    for item in iter_blocks(grid, block, halo=0):
        stack = [product.read(band, 20, item.core) for band in product.bands]
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--block", type=int, default=1024)
    args = parser.parse_args()
    started = time.perf_counter()
    product = cached_product(args.size)
    print(f"load average {load_average()}")
    print(f"product: {product.name} ({args.size} x {args.size} px at 10 m), ready in "
          f"{time.perf_counter() - started:.0f} s")
    reference = gdal_translate_seconds(product)
    print(f"gdal_translate decode of the 13 JP2 files (10 m bands at level 2): {reference:.1f} s")
    for footprint in (False, True):
        result, peak_mb = run_measured(READER, str(product), str(args.block), "1" if footprint else "0")
        label = "with detector-footprint masks" if footprint else "without footprint masks"
        print(f"s2mask read, 13 bands -> 20 m, {args.block}-px blocks, {label}: {result['seconds']:.1f} s, "
              f"ratio {result['seconds'] / reference:.2f} (goal <= 1.2), peak RSS {peak_mb} MB (goal <= 2048)")


if __name__ == "__main__":
    main()
