"""The import map of ``s2mask``: no circle between modules or packages, and no import that runs up a floor.

The graph is read from the source with ``ast`` (every import, also those inside functions: a deferred
import is still a dependency). A unit is a top-level module (``s2mask.stream``) or a subpackage
(``s2mask.io``); :data:`FLOORS` puts each on a floor, and a unit may only import from its own floor or
below. A new module goes on the lowest floor its imports allow.
"""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "processor"

#: Bottom to top. 0: vocabulary without s2mask dependencies of note; 1: the masking vocabulary, resampling
#: and torch's runtime; 2: readers, the physics classifier, super-resolution, the simulator, scoring; 3: the mask
#: networks; 4: the chooser above both kinds of masker; 5: the parameters; 6: the streaming engine;
#: 7: what runs a product or arrays through it; 8: SNAP, batches, training and evaluation; 9: the CLI.
FLOORS = [
    {"s2mask", "errors", "interrupts", "cores", "bands", "classes", "grid", "angles", "compute", "weights", "cpu",
     "allocator"},
    {"masking", "resample", "inference"},
    {"io", "physics", "superres", "sim", "evaluation"},
    {"models"},
    {"choice"},
    {"params"},
    {"stream"},
    {"pipeline", "api"},
    {"snap", "batch", "train"},
    {"cli"},
]
FLOOR = {unit: level for level, units in enumerate(FLOORS) for unit in units}


def module_name(path: Path) -> str:
    parts = ("s2mask", *path.relative_to(PACKAGE).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the s2mask modules it imports (a ``from package import name`` counts the submodule)."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names if alias.name.split(".")[0] == "s2mask"}
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[:len(package.split(".")) - node.level + 1]
                    origin = ".".join(base + ([node.module] if node.module else []))
                elif (node.module or "").split(".")[0] == "s2mask":
                    origin = node.module
                else:
                    continue
                targets |= {f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules else origin
                            for alias in node.names}
        graph[name] = {target for target in targets if target in modules and target != name}
    return graph


def unit_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "s2mask"


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph():
    return import_graph()


def test_the_graph_is_read_whole(graph):
    assert {"s2mask.stream", "s2mask.io.safe", "s2mask.models.masker"} <= set(graph)
    assert "s2mask.masking" in graph["s2mask.stream"] and "s2mask.physics" in graph["s2mask.choice"]  # deferred


def test_no_module_circle(graph):
    assert circles(graph) == []


def test_no_package_circle(graph):
    units = {}
    for module, targets in graph.items():
        units.setdefault(unit_of(module), set()).update(unit_of(t) for t in targets if unit_of(t) != unit_of(module))
    assert circles(units) == []


def test_every_unit_has_a_floor_and_no_import_runs_up_one(graph):
    assert {unit_of(module) for module in graph} == set(FLOOR)
    upward = sorted({(module, target) for module, targets in graph.items() for target in targets
                     if FLOOR[unit_of(target)] > FLOOR[unit_of(module)]})
    assert upward == []


def test_the_masking_vocabulary_and_the_parameters_import_no_maskers_and_no_torch(graph):
    for module in ("s2mask.masking", "s2mask.compute", "s2mask.choice", "s2mask.params"):
        source = (PACKAGE / Path(*module.split(".")[1:])).with_suffix(".py").read_text(encoding="utf-8")
        assert "import torch" not in source, module
    assert not {t for t in graph["s2mask.masking"] if unit_of(t) in ("physics", "models", "choice")}
