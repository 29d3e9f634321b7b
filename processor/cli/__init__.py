"""The ``s2mask`` command line: one module per sub-command, shared error handling here.

Each command module exposes ``NAME``, ``HELP``, ``add_arguments(parser)`` and ``main(args) -> int`` and
imports nothing heavy at module level; only the chosen command's arguments are built. So ``--version``
and ``--help`` answer at once, and a Ctrl-C from the first moment ends in the handler below. Errors that
s2mask raises on purpose end the program with their one-line message and exit status 1; Ctrl-C exits
with 130 and SIGTERM with 143, leaving nothing partial (README, "Errors and exit codes"). No traceback
is shown unless ``S2MASK_DEBUG=1``.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from importlib import import_module

from .. import __version__
from ..errors import ParameterError, S2MaskError
from ..interrupts import Terminated, exit_status, signals_as_exceptions

#: Sub-command modules, in the order ``s2mask --help`` lists them.
COMMANDS = ("run", "batch", "info", "demo", "snap_install", "snap_package", "train", "train_superres", "evaluate")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command, or with ``command`` only that one's arguments (the others listed)."""
    parser = argparse.ArgumentParser(
        prog="s2mask", description="Sentinel-2 cloud and cloud-shadow masking (L1C and L2A SAFE products).")
    parser.add_argument("--version", action="version", version=f"s2mask {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        module = import_module(f"{__name__}.{name}")
        sub = commands.add_parser(module.NAME, help=module.HELP, description=module.HELP)
        if command is None or command == module.NAME:
            module.add_arguments(sub)
        sub.set_defaults(handler=module.main, parser=sub)
    return parser


def _chosen_command(argv: list[str]) -> str:
    """The sub-command ``argv`` names: its first word that is not an option (the main parser's options
    take no values). Empty when none is named: ``s2mask --version`` builds no command's arguments."""
    return next((word for word in argv if not word.startswith("-")), "")


def _option_names(parser: argparse.ArgumentParser | None) -> dict[str, str]:
    """The long option of every argument of ``parser`` by its destination (``block_size: --block-size``)."""
    if parser is None:
        return {}
    return {action.dest: next((o for o in action.option_strings if o.startswith("--")), action.option_strings[0])
            for action in parser._actions if action.option_strings}


def as_typed(error: S2MaskError, options: dict[str, str]) -> str:
    """The message of ``error`` with the parameters it names spelt as the options the user typed:
    ``block_size must lie in ...`` becomes ``--block-size must lie in ...``, ``resolution=10`` becomes
    ``--resolution 10``."""
    text = str(error)
    for name in error.parameters if isinstance(error, ParameterError) else ():
        if name in options:
            text = re.sub(rf"(?<![\w-]){re.escape(name)}(?:=(\S+))?(?![\w-])",
                          lambda match, option=options[name]: option + (f" {match[1]}" if match[1] else ""), text)
    return text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = None
    with signals_as_exceptions():
        try:
            args = build_parser(_chosen_command(argv)).parse_args(argv)
            return int(args.handler(args) or 0)
        except S2MaskError as err:
            if os.environ.get("S2MASK_DEBUG") == "1":
                raise
            print(f"s2mask: error: {as_typed(err, _option_names(getattr(args, 'parser', None)))}", file=sys.stderr)
            return 1
        except KeyboardInterrupt as interrupt:
            what = "terminated (SIGTERM)" if isinstance(interrupt, Terminated) else "interrupted"
            print(f"s2mask: {what}; no partial output was kept", file=sys.stderr)
            return exit_status(interrupt)
        except BrokenPipeError:
            # The reader of our output went away (``s2mask info X | head``): not an error of ours.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 0


if __name__ == "__main__":
    sys.exit(main())
