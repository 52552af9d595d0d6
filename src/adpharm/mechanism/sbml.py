"""SBML Level 3 export of the full model (PK with its dosing events, occupancy, cascade) for one patient.

Everything is written from the same declarations the simulator uses: the PK system matrix and
dose inputs of :mod:`.drive` (rate rules and events), the occupancy weights (assignment rules),
and the cascade file (assignment and rate rules). Doses are events (a bolus adds to its
compartment; an infusion switches a rate on and off), so any SBML simulator, libroadrunner among
them, reproduces the trajectories of :func:`adpharm.mechanism.simulate.simulate`.

Needs python-libsbml (``pip install 'adpharm[mechanism]'``).
"""
from __future__ import annotations

import numpy as np

from ..errors import AdpharmInputError
from .drive import TARGET_INPUTS, PKComponent
from .model import CascadeModel


def _libsbml():
    try:
        import libsbml
    except ImportError:  # pragma: no cover - depends on the environment
        raise AdpharmInputError("SBML export needs python-libsbml: pip install 'adpharm[mechanism]'") from None
    return libsbml


def _math(libsbml, formula: str):
    ast = libsbml.parseL3Formula(formula.replace("**", "^"))
    if ast is None:
        raise AdpharmInputError(f"SBML export: cannot translate {formula!r} ({libsbml.getLastParseL3Error()})")
    return ast


def _check(code: int, what: str) -> None:
    if code != 0:
        raise AdpharmInputError(f"SBML export: libsbml refused {what} (code {code})")


class _Writer:
    """Builds the SBML document. Per-patient numbers are constant parameters (:meth:`const`), so one
    compiled document serves every patient: set the values of :func:`patient_values` and simulate."""

    def __init__(self, model_id: str, version: str):
        self.libsbml = _libsbml()
        self.doc = self.libsbml.SBMLDocument(3, 2)
        self.m = self.doc.createModel()
        self.m.setId(model_id)
        self.m.setTimeUnits("dimensionless")
        self.m.setNotes(f"<body xmlns='http://www.w3.org/1999/xhtml'><p>adpharm cascade model {version}; "
                        f"time in hours; research use only. Per-patient values are the constant parameters "
                        f"(adpharm.mechanism.sbml.patient_values).</p></body>")
        self.values: dict[str, float] = {}
        self.start: dict[str, float] = {}

    def param(self, pid: str, value: float, constant: bool = True) -> None:
        p = self.m.createParameter()
        _check(p.setId(pid), f"parameter id {pid}")
        p.setValue(float(value))
        p.setConstant(constant)

    def const(self, pid: str, value: float) -> str:
        self.values[pid] = float(value)
        self.param(pid, value)
        return pid

    def at_start(self, var: str, added: float) -> None:
        """What the events at time 0 add to ``var``: a simulator that fires them when it resets, before
        a patient's constants are set, is given the patient's post-event value directly."""
        self.start[var] = self.start.get(var, 0.0) + float(added)

    def assign(self, var: str, formula: str) -> None:
        r = self.m.createAssignmentRule()
        r.setVariable(var)
        _check(r.setMath(_math(self.libsbml, formula)), f"assignment {var}")

    def rate(self, var: str, formula: str) -> None:
        r = self.m.createRateRule()
        r.setVariable(var)
        _check(r.setMath(_math(self.libsbml, formula)), f"rate rule {var}")

    def event(self, eid: str, time_h: float, var: str | dict[str, str], formula: str | None = None) -> None:
        """An event at ``time_h`` setting ``var`` to ``formula``, or each variable of a dict to its formula
        (all from values at the trigger time)."""
        e = self.m.createEvent()
        e.setId(eid)
        e.setUseValuesFromTriggerTime(True)
        t = e.createTrigger()
        t.setInitialValue(False)
        t.setPersistent(True)
        _check(t.setMath(_math(self.libsbml, f"time >= {float(time_h)!r}")), f"event {eid}")
        for v, f in (var.items() if isinstance(var, dict) else [(var, formula)]):
            ea = e.createEventAssignment()
            ea.setVariable(v)
            _check(ea.setMath(_math(self.libsbml, f)), f"event {eid}")

    def text(self) -> str:
        errors = self.doc.checkInternalConsistency()
        if errors:
            raise AdpharmInputError(f"SBML export: {self.doc.getError(0).getMessage().strip()}")
        return self.libsbml.writeSBMLToString(self.doc)


class _Recorder(_Writer):
    """The same walk as :class:`_Writer`, keeping only the per-patient constants (no libsbml needed)."""

    def __init__(self):
        self.values = {}
        self.start = {}

    def param(self, pid, value, constant=True):
        pass

    def assign(self, var, formula):
        pass

    def rate(self, var, formula):
        pass

    def event(self, eid, time_h, var, formula=None):
        pass


def _walk(out: _Writer, model: CascadeModel, params: dict, components: list[PKComponent], patient: int) -> None:
    """Declare the model for one patient on ``out``; every number that differs between patients is a
    constant parameter, and the structure (which entries, doses and events exist) is the population's."""
    def pick(v):
        arr = np.asarray(v, dtype=float)
        return float(arr) if arr.ndim == 0 else float(arr[patient])

    for name, v in params.items():
        out.const(name, pick(v))

    s_terms: dict[str, list[str]] = {}
    inact_terms: dict[str, tuple[list[str], list[str]]] = {}
    k_syn = {t: w.k_syn_per_h for c in components for t, w in c.inactivation.items()}
    hill = 1.0
    for c_i, c in enumerate(components):
        pre = f"pk{c_i}"
        k = c.a.shape[1]
        for i in range(k):
            out.param(f"{pre}_x{i}", 0.0, constant=False)
            out.param(f"{pre}_inf{i}", 0.0, constant=False)
        if c.update is not None:
            entries = _autoinhibition(out, c, patient, pre)
        else:
            pattern = np.any(c.a != 0.0, axis=0)
            entries = {(i, j): out.const(f"{pre}_a_{i}_{j}", c.a[patient, i, j])
                       for i in range(k) for j in range(k) if pattern[i, j]}
        for i in range(k):
            terms = [f"{entries[(i, j)]} * {pre}_x{j}" for j in range(k) if (i, j) in entries]
            out.rate(f"{pre}_x{i}", " + ".join(terms + [f"{pre}_inf{i}"]))
        for j, st in enumerate(c.central):
            conc = f"{pre}_conc{j}"
            out.param(conc, 0.0, constant=False)
            v1 = out.const(f"{pre}_v1_{j}", c.v1_l[patient, j])
            out.assign(conc, f"{pre}_x{st} / {v1} * 1000")
            for target, coef in c.coefs.items():
                if coef[j] != 0.0:
                    s_terms.setdefault(target, []).append(f"{float(coef[j])!r} * {conc}")
            for target, w in c.inactivation.items():
                eff, inv = w.to_unbound_nm[j] * w.efficiency_per_nm_per_h[j], w.to_unbound_nm[j] * w.inv_ki_per_nm[j]
                if eff != 0.0:
                    inact_terms.setdefault(target, ([], []))[0].append(f"{float(eff)!r} * {conc}")
                if inv != 0.0:
                    inact_terms.setdefault(target, ([], []))[1].append(f"{float(inv)!r} * {conc}")
        hill = c.hill
        for e_i, b in enumerate(c.boluses):
            dose = out.const(f"{pre}_dose{e_i}", pick(b.amount))
            out.event(f"{pre}_bolus{e_i}", b.time_h, f"{pre}_x{b.state}", f"{pre}_x{b.state} + {dose}")
            if b.time_h == 0.0:
                out.at_start(f"{pre}_x{b.state}", pick(b.amount))
        for e_i, inf in enumerate(c.infusions):
            var = f"{pre}_inf{inf.state}"
            r = out.const(f"{pre}_rate{e_i}", pick(inf.rate))
            out.event(f"{pre}_on{e_i}", inf.start_h, var, f"{var} + {r}")
            out.event(f"{pre}_off{e_i}", inf.end_h, var, f"{var} - {r}")
            if inf.start_h == 0.0:
                out.at_start(var, pick(inf.rate))

    for name in model.inputs:
        out.param(name, 0.0, constant=False)
    for target, terms in s_terms.items():
        name = TARGET_INPUTS.get(target)
        if name in model.inputs:
            s = "(" + " + ".join(terms) + ")"
            out.assign(name, f"{s}^{float(hill)!r} / (1 + {s}^{float(hill)!r})")
    for target, (eff_terms, inv_terms) in inact_terms.items():
        # irreversible inactivation with resynthesis (adpharm.pharmacology.inactivation)
        e = f"{target.replace('-', '_')}_active"
        out.param(e, 1.0, constant=False)
        k_inact = f"({' + '.join(eff_terms or ['0'])}) / (1 + {' + '.join(inv_terms or ['0'])})"
        out.rate(e, f"{k_syn[target]!r} * (1 - {e}) - {k_inact} * {e}")
        name = TARGET_INPUTS.get(target)
        if name in model.inputs:
            out.assign(name, f"1 - {e}")
    for s in model.states.values():
        out.param(s.name, s.initial, constant=False)
    for name, expr in model.assignments.items():
        out.param(name, 0.0, constant=False)
        out.assign(name, expr)
    for s in model.states.values():
        out.rate(s.name, f"({s.production}) - ({s.decay_per_h}) * {s.name}")


def to_sbml(model: CascadeModel, params: dict, components: list[PKComponent], patient: int = 0,
            model_id: str = "adpharm_mechanism") -> str:
    """An SBML Level 3 Version 2 document (string) for virtual patient ``patient``.

    Every value that differs between the population's patients (model parameters given per patient,
    system-matrix entries, central volumes, dose amounts, infusion rates, autoinhibition coefficients)
    is a constant parameter: load the document once, then for each patient reset it and set the values
    of :func:`patient_values` (libroadrunner: ``resetAll`` then ``setValues``).
    """
    out = _Writer(model_id, model.version)
    _walk(out, model, params, components, patient)
    return out.text()


def patient_values(model: CascadeModel, params: dict, components: list[PKComponent], patient: int) -> dict[str, float]:
    """The constant parameters of :func:`to_sbml` for ``patient`` (same names for every patient), and
    the values that the doses at time 0 give their variables (a simulator that fires time-0 events when
    it resets, as libroadrunner does, has fired them with the document's own constants)."""
    out = _Recorder()
    _walk(out, model, params, components, patient)
    return {**out.values, **out.start}


def _autoinhibition(out: _Writer, c, patient: int, pre: str) -> dict[tuple[int, int], str]:
    """CYP2D6 autoinhibition in SBML: an activity parameter set at every dose after the first from the
    integrals of the inhibiting amounts over the interval just ended (reset there), and the system
    matrix written as a function of it. Every entry is a Moebius function of the activity
    ``(alpha + beta a) / (1 + delta a)`` (clearances and formation are affine in it; the first-pass
    branch divides by the parent's remaining clearance), fitted on three activities and checked on a
    fourth; alpha, beta and delta are the patient's constants."""
    upd = c.update
    n = upd.p.n
    probe = {x: upd.matrix(np.full(n, x)) for x in (0.0, 0.5, 1.0, 0.25)}
    pattern = np.any((probe[0.0] != 0) | (probe[0.5] != 0) | (probe[1.0] != 0), axis=0)
    e0, eh, e1, eq = (probe[x][patient] for x in (0.0, 0.5, 1.0, 0.25))
    k = e0.shape[0]
    act = f"{pre}_act"
    entries: dict[tuple[int, int], str] = {}
    for i in range(k):
        for j in range(k):
            if not pattern[i, j]:
                continue
            num = e0[i, j] + e1[i, j] - 2 * eh[i, j]
            delta = 0.0 if abs(num) <= 1e-15 * max(abs(e0[i, j]), abs(e1[i, j])) else num / (eh[i, j] - e1[i, j])
            alpha, beta = float(e0[i, j]), float(e1[i, j] * (1 + delta) - e0[i, j])
            delta = float(delta)
            check = (alpha + beta * 0.25) / (1 + delta * 0.25)
            if not np.isclose(check, eq[i, j], rtol=1e-9, atol=1e-15):
                raise AdpharmInputError(f"SBML export: matrix entry ({i}, {j}) of {c.drug} is not a Moebius "
                                        "function of the CYP2D6 activity")
            a_, b_, d_ = (out.const(f"{pre}_{name}_{i}_{j}", v) for name, v in (("al", alpha), ("be", beta),
                                                                                  ("de", delta)))
            entries[(i, j)] = f"(({a_} + {b_} * {act}) / (1 + {d_} * {act}))"
    out.param(act, 1.0, constant=False)
    coef = upd.load_coefficients
    load = []
    for st in np.flatnonzero(np.any(coef != 0, axis=0)):
        out.param(f"{pre}_int{st}", 0.0, constant=False)
        out.rate(f"{pre}_int{st}", f"max({pre}_x{st}, 0)")
        load.append((int(st), out.const(f"{pre}_w{st}", coef[patient, st])))
    times = sorted({round(b.time_h, 9) for b in c.boluses})
    for n_i, (t_prev, t) in enumerate(zip(times[:-1], times[1:])):
        mean = " + ".join(f"{w} * {pre}_int{st}" for st, w in load)
        assign = {act: f"1 / (1 + ({mean}) / {float(t - t_prev)!r})", **{f"{pre}_int{st}": "0" for st, _ in load}}
        out.event(f"{pre}_cyp2d6_{n_i}", t, assign)
    return entries


def roadrunner_trajectories(sbml: str, times_h: np.ndarray, names: list[str], rtol: float = 1e-10,
                            atol: float = 1e-14) -> dict[str, np.ndarray]:
    """Simulate an exported document in libroadrunner at ``times_h``; ``{name: series}``."""
    try:
        import roadrunner
    except ImportError:  # pragma: no cover
        raise AdpharmInputError("libroadrunner is not installed: pip install 'adpharm[mechanism]'") from None
    rr = roadrunner.RoadRunner(sbml)
    rr.integrator.relative_tolerance = rtol
    rr.integrator.absolute_tolerance = atol
    rr.timeCourseSelections = ["time", *names]
    res = rr.simulate(times=list(map(float, times_h)))
    return {name: np.asarray(res[:, i + 1]) for i, name in enumerate(names)}


class RoadRunnerPopulation:
    """libroadrunner as its users run a population: the document compiled once, then per patient
    ``resetAll`` and ``setValues`` of that patient's constants (:func:`patient_values`) and simulate.

    Parameters
    ----------
    sbml : a document from :func:`to_sbml` (any patient of the population).
    names : the trajectories to select.
    rtol, atol : CVODE tolerances (libroadrunner's defaults are rtol 1e-6, atol 1e-12).
    """

    def __init__(self, sbml: str, names: list[str], rtol: float = 1e-6, atol: float = 1e-12):
        try:
            import roadrunner
        except ImportError:  # pragma: no cover
            raise AdpharmInputError("libroadrunner is not installed: pip install 'adpharm[mechanism]'") from None
        self.rr = roadrunner.RoadRunner(sbml)
        self.rr.integrator.relative_tolerance = rtol
        self.rr.integrator.absolute_tolerance = atol
        self.rr.timeCourseSelections = ["time", *names]
        self.names = names

    def simulate(self, values: dict[str, float], times_h: np.ndarray) -> dict[str, np.ndarray]:
        """One patient's trajectories at ``times_h`` (``{name: series}``)."""
        self.rr.resetAll()
        self.rr.setValues(list(values), list(values.values()))
        res = self.rr.simulate(times=list(map(float, times_h)))
        return {name: np.asarray(res[:, i + 1]) for i, name in enumerate(self.names)}

