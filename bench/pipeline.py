"""Benchmark: ``s2mask run`` on a full-size synthetic cloudy L1C tile at 20 m, end to end.

Prints the wall time as a ratio to the bare JPEG 2000 decode (``gdal_translate``, same run) of the bands
the model needs (and, for information, to that plus their detector-footprint masks, which s2mask decodes
too), and the peak RSS of the run. Goals with the default model: ratio <= 1.5, RSS <= 3 GB. Also the CPU
seconds of both: on a machine that other jobs share, wall times stretch with the load, CPU seconds much
less. ``--repeat N`` measures N alternating pairs (decode, run).

CPUs without AVX-512 are emulated with ``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN then refuses bfloat16 as such a
CPU does); ``FBGEMM_ENABLE_INSTRUCTIONS=AVX2 ATEN_CPU_CAPABILITY=avx2`` cap torch's other kernels too.

    .venv/bin/python bench/pipeline.py [--size 10980] [--model auto] [--resolution 20] [--precision auto]
                                       [--repeat 1]
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time

from common import cached_product, gdal_translate_seconds, load_average, run_measured

RUN = """
import json, sys, time
from s2mask.pipeline import run
from s2mask.params import ProcessingParameters
path, out, model, resolution, precision = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
started, cpu_started = time.perf_counter(), time.process_time()
result = run(path, out, ProcessingParameters(model=model, resolution=resolution, precision=precision))
report = result.report
print(json.dumps({"seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started,
                  "model": report["model"], "precision": report["model_precision"],
                  "bands": report["parameters"].get("bands"), "timings": report["timings_s"],
                  "cloud_cover": report["cloud_cover_percent"]}))
"""

MODEL_BANDS = """
import json, sys
from s2mask.io.safe import open_product
from s2mask.choice import select_masker
product = open_product(sys.argv[1])
print(json.dumps(list(select_masker(sys.argv[2], level=product.level, bands=product.bands).bands)))
"""


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=10980)
    parser.add_argument("--model", default="auto")
    parser.add_argument("--resolution", type=int, default=20)
    parser.add_argument("--precision", default="auto")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    product = cached_product(args.size, cloudy=True)
    print(f"product: {product.name} ({args.size} x {args.size} px), ready in {time.perf_counter() - started:.0f} s")
    bands, _ = run_measured(MODEL_BANDS, str(product), args.model)
    print(f"reference: the bare decode of the {len(bands)} bands the model reads ({' '.join(bands)})")
    for _ in range(args.repeat):
        print(f"load average {load_average()}")
        cpu = children_cpu()
        reference = gdal_translate_seconds(product, tuple(bands), args.resolution)
        reference_cpu = children_cpu() - cpu
        footprints = gdal_translate_seconds(product, tuple(bands), args.resolution, files="QI_DATA/MSK_DETFOO_*.jp2")
        print(f"  bare decode: {reference:.1f} s, {reference_cpu:.1f} CPU-s; of the detector-footprint masks, "
              f"which s2mask also decodes: {footprints:.1f} s")
        with tempfile.TemporaryDirectory() as out:
            result, peak_mb = run_measured(RUN, str(product), out, args.model, str(args.resolution), args.precision)
        steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result["timings"].items())
        print(f"  s2mask run ({result['model']} in {result['precision']}, {args.resolution} m): "
              f"{result['seconds']:.1f} s, ratio {result['seconds'] / reference:.2f} (goal <= 1.5; "
              f"{result['seconds'] / (reference + footprints):.2f} to bands and masks), "
              f"{result['cpu_seconds']:.1f} CPU-s ({result['cpu_seconds'] / reference_cpu:.2f} x the decode's), "
              f"peak RSS {peak_mb} MB (goal <= 3072)")
        print(f"  steps: {steps}; cloud cover {result['cloud_cover']:.1f} %")
    print(f"load average {load_average()}")


if __name__ == "__main__":
    main()
