"""Mechanism throughput: adpharm's vectorised population against libroadrunner run as its users run it.

Both simulate the same virtual patients (same PK random effects, CYP2D6 phenotypes drawn from the
published frequencies) over 42 days with 4-hourly output. adpharm solves each population at once
(exact PK + ETDRK4 cascade). libroadrunner loads and compiles one exported SBML document once; for
each patient it calls ``resetAll``, sets that patient's constants (``setValues``: matrix entries,
volumes, doses, autoinhibition coefficients; see ``adpharm.mechanism.sbml.patient_values``) and
simulates, at its default tolerance (rtol 1e-6) and at a tight one (rtol 1e-10). Its cost per
patient does not depend on the population, so it is timed on the first ``--rr-patients`` patients
of each size (all of them when fewer) and reported per patient.

Prints patients per second for every population size, the ratios, and the largest relative
difference from adpharm (difference / the trajectory's maximum) at each tolerance.

    .venv/bin/python benchmarks/mechanism_vs_roadrunner.py [--sizes 100,1000,10000] [--rr-patients 300]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from adpharm.mechanism.drive import DriveStepper, pk_component
from adpharm.mechanism.integrate import integrate
from adpharm.mechanism.model import load
from adpharm.mechanism.sbml import RoadRunnerPopulation, patient_values, to_sbml
from adpharm.pharmacology.simulate import draw_covariates

NAMES = ["occ_sert", "occ_net", "serotonin_fold", "autoreceptor_sensitivity", "creb_frac", "bdnf_transcription_frac",
         "new_neuron_frac", "plasticity"]


def worst_difference(ours: dict, theirs: list[dict], patients: list[int]) -> tuple[float, str]:
    worst, where = 0.0, ""
    for i, th in zip(patients, theirs):
        for name in NAMES:
            scale = np.max(np.abs(th[name]))
            if scale > 0:
                rel = float(np.max(np.abs(ours[name][i] - th[name])) / scale)
                if rel > worst:
                    worst, where = rel, name
    return worst, where


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,1000,10000")
    ap.add_argument("--rr-patients", type=int, default=300)
    ap.add_argument("--drug", default="imipramine")
    ap.add_argument("--regimen", default="50 mg po daily titrate to 300 mg over 3 weeks")
    ap.add_argument("--days", type=float, default=42)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    import roadrunner
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_ERROR)   # CVODE's step-size notices at rtol 1e-10
    sizes = [int(s) for s in a.sizes.split(",")]
    m = load()
    p = m.parameter_values()
    times = np.arange(0, a.days * 24 + 1, 4.0)
    print(f"{a.drug}: {a.regimen}, {a.days:g} days, 4-hourly output; libroadrunner compiled once, "
          f"resetAll + setValues per patient, timed on up to {a.rr_patients} patients per size")
    print(f"{'patients':>9} {'adpharm p/s':>12} {'rr 1e-6 p/s':>12} {'ratio':>7} {'rr 1e-10 p/s':>13} {'ratio':>7} "
          f"{'max rel diff 1e-6':>18} {'max rel diff 1e-10':>19}")
    for n in sizes:
        rng = np.random.default_rng(a.seed)
        cov = draw_covariates(n, rng, phenotype="mixed")
        comp = pk_component(a.drug, a.regimen, times[-1], cov, rng)
        t0 = time.perf_counter()
        ours = integrate(m, p, DriveStepper([comp], n, list(m.inputs)), times, NAMES)
        t_ours = time.perf_counter() - t0
        k = min(a.rr_patients, n)
        patients = list(range(k))
        values = [patient_values(m, p, [comp], i) for i in patients]   # prepared before timing
        doc = to_sbml(m, p, [comp], patient=0)
        row = {}
        for rtol, atol in ((1e-6, 1e-12), (1e-10, 1e-14)):
            runner = RoadRunnerPopulation(doc, NAMES, rtol=rtol, atol=atol)   # compiled once (not timed)
            t0 = time.perf_counter()
            theirs = [runner.simulate(v, times) for v in values]
            row[rtol] = (k / (time.perf_counter() - t0), worst_difference(ours, theirs, patients))
        ps = n / t_ours
        (r6, (d6, _)), (r10, (d10, w10)) = row[1e-6], row[1e-10]
        print(f"{n:>9,} {ps:>12.1f} {r6:>12.1f} {ps / r6:>7.2f} {r10:>13.1f} {ps / r10:>7.2f} {d6:>18.1e} "
              f"{d10:>12.1e} ({w10})")


if __name__ == "__main__":
    main()
