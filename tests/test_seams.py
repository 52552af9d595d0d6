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


# ---------------------------------------------------------------- engines speak parameters (issue 38, item 2)
import re  # noqa: E402

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _engine_strings():
    """Every string an engine module can show a user: its string constants and f-string pieces, less
    docstrings and the command lines a guide prints as examples (``adpharm trial simulate ... --seed 1``)."""
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("cli/", "web/")):
            continue
        tree = ast.parse(path.read_text())
        docs = {id(n.body[0].value) for n in ast.walk(tree)
                if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
        commands = {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr)
                    for v in n.values[1:] if isinstance(n.values[0], ast.Constant)
                    and str(n.values[0].value).startswith("adpharm ")}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs | commands \
                    and not node.value.startswith("adpharm "):
                yield rel, node.lineno, node.value


def test_no_engine_text_names_a_command_line_flag():
    """Issue 38: a Python or web user is never told about a flag they did not type; engines name the
    parameter (``AdpharmInputError(..., field=...)``) and the command line shows its flag."""
    hits = [f"{rel}:{line}: {text[:80]!r}" for rel, line, text in _engine_strings() if FLAG.search(text)]
    assert not hits, "engine texts that name a command-line flag:\n" + "\n".join(hits)


def test_the_grep_sees_a_flag_in_an_engine_string():
    assert FLAG.search("give --n-per-arm or --target-power") and not FLAG.search("a -- b, x--y")


def test_an_engine_error_shows_the_field_to_python_and_the_flag_on_the_command_line():
    from adpharm.cli.common import command_flags, flag_message
    from adpharm.cli.transcriptomics import reversal_cmd
    from adpharm.errors import AdpharmInputError
    from adpharm.transcriptomics.reversal import reversal
    with __import__("pytest").raises(AdpharmInputError) as info:
        reversal(None, None, alpha=1.5)
    assert str(info.value) == "alpha: 1.5 must be between 0 and 1" and info.value.field == "alpha"
    flags = command_flags(reversal_cmd.__wrapped__)
    assert flag_message(info.value, flags) == "--alpha: 1.5 must be between 0 and 1"
    assert flags["min_total_count"] == "--min-count" or "min_total_count" not in flags


# ---------------------------------------------------------------- the front end only translates (issue 38, item 6)
def test_the_command_line_prints_what_a_result_says():
    """Issue 38: a command prints a result's ``text()`` (and writes its ``to_dict()``); it formats no result
    table of its own. The listing commands (drugs, protocols, datasets, parameters) print catalogues, not
    results."""
    cli = ROOT / "cli"
    composed = [f"{p.name}:{i}" for p in sorted(cli.glob("*.py")) for i, line in enumerate(p.read_text().splitlines(), 1)
                if re.search(r"\btable_text\(|\.summary\(\)\.to_string\(|\bto_markdown\(", line)]
    assert not composed, "commands that format a result table themselves: " + ", ".join(composed)


def test_a_parameter_in_a_result_text_is_shown_as_its_flag():
    """``simulate longer with `hours``` in a result's text reads ``--hours`` on the command line."""
    from adpharm.cli.common import flag_text
    assert flag_text("simulate longer with `hours`; n_per_arm", {"hours": "--hours", "n_per_arm": "--n"},
                     quoted_only=True) == "simulate longer with --hours; n_per_arm"


# ---------------------------------------------------------------- one home per rule (issue 38, item 3)
TIME_WORDS = {"s", "sec", "min", "minute", "m", "h", "hr", "hour", "hours", "d", "day", "days", "wk", "w", "week",
              "weeks"}


def test_time_units_are_tabled_only_in_units():
    """Issue 38: a table from time-unit names to hours (or to one another) lives in ``units`` only."""
    tables = []
    for path in sorted(ROOT.rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel == "units.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Dict) and len(node.keys) >= 2:
                keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
                if len(keys) >= 2 and sum(k in TIME_WORDS for k in keys) >= 2:
                    tables.append(f"{rel}:{node.lineno}: {keys}")
    assert not tables, "time-unit tables outside units.py:\n" + "\n".join(tables)


def test_the_faces_pool_bundled_binary_trials_through_the_engine():
    """Issue 38: the command line and the guide pool the bundled binary trials with
    ``evidence.bundled.pool_binary`` (as the continuous outcomes with ``pool_continuous``), not by hand."""
    for rel in ("cli/meta.py", "report/efficacy.py"):
        text = (ROOT / rel).read_text()
        assert "pool_binary(" in text, rel
        assert "primary_window(arms" not in text, rel


def test_no_results_class_is_built_from_positional_arguments():
    """Issue 38, item 5: results (``...Result``, ``...Pool``, ``...Table`` dataclasses and every other results
    class, e.g. ``TrialAnalysis``, ``DoseProposal``) are built from named fields, so that adding or reordering a
    field cannot silently shift the others."""
    trees = {p: ast.parse(p.read_text()) for p in sorted(ROOT.rglob("*.py"))}
    results = {n.name for t in trees.values() for n in ast.walk(t) if isinstance(n, ast.ClassDef)
               and (n.name.endswith(("Result", "Pool", "Table"))
                    or any(ast.unparse(b) == "NotebookDisplay" for b in n.bases))
               and any("dataclass" in ast.unparse(d) for d in n.decorator_list)}
    assert {"MechanismResult", "PKResult", "TrialResult", "BinaryPool", "TrialAnalysis", "DoseProposal",
            "RegistryNetwork", "VirtualRegistry", "Comparison"} <= results
    positional = [f"{p.relative_to(ROOT)}:{n.lineno}: {n.func.id if isinstance(n.func, ast.Name) else n.func.attr}"
                  for p, t in trees.items() for n in ast.walk(t) if isinstance(n, ast.Call) and n.args
                  and (n.func.id if isinstance(n.func, ast.Name) else getattr(n.func, "attr", None)) in results]
    assert not positional, "results built from positional arguments:\n" + "\n".join(positional)


def test_the_mechanism_takes_who_the_patients_are_as_one_covariates_object():
    """Issue 38, item 5: ``mechanism.simulate`` and ``prepare`` take a ``PatientCovariates``, not loose keywords."""
    import inspect

    from adpharm.mechanism.simulate import prepare, simulate
    from adpharm.pharmacology.simulate import PatientCovariates
    for fn in (simulate, prepare):
        params = inspect.signature(fn).parameters
        assert "covariates" in params and not {"weight_kg", "age_y", "sex", "phenotype"} & set(params), fn.__name__
    light, heavy = (simulate(("ketamine", "0.5 mg/kg iv over 40 min"), 2, covariates=PatientCovariates(weight_kg=w))
                    for w in (50.0, 100.0))
    assert light.to_dict() != heavy.to_dict()
