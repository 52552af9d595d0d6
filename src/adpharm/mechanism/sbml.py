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
from ..pharmacology.inactivation import resynthesis_rate_per_h
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


def to_sbml(model: CascadeModel, params: dict, components: list[PKComponent], patient: int = 0,
            model_id: str = "adpharm_mechanism") -> str:
    """An SBML Level 3 Version 2 document (string) for virtual patient ``patient``."""
    libsbml = _libsbml()
    doc = libsbml.SBMLDocument(3, 2)
    m = doc.createModel()
    m.setId(model_id)
    m.setTimeUnits("dimensionless")
    notes = (f"<body xmlns='http://www.w3.org/1999/xhtml'><p>adpharm cascade model {model.version}; "
             f"time in hours; research use only.</p></body>")
    m.setNotes(notes)

    def param(pid: str, value: float, constant: bool = True):
        p = m.createParameter()
        _check(p.setId(pid), f"parameter id {pid}")
        p.setValue(float(value))
        p.setConstant(constant)
        return p

    def assign(var: str, formula: str):
        r = m.createAssignmentRule()
        r.setVariable(var)
        _check(r.setMath(_math(libsbml, formula)), f"assignment {var}")

    def rate(var: str, formula: str):
        r = m.createRateRule()
        r.setVariable(var)
        _check(r.setMath(_math(libsbml, formula)), f"rate rule {var}")

    def pick(v):
        arr = np.asarray(v, dtype=float)
        return float(arr) if arr.ndim == 0 else float(arr[patient])

    for name, v in params.items():
        param(name, pick(v))

    s_terms: dict[str, list[str]] = {}
    inact_terms: dict[str, tuple[list[str], list[str]]] = {}
    hill = 1.0
    for c_i, c in enumerate(components):
        pre = f"pk{c_i}"
        a = c.a[patient]
        k = a.shape[0]
        for i in range(k):
            param(f"{pre}_x{i}", 0.0, constant=False)
            param(f"{pre}_inf{i}", 0.0, constant=False)
        entries = {(i, j): f"{float(a[i, j])!r}" for i in range(k) for j in range(k) if a[i, j] != 0.0}
        if c.update is not None:
            entries = _autoinhibition(c, patient, pre, param, rate, m, libsbml)
        for i in range(k):
            terms = [f"{entries[(i, j)]} * {pre}_x{j}" for j in range(k) if (i, j) in entries]
            rate(f"{pre}_x{i}", " + ".join(terms + [f"{pre}_inf{i}"]))
        for j, st in enumerate(c.central):
            conc = f"{pre}_conc{j}"
            param(conc, 0.0, constant=False)
            assign(conc, f"{pre}_x{st} / {float(c.v1_l[patient, j])!r} * 1000")
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
            _event(libsbml, m, f"{pre}_bolus{e_i}", b.time_h, f"{pre}_x{b.state}",
                   f"{pre}_x{b.state} + {pick(b.amount)!r}")
        for e_i, inf in enumerate(c.infusions):
            var = f"{pre}_inf{inf.state}"
            _event(libsbml, m, f"{pre}_on{e_i}", inf.start_h, var, f"{var} + {pick(inf.rate)!r}")
            _event(libsbml, m, f"{pre}_off{e_i}", inf.end_h, var, f"{var} - {pick(inf.rate)!r}")

    for name in model.inputs:
        param(name, 0.0, constant=False)
    for target, terms in s_terms.items():
        name = TARGET_INPUTS.get(target)
        if name in model.inputs:
            s = "(" + " + ".join(terms) + ")"
            assign(name, f"{s}^{float(hill)!r} / (1 + {s}^{float(hill)!r})")
    for target, (eff_terms, inv_terms) in inact_terms.items():
        # irreversible inactivation with resynthesis (adpharm.pharmacology.inactivation)
        e = f"{target.replace('-', '_')}_active"
        param(e, 1.0, constant=False)
        k_syn = resynthesis_rate_per_h(target)[0]
        k_inact = f"({' + '.join(eff_terms or ['0'])}) / (1 + {' + '.join(inv_terms or ['0'])})"
        rate(e, f"{k_syn!r} * (1 - {e}) - {k_inact} * {e}")
        name = TARGET_INPUTS.get(target)
        if name in model.inputs:
            assign(name, f"1 - {e}")
    for s in model.states.values():
        param(s.name, s.initial, constant=False)
    for name, expr in model.assignments.items():
        param(name, 0.0, constant=False)
        assign(name, expr)
    for s in model.states.values():
        rate(s.name, f"({s.production}) - ({s.decay_per_h}) * {s.name}")
    errors = doc.checkInternalConsistency()
    if errors:
        raise AdpharmInputError(f"SBML export: {doc.getError(0).getMessage().strip()}")
    return libsbml.writeSBMLToString(doc)


def _event(libsbml, m, eid: str, time_h: float, var: str | dict[str, str], formula: str | None = None) -> None:
    """An event at ``time_h`` setting ``var`` to ``formula``, or each variable of a dict to its formula
    (all from values at the trigger time)."""
    e = m.createEvent()
    e.setId(eid)
    e.setUseValuesFromTriggerTime(True)
    t = e.createTrigger()
    t.setInitialValue(False)
    t.setPersistent(True)
    _check(t.setMath(_math(libsbml, f"time >= {float(time_h)!r}")), f"event {eid}")
    for v, f in (var.items() if isinstance(var, dict) else [(var, formula)]):
        ea = e.createEventAssignment()
        ea.setVariable(v)
        _check(ea.setMath(_math(libsbml, f)), f"event {eid}")


def _autoinhibition(c, patient: int, pre: str, param, rate, m, libsbml) -> dict[tuple[int, int], str]:
    """CYP2D6 autoinhibition in SBML: an activity parameter set at every dose after the first from the
    integrals of the inhibiting amounts over the interval just ended (reset there), and the system
    matrix written as a function of it. Every entry is a Moebius function of the activity
    ``(alpha + beta a) / (1 + delta a)`` (clearances and formation are affine in it; the first-pass
    branch divides by the parent's remaining clearance), fitted on three activities and checked on a fourth."""
    upd = c.update
    probe = {x: upd.matrix(np.full(upd.p.n, x))[patient] for x in (0.0, 0.5, 1.0, 0.25)}
    e0, eh, e1, eq = probe[0.0], probe[0.5], probe[1.0], probe[0.25]
    k = e0.shape[0]
    act = f"{pre}_act"
    entries: dict[tuple[int, int], str] = {}
    for i in range(k):
        for j in range(k):
            if e0[i, j] == 0.0 and eh[i, j] == 0.0 and e1[i, j] == 0.0:
                continue
            num = e0[i, j] + e1[i, j] - 2 * eh[i, j]
            delta = 0.0 if abs(num) <= 1e-15 * max(abs(e0[i, j]), abs(e1[i, j])) else num / (eh[i, j] - e1[i, j])
            alpha, beta = float(e0[i, j]), float(e1[i, j] * (1 + delta) - e0[i, j])
            delta = float(delta)
            check = (alpha + beta * 0.25) / (1 + delta * 0.25)
            if not np.isclose(check, eq[i, j], rtol=1e-9, atol=1e-15):
                raise AdpharmInputError(f"SBML export: matrix entry ({i}, {j}) of {c.drug} is not a Moebius "
                                        "function of the CYP2D6 activity")
            entries[(i, j)] = (f"({alpha!r} + {beta!r} * {act})" if delta == 0.0
                               else f"(({alpha!r} + {beta!r} * {act}) / (1 + {delta!r} * {act}))")
    param(act, 1.0, constant=False)
    coef = upd.load_coefficients[patient]
    load = []
    for st in np.flatnonzero(coef):
        param(f"{pre}_int{st}", 0.0, constant=False)
        rate(f"{pre}_int{st}", f"max({pre}_x{st}, 0)")
        load.append((int(st), float(coef[st])))
    times = sorted({round(b.time_h, 9) for b in c.boluses})
    for n_i, (t_prev, t) in enumerate(zip(times[:-1], times[1:])):
        mean = " + ".join(f"{w!r} * {pre}_int{st}" for st, w in load)
        assign = {act: f"1 / (1 + ({mean}) / {float(t - t_prev)!r})", **{f"{pre}_int{st}": "0" for st, _ in load}}
        _event(libsbml, m, f"{pre}_cyp2d6_{n_i}", t, assign)
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
