"""The package's shape: no import circles, even inside functions or for type hints only."""

from __future__ import annotations

import ast
from pathlib import Path

GEO = Path(__file__).resolve().parents[1] / "geo"


def _imported(module: str, tree: ast.AST, *, is_package: bool = False) -> set[str]:
    """The ``geo`` modules one module imports (dotted below ``geo``: ``web.common``),
    anywhere: at the top, inside functions, and under ``TYPE_CHECKING`` (a type-only import
    is a dependency too: the model sits below the runner and the writers)."""
    parts = module.split(".") if module else []
    package = parts if is_package else parts[:-1]  # where a relative import starts
    found: set[str] = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        stack.extend(ast.iter_child_nodes(node))
        if isinstance(node, ast.ImportFrom):
            name = node.module or ""
            if node.level == 0 and not (name == "geo" or name.startswith("geo.")):
                continue
            if node.level == 0:
                base = name.split(".")[1:]
            else:
                base = package[:len(package) - (node.level - 1)] + \
                    (name.split(".") if name else [])
            found |= {".".join(base + [a.name]) for a in node.names} | {".".join(base)}
        elif isinstance(node, ast.Import):
            found |= {a.name[len("geo."):] for a in node.names if a.name.startswith("geo.")}
    # a module's own packages are where its siblings live, not modules it depends on
    ancestors = {".".join(parts[:k]) for k in range(len(parts) + 1)}
    return (found & set(MODULES)) - ancestors - {module}


#: Every module of the package, dotted below ``geo`` (``web`` is ``geo/web/__init__.py``).
MODULES = {".".join(p.relative_to(GEO).with_suffix("").parts).removesuffix(".__init__")
           .removesuffix("__init__"): p for p in GEO.rglob("*.py")}


def import_graph(sources: dict[str, str] | None = None) -> dict[str, set[str]]:
    """Module → the ``geo`` modules it imports; ``sources`` replaces some modules' text."""
    sources = sources or {}
    return {name: _imported(name, ast.parse(sources.get(name)
                                            or path.read_text(encoding="utf-8")),
                            is_package=path.name == "__init__.py")
            for name, path in sorted(MODULES.items()) if name}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every import circle, found by a depth-first walk (one path per back edge)."""
    found, state, path = [], {}, []

    def walk(node: str) -> None:
        state[node] = "open"
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                walk(nxt)
        path.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            walk(node)
    return found


def test_the_walk_finds_a_circle_hidden_in_a_function():
    tree = ast.parse("def f():\n    from .b import x\n")
    guarded = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                        "    from .study import Study\n")
    assert _imported("study", tree) == set()  # b is not a module of geo
    assert _imported("outputs", guarded) == {"study"}  # type-only, still a dependency
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _imported("cli.link", ast.parse(
        "def f():\n    from .geocode import y\n    import geo.qpv\n")) == {"cli.geocode",
                                                                      "qpv"}
    assert _imported("web.files", ast.parse("def f():\n    from ..write.report import x\n"
                                            "from . import common\n")) == {"write.report",
                                                                           "web.common"}


def test_the_package_has_no_import_circle():
    graph = import_graph()
    assert len(graph) > 30 and graph["cli.link"]
    assert {"web.common", "web.jobs"} <= graph["web.studies"] and "web.auth" in graph["web"]
    assert circles(graph) == []


def test_a_type_only_circle_is_found():
    """The writers reading the runner's result types (even for type hints only) while the
    runner calls the writers would be a circle: the model below both breaks it."""
    outputs = (GEO / "write" / "outputs.py").read_text(encoding="utf-8")
    assert "from ..model import" in outputs
    graph = import_graph({"write.outputs": outputs.replace("from ..model import",
                                                           "from ..study import")})
    assert any({"write.outputs", "study"} <= set(c) for c in circles(graph))
    assert "write.outputs" in import_graph()["study"]
    assert "model" in import_graph()["write.outputs"]


def test_the_model_imports_neither_runner_nor_writers():
    graph = import_graph()
    below = set()
    stack = ["model"]
    while stack:  # everything the model reaches, directly or not
        for nxt in graph[stack.pop()] - below:
            below.add(nxt)
            stack.append(nxt)
    assert "study" not in below and not any(m.startswith("write") for m in below)


def test_the_print_draws_without_folium():
    """Paper maps build on the shared styles (geo.write.mapstyle), not on the web map."""
    import subprocess
    import sys

    code = ("import sys, geo.write.printmap, geo.write.fiches; "
            "print(sorted(m for m in ('folium', 'geo.write.maps') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_relations_and_detection_live_in_their_declarations():
    """The relation names are written once (geo.vocabulary's ``Relation``): the modules that
    link, count and write tables use the enum, never the raw strings; and the column
    detection algorithm sits in its own room (geo.columns), the vocabulary keeping only
    declarations."""
    from geo.vocabulary import Relation

    names = {r.value for r in Relation}
    for module in ("link", "impact", "tables", "columns", "initiatives", "geocode"):
        tree = ast.parse((GEO / f"{module}.py").read_text(encoding="utf-8"))
        loose = sorted({n.value for n in ast.walk(tree)
                        if isinstance(n, ast.Constant) and n.value in names})
        assert loose == [], f"geo/{module}.py writes {loose} instead of Relation"
    vocabulary = ast.parse((GEO / "vocabulary.py").read_text(encoding="utf-8"))
    functions = {n.name for n in vocabulary.body if isinstance(n, ast.FunctionDef)}
    assert "detect_columns" not in functions and not any(f.startswith("_by_") or
                                                         "coordinate" in f for f in functions)
    assert "vocabulary" in import_graph()["columns"]


#: The layers, from the doors down: a module imports its own layer's modules and lower ones.
#: The engine (reading, locating, linking) and the model share a layer: the model names the
#: engine's result types.
def layer(module: str) -> int:
    top = module.split(".")[0]
    if top in ("cli", "web"):
        return 4  # doors: the command line and the web page
    if module in ("study", "studyfile"):
        return 3  # the runner
    if top == "write":
        return 2  # the writers
    if module in ("vocabulary", "parameters", "typography", "_errors"):
        return 0  # the declarations
    return 1  # the engine and the model


def upward(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    """Every import of a module from a layer above its own."""
    return sorted((a, b) for a, bs in graph.items() for b in bs if layer(b) > layer(a))


def test_imports_go_down_the_layers():
    """doors → runner → writers → engine and model → declarations, never the other way."""
    graph = import_graph()
    assert {layer(m) for m in graph} == {0, 1, 2, 3, 4}
    assert upward(graph) == []
    # the check sees an engine module reaching a writer, and a writer reaching the runner
    link = (GEO / "link.py").read_text(encoding="utf-8") + "\nfrom .write.maps import x\n"
    maps = (GEO / "write" / "maps.py").read_text(encoding="utf-8") + "\nfrom ..study import y\n"
    assert upward(import_graph({"link": link, "write.maps": maps})) == [
        ("link", "write.maps"), ("write.maps", "study")]


def private_imports() -> list[str]:
    """Every private name (``_x``) one module takes from another: what rooms share is public."""
    found = []
    for name, path in sorted(MODULES.items()):
        package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.ImportFrom) or not (node.level or (
                    node.module or "").startswith("geo")):
                continue
            base = package[:len(package) - (node.level - 1)] if node.level else []
            source = ".".join(base + ((node.module or "").split(".") if node.module else []))
            found += [f"{name} takes {a.name} from {source or 'geo'}" for a in node.names
                      if a.name.startswith("_") and not a.name.startswith("__")
                      and ".".join(filter(None, [source, a.name])) not in MODULES]
    return found


def test_rooms_share_only_public_names():
    """The fiches draw with the print's public core (they took 13 of its private names)."""
    assert private_imports() == []
