"""A GSE81672-shaped synthetic dataset with a known truth (PROVENANCE §T6).

Bagot et al. 2017 (Biol Psychiatry 81:285, doi:10.1016/j.biopsych.2016.06.012) profiled four
regions of mice after chronic social defeat, treated with ketamine or imipramine. Its counts are not
available here (PROVENANCE §T5), so this generator builds data of the same shape:

* 4 regions (PFC, NAc, HC, AMY) × 5 groups (control, susceptible, resilient, ketamine,
  imipramine) × 5 animals = 100 libraries (Gemma's copy has 99), mouse-style gene symbols;
* negative-binomial counts, library sizes 10–60 M, dispersion 0.02 + 1/mean-like trend;
* per region a susceptibility signature (``n_signature`` genes, |log2FC| 0.5–1.5, both signs);
  each drug returns a known fraction of those genes to control level (``TRUE_REVERSAL``, design
  values shaped after the paper's qualitative finding: both drugs in PFC, ketamine more in HC,
  imipramine more in NAc and amygdala) and leaves the rest at susceptible level;
* drug-specific genes outside the signature, and the drug groups are stressed mice, so the naive
  drug-vs-susceptible contrast carries the shared-reference artefact.

The reversal fractions are design values of this generator, not data from the paper.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

REGIONS = ("PFC", "NAc", "HC", "AMY")
GROUPS = ("control", "susceptible", "resilient", "ketamine", "imipramine")
TRUE_REVERSAL = {("PFC", "ketamine"): 0.6, ("PFC", "imipramine"): 0.6,
                 ("NAc", "ketamine"): 0.2, ("NAc", "imipramine"): 0.7,
                 ("HC", "ketamine"): 0.7, ("HC", "imipramine"): 0.0,
                 ("AMY", "ketamine"): 0.1, ("AMY", "imipramine"): 0.6}


def generate(n_genes: int = 4000, n_per_group: int = 5, n_signature: int = 300, effect_log2: tuple[float, float] = (0.5, 1.5),
             seed: int = 81672):
    """Counts (genes × samples), the sample sheet and the truth table (per region and drug)."""
    rng = np.random.default_rng(seed)
    genes = [f"Gm{10000 + i}" for i in range(n_genes)]
    base = rng.lognormal(mean=np.log(2e-5), sigma=1.6, size=n_genes)
    base /= base.sum()
    cols, sheet, truth = {}, [], []
    for reg in REGIONS:
        region_shift = rng.normal(0, 0.3, n_genes)                 # region identity
        sig = rng.choice(n_genes, n_signature, replace=False)
        lfc_sus = np.zeros(n_genes)
        lfc_sus[sig] = rng.uniform(*effect_log2, n_signature) * rng.choice([-1, 1], n_signature)
        level = {"control": np.zeros(n_genes), "susceptible": lfc_sus.copy()}
        res = np.zeros(n_genes)
        res[rng.choice(n_genes, 100, replace=False)] = rng.normal(0, 0.8, 100)
        level["resilient"] = res
        for drug in ("ketamine", "imipramine"):
            r = TRUE_REVERSAL[(reg, drug)]
            reversed_ = rng.random(n_signature) < r
            lv = lfc_sus.copy()
            lv[sig[reversed_]] = 0.0
            other = np.setdiff1d(np.arange(n_genes), sig)
            own = rng.choice(other, 80, replace=False)
            lv[own] += rng.normal(0, 0.9, 80)
            level[drug] = lv
            truth.append({"region": reg, "drug": drug, "true_r": r, "realised_r": float(reversed_.mean())})
        for g in GROUPS:
            for k in range(n_per_group):
                name = f"{reg}_{g}_{k + 1}"
                lib = rng.uniform(10e6, 60e6)
                mu = lib * base * 2 ** (region_shift + level[g])
                mu = mu / (mu.sum() / lib)
                disp = 0.02 + 2.0 / np.sqrt(mu + 1)
                disp = np.minimum(disp, 1.0)
                size = 1 / disp
                cols[name] = rng.negative_binomial(size, size / (size + mu))
                sheet.append({"sample": name, "region": reg, "group": g,
                              "treatment": g if g in ("ketamine", "imipramine") else "none",
                              "stressed": "no" if g == "control" else "yes"})
    counts = pd.DataFrame(cols, index=pd.Index(genes, name="gene"))
    return counts, pd.DataFrame(sheet), pd.DataFrame(truth)
