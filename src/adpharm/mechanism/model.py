"""The signalling-cascade model as data: states, parameters and rate laws read from one file.

``cascade.yaml`` declares inputs (occupancies from the PK engine), parameters (value, unit in the
name, basis and sources), assignments (algebraic nodes, in order) and states (ODEs in
production-decay form ``dx/dt = production - decay_per_h * x``). Everything else is derived from
this one declaration: the vectorised right-hand side used by :mod:`.integrate`, the SBML document
(:mod:`.sbml`) and the pathway diagram (:meth:`CascadeModel.diagram`).

Expressions are a small, checked subset of Python arithmetic (``+ - * / **``, parentheses,
numbers, names declared above, and ``exp``, ``log``, ``sqrt``), so that the same text is valid
numpy and valid SBML Level 3 infix.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from ..io import load_yaml

from ..errors import AdpharmInputError

FUNCTIONS = {"exp": np.exp, "log": np.log, "sqrt": np.sqrt}
BASES = ("measured", "derived", "calibrated", "normalisation", "assumed")
_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow,
            ast.USub, ast.UAdd, ast.Name, ast.Load, ast.Constant, ast.Call)


@dataclass(frozen=True)
class Parameter:
    name: str
    value: float
    basis: str
    refs: tuple[str, ...]
    fact: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class State:
    name: str
    initial: float
    production: str
    decay_per_h: str
    label: str
    arm: str


@dataclass
class CascadeModel:
    """The declared model and its compiled, vectorised evaluators."""

    version: str
    inputs: dict[str, str]
    parameters: dict[str, Parameter]
    assignments: dict[str, str]
    states: dict[str, State]
    source: str
    _code: Any = field(default=None, repr=False)

    @property
    def state_names(self) -> list[str]:
        return list(self.states)

    def names_used(self, expr: str) -> set[str]:
        return {n.id for n in ast.walk(ast.parse(expr, mode="eval")) if isinstance(n, ast.Name)} - set(FUNCTIONS)

    # --- evaluation -------------------------------------------------------------------------
    def parameter_values(self, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
        """Parameter values, with ``overrides`` (scalars or per-patient arrays) applied and checked."""
        p: dict[str, Any] = {k: v.value for k, v in self.parameters.items()}
        for k, v in (overrides or {}).items():
            if k not in self.parameters:
                raise AdpharmInputError(f"mechanism parameter {k!r}: not in the model (see adpharm mechanism parameters)")
            arr = np.asarray(v, dtype=float)
            if not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise AdpharmInputError(f"mechanism parameter {k!r}: {v!r} must be finite and non-negative")
            p[k] = arr
        return p

    def decay(self, params: dict[str, Any]) -> np.ndarray:
        """Decay rates (1/h): array ``(states,)`` or ``(patients, states)`` when parameters vary by patient."""
        ns = dict(FUNCTIONS, **params)
        rates = [np.asarray(eval(self._code["decay"][s], {"__builtins__": {}}, ns), dtype=float)  # noqa: S307
                 for s in self.states]
        return np.stack(np.broadcast_arrays(*rates), axis=-1)

    def evaluate(self, y: np.ndarray, inputs: dict[str, np.ndarray], params: dict[str, Any]) -> dict[str, np.ndarray]:
        """Every assignment for states ``y`` (``(patients, states)``) and inputs: a name -> array namespace."""
        ns: dict[str, Any] = dict(FUNCTIONS, **params)
        ns.update(inputs)
        ns.update(self._code["evaluate"](y, inputs, params))
        return ns

    def production(self, y: np.ndarray, inputs: dict[str, np.ndarray], params: dict[str, Any]) -> np.ndarray:
        """Production terms ``(patients, states)``: the nonlinear part of the right-hand side."""
        return self._code["production"](y, inputs, params)

    def initial(self, n: int) -> np.ndarray:
        return np.tile(np.array([s.initial for s in self.states.values()], dtype=float), (n, 1))

    # --- derived views ----------------------------------------------------------------------
    def edges(self) -> list[tuple[str, str]]:
        """Dependency edges ``(source, target)`` between inputs, assignments and states."""
        out = []
        for name, expr in self.assignments.items():
            out += [(u, name) for u in sorted(self.names_used(expr)) if u not in self.parameters]
        for s in self.states.values():
            out += [(u, s.name) for u in sorted(self.names_used(s.production)) if u not in self.parameters and u != s.name]
        return out

    def parameters_upstream_of(self, name: str) -> list[str]:
        """Parameters that ``name`` (an assignment or state) depends on, through every path, in file order."""
        exprs: dict[str, list[str]] = {k: [v] for k, v in self.assignments.items()}
        exprs.update({s.name: [s.production, s.decay_per_h] for s in self.states.values()})
        seen, todo, found = set(), [name], set()
        while todo:
            cur = todo.pop()
            if cur in seen:
                continue
            seen.add(cur)
            for e in exprs.get(cur, []):
                for u in self.names_used(e):
                    if u in self.parameters:
                        found.add(u)
                    elif u in exprs:
                        todo.append(u)
        return [p for p in self.parameters if p in found]

    def graph(self) -> dict:
        """The model's dependency graph as data (``nodes``, ``edges``, ``title``): inputs as receptors,
        assignments as processes, states as kinases or outcomes. The report draws it
        (:func:`adpharm.report.diagrams.model_diagram`); the mechanism never imports the report."""
        kinds = {n: "receptor" for n in self.inputs}
        kinds.update({n: "process" for n in self.assignments})
        kinds.update({s.name: ("outcome" if s.arm == "convergence" else "kinase") for s in self.states.values()})
        labels = {s.name: s.label for s in self.states.values()}
        used = {a for e in self.edges() for a in e}
        nodes = [{"id": n, "label": labels.get(n, n.replace("_", " ")), "kind": kinds[n]} for n in kinds if n in used]
        edges = [{"source": a, "target": b, "effect": "activates"} for a, b in self.edges()]
        return {"nodes": nodes, "edges": edges, "title": f"adpharm cascade model {self.version}"}

    def parameter_table(self) -> list[dict]:
        return [{"name": p.name, "value": p.value, "basis": p.basis, "refs": list(p.refs), "fact": p.fact,
                 "note": p.note} for p in self.parameters.values()]


def _check_expr(expr: Any, where: str, known: set[str], path: str) -> str:
    if not isinstance(expr, (str, int, float)):
        raise AdpharmInputError(f"{path}: field {where}: expected an expression, got {expr!r}")
    text = str(expr)
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise AdpharmInputError(f"{path}: field {where}: cannot parse expression {text!r}") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise AdpharmInputError(f"{path}: field {where}: {type(node).__name__} is not allowed in {text!r}")
        if isinstance(node, ast.Call) and not (isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS):
            raise AdpharmInputError(f"{path}: field {where}: only {', '.join(FUNCTIONS)} may be called in {text!r}")
        if isinstance(node, ast.Name) and node.id not in known and node.id not in FUNCTIONS:
            raise AdpharmInputError(f"{path}: field {where}: unknown name {node.id!r} in {text!r}")
    return text


def parse(data: Any, path: str = "cascade.yaml", references: set[str] | None = None) -> CascadeModel:
    """Validate a model declaration and compile it."""
    if not isinstance(data, dict):
        raise AdpharmInputError(f"{path}: expected a mapping with inputs, parameters, assignments and states")
    for key in ("version", "inputs", "parameters", "assignments", "states"):
        if key not in data:
            raise AdpharmInputError(f"{path}: field {key}: missing")
    params: dict[str, Parameter] = {}
    for name, p in data["parameters"].items():
        if not isinstance(p, dict) or "value" not in p:
            raise AdpharmInputError(f"{path}: field parameters.{name}: needs value, basis and refs")
        value = p["value"]
        if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
            raise AdpharmInputError(f"{path}: field parameters.{name}.value: {value!r} must be a finite non-negative number")
        if p.get("basis") not in BASES:
            raise AdpharmInputError(f"{path}: field parameters.{name}.basis: {p.get('basis')!r} is not one of {', '.join(BASES)}")
        refs = tuple(p.get("refs") or ())
        if not refs:
            raise AdpharmInputError(f"{path}: field parameters.{name}.refs: every parameter needs a source")
        for r in refs:
            if references is not None and r not in references:
                raise AdpharmInputError(f"{path}: field parameters.{name}.refs: unknown reference key {r!r}")
        params[name] = Parameter(name, float(value), p["basis"], refs, p.get("fact"), p.get("note"))
    states_raw = data["states"]
    known = set(data["inputs"]) | set(params) | set(states_raw)
    assignments: dict[str, str] = {}
    for name, expr in data["assignments"].items():
        if name in known:
            raise AdpharmInputError(f"{path}: field assignments.{name}: name already declared")
        assignments[name] = _check_expr(expr, f"assignments.{name}", known, path)
        known.add(name)
    states: dict[str, State] = {}
    for name, s in states_raw.items():
        if not isinstance(s, dict):
            raise AdpharmInputError(f"{path}: field states.{name}: expected a mapping")
        for key in ("initial", "production", "decay_per_h"):
            if key not in s:
                raise AdpharmInputError(f"{path}: field states.{name}.{key}: missing")
        decay = _check_expr(s["decay_per_h"], f"states.{name}.decay_per_h", set(params), path)
        states[name] = State(name, float(s["initial"]), _check_expr(s["production"], f"states.{name}.production", known, path),
                             decay, s.get("label", name), s.get("arm", ""))
    model = CascadeModel(str(data["version"]), dict(data["inputs"]), params, assignments, states, path)
    model._code = {"decay": {k: compile(s.decay_per_h, f"{path}:{k}", "eval") for k, s in states.items()},
                   **_compile_rhs(model)}
    return model


class _Prefix(ast.NodeTransformer):
    """Renames every model name ``x`` to the local variable ``v_x`` (functions keep their names)."""

    def visit_Name(self, node: ast.Name) -> ast.Name:
        return node if node.id in FUNCTIONS else ast.copy_location(ast.Name(f"v_{node.id}", node.ctx), node)


def _compile_rhs(model: CascadeModel) -> dict[str, Any]:
    """The assignments and production terms compiled once into two Python functions of ``(y, inputs, params)``.

    Each expression's tree is kept as parsed (names become local variables), so the arithmetic and its
    order are those of the declared text; a local-variable function avoids rebuilding a namespace and
    calling ``eval`` per expression at every stage of every step.
    """
    def expr(text: str) -> str:
        return ast.unparse(_Prefix().visit(ast.parse(text, mode="eval")))
    head = [f"    v_{k} = u[{k!r}]" for k in model.inputs]
    head += [f"    v_{k} = p[{k!r}]" for k in model.parameters]
    head += [f"    v_{k} = y[:, {j}]" for j, k in enumerate(model.states)]
    head += [f"    v_{k} = {expr(e)}" for k, e in model.assignments.items()]
    prod = [f"    out[:, {j}] = {expr(s.production)}" for j, s in enumerate(model.states.values())]
    names = [*model.states, *model.assignments]
    src = "\n".join(["def evaluate(y, u, p):", *head,
                     "    return {" + ", ".join(f"{k!r}: v_{k}" for k in names) + "}",
                     "def production(y, u, p):", *head, "    out = np.empty_like(y)", *prod, "    return out", ""])
    ns: dict[str, Any] = {"__builtins__": {}, "np": np, **FUNCTIONS}
    exec(compile(src, f"<{model.source}: right-hand side>", "exec"), ns)  # noqa: S102 - checked expressions only
    return {"evaluate": ns["evaluate"], "production": ns["production"]}


def load(path: str | Path | None = None) -> CascadeModel:
    """Load a model file (the bundled ``cascade.yaml`` when ``path`` is None), checking references."""
    from ..knowledge.loader import bundled
    refs = set(bundled().references)
    if path is None:
        return _bundled(frozenset(refs))
    p = Path(path)
    try:
        data = load_yaml(p.read_text())
    except (OSError, yaml.YAMLError) as e:
        raise AdpharmInputError(f"{p}: cannot read model file ({e.__class__.__name__})") from None
    return parse(data, str(p), refs)


@lru_cache(maxsize=1)
def _bundled(refs: frozenset[str]) -> CascadeModel:
    text = resources.files("adpharm.mechanism").joinpath("cascade.yaml").read_text()
    return parse(load_yaml(text), "adpharm/mechanism/cascade.yaml", set(refs))
