"""The S2Mask operator's SNAP parameters and its ``s2mask_op-info.xml``, generated from ProcessingParameters.

Every :class:`~s2mask.params.ProcessingParameters` field becomes a GPF parameter under its camelCase
name (``block_size`` -> ``blockSize``, SNAP's convention) with the field's type, default, allowed values
(``valueSet``, comma-separated), range (``interval``), label and help text, except the fields whose
metadata says why SNAP has no use for them (``not_in_snap``). :data:`SNAP_ONLY` adds what SNAP needs in
their place.
Element names follow ``DefaultOperatorDescriptor`` (shared/snap.md section 2.2).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from .. import __version__
from ..io.atomic import output_errors
from ..params import ProcessingParameters, default_of, parameter_fields

ALIAS = "S2Mask"
OPERATOR_NAME = "eu.s2mask.snap.S2MaskOp"
OPERATOR_CLASS = "eu.esa.snap.snappy.gpf.PyOperator"
#: The name under ``<namedSourceProducts>``, and the source id graphs should use.
SOURCE_NAME = "source"
DESCRIPTION = ("Cloud, cloud-shadow, snow and water mask for Sentinel-2 L1C and L2A products: the s2mask "
               "processor (same classes as 's2mask run'), as a uint8 band 's2mask_class' with class names, "
               "colours and one mask per class.")

_JAVA_TYPES = {"bool": "boolean", "int": "int", "str": "String"}


@dataclass(frozen=True)
class SnapParameter:
    """One ``<parameter>`` of the descriptor; ``field`` is the ProcessingParameters field (None: SNAP only)."""

    name: str
    field: str | None
    data_type: str
    default: str
    label: str
    description: str
    value_set: tuple[str, ...] | None = None
    interval: str | None = None


#: The SNAP-only switch for the probability bands.
PROBABILITY_BANDS = "probabilityBands"
SNAP_ONLY: tuple[SnapParameter, ...] = (
    SnapParameter(PROBABILITY_BANDS, None, "boolean", "false", "Probability bands",
                  "Add one band per class, prob_<class>, with the class probability in percent (0..100, "
                  "255 = no data), as 's2mask run --outputs probabilities'."),
)


def snap_name(field_name: str) -> str:
    """SNAP's camelCase name of a ProcessingParameters field: ``super_resolution`` -> ``superResolution``."""
    head, *rest = field_name.split("_")
    return head + "".join(word.capitalize() for word in rest)


def _from_field(item: Any) -> SnapParameter:
    spec, default = item.metadata, default_of(item)
    kind = item.type if isinstance(item.type, str) else item.type.__name__
    text = str(default).lower() if isinstance(default, bool) else str(default)
    interval = f"[{spec['minimum']},{spec['maximum']}]" if spec["minimum"] is not None else None
    choices = tuple(str(c) for c in spec["choices"]) if spec["choices"] is not None else None
    return SnapParameter(snap_name(item.name), item.name, _JAVA_TYPES[kind], text, spec["label"], spec["help"],
                         choices, interval)


def snap_parameters() -> tuple[SnapParameter, ...]:
    """The operator's parameters: ProcessingParameters (less those ``not_in_snap``), then :data:`SNAP_ONLY`."""
    return (*(_from_field(item) for item in parameter_fields() if item.metadata["not_in_snap"] is None),
            *SNAP_ONLY)


def processing_parameters(values: Mapping[str, Any]) -> ProcessingParameters:
    """ProcessingParameters from SNAP parameter values by SNAP name (missing ones keep their defaults).

    Inside SNAP the exact area mean is the only down-sampling, so ``exact_downsampling`` is always on.
    """
    by_name = {p.name: p for p in snap_parameters() if p.field is not None}
    given = {by_name[name].field: value for name, value in values.items() if name in by_name and value is not None}
    return ProcessingParameters.from_mapping({**given, "exact_downsampling": True})


def _text(parent: etree._Element, tag: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, tag)
    element.text = text
    return element


def operator_descriptor() -> etree._Element:
    """The ``<operator>`` element of ``s2mask_op-info.xml``."""
    root = etree.Element("operator")
    root.append(etree.Comment(" Generated from s2mask.params.ProcessingParameters by s2mask.snap.descriptor: "
                              "edit the parameters there, then regenerate this file with the descriptor "
                              "option of 's2mask snap-package'. "))
    for tag, text in (("name", OPERATOR_NAME), ("alias", ALIAS), ("label", "S2Mask cloud mask (s2mask)"),
                      ("operatorClass", OPERATOR_CLASS), ("version", __version__),
                      ("authors", "s2mask contributors"), ("copyright", "s2mask contributors, Apache License 2.0"),
                      ("description", DESCRIPTION)):
        _text(root, tag, text)
    source = etree.SubElement(etree.SubElement(root, "namedSourceProducts"), "sourceProduct")
    _text(source, "name", SOURCE_NAME)
    _text(source, "description", "A Sentinel-2 L1C or L2A product as SNAP's reader gives it (multi-size), "
                                 "or resampled to one grid (S2Resampling).")
    parameters = etree.SubElement(root, "parameters")
    for parameter in snap_parameters():
        element = etree.SubElement(parameters, "parameter")
        _text(element, "name", parameter.name)
        _text(element, "label", parameter.label)
        _text(element, "description", parameter.description)
        _text(element, "dataType", parameter.data_type)
        _text(element, "defaultValue", parameter.default)
        if parameter.value_set is not None:
            _text(element, "valueSet", ",".join(parameter.value_set))
        if parameter.interval is not None:
            _text(element, "interval", parameter.interval)
    return root


def descriptor_bytes() -> bytes:
    """``s2mask_op-info.xml`` as written to disk (UTF-8, indented)."""
    root = operator_descriptor()
    etree.indent(root, space="    ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def write_descriptor(path: str | Path) -> Path:
    path = Path(path)
    with output_errors(path):
        path.write_bytes(descriptor_bytes())
    return path
