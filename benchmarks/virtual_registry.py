"""The whole virtual registry (every placebo-controlled GRISELDA trial of a modelled drug, one replicate each):
in this process, and on a Dask LocalCluster of one worker and of two.

Prints the wall time of each run, trials per second, the scaling from one worker to two (ideal 2.0 on a
machine with two free cores) and whether every run gives the same simulated trials (each trial's seed comes
from the run's seed and its id, so chunking and workers cannot change a result). Claim (issue 39): the whole
registry in under 2 minutes on 2 cores; 2 workers at least 1.7x one worker, identical results.

    .venv/bin/python benchmarks/virtual_registry.py [--split all] [--seed 1] [--chunk-size 4] [--drugs clomipramine]

``--drugs`` keeps the trials with an arm of one of the named drugs (a small workload).
"""
from __future__ import annotations

import argparse
import time

from adpharm.trials.registry import designs, virtual_registry


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="all")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--chunk-size", type=int, default=4)
    ap.add_argument("--drugs", default=None, help="comma-separated drugs (default: every modelled drug)")
    a = ap.parse_args()
    drugs = a.drugs.split(",") if a.drugs else None
    n = len(designs(a.split, drugs)[0])
    runs = {}
    for label, workers in (("in process", 0), ("1 Dask worker", 1), ("2 Dask workers", 2)):
        t = time.perf_counter()
        res = virtual_registry(a.split, drugs, seed=a.seed, workers=workers, chunk_size=a.chunk_size)
        dt = time.perf_counter() - t
        runs[label] = (res.to_frame(), dt)
        print(f"{label:15s}: {n} trials ({len(res.rows)} comparisons) in {dt:6.1f} s = {n / dt:5.2f} trials/s")
    base = runs["in process"][0]
    same = all(f.equals(base) for f, _ in runs.values())
    t1, t2 = runs["1 Dask worker"][1], runs["2 Dask workers"][1]
    print(f"scaling 1 -> 2 workers: {t1 / t2:.2f}x (ideal 2.0); identical results in every run: {same}")


if __name__ == "__main__":
    main()
