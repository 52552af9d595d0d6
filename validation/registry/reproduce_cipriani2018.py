"""The README's registry table: adpharm's frequentist network meta-analysis of the bundled GRISELDA registry
beside the published (Bayesian) estimates of Cipriani et al. 2018, and the published-only sensitivity analysis
beside Turner et al. 2008's FDA-versus-journal effect sizes.

Published values: Cipriani A, et al. (2018) Lancet 391:1357-1366, doi:10.1016/S0140-6736(17)32802-7 (abstract).
Turner EH, et al. (2008) N Engl J Med 358:252-260, doi:10.1056/NEJMsa065779 (dataset turner2008_fda_vs_journal_hedges_g,
GPL, read here for validation only).

Run:  .venv/bin/python validation/registry/reproduce_cipriani2018.py
"""
from __future__ import annotations

import time

import numpy as np
import pandas as pd

from adpharm import datasets
from adpharm.evidence import escalc, rma
from adpharm.evidence.registry import registry_network

PAPER = {("response", "amitriptyline"): (2.13, 1.89, 2.41), ("response", "reboxetine"): (1.37, 1.16, 1.63),
         ("dropout", "agomelatine"): (0.84, 0.72, 0.97), ("dropout", "fluoxetine"): (0.88, 0.80, 0.96),
         ("dropout", "clomipramine"): (1.30, 1.01, 1.68)}


def main():
    fits, secs = {}, {}
    for outcome in ("response", "dropout"):
        t = time.perf_counter()
        fits[outcome] = registry_network(outcome).estimates()
        secs[outcome] = time.perf_counter() - t
    print("| outcome | drug | Cipriani 2018 (Bayesian, 95 % CrI) | adpharm (REML, 95 % CI) | certainty |")
    print("|---|---|---|---|---|")
    for (outcome, drug), (p, lo, hi) in PAPER.items():
        e = fits[outcome][drug]
        print(f"| {outcome} | {drug} | {p:.2f} ({lo:.2f}-{hi:.2f}) | {e['OR']:.2f} ({e['OR_ci_lb']:.2f}-{e['OR_ci_ub']:.2f}) "
              f"| {e['certainty']['rating']} |")
    print(f"\nfit with certainty: response {secs['response']:.1f} s, dropout {secs['dropout']:.1f} s")
    pub = registry_network("response", published_only=True).estimates()
    ratio = np.array([pub[d]["OR"] / fits["response"][d]["OR"] for d in pub if d in fits["response"]])
    print(f"published trials only / all trials, response OR: median {np.median(ratio):.3f} "
          f"(range {ratio.min():.3f}-{ratio.max():.3f}); larger for {int((ratio > 1).sum())} of {len(ratio)} drugs")
    t = pd.read_csv(datasets.fetch("turner2008_fda_vs_journal_hedges_g", download=False))
    fda = rma(escalc(None, pd.DataFrame({"yi": t["Nonstandardized_effect_size"], "sei": t["Nonstandardized_SE"]})), "REML")
    pubs = t.dropna(subset=["Standardized_effect_size"])
    jr = rma(escalc(None, pd.DataFrame({"yi": pubs["Standardized_effect_size"], "sei": pubs["Standardized_SE"]})), "REML")
    print(f"Turner 2008 (REML here): FDA-based g {fda.beta:.2f} over {fda.k} trials, journal-based g {jr.beta:.2f} "
          f"over {jr.k} published (paper: 0.31 and 0.41)")


if __name__ == "__main__":
    main()
