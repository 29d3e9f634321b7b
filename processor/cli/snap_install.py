"""``s2mask snap-install``: put the S2Mask operator module where gpt and SNAP Desktop find Python operators."""

from __future__ import annotations

import argparse
from pathlib import Path

NAME = "snap-install"
HELP = "Install the S2Mask GPF operator for gpt and SNAP (into ~/.snap/snap-python/s2mask, or --target DIR)."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", type=Path, metavar="DIR",
                        help="install into DIR/s2mask instead, for a folder listed in snap.pythonExtraPaths")
    parser.add_argument("--force", action="store_true", help="replace an S2Mask module already installed there")


def main(args: argparse.Namespace) -> int:
    from ..snap.install import install_module, next_steps, snap_python_dir

    destination = install_module(args.target or snap_python_dir(), force=args.force)
    print(next_steps(destination, extra_path=args.target is not None))
    return 0
