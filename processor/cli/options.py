"""Command-line options generated from :class:`~s2mask.params.ProcessingParameters`.

Every field becomes ``--field-name``: booleans as ``--flag/--no-flag``, lists as comma-separated
names, choices and ranges checked by the parameters themselves so the CLI, the API and SNAP agree.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..params import ProcessingParameters, default_of, parameter_fields

#: What a PRODUCT argument may be (``s2mask run``, ``s2mask info``).
PRODUCT_HELP = ("a .SAFE folder, its MTD_MSIL1C.xml/MTD_MSIL2A.xml or a zipped SAFE; an EOPF .zarr (folder, zip "
                "or URL); a STAC item (JSON file or URL)")


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def shown_default(item: Any) -> str:
    """A field's default as the command line writes it: ``on``/``off``, comma-separated names, the value."""
    default = default_of(item)
    if isinstance(default, bool):
        return "on" if default else "off"
    return ",".join(default) if isinstance(default, tuple) else str(default)


def allowed_values(item: Any) -> str:
    """A field's allowed values for a reader: its choices (any of them, for a list) or its range."""
    spec = item.metadata
    if spec["choices"] is not None:
        names = ", ".join(f"`{choice}`" for choice in spec["choices"])
        return f"any of {names}" if spec["many"] else names
    if spec["minimum"] is not None:
        return f"{spec['minimum']}..{spec['maximum']}"
    return ""


def options_table() -> str:
    """The README's table of processing options (Markdown), generated here so that it cannot go stale."""
    rows = ["| option | default | values | meaning |", "|---|---|---|---|"]
    for item in parameter_fields():
        option = f"`{flag(item.name)}`"
        if isinstance(default_of(item), bool):
            option += f", `--no-{flag(item.name)[2:]}`"
        rows.append(f"| {option} | {shown_default(item)} | {allowed_values(item)} | {item.metadata['help']} |")
    return "\n".join(rows) + "\n"


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
    return ProcessingParameters.from_mapping({item.name: getattr(args, item.name) for item in parameter_fields()
                                              if getattr(args, item.name, None) is not None})
