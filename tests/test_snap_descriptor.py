"""The SNAP module's files: every XML parses, the descriptor has the elements of shared/snap.md 2.2 and
agrees with ProcessingParameters, the service file names the operator class, layer.xml adds the menu entry."""

import ast
from dataclasses import fields

import pytest
from lxml import etree

from s2mask.params import ProcessingParameters
from s2mask.snap.descriptor import descriptor_bytes, processing_parameters

from helpers import REPO

PLUGIN = REPO / "snap_plugin"
INFO = PLUGIN / "s2mask_op-info.xml"
#: ProcessingParameters fields the operator leaves out, and the parameters only SNAP has (stated here on
#: purpose: changing either set is a decision, not a side effect).
EXCLUDED = {"outputs", "exact_downsampling"}
SNAP_ONLY = {"probabilityBands"}
JAVA_TYPES = {bool: "boolean", int: "int", str: "String"}


def parameters():
    root = etree.parse(str(INFO)).getroot()
    return {p.findtext("name"): p for p in root.iterfind("parameters/parameter")}


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(word.capitalize() for word in rest)


@pytest.mark.parametrize("path", sorted([*PLUGIN.rglob("*.xml"), *(REPO / "graphs").glob("*.xml")]),
                         ids=lambda p: p.name)
def test_every_xml_file_parses(path):
    assert etree.parse(str(path)).getroot() is not None


def test_the_committed_descriptor_is_the_generated_one():
    assert INFO.read_bytes() == descriptor_bytes(), (
        "snap_plugin/s2mask_op-info.xml is stale: regenerate it with "
        "'s2mask snap-package --descriptor snap_plugin/s2mask_op-info.xml'")


def test_descriptor_has_the_elements_gpf_reads():
    root = etree.parse(str(INFO)).getroot()
    assert root.tag == "operator"
    assert root.findtext("alias") == "S2Mask"
    assert root.findtext("operatorClass") == "eu.esa.snap.snappy.gpf.PyOperator"
    for tag in ("name", "label", "version", "authors", "copyright", "description"):
        assert (root.findtext(tag) or "").strip(), tag
    assert [s.findtext("name") for s in root.iterfind("namedSourceProducts/sourceProduct")] == ["source"]
    assert root.find("internal") is None  # gpt -h lists it
    for name, parameter in parameters().items():
        data_type, default = parameter.findtext("dataType"), parameter.findtext("defaultValue")
        assert data_type in ("int", "boolean", "String"), name
        assert default is not None and parameter.findtext("description") and parameter.findtext("label"), name
        if parameter.find("valueSet") is not None:
            values = parameter.findtext("valueSet").split(",")
            assert all(v == v.strip() and v for v in values) and default in values, name
        if parameter.find("interval") is not None:
            low, high = parameter.findtext("interval").strip("[]").split(",")
            assert parameter.findtext("interval")[0] == "[" and int(low) <= int(default) <= int(high), name


def test_descriptor_parameters_agree_with_processing_parameters():
    declared = parameters()
    expected = {camel(item.name): item for item in fields(ProcessingParameters) if item.name not in EXCLUDED}
    assert set(declared) == set(expected) | SNAP_ONLY
    assert {item.name for item in fields(ProcessingParameters)} - EXCLUDED == {
        item.name for item in expected.values()}
    for name, item in expected.items():
        element, spec, default = declared[name], item.metadata, item.default
        kind = {"bool": bool, "int": int, "str": str}[item.type]
        assert element.findtext("dataType") == JAVA_TYPES[kind], name
        assert element.findtext("defaultValue") == (str(default).lower() if kind is bool else str(default)), name
        assert element.findtext("label") == spec["label"] and element.findtext("description") == spec["help"]
        choices = ",".join(str(c) for c in spec["choices"]) if spec["choices"] else None
        assert element.findtext("valueSet") == choices, name
        interval = f"[{spec['minimum']},{spec['maximum']}]" if spec["minimum"] is not None else None
        assert element.findtext("interval") == interval, name


def test_gpf_values_become_the_processing_parameters():
    assert processing_parameters({}) == ProcessingParameters(exact_downsampling=True)
    params = processing_parameters({"resolution": 60, "superResolution": False, "model": "physics",
                                    "blockSize": 512, "threads": 2, "probabilityBands": True})
    assert (params.resolution, params.model, params.block_size, params.threads) == (60, "physics", 512, 2)
    assert processing_parameters({"resolution": "10", "superResolution": "true"}).super_resolution is True


def test_service_file_names_the_operator_class_beside_its_descriptor():
    service = PLUGIN / "META-INF" / "services" / "eu.esa.snap.snappy.gpf.PyOperatorSpi"
    lines = [line.strip() for line in service.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert lines == ["s2mask_op.S2MaskOp"]
    module, class_name = lines[0].rsplit(".", 1)
    assert (PLUGIN / f"{module}-info.xml").is_file()
    tree = ast.parse((PLUGIN / f"{module}.py").read_text())
    operator = next(node for node in tree.body if isinstance(node, ast.ClassDef) and node.name == class_name)
    methods = {node.name: [a.arg for a in node.args.args] for node in operator.body
               if isinstance(node, ast.FunctionDef)}
    assert methods["initialize"] == ["self", "context"]
    assert methods["computeTileStack"] == ["self", "context", "target_tiles", "target_rectangle"]
    assert methods["dispose"] == ["self", "context"]


def test_layer_adds_the_menu_entry_for_the_operator():
    root = etree.parse(str(PLUGIN / "layer.xml")).getroot()
    action = root.find("folder[@name='Actions']/folder[@name='Operators']/file[@name='S2MaskAction.instance']")
    attrs = {a.get("name"): a.get("stringvalue") or a.get("methodvalue") for a in action.iterfind("attr")}
    assert attrs["delegate"] == "org.esa.snap.core.gpf.ui.DefaultOperatorAction.create"
    assert attrs["instanceCreate"] == "org.openide.awt.Actions.alwaysEnabled"
    assert attrs["operatorName"] == etree.parse(str(INFO)).getroot().findtext("alias")
    assert attrs["dialogTitle"] and attrs["displayName"] and attrs["targetProductNameSuffix"] == "_s2mask"
    assert set(attrs) <= {"instanceCreate", "delegate", "displayName", "operatorName", "dialogTitle", "helpId",
                          "targetProductNameSuffix", "ShortDescription"}
    shadow = root.find("folder[@name='Menu']/folder[@name='Optical']/folder[@name='Preprocessing']"
                       "/folder[@name='Masking']/file[@name='S2MaskAction.shadow']")
    assert shadow.find("attr[@name='originalFile']").get("stringvalue") == "Actions/Operators/S2MaskAction.instance"
