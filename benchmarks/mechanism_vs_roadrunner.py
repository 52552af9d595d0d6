"""Mechanism throughput: adpharm's vectorised population against libroadrunner patient by patient.

Both simulate the same virtual patients (same PK random effects) over 42 days: adpharm all at
once (exact PK + ETDRK4 cascade), libroadrunner one exported SBML document per patient (CVODE,
rtol 1e-10). Prints patients per second for each, their ratio (target >= 25x) and the largest
relative difference over every compared trajectory (difference / the trajectory's maximum).

    .venv/bin/python benchmarks/mechanism_vs_roadrunner.py [--patients 10000] [--rr-patients N]

``--rr-patients`` times libroadrunner on the first N patients only (throughput is per patient).
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from adpharm.mechanism.drive import DriveStepper, pk_component
from adpharm.mechanism.integrate import integrate
from adpharm.mechanism.model import load
from adpharm.mechanism.sbml import roadrunner_trajectories, to_sbml
from adpharm.pharmacology.simulate import draw_covariates

NAMES = ["occ_sert", "occ_net", "serotonin_fold", "autoreceptor_sensitivity", "creb_frac", "bdnf_transcription_frac",
         "new_neuron_frac", "plasticity"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--patients", type=int, default=10_000)
    ap.add_argument("--rr-patients", type=int, default=None)
    ap.add_argument("--drug", default="imipramine")
    ap.add_argument("--regimen", default="50 mg po daily titrate to 300 mg over 3 weeks")
    ap.add_argument("--days", type=float, default=42)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    n = a.patients
    n_rr = min(a.rr_patients or n, n)
    m = load()
    p = m.parameter_values()
    times = np.arange(0, a.days * 24 + 1, 4.0)
    rng = np.random.default_rng(a.seed)
    cov = draw_covariates(n, rng, phenotype="mixed")
    comp = pk_component(a.drug, a.regimen, times[-1], cov, rng)

    t0 = time.perf_counter()
    ours = integrate(m, p, DriveStepper([comp], n, list(m.inputs)), times, NAMES)
    t_ours = time.perf_counter() - t0

    worst, worst_name = 0.0, ""
    t0 = time.perf_counter()
    for i in range(n_rr):
        theirs = roadrunner_trajectories(to_sbml(m, p, [comp], patient=i), times, NAMES)
        for name in NAMES:
            scale = np.max(np.abs(theirs[name]))
            if scale > 0:
                rel = float(np.max(np.abs(ours[name][i] - theirs[name])) / scale)
                if rel > worst:
                    worst, worst_name = rel, name
    t_rr = time.perf_counter() - t0

    rate_ours, rate_rr = n / t_ours, n_rr / t_rr
    print(f"{a.drug}: {a.regimen}, {a.days:g} days, output every 4 h")
    print(f"adpharm        {n:>6} patients in {t_ours:8.2f} s  ({rate_ours:10.1f} patients/s)")
    print(f"libroadrunner  {n_rr:>6} patients in {t_rr:8.2f} s  ({rate_rr:10.1f} patients/s, export + load + simulate)")
    print(f"throughput ratio adpharm / libroadrunner: {rate_ours / rate_rr:.1f}x (target >= 25x)")
    print(f"largest relative difference over {n_rr} patients: {worst:.2e} ({worst_name})")


if __name__ == "__main__":
    main()
