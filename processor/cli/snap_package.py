"""``s2mask snap-package``: build the .nbm for SNAP Desktop's plugin manager."""

from __future__ import annotations

import argparse
from pathlib import Path

from .. import __version__

NAME = "snap-package"
HELP = "Build the SNAP Desktop plugin (.nbm: the S2Mask operator with its menu entry) with Python's zipfile."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", type=Path, default=Path(f"s2mask-snap-{__version__}.nbm"),
                        help="the .nbm to write (default: %(default)s)")
    parser.add_argument("--descriptor", type=Path, metavar="FILE",
                        help="instead, write the operator descriptor generated from the processing parameters "
                             "to FILE (how snap_plugin/s2mask_op-info.xml is kept up to date)")


def main(args: argparse.Namespace) -> int:
    from ..snap.descriptor import write_descriptor
    from ..snap.package import build_nbm

    if args.descriptor is not None:
        print(write_descriptor(args.descriptor))
        return 0
    path = build_nbm(args.output)
    print(f"{path}\ninstall it in SNAP Desktop: Tools > Plugins > Downloaded > Add Plugins..., then restart SNAP")
    return 0
