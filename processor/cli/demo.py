"""``s2mask demo``: write a synthetic product with its truth, then process it like a real one."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..io.safe import open_product
from ..io.summary import format_summary, summarize
from ..sim.safe import write_product
from ..sim.scene import landscape

NAME = "demo"
HELP = "Generate a synthetic Sentinel-2 L1C product and run s2mask on it."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", type=Path, default=Path("demo-output"), help="folder for the product "
                        "and the results (default: demo-output)")
    parser.add_argument("--size", type=int, default=1098, help="tile size in 10 m pixels, a multiple of 6 "
                        "(default 1098: an 11 km tile)")
    parser.add_argument("--seed", type=int, default=0, help="random seed of the synthetic scene")


def main(args: argparse.Namespace) -> int:
    args.output.mkdir(parents=True, exist_ok=True)
    scene = landscape(args.size, args.size, seed=args.seed)
    path = write_product(scene, args.output / "products", level="L1C", baseline="05.10")
    print(f"synthetic product written to {path}")
    print(format_summary(summarize(open_product(path))))
    return 0
