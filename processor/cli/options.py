"""Command-line options generated from :class:`~s2mask.params.ProcessingParameters`.

Every field becomes ``--field-name``: booleans as ``--flag/--no-flag``, lists as comma-separated
names, choices and ranges checked by the parameters themselves so the CLI, the API and SNAP agree.
"""

from __future__ import annotations

import argparse

from ..params import ProcessingParameters, default_of, parameter_fields, parse_value


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def add_parameter_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("processing parameters")
    for item in parameter_fields():
        spec, default = item.metadata, default_of(item)
        text = spec["help"]
        if spec["choices"] is not None:
            text += f" Choices: {', '.join(str(c) for c in spec['choices'])}."
        shown = ",".join(default) if isinstance(default, tuple) else str(default).lower() \
            if isinstance(default, bool) else default
        text += f" Default: {shown}."
        if isinstance(default, bool):
            group.add_argument(flag(item.name), dest=item.name, action=argparse.BooleanOptionalAction,
                               default=None, help=text)
        else:
            group.add_argument(flag(item.name), dest=item.name, default=None, metavar=item.name.upper(),
                               help=text)


def parameters_from_args(args: argparse.Namespace) -> ProcessingParameters:
    """The parameters given on the command line (others keep their defaults), validated."""
    given = {item.name: parse_value(item, getattr(args, item.name)) for item in parameter_fields()
             if getattr(args, item.name, None) is not None}
    return ProcessingParameters(**given)
