"""The ``s2mask`` command line: one module per sub-command, shared error handling here.

Each command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``main(args) -> int``.
Errors that s2mask raises on purpose end the program with their one-line message and exit status 1;
an interrupt exits with 130. No traceback is shown unless ``S2MASK_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import os
import sys
from importlib import import_module

from .. import __version__
from ..errors import S2MaskError

#: Sub-command modules, in the order ``s2mask --help`` lists them.
COMMANDS = ("run", "batch", "info", "demo", "snap_install", "snap_package", "train", "train_superres", "evaluate")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="s2mask", description="Sentinel-2 cloud and cloud-shadow masking (L1C and L2A SAFE products).")
    parser.add_argument("--version", action="version", version=f"s2mask {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = import_module(f"{__name__}.{name}")
        sub = commands.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        module.add_arguments(sub)
        sub.set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except S2MaskError as err:
        if os.environ.get("S2MASK_DEBUG") == "1":
            raise
        print(f"s2mask: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("s2mask: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader of our output went away (``s2mask info X | head``): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
