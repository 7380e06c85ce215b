"""The house rules, read from the source: layers import downwards only, no cycles, small
modules, and a docstring on every module and public name (see docs/architecture.md)."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "mapper"
# Each layer may import only the layers below it (and itself). The faces sit side by side on
# top and never import one another; `mapper/__init__.py` (create_app) wires them all.
LAYERS = {
    "config": 0,
    "errors": 0,
    "geo": 0,
    "store": 1,
    "io": 2,
    "core": 3,
    "http": 4,
    "web": 5,
    "api": 5,
    "cli": 5,
}
FACES = {"web", "api", "cli"}
# create_app, and the program that calls it: they import every layer, and no layer them.
TOP = {"mapper", "mapper.__main__"}
LONGEST_MODULE = 520  # lines: "about 500"; Alembic's generated migrations are exempt


def modules():
    """Yield (dotted name, path) of every module of the package."""
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def imports_of(path, name):
    """Return the mapper modules that a module imports, anywhere in it."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] == "mapper"}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            if base.split(".")[0] != "mapper":
                continue
            for alias in node.names:  # `from mapper.core import wards` imports mapper.core.wards
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in MODULES else base)
    return found - {name}


MODULES = dict(modules())
GRAPH = {name: imports_of(path, name) for name, path in MODULES.items()}


def layer_of(name):
    """Return the top-level part of mapper that a module belongs to (None for the top)."""
    return None if name in TOP else name.split(".")[1]


@pytest.mark.parametrize("name", sorted(n for n in MODULES if layer_of(n)))
def test_every_module_imports_only_its_own_layer_or_those_below(name):
    mine = layer_of(name)
    for imported in sorted(GRAPH[name]):
        theirs = layer_of(imported)
        assert theirs is not None, f"{name} imports {imported}, which wires every layer"
        if theirs == mine:
            continue
        assert LAYERS[theirs] < LAYERS[mine], f"{name} ({mine}) imports {imported} ({theirs})"
        assert theirs not in FACES, f"{name} imports another face: {imported}"


def test_the_leaves_import_nothing_of_ours_but_other_leaves():
    for name in ("mapper.config", "mapper.errors", "mapper.geo"):
        assert {layer_of(i) for i in GRAPH[name]} <= {"config", "errors", "geo"}, name


def test_no_module_takes_part_in_an_import_cycle():
    done, path = set(), []

    def visit(name):
        if name in path:
            cycle = path[path.index(name) :] + [name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        path.append(name)
        for imported in sorted(GRAPH[name]):
            if imported in GRAPH:
                visit(imported)
        path.pop()
        done.add(name)

    for name in sorted(GRAPH):
        visit(name)


def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    # One interpreter per module would take a minute; importing each after a purge of
    # mapper's modules is the same test of "no module depends on an earlier import".
    script = (
        "import importlib, sys\n"
        f"names = {sorted(n for n in MODULES if '.migrations' not in n)!r}\n"
        "for name in names:\n"
        "    for loaded in [m for m in sys.modules if m == 'mapper' or m.startswith('mapper.')]:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True)


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_module_is_small_and_says_what_lives_in_it(name):
    path = MODULES[name]
    tree = ast.parse(path.read_text())
    docstring = ast.get_docstring(tree)
    assert docstring and docstring.splitlines()[0].strip(), f"{path} has no docstring"
    if "migrations" not in path.parts:
        lines = len(path.read_text().splitlines())
        assert lines <= LONGEST_MODULE, f"{path} has {lines} lines"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_public_function_and_class_says_what_it_does(name):
    tree = ast.parse(MODULES[name].read_text())
    undocumented = [
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.ClassDef)
        and not node.name.startswith("_")
        and not ast.get_docstring(node)
    ]
    assert not undocumented, f"{name}: {', '.join(undocumented)}"
