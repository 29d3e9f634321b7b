"""The gpt graphs under graphs/: what GraphIO and gpt demand of them (shared/snap.md section 3), known
operators with parameters those operators declare (section 3.2, 4.1, 4.2, 4.5 and the S2Mask descriptor),
and a default for every template variable."""

import re

import pytest
from lxml import etree

from helpers import REPO

GRAPHS = sorted((REPO / "graphs").glob("*.xml"))
SEN2COR = "${sen2corOperator}"
#: Parameters of the SNAP operators the graphs may use, from shared/snap.md (None: no parameters allowed).
KNOWN_OPERATORS = {
    "Read": {"file", "formatName", "sourceBands", "bandNames", "sourceMasks", "maskNames", "pixelRegion",
             "geometryRegion", "vectorFile", "polygonRegion", "useAdvancedOptions", "copyMetadata"},
    "Write": {"file", "formatName", "deleteOutputOnFailure", "writeEntireTileRows", "clearCacheAfterRowWrite"},
    "S2Resampling": {"resolution", "upsampling", "downsampling", "flagDownsampling", "resampleOnPyramidLevels",
                     "bands", "masks"},
    "Resample": {"referenceBand", "targetWidth", "targetHeight", "targetResolution", "upsampling", "downsampling",
                 "flagDownsampling", "resamplingPreset", "bandResamplings", "resampleOnPyramidLevels"},
    "BandMerge": None,
    "BandMaths": None,
    "Subset": None,
    SEN2COR: {"mode", "resolution", "datastrip", "tile", "outputDir", "workDir", "imgDatabaseDir", "resDatabaseDir",
              "processingCentre", "archivingCentre", "processingBaseline", "Nr_Threads", "DEM_Directory",
              "DEM_Reference", "Aerosol_Type", "Mid_Latitude", "Ozone_Content", "Cirrus_Correction",
              "DEM_Terrain_Correction", "BRDF_Correction", "Visibility"},
}
VALUE_SETS = {("S2Resampling", "resolution"): {"10", "20", "60"},
              ("S2Resampling", "upsampling"): {"Nearest", "Bilinear", "Bicubic"},
              ("S2Resampling", "downsampling"): {"First", "Min", "Max", "Mean", "Median"},
              ("S2Resampling", "flagDownsampling"): {"First", "FlagAnd", "FlagOr", "FlagMedianAnd", "FlagMedianOr"},
              ("S2Resampling", "resampleOnPyramidLevels"): {"true", "false"},
              (SEN2COR, "resolution"): {"10", "20", "60", "ALL"},
              ("Write", "formatName"): {"BEAM-DIMAP"}}
VARIABLE = re.compile(r"\$\{(\w+)\}|\$(\w+)")


def properties(graph):
    """The graph's Java properties file (``key=value`` lines, ``#`` comments)."""
    values = {}
    for line in graph.with_suffix(".properties").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "!")):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def s2mask_parameters():
    root = etree.parse(str(REPO / "snap_plugin" / "s2mask_op-info.xml")).getroot()
    return {p.findtext("name"): p for p in root.iterfind("parameters/parameter")}


def nodes(graph):
    return {node.get("id"): node for node in etree.parse(str(graph)).getroot().iterfind("node")}


def sources(node):
    """(source id, referenced node) of a node: ``refid`` attributes, element text, or comma lists."""
    found = []
    for element in node.find("sources") if node.find("sources") is not None else ():
        references = [element.get("refid")] if element.get("refid") else (element.text or "").split(",")
        found += [(element.tag, ref.strip()) for ref in references if ref.strip()]
    return found


def substituted(text, graph):
    return VARIABLE.sub(lambda m: properties(graph)[m.group(1) or m.group(2)], text)


def test_there_are_the_four_graphs():
    assert [g.name for g in GRAPHS] == ["s2mask_l1c.xml", "s2mask_l2a.xml", "s2mask_sen2cor.xml",
                                        "s2mask_superres.xml"]


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda g: g.name)
def test_graph_structure(graph):
    text = graph.read_text()
    assert "gpt " in text and graph.with_suffix(".properties").name in text  # how to run it, in a comment
    root = etree.fromstring(text.encode())
    assert root.tag == "graph" and root.findtext("version") == "1.0"
    ids = [node.get("id") for node in root.iterfind("node")]
    assert len(ids) == len(set(ids)) and all(ids)
    graph_nodes = nodes(graph)
    edges = {node_id: [ref for _, ref in sources(node)] for node_id, node in graph_nodes.items()}
    assert all(ref in graph_nodes for refs in edges.values() for ref in refs), edges
    done, visiting = set(), set()

    def visit(node_id):
        assert node_id not in visiting, f"cycle through {node_id}"
        if node_id not in done:
            visiting.add(node_id)
            for ref in edges[node_id]:
                visit(ref)
            visiting.discard(node_id)
            done.add(node_id)

    for node_id in edges:
        visit(node_id)
    operators = [node.findtext("operator") for node in graph_nodes.values()]
    assert operators.count("Read") >= 1 and operators[-1] == "Write" and "S2Mask" in operators


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda g: g.name)
def test_operators_and_parameters_are_known(graph):
    declared = s2mask_parameters()
    for node_id, node in nodes(graph).items():
        operator = node.findtext("operator")
        given = {p.tag: substituted(p.text or "", graph) for p in node.find("parameters")} \
            if node.find("parameters") is not None else {}
        if operator == "S2Mask":
            assert [tag for tag, _ in sources(node)] == ["source"], node_id  # the declared source name
            for name, value in given.items():
                assert name in declared, f"{node_id}: S2Mask declares no parameter {name}"
                parameter = declared[name]
                if parameter.find("valueSet") is not None:
                    assert value in parameter.findtext("valueSet").split(","), (node_id, name, value)
                if parameter.findtext("dataType") == "boolean":
                    assert value in ("true", "false"), (node_id, name, value)
                if parameter.findtext("dataType") == "int":
                    low, high = parameter.findtext("interval", "[0,1000000]").strip("[]").split(",")
                    assert int(low) <= int(value) <= int(high), (node_id, name, value)
            continue
        assert operator in KNOWN_OPERATORS, f"{node_id}: unknown operator {operator}"
        known = KNOWN_OPERATORS[operator] or set()
        assert set(given) <= known, f"{node_id}: {operator} has no parameter(s) {set(given) - known}"
        for name, value in given.items():
            assert value in VALUE_SETS.get((operator, name), {value}), (node_id, name, value)
        if operator == "Read":
            assert "file" in given


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda g: g.name)
def test_every_variable_has_a_default_and_every_default_is_used(graph):
    used = {a or b for a, b in VARIABLE.findall(graph.read_text())}
    defaults = properties(graph)
    assert used and used == set(defaults), (used, set(defaults))
    assert all(defaults[name] for name in used)


def test_sen2cor_chain_puts_s2mask_class_beside_the_scene_classification():
    graph = REPO / "graphs" / "s2mask_sen2cor.xml"
    graph_nodes = nodes(graph)
    by_operator = {node.findtext("operator"): node_id for node_id, node in graph_nodes.items()}
    sen2cor = by_operator[SEN2COR]
    assert [ref for _, ref in sources(graph_nodes[sen2cor])] == [by_operator["Read"]]  # the L1C SAFE itself
    merged = [ref for _, ref in sources(graph_nodes[by_operator["BandMerge"]])]
    upstream = {node_id: [ref for _, ref in sources(node)] for node_id, node in graph_nodes.items()}

    def reaches(start, goal):
        return start == goal or any(reaches(ref, goal) for ref in upstream[start])

    assert len(merged) == 2 and reaches(merged[0], sen2cor) and reaches(merged[1], by_operator["S2Mask"])
    assert not reaches(merged[1], sen2cor)  # the mask is made from the L1C, not from Sen2Cor's output
    assert properties(graph)["sen2corOperator"]


def test_super_resolution_graph_feeds_the_reader_product_unresampled():
    graph_nodes = nodes(REPO / "graphs" / "s2mask_superres.xml")
    mask = next(node for node in graph_nodes.values() if node.findtext("operator") == "S2Mask")
    assert graph_nodes[sources(mask)[0][1]].findtext("operator") == "Read"
    assert mask.findtext("parameters/superResolution") == "true" and mask.findtext("parameters/resolution") == "10"


def values_phrase(parameter):
    """How a .properties comment states what an S2Mask parameter takes: its value set, range or true/false."""
    if parameter.find("valueSet") is not None:
        *head, last = parameter.findtext("valueSet").split(",")
        return f"{', '.join(head)} or {last}" if head else last
    if parameter.find("interval") is not None:
        return " to ".join(parameter.findtext("interval").strip("[]").split(","))
    return "true or false" if parameter.findtext("dataType") == "boolean" else None


@pytest.mark.parametrize("graph", GRAPHS, ids=lambda p: p.stem)
def test_property_comments_state_the_values_the_descriptor_allows(graph):
    """A default of an S2Mask parameter is explained by the comment above it, which starts with
    ``# name: <values>`` exactly as the descriptor (generated from ProcessingParameters) allows them."""
    declared = s2mask_parameters()
    lines = graph.with_suffix(".properties").read_text().splitlines()
    for above, line in zip(["", *lines], lines):
        key = line.partition("=")[0].strip()
        if line.startswith("#") or key not in declared or values_phrase(declared[key]) is None:
            continue
        assert above.startswith(f"# {key}: {values_phrase(declared[key])}"), (graph.name, key, above)
