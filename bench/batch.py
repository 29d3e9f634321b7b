"""Benchmark: ``s2mask batch`` throughput in products per hour on full-size tiles, 1 and 2 workers.

The reference, measured in the same run, is one plain ``s2mask.run`` of one product with every core
(its peak RSS is what the sizing rule's memory per worker must cover). Then the same N products go
through ``run_batch`` on a local cluster with 1 worker (all cores for its product) and with 2 workers
(cores split between them). Prints products/hour for each (wall time including the cluster start),
the ratio to the reference and the scaling from 1 to 2 workers, and the load average before and
after, since other processes on the machine take cores too.

The N products are copies of one cached synthetic cloudy tile under distinct product names; their
JPEG 2000 files are hard links, so the disk holds one copy (reading them is a small part of the time,
decoding is the bulk and is not shared).

    .venv/bin/python bench/batch.py [--size 10980] [--products 4] [--resolution 20] [--model auto]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from common import CACHE_DIR, cached_product, load_average, run_measured

RUN = """
import json, sys, time
from s2mask.params import ProcessingParameters
from s2mask.pipeline import run
path, out, model, resolution = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
started, cpu_started = time.perf_counter(), time.process_time()
run(path, out, ProcessingParameters(model=model, resolution=resolution))
print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started}))
"""


def product_copies(product: Path, count: int) -> list[Path]:
    """``count`` copies of ``product`` with distinct product names (the last two digits of the name),
    band files hard-linked, kept in bench/cache."""
    folder = CACHE_DIR / f"batch_{product.parent.name}"
    copies = []
    for index in range(count):
        name = f"{product.stem[:-2]}{index:02d}"
        copy = folder / f"{name}.SAFE"
        metadata = copy / "MTD_MSIL1C.xml"
        if not (metadata.exists() and name in metadata.read_text()):
            shutil.rmtree(copy, ignore_errors=True)
            shutil.copytree(product, copy, copy_function=os.link)
            text = metadata.read_text()
            metadata.unlink()  # a hard link to the original: write a file of its own
            metadata.write_text(text.replace(product.stem, name))
        copies.append(copy)
    return copies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--products", type=int, default=4)
    parser.add_argument("--resolution", type=int, default=20, choices=(10, 20, 60))
    parser.add_argument("--model", default="auto")
    args = parser.parse_args()
    from s2mask.batch import run_batch, worker_memory_gb
    from s2mask.params import ProcessingParameters

    params = ProcessingParameters(model=args.model, resolution=args.resolution)
    started = time.perf_counter()
    products = product_copies(cached_product(args.size, cloudy=True), args.products)
    print(f"{len(products)} products of {args.size} x {args.size} px (cloudy, copies of one tile), ready in "
          f"{time.perf_counter() - started:.0f} s; load average {load_average()}")
    with tempfile.TemporaryDirectory() as out:
        reference, peak_mb = run_measured(RUN, str(products[0]), out, args.model, str(args.resolution))
    reference_rate = 3600 / reference["seconds"]
    print(f"reference, one s2mask run with every core ({args.resolution} m, {args.model}): "
          f"{reference['seconds']:.1f} s = {reference_rate:.1f} products/hour, CPU {reference['cpu_seconds']:.0f} s, "
          f"peak RSS {peak_mb} MB (the sizing rule assumes {worker_memory_gb(params):.1f} GB)")
    rates = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            result = run_batch(products, out, params, workers=workers, retry_delay=1.0)
        if result.failed:
            raise SystemExit(f"batch with {workers} worker(s) failed: {result.failed[0].error}")
        rates[workers] = len(products) / result.seconds * 3600
        median = statistics.median(o.seconds for o in result.outcomes)
        cpu = statistics.median(o.cpu_seconds for o in result.outcomes)
        plan, ratio = result.plan, rates[workers] / reference_rate
        print(f"batch, {plan.workers} worker(s) x {plan.threads_per_worker} thread(s): {len(products)} products in "
              f"{result.seconds:.0f} s = {rates[workers]:.1f} products/hour, ratio {ratio:.2f} to the reference "
              f"(median per product {median:.0f} s, CPU {cpu:.0f} s, ratio {cpu / reference['cpu_seconds']:.2f}); "
              f"load average {load_average()}")
    print(f"scaling from 1 to 2 workers: {rates[2] / rates[1]:.2f}x; an idle machine's ceiling from CPU time: "
          f"{os.cpu_count() * 3600 / reference['cpu_seconds']:.0f} products/hour")


if __name__ == "__main__":
    main()
