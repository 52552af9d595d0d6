"""Speed of adpharm's rma (REML) and network (REML) against R's metafor, measured in one run.

Both sides fit the same data the same number of times, timed inside their own process (R's
start-up is excluded). Prints the ratio adpharm time / metafor time; needs Rscript with metafor
and metadat (apt-get install r-cran-metafor r-cran-metadat), otherwise says so and exits 0.

    .venv/bin/python benchmarks/meta_vs_metafor.py [--reps 200]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import time
from pathlib import Path

import pandas as pd

from adpharm.evidence import bundled, escalc, network, rma

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=200)
    reps = ap.parse_args().reps
    es = escalc("RR", pd.read_csv(REPO / "tests" / "data" / "metafor_inputs_bcg_RR.csv"))
    t0 = time.perf_counter()
    for _ in range(reps):
        rma(es, method="REML")
    py_rma = (time.perf_counter() - t0) / reps
    arms, _ = bundled.linde2015()
    net_reps = max(1, reps // 20)
    t0 = time.perf_counter()
    for _ in range(net_reps):
        network(arms, model="random", method="REML")
    py_net = (time.perf_counter() - t0) / net_reps
    print(f"adpharm rma REML (dat.bcg, k=13):        {1e3 * py_rma:8.2f} ms per fit")
    print(f"adpharm network REML (Linde 2015, 59 trials): {1e3 * py_net:8.2f} ms per fit")
    if shutil.which("Rscript") is None:
        print("Rscript not found: no metafor ratio measured")
        return
    code = f"""
suppressPackageStartupMessages({{library(metafor); library(metadat)}})
es <- escalc("RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
t <- system.time(for (i in 1:{reps}) rma(yi, vi, data=es, method="REML"))[["elapsed"]] / {reps}
net <- read.csv("{REPO / 'benchmarks' / '.linde_contrasts.csv'}")
V <- as.matrix(read.csv("{REPO / 'benchmarks' / '.linde_V.csv'}"))
X <- as.matrix(net[, grepl("^X_", names(net))])
tn <- system.time(for (i in 1:{net_reps}) rma.mv(net$yi, V, mods=X, intercept=FALSE, random=~comp|study, rho=1/2, data=net))[["elapsed"]] / {net_reps}
cat(t, tn)
"""
    res = network(arms, model="common")
    from adpharm.evidence.network import stack_contrasts
    y, X, V, _ = stack_contrasts(res.studies, res.treatments[1:])
    rows = pd.DataFrame(X, columns=[f"X_{i}" for i in range(X.shape[1])])
    rows["yi"] = y
    rows["study"] = [s.study for s in res.studies for _ in s.y]
    rows["comp"] = [f"{t}-{s.treatments[0]}" for s in res.studies for t in s.treatments[1:]]
    tmp_c, tmp_v = REPO / "benchmarks" / ".linde_contrasts.csv", REPO / "benchmarks" / ".linde_V.csv"
    rows.to_csv(tmp_c, index=False)
    pd.DataFrame(V).to_csv(tmp_v, index=False)
    try:
        out = subprocess.run(["Rscript", "-e", code], capture_output=True, text=True, timeout=600)
    finally:
        tmp_c.unlink(missing_ok=True)
        tmp_v.unlink(missing_ok=True)
    if out.returncode != 0:
        print(f"metafor not available: {out.stderr.strip()[:200]}")
        return
    r_rma, r_net = map(float, out.stdout.split())
    print(f"metafor rma REML:                           {1e3 * r_rma:8.2f} ms per fit")
    print(f"metafor rma.mv REML (same contrasts):       {1e3 * r_net:8.2f} ms per fit")
    print(f"ratio adpharm/metafor, rma:     {py_rma / r_rma:6.2f}")
    print(f"ratio adpharm/metafor, network: {py_net / r_net:6.2f}")


if __name__ == "__main__":
    main()
