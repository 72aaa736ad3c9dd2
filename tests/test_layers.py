"""Packages depend one way: every import in src/fimkit (function-level ones included) goes down
these layers, never up or sideways, so there is no cycle between packages."""

import ast
import sys
from pathlib import Path

import fimkit

SRC = Path(fimkit.__file__).parent

# Lowest first. A package may import from its own package and from lower layers only.
LAYERS = [
    {"errors"},
    {"__init__", "paths", "fileio", "settings", "syntax", "console"},
    {"formats"},
    {"models"},
    {"data", "runs"},
    {"infer"},
    {"eval"},  # below train: training's held-out check scores through eval's completion path
    {"train", "export"},
    {"pipeline", "demo", "adapt"},
    {"serve", "editor"},
    {"cli"},
]
LAYER_OF = {name: i for i, layer in enumerate(LAYERS) for name in layer}


def unit_of(path: Path) -> str:
    rel = path.relative_to(SRC)
    name = rel.parts[0] if len(rel.parts) > 1 else rel.stem
    return "cli" if name.startswith("cli") or name == "__main__" else name


def import_edges() -> dict[tuple[str, str], list[str]]:
    """(importing unit, imported unit) -> where, for every fimkit import in the package."""
    edges: dict[tuple[str, str], list[str]] = {}
    for path in SRC.rglob("*.py"):
        if "seed" in path.relative_to(SRC).parts:
            continue  # the seed samples are data, not part of the package's code
        source = unit_of(path)
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
                if node.module == "fimkit":  # from fimkit import x
                    modules = [f"fimkit.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] != "fimkit" or len(parts) < 2:
                    continue
                target = "cli" if parts[1].startswith("cli") else parts[1]
                if not (SRC / target).is_dir() and not (SRC / f"{target}.py").is_file():
                    target = "__init__"  # a name defined in fimkit/__init__.py (__version__)
                if target != source:
                    edges.setdefault((source, target), []).append(f"{path.relative_to(SRC)}:{node.lineno}")
    return edges


def test_every_unit_has_a_layer():
    units = {unit_of(p) for p in SRC.rglob("*.py") if "seed" not in p.relative_to(SRC).parts}
    assert units - set(LAYER_OF) == set(), "add new packages to LAYERS"


def test_imports_only_go_down():
    wrong = [f"{a} -> {b} ({', '.join(where)})" for (a, b), where in sorted(import_edges().items())
             if LAYER_OF.get(b, -1) >= LAYER_OF[a]]
    assert not wrong, "imports that go up or sideways:\n" + "\n".join(wrong)


def test_no_cycle_between_packages():
    graph: dict[str, set[str]] = {}
    for a, b in import_edges():
        graph.setdefault(a, set()).add(b)
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail + [node, nxt]))
            if not state.get(nxt):
                visit(nxt, trail + [node])
        state[node] = 2

    for node in list(graph):
        if not state.get(node):
            visit(node, [])


def test_the_checker_sees_a_violation(tmp_path, monkeypatch):
    """The walk must catch an upward import, or the tests above could never fail."""
    (tmp_path / "formats").mkdir()
    (tmp_path / "serve").mkdir()
    (tmp_path / "formats" / "bad.py").write_text("def f():\n    from fimkit.serve import app\n")
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    edges = import_edges()
    assert ("formats", "serve") in edges and LAYER_OF["serve"] > LAYER_OF["formats"]


def module_edges() -> dict[str, set[str]]:
    """Module -> the fimkit modules it imports (function-level imports included), for the cycle check."""
    modules = {".".join(("fimkit", *p.relative_to(SRC).with_suffix("").parts)).removesuffix(".__init__"): p
               for p in SRC.rglob("*.py") if "seed" not in p.relative_to(SRC).parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            for t in targets:
                if t in modules and t != name and not name.startswith(t + "."):  # a package's own __init__
                    graph.setdefault(name, set()).add(t)
    return graph


def test_no_cycle_between_modules():
    """Within a package too: candidates and complete once imported each other (issue 26, item 7)."""
    graph = module_edges()
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                raise AssertionError("import cycle: " + " -> ".join(trail + [node, nxt]))
            if not state.get(nxt):
                visit(nxt, trail + [node])
        state[node] = 2

    for node in sorted(graph):
        if not state.get(node):
            visit(node, [])
