"""``s2mask demo``: write a synthetic cloudy product with its truth, mask it, and score the mask."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from .progress import ProgressBar

if TYPE_CHECKING:
    import numpy as np

NAME = "demo"
HELP = "Generate a synthetic cloudy Sentinel-2 L1C product with its truth and run s2mask on it."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", type=Path, default=Path("demo-output"), help="folder for the product "
                        "and the results (default: demo-output)")
    parser.add_argument("--size", type=int, default=1098, help="tile size in 10 m pixels, a multiple of 6 "
                        "(default 1098: an 11 km tile)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the synthetic scene")
    parser.add_argument("--model", default="auto", help="masking model (default: auto)")


def truth_agreement(truth_10m: np.ndarray, classes: np.ndarray) -> dict[str, float]:
    """Per-class IoU of a 20 m mask against the 10 m truth (majority-free: 2x2 blocks of one class only)."""
    import numpy as np

    from ..classes import CLASS_NAMES

    factor = truth_10m.shape[0] // classes.shape[0]
    pure = np.ones(classes.shape, dtype=bool)
    coarse = truth_10m[::factor, ::factor]
    for dr in range(factor):
        for dc in range(factor):
            pure &= truth_10m[dr::factor, dc::factor] == coarse
    scores = {}
    for value in range(1, len(CLASS_NAMES)):
        truth, ours = (coarse == value) & pure, (classes == value) & pure
        union = (truth | ours).sum()
        if truth.sum() > 0.001 * pure.sum():
            scores[CLASS_NAMES[value]] = float((truth & ours).sum() / union)
    return scores


def main(args: argparse.Namespace) -> int:
    import numpy as np

    from ..classes import MaskClass
    from ..io.safe import open_product
    from ..io.summary import format_summary, summarize
    from ..params import ProcessingParameters
    from ..pipeline import run
    from ..sim.clouds import cloudy_scene
    from ..sim.safe import write_product

    args.output.mkdir(parents=True, exist_ok=True)
    scene = cloudy_scene(args.size, args.size, seed=args.seed, sun_zenith=38.0, sun_azimuth=152.0)
    path = write_product(scene, args.output / "products", level="L1C", baseline="05.10")
    print(f"synthetic product written to {path}")
    print(format_summary(summarize(open_product(path))))
    params = ProcessingParameters(model=args.model, outputs=("cog", "scl", "dimap", "quicklook", "report"))
    bar = ProgressBar("masking")
    result = run(path, args.output / "s2mask", params, progress=bar.update)
    bar.close()
    from osgeo import gdal

    classes = gdal.Open(str(result.outputs["classes"])).ReadAsArray()
    scores = truth_agreement(scene.truth, classes)
    cloudy = np.isin(scene.truth, (MaskClass.CLOUD, MaskClass.THIN_CLOUD))
    valid = scene.truth != MaskClass.NO_DATA
    print(f"\nmasked with {result.report['model']} in {sum(result.report['timings_s'].values()):.1f} s; "
          f"cloud cover {result.report['cloud_cover_percent']:.1f} % (truth {100 * cloudy.sum() / valid.sum():.1f} %)")
    print("IoU against the exact truth: " + ", ".join(f"{name} {iou:.2f}" for name, iou in scores.items()))
    print("outputs:")
    for kind, output in result.outputs.items():
        print(f"  {kind:<14} {output}")
    return 0
