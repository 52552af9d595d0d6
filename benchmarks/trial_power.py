"""Power throughput: replicate trials of imipramine-chronic on 1 versus 2 local Dask workers.

Runs the same replicates (same seeds) on a LocalCluster of one worker and of two, prints replicate
trials per second for each and their ratio (the scaling from one worker to two; ideal 2.0 on a
machine with two free cores), and checks that both give the same power to the last replicate.
Each replicate simulates the protocol (screening, two-week placebo lead-in, randomisation,
titrated imipramine, dropout) and fits the MMRM of its primary endpoint.

    .venv/bin/python benchmarks/trial_power.py [--reps 1000] [--n-per-arm 100] [--seed 1]
"""
from __future__ import annotations

import argparse
import time

from adpharm.trials.power import power


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--protocol", default="imipramine-chronic")
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--n-per-arm", type=int, default=100)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    runs = {}
    for w in (1, 2):
        t = time.perf_counter()
        res = power(a.protocol, a.reps, n_per_arm=a.n_per_arm, seed=a.seed, workers=w)
        dt = time.perf_counter() - t
        runs[w] = (res, dt)
        print(f"{w} worker{'s' if w > 1 else ' '}: {a.reps} replicates x {a.n_per_arm}/arm in {dt:8.1f} s "
              f"= {a.reps / dt:7.2f} trials/s; power {res.power:.3f} [{res.ci_lb:.3f}, {res.ci_ub:.3f}]")
    (r1, t1), (r2, t2) = runs[1], runs[2]
    same = r1.replicates[["seed", "estimate", "p", "success"]].equals(r2.replicates[["seed", "estimate", "p", "success"]])
    print(f"scaling 1 -> 2 workers: {t1 / t2:.2f}x (ideal 2.0); identical replicates: {same}")


if __name__ == "__main__":
    main()
