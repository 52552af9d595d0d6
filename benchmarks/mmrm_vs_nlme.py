"""Speed of adpharm's MMRM against R's nlme::gls on the same simulated trials, measured in one run.

The model is the one ``tests/trials/test_trial_mmrm.py`` checks against nlme: change from baseline on
``baseline + visit * arm``, unstructured covariance (``corSymm`` with ``varIdent`` per visit), REML. Both
sides fit the same CSV the same number of times, each timed inside its own process (R's start-up and
package loading are excluded). nlme runs as its users run it: ``gls`` with its default ``glsControl``.
Prints, for small and large trials, the seconds per fit on each side, the ratio nlme / adpharm
(above 1: adpharm is faster) and the largest difference in the arm-by-visit contrasts.
Needs Rscript with nlme (``apt-get install r-cran-nlme``); otherwise it times adpharm alone and says so.

    .venv/bin/python benchmarks/mmrm_vs_nlme.py [--sizes 50,200,1000] [--protocol ssri-mdd-8wk] [--seed 3] [--fits N]
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from adpharm.trials.mmrm import mmrm
from adpharm.trials.simulate import simulate_trial

R_CODE = r"""
suppressMessages(library(nlme))
args <- commandArgs(TRUE)
d <- read.csv(args[1], stringsAsFactors = FALSE); reps <- as.integer(args[2])
d$change <- d$value - d$baseline
vis <- unique(d$visit); d <- d[d$visit != vis[1], ]; vis <- vis[-1]
d$visit <- factor(d$visit, levels = vis)
d$arm <- relevel(factor(d$arm), ref = "placebo")
d$k <- as.integer(d$visit); d <- d[order(d$subject, d$k), ]
fit1 <- function() gls(change ~ baseline + visit * arm, data = d, correlation = corSymm(form = ~ k | subject),
                       weights = varIdent(form = ~ 1 | visit), method = "REML")
t <- system.time(for (i in 1:reps) fit <- fit1())[["elapsed"]] / reps
b <- coef(fit)
arm <- setdiff(levels(d$arm), "placebo")[1]
est <- sapply(vis, function(v) b[[paste0("arm", arm)]] + if (v == vis[1]) 0 else b[[paste0("visit", v, ":arm", arm)]])
cat(t, est, "\n")
"""


def _time_adpharm(d, reps: int):
    fit = mmrm(d, reference="placebo", baseline_by_visit=False)     # warm-up, and the estimates to compare
    t0 = time.perf_counter()
    for _ in range(reps):
        mmrm(d, reference="placebo", baseline_by_visit=False)
    return (time.perf_counter() - t0) / reps, fit


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="50,200,1000", help="patients per arm, comma-separated")
    ap.add_argument("--protocol", default="ssri-mdd-8wk")
    ap.add_argument("--seed", type=int, default=3)
    ap.add_argument("--fits", type=int, default=None, help="fits timed per size (default: 2000 / patients per arm)")
    a = ap.parse_args()
    have_r = shutil.which("Rscript") is not None and subprocess.run(
        ["Rscript", "-e", "library(nlme)"], capture_output=True).returncode == 0
    if not have_r:
        print("Rscript with nlme not found: adpharm is timed alone, no ratio measured")
    print(f"{'per arm':>8} {'rows':>7} {'adpharm s/fit':>14} {'nlme s/fit':>11} {'nlme/adpharm':>13} {'max |diff|':>11}")
    with tempfile.TemporaryDirectory() as tmp:
        r_script = Path(tmp) / "gls.R"
        r_script.write_text(R_CODE)
        for n in (int(x) for x in a.sizes.split(",")):
            d = simulate_trial(a.protocol, n, seed=a.seed).data
            reps = a.fits or max(1, 2000 // n)
            py, fit = _time_adpharm(d, reps)
            line = f"{n:>8} {len(d):>7} {py:>14.4f}"
            if have_r:
                f = Path(tmp) / f"trial_{n}.csv"
                d.to_csv(f, index=False)
                out = subprocess.run(["Rscript", str(r_script), str(f), str(max(1, reps // 4))],
                                     capture_output=True, text=True, check=True).stdout.split()
                r_t, r_est = float(out[0]), [float(x) for x in out[1:]]
                ours = fit.contrasts["estimate"].to_numpy()           # one active arm, visits in order
                diff = max(abs(x - y) for x, y in zip(ours, r_est))
                line += f" {r_t:>11.4f} {r_t / py:>13.1f} {diff:>11.1e}"
            print(line)


if __name__ == "__main__":
    main()
