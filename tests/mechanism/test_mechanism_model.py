"""The model file is the one declaration; the integrator is checked against closed forms."""
import copy

import numpy as np
import pytest
import yaml
from importlib import resources

from adpharm.errors import AdpharmInputError
from adpharm.knowledge.loader import bundled
from adpharm.mechanism.integrate import etd_coefficients, step_grid, Grid
from adpharm.mechanism.model import FUNCTIONS, load, parse

RAW = yaml.safe_load(resources.files("adpharm.mechanism").joinpath("cascade.yaml").read_text())
REFS = set(bundled().references)


def test_every_parameter_is_sourced_and_every_state_is_reachable():
    m = load()
    for p in m.parameters.values():
        assert p.refs and all(r in REFS for r in p.refs)
        assert p.basis in ("measured", "derived", "calibrated", "normalisation", "assumed")
    targets = {b for _, b in m.edges()}
    assert set(m.states) <= targets | {"autoreceptor_sensitivity"}
    assert ("occ_nmda", "disinhibition_frac") in m.edges()
    assert ("occ_sert", "serotonin_drive") in m.edges()


def test_diagram_is_derived_from_the_model():
    from adpharm.report.diagrams import model_diagram
    d = model_diagram(load())
    assert "Spine density" in d.svg and "occ_nmda" in d.svg


def test_baseline_is_a_steady_state():
    m = load()
    p = m.parameter_values()
    y = m.initial(3)
    u = {k: np.zeros(3) for k in m.inputs}
    dy = m.production(y, u, p) - m.decay(p) * y
    assert np.allclose(dy, 0.0, atol=1e-12)


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["assignments"].__setitem__("plasticity", "spine_density_frac + nonsense"), "unknown name 'nonsense'"),
    (lambda d: d["assignments"].__setitem__("plasticity", "__import__('os')"), "only exp, log, sqrt may be called"),
    (lambda d: d["parameters"]["tau_spine_h"].__setitem__("basis", "guessed"), "basis: 'guessed'"),
    (lambda d: d["parameters"]["tau_spine_h"].__setitem__("refs", []), "needs a source"),
    (lambda d: d["parameters"]["tau_spine_h"].__setitem__("refs", ["nobody2020"]), "unknown reference key 'nobody2020'"),
    (lambda d: d["parameters"]["tau_spine_h"].__setitem__("value", -1), "finite non-negative"),
    (lambda d: d["states"]["creb_frac"].pop("decay_per_h"), "states.creb_frac.decay_per_h: missing"),
])
def test_bad_model_files_are_rejected_with_the_field_named(mutate, message):
    d = copy.deepcopy(RAW)
    mutate(d)
    with pytest.raises(AdpharmInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(d, "my_model.yaml", REFS)


def _etdrk4(n_steps, t_end, k, forcing):
    h = t_end / n_steps
    e, e2, q, f1, f2, f3 = etd_coefficients(np.array([k]), h)
    y, t = np.zeros(1), 0.0
    for _ in range(n_steps):
        nu = forcing(y, t)
        a = e2 * y + q * nu
        na = forcing(a, t + h / 2)
        b = e2 * y + q * na
        nb = forcing(b, t + h / 2)
        c = e2 * a + q * (2 * nb - nu)
        nc = forcing(c, t + h)
        y = e * y + f1 * nu + 2 * f2 * (na + nb) + f3 * nc
        t += h
    return y[0]


def test_etdrk4_is_fourth_order_against_the_closed_form():
    # y' = -k y + k exp(-a t), y(0) = 0  =>  y = k/(k-a) (exp(-a t) - exp(-k t))
    k, a, t_end = 2.0, 0.2, 10.0
    exact = k / (k - a) * (np.exp(-a * t_end) - np.exp(-k * t_end))
    errs = [abs(_etdrk4(n, t_end, k, lambda y, t: k * np.exp(-a * t)) - exact) for n in (10, 20, 40)]
    assert errs[0] / errs[1] > 12 and errs[1] / errs[2] > 12
    assert errs[2] / exact < 1e-7


def test_etdrk4_exact_for_constant_forcing_and_stable_for_stiff_decay():
    # y' = -k y + k c has the solution c (1 - exp(-k t)) whatever the step, even with k h = 1000
    assert _etdrk4(1, 10.0, 100.0, lambda y, t: 100.0 * 0.7) == pytest.approx(0.7 * (1 - np.exp(-1000.0)), rel=1e-12)
    assert _etdrk4(3, 0.3, 1e-9, lambda y, t: 1.0) == pytest.approx(0.3, rel=1e-9)  # k -> 0: plain integral


def test_step_grid_holds_outputs_and_events_and_respects_the_largest_step():
    g = step_grid(np.arange(0, 49.0, 4.0), [0.0, 0.6667, 24.0], Grid(0.01, 1.4, 0.25))
    for t in [0.0, 0.6667, 24.0, 48.0, 4.0]:
        assert np.any(np.isclose(g, t))
    assert np.max(np.diff(g)) <= 0.25 + 1e-9 and np.min(np.diff(g)) > 0


def test_compiled_right_hand_side_is_the_declared_expressions():
    """The assignments and production terms run as one compiled function; they equal each declared expression
    evaluated by Python in a namespace of the same names, bit for bit, for per-patient states and inputs."""
    m = load()
    rng = np.random.default_rng(4)
    n = 7
    y = rng.uniform(0.05, 2.0, (n, len(m.states)))
    u = {k: rng.uniform(0.0, 0.9, n) for k in m.inputs}
    p = m.parameter_values({"autoreceptor_gain": rng.uniform(0.5, 1.5, n)})     # one parameter per patient
    ns = dict(FUNCTIONS, **p, **u, **{s: y[:, j] for j, s in enumerate(m.states)})
    for name, expr in m.assignments.items():
        ns[name] = eval(expr, {"__builtins__": {}}, ns)  # noqa: S307 - the model's checked expressions
    want = np.column_stack([np.broadcast_to(eval(s.production, {"__builtins__": {}}, ns), (n,))  # noqa: S307
                            for s in m.states.values()])
    assert np.array_equal(m.production(y, u, p), want)
    got = m.evaluate(y, u, p)
    for name in m.assignments:
        assert np.array_equal(np.broadcast_to(got[name], (n,)), np.broadcast_to(ns[name], (n,)))
