"""Benchmark: read every band of a full-size synthetic tile onto the 20 m grid in blocks, per input format.

The same scene is written as a SAFE product, an EOPF Zarr store and a STAC item of COGs (bench/cache).
For each format it prints the wall time of s2mask's blocked read as a ratio to the bare decode, in the
same run, of what that read touches: ``gdal_translate`` of the JPEG 2000 files at the resolution s2mask
reads them (10 m bands at their half-resolution level), of every chunk of the Zarr arrays, or of every
COG (Zarr and COG have no reduced levels: s2mask decodes their 10 m bands in full and averages), both
``--workers`` bands at a time. Peak RSS of the reading process too. Goals: ratio <= 1.2 (SAFE and local
EOPF Zarr), peak RSS <= 2 GB.

    .venv/bin/python bench/read.py [--size 10980] [--block 1024] [--formats SAFE EOPF STAC] [--level L1C]
                                   [--workers 1]
"""

from __future__ import annotations

import argparse
import time

from common import cached_product, decode_seconds, gdal_translate_seconds, load_average, run_measured

READER = """
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
from s2mask.grid import iter_blocks
from s2mask.io.formats import open_product
from s2mask.io.raster import gdal_config
path, block, footprint, workers = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", int(sys.argv[4])
product = open_product(path, mask_footprint=footprint)
grid = product.grid(20)
started = time.perf_counter()
with gdal_config(cache_mb=product.read_cache_mb(20)), ThreadPoolExecutor(workers) as pool:
    for item in iter_blocks(grid, block, halo=0):
        stack = list(pool.map(lambda band: product.read(band, 20, item.core), product.bands))
print(json.dumps({"seconds": time.perf_counter() - started}))
"""


def touched_rasters(path, footprint: bool) -> list[str]:
    """GDAL names of every raster a read of all bands at 20 m decodes (and the footprints, when read)."""
    from s2mask.io.formats import open_product

    product = open_product(path)
    names = [product.location.gdal_path(product.band_files(band)[product.source_resolution(band, 20)])
             for band in product.bands]
    if footprint:
        names += [product.location.gdal_path(name) for name in product.tile.mask_files.get("MSK_DETFOO", {}).values()]
    return names


def reference_seconds(fmt: str, path, footprint: bool, workers: int) -> float:
    if fmt == "SAFE":
        bands = gdal_translate_seconds(path, workers=workers)
        return bands + (gdal_translate_seconds(path, files="QI_DATA/MSK_DETFOO_*.jp2", workers=workers)
                        if footprint else 0.0)
    return decode_seconds([(name, []) for name in touched_rasters(path, footprint)], workers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--block", type=int, default=1024)
    parser.add_argument("--formats", nargs="+", default=["SAFE", "EOPF", "STAC"], choices=["SAFE", "EOPF", "STAC"])
    parser.add_argument("--level", default="L1C", choices=["L1C", "L2A"])
    parser.add_argument("--workers", type=int, default=1,
                        help="bands decoded at a time, by the reference and by s2mask (the pipeline uses one per core)")
    args = parser.parse_args()
    print(f"load average {load_average()}")
    for fmt in args.formats:
        started = time.perf_counter()
        product = cached_product(args.size, level=args.level, fmt=fmt)
        print(f"{fmt}: {product.name} ({args.size} x {args.size} px at 10 m), ready in "
              f"{time.perf_counter() - started:.0f} s")
        for footprint in (False, True):
            if footprint and fmt == "STAC":
                continue  # STAC items publish no footprint masks
            reference = reference_seconds(fmt, product, footprint, args.workers)
            result, peak_mb = run_measured(READER, str(product), str(args.block), "1" if footprint else "0",
                                           str(args.workers))
            label = "with detector-footprint masks" if footprint else "without footprint masks"
            print(f"  {fmt} {args.level} -> 20 m, {args.block}-px blocks, {args.workers} band(s) at a time, {label}: "
                  f"bare decode {reference:.1f} s, "
                  f"s2mask {result['seconds']:.1f} s, ratio {result['seconds'] / reference:.2f} (goal <= 1.2), "
                  f"peak RSS {peak_mb} MB (goal <= 2048)")
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
