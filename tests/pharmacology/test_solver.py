"""The exact solver against closed forms and against scipy's ODE solver."""
import numpy as np
import pytest
from scipy.integrate import solve_ivp

from adpharm.knowledge.schema import PKModelSpec
from adpharm.pharmacology.model import CompartmentModel, Covariates
from adpharm.pharmacology.regimen import parse_regimen
from adpharm.pharmacology.solver import propagate
from adpharm.pharmacology.simulate import model_for, simulate

R = ["test"]


def one_cmt(ka, cl=10.0, v=100.0, f=0.5):
    p = lambda x: {"value": x, "refs": R}
    spec = PKModelSpec.model_validate({
        "analytes": [{"name": "d", "mw_g_per_mol": p(300), "cl_l_per_h": p(cl), "v1_l": p(v), "fu": p(1)}],
        "routes": {"po": {"paths": [{"f": p(f), "ka_per_h": p(ka)}]}, "iv": {"paths": [{"f": p(1)}]}}})
    return CompartmentModel("d", spec)


def run(model, regimen, times):
    cov = Covariates.of(1)
    p = model.typical(cov)
    b, i = model.inputs(parse_regimen(regimen).events(times[-1] + 1), cov.weight_kg)
    st = propagate(model.matrix(p), times, b, i)
    return st[0, :, 0] / 100.0 * 1000.0


def test_oral_one_compartment_bateman():
    # Bateman function: C = F D ka / (V (ka - k)) (exp(-k t) - exp(-ka t))
    t = np.linspace(0, 48, 97)
    c = run(one_cmt(ka=1.2), "100 mg po", t)
    k, ka = 0.1, 1.2
    ref = 0.5 * 100 * ka / (100 * (ka - k)) * (np.exp(-k * t) - np.exp(-ka * t)) * 1000
    np.testing.assert_allclose(c, ref, rtol=1e-10, atol=1e-10)


def test_repeated_eigenvalue_ka_equals_k():
    # ka = k: C = F D k t exp(-k t) / V, the limit the eigen-decomposition cannot take
    t = np.linspace(0, 48, 49)
    c = run(one_cmt(ka=0.1), "100 mg po", t)
    np.testing.assert_allclose(c, 0.5 * 100 * 0.1 * t * np.exp(-0.1 * t) / 100 * 1000, rtol=1e-9, atol=1e-12)


def test_infusion_one_compartment():
    # zero-order infusion R over T: C = R/CL (1 - exp(-k t)) during, then decays
    t = np.array([0.5, 2.0, 5.0])
    c = run(one_cmt(ka=1.0), "20 mg iv over 2 h", t)
    k, rate = 0.1, 10.0
    during = rate / 10 * (1 - np.exp(-k * t[:2])) * 1000
    after = rate / 10 * (1 - np.exp(-k * 2)) * np.exp(-k * 3) * 1000
    np.testing.assert_allclose(c, [*during, after], rtol=1e-10)


def test_superposition_equals_ode_with_metabolite_and_infusions():
    """Ketamine + norketamine, repeated 40-min infusions: exact solution vs LSODA (rtol 1e-10)."""
    model = model_for("ketamine")
    cov = Covariates.of(1)
    p = model.typical(cov)
    events = parse_regimen("0.5 mg/kg iv over 40 min 3x/week for 1 week").events(120)
    b, inf = model.inputs(events, cov.weight_kg)
    a = model.matrix(p)[0]
    t = np.linspace(0, 120, 241)
    exact = propagate(model.matrix(p), t, b, inf)[0]

    def rhs(tt, y):
        r = np.zeros_like(y)
        for i in inf:
            if i.start_h <= tt < i.end_h:
                r[i.state] += i.rate[0]
        return a @ y + r
    edges = sorted({0.0, 120.0, *[i.start_h for i in inf], *[i.end_h for i in inf]})
    y = np.zeros(a.shape[0])
    ref = np.zeros_like(exact)
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (t >= lo) & (t <= hi)
        sol = solve_ivp(rhs, (lo, hi), y, method="LSODA", rtol=1e-11, atol=1e-13, t_eval=t[sel], first_step=1e-6)
        ref[sel] = sol.y.T
        y = solve_ivp(rhs, (lo, hi), y, method="LSODA", rtol=1e-11, atol=1e-13).y[:, -1]
    big = ref > 1e-6 * ref.max()
    np.testing.assert_allclose(exact[big], ref[big], rtol=1e-6)


def test_steady_state_average_is_dose_over_cl_tau():
    """Cavg,ss = F D / (CL tau) for amitriptyline, and fm F D (MWm/MW) / (CLm tau) for its nortriptyline
    (formed from systemic amitriptyline only)."""
    res = simulate("amitriptyline", "150 mg po daily", hours=24 * 30, step_h=0.5)
    s = res.summary().set_index(["analyte", "measure"])["value"]
    ami = 0.527 * 150_000 / (71.1 * 24)
    assert s[("amitriptyline", "cavg_ss_ng_per_ml")] == pytest.approx(ami, rel=1e-3)
    assert s[("nortriptyline", "cavg_ss_ng_per_ml")] == pytest.approx(0.45 * ami * 71.1 * (263.4 / 277.4) / 30.6,
                                                                     rel=2e-3)


def test_autoinhibited_steady_state_is_the_fixed_point():
    """Imipramine with CYP2D6 saturation: at steady state the activity a solves
    a = 1 / (1 + C_imi(a)/Ki + C_dmi(a)/Ki), each Cavg in closed form at activity a (nmol/L)."""
    from scipy.optimize import brentq
    spec = model_for("imipramine").spec
    imi, dmi = spec.analytes
    fd, ki = imi.cyp2d6_fraction.value, imi.cyp2d6_ki_nmol_per_l.value
    f, fm, dose, tau = 0.402, dmi.fm.value, 150.0, 24.0
    ratio = dmi.mw_g_per_mol.value / imi.mw_g_per_mol.value

    def conc(a):
        c_imi = f * dose / (imi.cl_l_per_h.value * (1 - fd + fd * a) * tau)              # mg/L
        formed = fm * imi.cl_l_per_h.value * c_imi * tau + (1 - f) * dose * min(fm / (1 - fd + fd * a), 1)
        c_dmi = formed * ratio / (dmi.cl_l_per_h.value * (1 - dmi.cyp2d6_fraction.value * (1 - a)) * tau)
        return c_imi * 1e6 / imi.mw_g_per_mol.value, c_dmi * 1e6 / dmi.mw_g_per_mol.value

    a = brentq(lambda a: a - 1 / (1 + sum(conc(a)) / ki), 1e-6, 1.0)
    # the feedback slows desipramine's approach: within 0.1 % of the fixed point after 80 days
    res = simulate("imipramine", "150 mg po daily", hours=24 * 80, step_h=0.5)
    s = res.summary().set_index(["analyte", "measure"])["value"]
    c_imi, c_dmi = conc(a)
    assert s[("imipramine", "cavg_ss_ng_per_ml")] == pytest.approx(c_imi * imi.mw_g_per_mol.value / 1000, rel=2e-3)
    assert s[("desipramine", "cavg_ss_ng_per_ml")] == pytest.approx(c_dmi * dmi.mw_g_per_mol.value / 1000, rel=2e-3)


def test_mass_balance_of_a_bolus():
    # AUC of an IV bolus is D / CL (ketamine, 2 compartments)
    res = simulate("ketamine", "10 mg iv bolus", hours=60, step_h=0.01)
    auc = res.summary().set_index(["analyte", "measure"]).loc[("ketamine", "auc_ng_h_per_ml"), "value"]
    assert auc == pytest.approx(10_000 / 79, rel=2e-3)
