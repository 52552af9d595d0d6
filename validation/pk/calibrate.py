"""Derive the parameters in pk_models.yaml that the calibration facts fix only indirectly: absorption
rates, sertraline's and phenelzine's apparent volumes, imipramine's CYP2D6 share and autoinhibition
constant, and the MAO-A inactivation efficiency of the two MAOIs.

Each rate is the root of (simulated Tmax or Cmax) - (the fact), with every other parameter as
stored. Run it after changing a parameter set and copy the printed values into pk_models.yaml:

    .venv/bin/python validation/pk/calibrate.py
"""
from __future__ import annotations

import copy
import math

from scipy.optimize import brentq

from adpharm.knowledge.loader import load
from adpharm.pharmacology.simulate import simulate

#: (drug, route, regimen, measure, target, fact)
TARGETS = [
    ("ketamine", "po", "35 mg po", "cmax_ng_per_ml", 45.0, "K05 (0.5 mg/kg x 70 kg)"),
    ("ketamine", "sublingual", "25 mg sublingual", "tmax_h", 0.75, "K21"),
    ("ketamine", "intranasal", "50 mg intranasal", "tmax_h", 16 / 60, "Pharmacotherapy 2022 Table 6 (16 min)"),
    ("imipramine", "po", "50 mg po", "tmax_h", 5.0, "middle of 2-8 h (ITPS 2023)"),
    ("amitriptyline", "po", "25 mg po", "tmax_h", 4.0, "middle of 2-6 h"),
    ("nortriptyline", "po", "25 mg po", "tmax_h", 5.5, "T38"),
    ("clomipramine", "po", "25 mg po", "tmax_h", 4.83, "label 25 mg tablet"),
    ("fluoxetine", "po", "20 mg po", "tmax_h", 6.0, "S01"),
    ("sertraline", "po", "50 mg po", "tmax_h", 6.45, "S11 (middle of 4.5-8.4 h)"),
    ("citalopram", "po", "20 mg po", "tmax_h", 3.0, "S28 (middle of 2-4 h)"),
    ("venlafaxine", "po", "75 mg po", "tmax_h", 2.0, "N02"),
    ("duloxetine", "po", "60 mg po", "tmax_h", 6.0, "N10"),
    ("tranylcypromine", "po", "20 mg po", "tmax_h", 2.08, "middle of 0.67-3.5 h (Mallinger 1986)"),
    ("phenelzine", "po", "30 mg po", "tmax_h", 0.72, "P03 (43 min)"),
]


def calibrate(kb, drug, route, regimen, measure, target):
    def f(ka):
        kb2 = copy.deepcopy(kb)
        kb2.pk_models[drug].routes[route].paths[0].ka_per_h.value = ka
        res = simulate(drug, regimen, hours=96, step_h=0.01, kb=kb2)
        return res.summary().set_index(["analyte", "measure"]).loc[(drug, measure), "value"] - target
    return brentq(f, 0.02, 50.0, xtol=1e-4)


def apparent_volume(kb, drug, regimen, half_life_h, cmax_ng_per_ml):
    """Apparent V/F (with CL/F = V ln2 / t1/2) so that ``regimen`` peaks at ``cmax_ng_per_ml``."""

    def f(v):
        kb2 = copy.deepcopy(kb)
        a = kb2.pk_models[drug].analytes[0]
        a.v1_l.value = v
        a.cl_l_per_h.value = v * math.log(2) / half_life_h
        res = simulate(drug, regimen, hours=120, step_h=0.01, kb=kb2)
        return res.summary().set_index(["analyte", "measure"]).loc[(drug, "cmax_ng_per_ml"), "value"] - cmax_ng_per_ml
    return brentq(f, 100, 20000, xtol=0.5)


def sertraline_volume(kb):
    """50 mg peaks at 12 ng/mL (S10); label half-life 26 h."""
    return apparent_volume(kb, "sertraline", "50 mg po", 26.0, 12.0)


#: Brøsen 1986 (Eur J Clin Pharmacol 30:679): mean steady state of 28 extensive metabolisers on
#: imipramine 100 mg/day, nmol/L. The only steady-state facts fitted; the rest are held out.
BROSEN1986_EM_NMOL = {"imipramine": 169.0, "desipramine": 212.0}


def steady_state_mean_ng_per_ml(kb, drug: str, regimen: str, phenotype: str = "NM", days: int = 35) -> dict:
    """Typical adult's mean concentration over the last 24 h of ``days`` of ``regimen``."""
    res = simulate(drug, regimen, hours=24.0 * days, step_h=0.5, phenotype=phenotype, kb=kb)
    last = res.times_h > res.times_h[-1] - 24
    return dict(zip(res.analytes, res.conc_ng_per_ml[0][last].mean(axis=0)))


def imipramine_autoinhibition(kb):
    """Imipramine's CYP2D6 share and the shared CYP2D6 constant from the 100 mg/day steady state."""
    import numpy as np
    from scipy.optimize import least_squares

    spec = kb.pk_models["imipramine"]
    fm = spec.analytes[1].fm.value
    mw = {a.name: a.mw_g_per_mol.value for a in spec.analytes}

    def resid(x):
        kb2 = copy.deepcopy(kb)
        imi, dmi = kb2.pk_models["imipramine"].analytes
        imi.cyp2d6_fraction.value = x[0]
        imi.cyp2d6_ki_nmol_per_l.value = dmi.cyp2d6_ki_nmol_per_l.value = x[1]
        c = steady_state_mean_ng_per_ml(kb2, "imipramine", "100 mg po daily")
        return [np.log(c[a] * 1000 / mw[a] / BROSEN1986_EM_NMOL[a]) for a in ("imipramine", "desipramine")]
    sol = least_squares(resid, [0.55, 100.0], bounds=([0.0, 1.0], [1.0 - fm, 1e5]))
    return sol.x


def phenelzine_volume(kb):
    """30 mg peaks at 19.8 ng/mL (P03); half-life 11.6 h (P01)."""
    return apparent_volume(kb, "phenelzine", "30 mg po", 11.6, 19.8)


def _with_efficiency(kb, drug, eff):
    kb2 = copy.deepcopy(kb)
    kb2.pk_models[drug].analytes[0].inactivation["MAO-A"].efficiency_per_nm_per_h = eff
    return kb2


def tranylcypromine_efficiency(kb):
    """kinact/KI for MAO inhibition to start with the fourth dose of 10 mg/day, once 40 mg had been
    given (Bieck & Antonin 1982): the efficiencies at which 50 % inhibition is first reached at 72 h
    (before that dose) and at 96 h (the end of that day) bound the range the fact allows; the
    geometric middle of the two is taken. Returns ``(middle, low, high)``."""
    def onset(eff):
        res = simulate("tranylcypromine", "10 mg po daily", hours=168, step_h=0.1,
                       kb=_with_efficiency(kb, "tranylcypromine", eff))
        t = res.enzyme_summary["MAO-A"]["onset_h"].iloc[0]
        return t if t == t else 1e3
    low = brentq(lambda e: onset(e) - 96.0, 1e-5, 1e-1, xtol=1e-9)
    high = brentq(lambda e: onset(e) - 72.0, 1e-5, 1e-1, xtol=1e-9)
    return math.sqrt(low * high), low, high


def phenelzine_efficiency(kb):
    """kinact/KI so that 20 mg every 8 h inhibits 85 % of MAO on average over day 14 (data sheet)."""

    def f(eff):
        res = simulate("phenelzine", "20 mg po every 8 h", hours=14 * 24, step_h=0.5,
                       kb=_with_efficiency(kb, "phenelzine", eff))
        a = res.enzyme_activity["MAO-A"][0]
        return 1.0 - a[res.times_h >= 13 * 24].mean() - 0.85
    return brentq(f, 1e-6, 1e-1, xtol=1e-9)


if __name__ == "__main__":
    kb = load()
    f2d6, ki = imipramine_autoinhibition(kb)
    print(f"imipramine cyp2d6_fraction {f2d6:.3f}  cyp2d6_ki_nmol_per_l {ki:.0f} (imipramine, desipramine)  "
          f"(steady state on 100 mg/day, Brøsen 1986)")
    v = sertraline_volume(kb)
    print(f"sertraline v1_l {v:.0f}  cl_l_per_h {v * math.log(2) / 26:.1f}  (S10, 26 h)")
    a = kb.pk_models["sertraline"].analytes[0]
    a.v1_l.value, a.cl_l_per_h.value = v, v * math.log(2) / 26
    v = phenelzine_volume(kb)
    print(f"phenelzine v1_l {v:.0f}  cl_l_per_h {v * math.log(2) / 11.6:.1f}  (P03 19.8 ng/mL after 30 mg, P01 11.6 h)")
    a = kb.pk_models["phenelzine"].analytes[0]
    a.v1_l.value, a.cl_l_per_h.value = v, v * math.log(2) / 11.6
    for drug, route, reg, measure, target, fact in TARGETS:
        ka = calibrate(kb, drug, route, reg, measure, target)
        print(f"{drug:14s} {route:10s} ka_per_h {ka:.3f}  ({measure} = {target} at {reg}; {fact})")
        kb.pk_models[drug].routes[route].paths[0].ka_per_h.value = ka
    mid, lo, hi = tranylcypromine_efficiency(kb)
    print(f"tranylcypromine MAO-A efficiency_per_nm_per_h {mid:.4g}  (50 % first reached on day 4 of 10 mg/day "
          f"from {lo:.4g} (96 h) to {hi:.4g} (72 h))")
    print(f"phenelzine MAO-A efficiency_per_nm_per_h {phenelzine_efficiency(kb):.4g}  (85 % on 60 mg/day)")

