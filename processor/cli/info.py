"""``s2mask info PRODUCT``: what a product holds, read from its metadata only."""

from __future__ import annotations

import argparse
import json
import sys

from .options import PRODUCT_HELP

NAME = "info"
HELP = "Summarise a Sentinel-2 product: level, baseline, tile, date, bands and grids, offsets, angles, cloud cover."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("product", help=PRODUCT_HELP)
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--verify", action="store_true", help="check the files s2mask reads against the checksums "
                        "of manifest.safe (reads every byte once)")


def main(args: argparse.Namespace) -> int:
    from ..io.formats import open_product
    from ..io.summary import format_summary, summarize

    product = open_product(args.product)
    if args.verify:
        checked = product.verify()
        print(f"s2mask: {checked} files match the checksums of manifest.safe", file=sys.stderr)
    summary = summarize(product)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    return 0
