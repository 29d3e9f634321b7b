"""``s2mask run PRODUCT -o OUTDIR``: mask one product and write the chosen outputs."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .options import PRODUCT_HELP, add_parameter_options, parameters_from_args
from .progress import ProgressBar

NAME = "run"
HELP = "Mask a Sentinel-2 L1C or L2A product: classes as COG, optional probabilities, SCL, DIMAP, quicklook, report."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("product", help=PRODUCT_HELP)
    parser.add_argument("--output", "-o", type=Path, default=Path("."), help="output folder (default: here)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar and no summary")
    parser.add_argument("--json", action="store_true", help="print the run report as JSON on stdout")
    parser.add_argument("--verify", action="store_true", help="check the product's files against the checksums "
                        "of its manifest.safe first (reads every byte once)")
    add_parameter_options(parser)


def main(args: argparse.Namespace) -> int:
    from ..pipeline import run

    params = parameters_from_args(args)
    bar = None if args.quiet or args.json else ProgressBar("masking", stream=sys.stderr)
    result = run(args.product, args.output, params, progress=bar.update if bar else None, verify=args.verify)
    if bar:
        bar.close()
    if args.json:
        print(json.dumps({"outputs": {k: str(v) for k, v in result.outputs.items()}, "report": result.report},
                         indent=2))
    elif not args.quiet:
        report = result.report
        if report and report.get("cloud_cover_percent") is not None:
            print(f"{report['product_id']}: cloud cover {report['cloud_cover_percent']:.1f} % "
                  f"(model {report['model']})")
        for kind, path in result.outputs.items():
            print(f"  {kind:<14} {path}")
    return 0
