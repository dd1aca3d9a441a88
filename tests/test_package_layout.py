"""The package's shape: no import cycles, lower layers never import upper ones, small modules.

The layers, lowest first (a module may import its own layer and the ones
below it; `cclm/__init__.py` is the public facade and sits above them all):
"""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).parents[1] / "cclm"
LAYERS = [
    ("cclm.version", "cclm.errors", "cclm.keras_objects", "cclm.tensorflow_logs"),
    ("cclm.components",),
    ("cclm.data",),
    ("cclm.preprocessing",),
    ("cclm.pipelines",),
    ("cclm.layers",),
    ("cclm.models",),
    ("cclm.training",),
    ("cclm.pretraining",),
    ("cclm.classification", "cclm.compression", "cclm.selection"),
    ("cclm.shelf", "cclm.shelf_template"),
    ("cclm.cli",),
]
MAX_LINES = 400


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str) -> set[str]:
    """The cclm modules `name` imports anywhere (top level or inside functions)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            # `from cclm.x import y` runs cclm.x (its __init__), and imports the module cclm.x.y when y is one.
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:
                target = target.rpartition(".")[0]
            if target.startswith("cclm") and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name) for name in MODULES}


def layer_of(name: str) -> int:
    for index, prefixes in enumerate(LAYERS):
        if any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes):
            return index
    if name == "cclm":
        return len(LAYERS)
    raise AssertionError(f"{name} belongs to no layer; add its package to LAYERS in {__file__}.")


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_imports_only_its_own_layer_and_lower_ones(name):
    upward = sorted(target for target in GRAPH[name] if layer_of(target) > layer_of(name))
    assert not upward, f"{name} (layer {layer_of(name)}) imports upper layers: {upward}"


def test_nothing_imports_the_cli():
    importers = sorted(n for n, targets in GRAPH.items() if not n.startswith("cclm.cli")
                       for t in targets if t.startswith("cclm.cli"))
    assert not importers


def _cycle() -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for target in sorted(GRAPH[node]):
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(GRAPH):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_import_cycles():
    cycle = _cycle()
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_the_cycle_finder_finds_a_cycle(monkeypatch):
    monkeypatch.setitem(GRAPH, "cclm.errors", GRAPH["cclm.errors"] | {"cclm.version"})
    monkeypatch.setitem(GRAPH, "cclm.version", GRAPH["cclm.version"] | {"cclm.errors"})
    assert _cycle() is not None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_is_at_most_400_lines(name):
    lines = len(MODULES[name].read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{MODULES[name]} has {lines} lines; split it (one concept per module)."


def test_every_package_has_an_init():
    for directory in PACKAGE.rglob("*"):
        if directory.is_dir() and any(directory.glob("*.py")):
            assert (directory / "__init__.py").is_file(), directory
