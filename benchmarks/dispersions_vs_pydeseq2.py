"""Speed of adpharm's DESeq2-style dispersions against PyDESeq2's, measured in one run.

Both fit size factors, gene-wise Cox-Reid dispersions, the parametric trend, the prior variance
and the MAP dispersions for a one-factor design on the same counts. PyDESeq2 runs as its users
run it: ``DeseqDataSet`` with its default inference (joblib over every core), its five public
dispersion steps, quiet. Two workloads: a small generated experiment (1,500 genes x 15 samples, a
region of a Bagot-shaped study) and the real GSE205325 rat counts (21,533 genes x 21 samples,
through ``adpharm.datasets``; a generated 20,000 x 32 matrix when the file is absent). Prints the
time per fit, the ratio adpharm / PyDESeq2 and the median relative difference of the dispersions.

    .venv/bin/python benchmarks/dispersions_vs_pydeseq2.py [--reps 3] [--workloads small,large]
"""
from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from adpharm import datasets
from adpharm.transcriptomics.dispersion import fit_dispersions


def generated(genes: int, per_group: int, groups: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    base = rng.lognormal(np.log(100), 1.5, genes)[:, None]
    labels = np.repeat([f"g{i}" for i in range(groups)], per_group)
    effect = rng.normal(0, 0.5, (genes, groups))[:, [int(x[1:]) for x in labels]]
    mu = base * 2 ** effect * rng.uniform(0.5, 2, len(labels))[None, :]
    disp = 0.05 + 1 / np.sqrt(base)
    counts = pd.DataFrame(rng.negative_binomial(1 / disp, 1 / (1 + disp * mu)),
                          columns=[f"s{i}" for i in range(len(labels))])
    return counts, pd.Series(labels, index=counts.columns, name="group")


def rat() -> tuple[pd.DataFrame, pd.Series, str]:
    path = datasets.locate("flxmetade_GSE205325_CUS_Rats_Counts")
    if path is None:
        c, g = generated(20000, 4, 8, 2)
        return c, g, "generated 20,000 genes x 32 samples (GSE205325 not present)"
    from adpharm.transcriptomics.readers import read_counts
    c = read_counts(path)
    g = pd.Series([s.rstrip("0123456789") for s in c.columns], index=c.columns, name="treatment")
    return c, g, "GSE205325 rat counts, 21 samples"


def pydeseq2_dispersions(counts: pd.DataFrame, groups: pd.Series) -> pd.Series:
    from pydeseq2.dds import DeseqDataSet
    meta = pd.DataFrame({groups.name: pd.Categorical(groups)}, index=groups.index)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dds = DeseqDataSet(counts=counts.T, metadata=meta, design=f"~ {groups.name}", quiet=True)
        for step in (dds.fit_size_factors, dds.fit_genewise_dispersions, dds.fit_dispersion_trend,
                     dds.fit_dispersion_prior, dds.fit_MAP_dispersions):
            step()
    return pd.Series(np.asarray(dds.var["dispersions"], float), index=counts.index)


def timed(f, reps: int):
    t0 = time.perf_counter()
    for _ in range(reps):
        out = f()
    return out, (time.perf_counter() - t0) / reps


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--workloads", default="small,large", help="which of small and large to run")
    a = ap.parse_args()
    reps, wanted = a.reps, set(a.workloads.split(","))
    workloads = []
    if "small" in wanted:
        small_c, small_g = generated(1500, 3, 5, 1)
        workloads.append(("small: generated 1,500 genes x 15 samples", small_c, small_g, 10))
    if "large" in wanted:
        big_c, big_g, big_name = rat()
        workloads.append((f"large: {big_name}", big_c, big_g, 6))
    try:
        import pydeseq2
    except ImportError:
        pydeseq2 = None
    for name, c, g, min_count in workloads:
        ours, t_ours = timed(lambda: fit_dispersions(c, g, min_count), reps)
        print(f"{name}")
        print(f"  adpharm fit_dispersions: {t_ours:8.2f} s per fit ({ours.meta['genes']} genes)")
        if pydeseq2 is None:
            print("  PyDESeq2 not installed (pip install 'adpharm[transcriptomics]'): no ratio measured")
            continue
        theirs, t_theirs = timed(lambda: pydeseq2_dispersions(ours.counts, g), reps)
        rel = float(np.median(np.abs(ours.dispersions / theirs - 1)))
        print(f"  PyDESeq2 {pydeseq2.__version__} (5 steps):  {t_theirs:8.2f} s per fit")
        print(f"  ratio adpharm/PyDESeq2: {t_ours / t_theirs:6.3f}; median |relative difference| of dispersions {rel:.4f}")


if __name__ == "__main__":
    main()
