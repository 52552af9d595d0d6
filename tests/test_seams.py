"""Engines meet through public names: no module imports another module's underscore name (issue 23)."""
import ast
from pathlib import Path

import adpharm

ROOT = Path(adpharm.__file__).parent


def test_no_module_imports_a_private_name_from_another():
    offenders = []
    for f in sorted(ROOT.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                offenders += [f"{f.relative_to(ROOT)}: from {'.' * node.level}{node.module or ''} import {a.name}"
                              for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
    assert not offenders, "private names imported across modules:\n" + "\n".join(offenders)


def _module_graph() -> dict[str, set[str]]:
    """adpharm module -> adpharm modules it imports, at module level or inside functions (lazy imports
    count: they are dependencies too)."""
    mods = {}
    for f in ROOT.rglob("*.py"):
        parts = ["adpharm", *f.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = f
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for m, f in mods.items():
        package = m.split(".") if f.name == "__init__.py" else m.split(".")[:-1]
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = (package[:len(package) - node.level + 1] if node.level else [])
                name = ".".join(base + ([node.module] if node.module else []))
                targets = [f"{name}.{a.name}" if f"{name}.{a.name}" in mods else name for a in node.names]
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                continue
            for t in targets:
                while t and t not in mods:
                    t = t.rpartition(".")[0]
                if t and t != m and t.startswith("adpharm."):
                    graph[m].add(t)
    return graph


def test_no_import_circle_in_the_package():
    """Tarjan's strongly connected components of the import graph: every component is one module."""
    graph = _module_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                circles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not circles, f"import circles: {circles}"


def test_the_graph_sees_lazy_imports():
    # the evidence results import their plots lazily, inside .plot(): the graph must record that
    graph = _module_graph()
    assert "adpharm.evidence.plots" in graph["adpharm.evidence.meta"]
    assert "adpharm.figures" in graph["adpharm.evidence.plots"]


def test_only_the_figure_module_sets_up_matplotlib():
    """One figure module (adpharm.figures) imports pyplot and chooses the backend; engines draw through it."""
    offenders = []
    for f in sorted(ROOT.rglob("*.py")):
        if f.name == "figures.py" and f.parent == ROOT:
            continue
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [f"{node.module}.{a.name}" for a in node.names] if isinstance(node, ast.ImportFrom) and node.module
                     else [])
            if any(n in ("matplotlib.pyplot", "matplotlib.use") or n == "matplotlib" for n in names):
                offenders.append(f"{f.relative_to(ROOT)}: {names}")
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "use"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "matplotlib"):
                offenders.append(f"{f.relative_to(ROOT)}: matplotlib.use")
    assert not offenders, "\n".join(offenders)


def test_figures_are_byte_reproducible_in_every_format(tmp_path):
    from adpharm.figures import FORMATS, figure_bytes, pyplot, to_svg

    def draw():
        fig, ax = pyplot().subplots()
        ax.plot([0, 1, 2], [1, 0, 2], label="x")
        ax.legend()
        return fig
    for fmt in FORMATS:
        assert figure_bytes(draw(), tmp_path / f"a.{fmt}") == figure_bytes(draw(), tmp_path / f"b.{fmt}")
    a, b = to_svg(draw(), "one"), to_svg(draw(), "two")
    assert a.startswith("<svg") and a != b and to_svg(draw(), "one") == a


def test_figure_labels_are_cut_with_an_ellipsis():
    from adpharm.figures import MAX_FIGURE_LABEL, short_label
    assert short_label("Control") == "Control"
    cut = short_label("L" * 100_000)
    assert len(cut) == MAX_FIGURE_LABEL and cut.endswith("…")


#: The floors of design.md's flow: a module may import only modules on or below its own floor (the package's
#: top-level ``__init__``, the public face, may import any engine).
FLOORS = {"adpharm.errors": 0, "adpharm.io": 0, "adpharm.units": 0, "adpharm.lazy": 0, "adpharm.figures": 0,
          "adpharm.datasets": 0, "adpharm.display": 0, "adpharm.knowledge": 1, "adpharm.pharmacology": 2, "adpharm.evidence": 2,
          "adpharm.assays": 2, "adpharm.transcriptomics": 2, "adpharm.mechanism": 3, "adpharm.trials": 4,
          "adpharm.report": 5, "adpharm.cli": 6, "adpharm.web": 6, "adpharm.__main__": 6}


def _floor(module: str) -> int | None:
    parts = module.split(".")
    for k in range(len(parts), 1, -1):
        if ".".join(parts[:k]) in FLOORS:
            return FLOORS[".".join(parts[:k])]
    return None


def test_every_module_has_a_floor_and_imports_only_on_or_below_it():
    graph = _module_graph()
    unplaced = sorted(m for m in graph if m != "adpharm" and _floor(m) is None)
    assert not unplaced, f"modules without a floor in FLOORS: {unplaced}"
    upward = [f"{m} (floor {_floor(m)}) imports {t} (floor {_floor(t)})"
              for m, targets in graph.items() if m != "adpharm" for t in targets
              if t != "adpharm" and _floor(t) > _floor(m)]
    assert not upward, "imports that run up the flow:\n" + "\n".join(sorted(upward))
