"""Derive the absorption rates in pk_models.yaml that the calibration facts fix only indirectly.

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
    ("imipramine", "po", "50 mg po", "tmax_h", 5.0, "middle of 2-8 h (ITPS 2023)"),
    ("amitriptyline", "po", "25 mg po", "tmax_h", 4.0, "middle of 2-6 h"),
    ("nortriptyline", "po", "25 mg po", "tmax_h", 5.5, "T38"),
    ("clomipramine", "po", "25 mg po", "tmax_h", 4.83, "label 25 mg tablet"),
    ("fluoxetine", "po", "20 mg po", "tmax_h", 6.0, "S01"),
    ("sertraline", "po", "50 mg po", "tmax_h", 6.45, "S11 (middle of 4.5-8.4 h)"),
    ("citalopram", "po", "20 mg po", "tmax_h", 3.0, "S28 (middle of 2-4 h)"),
    ("venlafaxine", "po", "75 mg po", "tmax_h", 2.0, "N02"),
    ("duloxetine", "po", "60 mg po", "tmax_h", 6.0, "N10"),
]


def calibrate(kb, drug, route, regimen, measure, target):
    def f(ka):
        kb2 = copy.deepcopy(kb)
        kb2.pk_models[drug].routes[route].paths[0].ka_per_h.value = ka
        res = simulate(drug, regimen, hours=96, step_h=0.01, kb=kb2)
        return res.summary().set_index(["analyte", "measure"]).loc[(drug, measure), "value"] - target
    return brentq(f, 0.02, 50.0, xtol=1e-4)


def sertraline_volume(kb):
    """Apparent V/F (and CL/F = V ln2 / 26 h) so that 50 mg peaks at 12 ng/mL (S10)."""

    def f(v):
        kb2 = copy.deepcopy(kb)
        a = kb2.pk_models["sertraline"].analytes[0]
        a.v1_l.value = v
        a.cl_l_per_h.value = v * math.log(2) / 26.0
        res = simulate("sertraline", "50 mg po", hours=120, step_h=0.05, kb=kb2)
        return res.summary().set_index(["analyte", "measure"]).loc[("sertraline", "cmax_ng_per_ml"), "value"] - 12.0
    return brentq(f, 100, 20000, xtol=0.5)


if __name__ == "__main__":
    kb = load()
    v = sertraline_volume(kb)
    print(f"sertraline v1_l {v:.0f}  cl_l_per_h {v * math.log(2) / 26:.1f}  (S10, 26 h)")
    a = kb.pk_models["sertraline"].analytes[0]
    a.v1_l.value, a.cl_l_per_h.value = v, v * math.log(2) / 26
    for drug, route, reg, measure, target, fact in TARGETS:
        ka = calibrate(kb, drug, route, reg, measure, target)
        print(f"{drug:14s} {route:10s} ka_per_h {ka:.3f}  ({measure} = {target} at {reg}; {fact})")
