"""A million virtual patients: streamed chunks against the whole population in memory, and against
libroadrunner, in the same run.

Each measurement runs in its own child process, so that its peak resident memory (``ru_maxrss``)
is its own. The workload is the mechanism benchmark's: imipramine titrated to 300 mg over 3 weeks,
42 days, 4-hourly output, CYP2D6 phenotypes drawn from the published frequencies, both arms.

* ``streamed``: :func:`adpharm.mechanism.stream.simulate_streamed`, chunks of ``--chunk`` patients,
  summary statistics kept (means, SDs, rates, MADRS histograms), per-patient arrays dropped.
* ``whole``: :func:`adpharm.mechanism.simulate.simulate` on the whole population at once (all
  per-patient trajectories kept), run only up to ``--whole-max`` patients because its memory grows
  with the population.
* ``libroadrunner``: the exported SBML model compiled once, ``resetAll`` + ``setValues`` per patient
  at rtol 1e-6 (how its users run a population), timed on ``--rr-patients`` patients; its cost per
  patient does not depend on the population, so its time for a size is that many patients at that rate.

    .venv/bin/python benchmarks/mechanism_million.py [--sizes 100,10000,1000000] [--chunk 20000]
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time

REGIMEN = ("imipramine", "50 mg po daily titrate to 300 mg over 3 weeks")
DAYS = 42


def child(mode: str, n: int, chunk: int, seed: int) -> None:
    """One measurement; imports, the model file and the knowledge base are loaded before the clock starts
    (for libroadrunner: the document compiled and every patient's values prepared)."""
    import numpy as np
    from adpharm.knowledge.loader import bundled
    from adpharm.mechanism.model import load as load_model
    from adpharm.mechanism.simulate import simulate
    from adpharm.mechanism.stream import simulate_streamed
    from adpharm.pharmacology.simulate import PatientCovariates
    bundled(), load_model()
    t0 = time.perf_counter()
    if mode == "streamed":
        r = simulate_streamed([REGIMEN], DAYS, n=n, seed=seed, chunk=chunk, covariates=PatientCovariates(phenotype="mixed"))
        resp = float(r.drug.responders[-1] / r.n)
    elif mode == "whole":
        r = simulate([REGIMEN], DAYS, n=n, seed=seed, covariates=PatientCovariates(phenotype="mixed"))
        resp = float(np.mean(r.madrs[:, -1] <= 0.5 * r.baseline))
    else:
        from adpharm.mechanism.drive import pk_component
        from adpharm.mechanism.model import load
        from adpharm.mechanism.sbml import RoadRunnerPopulation, patient_values, to_sbml
        from adpharm.pharmacology.simulate import draw_covariates
        m = load()
        p = m.parameter_values()
        times = np.arange(0, DAYS * 24 + 1, 4.0)
        rng = np.random.default_rng(seed)
        comp = pk_component(REGIMEN[0], REGIMEN[1], times[-1], draw_covariates(n, rng, phenotype="mixed"), rng)
        values = [patient_values(m, p, [comp], i) for i in range(n)]
        runner = RoadRunnerPopulation(to_sbml(m, p, [comp], patient=0), ["plasticity"], rtol=1e-6, atol=1e-12)
        t0 = time.perf_counter()
        for v in values:
            runner.simulate(v, times)
        resp = float("nan")
    secs = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": secs, "peak_mb": peak_mb, "response_day42": resp}))


def run_child(mode: str, n: int, chunk: int, seed: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", mode, "--n", str(n), "--chunk", str(chunk),
                          "--seed", str(seed)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,10000,1000000")
    ap.add_argument("--chunk", type=int, default=20000)
    ap.add_argument("--whole-max", type=int, default=50000)
    ap.add_argument("--rr-patients", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--child", choices=("streamed", "whole", "roadrunner"))
    ap.add_argument("--n", type=int)
    a = ap.parse_args()
    if a.child:
        child(a.child, a.n, a.chunk, a.seed)
        return
    rr = run_child("roadrunner", a.rr_patients, a.chunk, a.seed)
    rr_rate = a.rr_patients / rr["seconds"]
    print(f"{REGIMEN[0]}: {REGIMEN[1]}, {DAYS} days, 4-hourly output; chunks of {a.chunk:,}; libroadrunner "
          f"(compiled once, rtol 1e-6) {rr_rate:.1f} patients/s on {a.rr_patients} patients, peak {rr['peak_mb']:.0f} MB")
    print(f"{'patients':>10} {'streamed p/s':>13} {'peak MB':>8} {'whole p/s':>10} {'peak MB':>8} "
          f"{'streamed/rr':>12} {'rr hours':>9} {'streamed h':>11}")
    for n in (int(s) for s in a.sizes.split(",")):
        s = run_child("streamed", n, a.chunk, a.seed)
        w = run_child("whole", n, a.chunk, a.seed) if n <= a.whole_max else None
        sp = n / s["seconds"]
        wp = f"{n / w['seconds']:>10.1f} {w['peak_mb']:>8.0f}" if w else f"{'-':>10} {'-':>8}"
        print(f"{n:>10,} {sp:>13.1f} {s['peak_mb']:>8.0f} {wp} {sp / rr_rate:>12.2f} {n / rr_rate / 3600:>9.2f} "
              f"{s['seconds'] / 3600:>11.2f}", flush=True)


if __name__ == "__main__":
    main()
