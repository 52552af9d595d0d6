"""Reversal of a disease signature by a drug, corrected for shared reference groups.

The naive score compares the disease contrast (stress vs control) with the drug contrast
(drug vs stress) and counts how many disease genes move the other way. When the two contrasts
share a group, that group's sampling noise enters them with opposite signs, so the naive score
shows "reversal" even for a drug that does nothing (:func:`.contrasts.artefact_correlation`;
PROVENANCE §T2). Comparing the drug with the control group instead only moves the artefact: the
control group is then shared, and genes picked for a large stress effect carry control-group
noise that makes the drug look like stress (apparent persistence).

The honest estimate removes both artefacts by construction:

* the drug is read through the **orthogonal contrast** z = D − w·S − (1 − w)·C with
  w = n_S / (n_S + n_C), whose sampling noise is uncorrelated with that of the disease contrast
  x = S − C (cov = −w·σ²/n_S + (1 − w)·σ²/n_C = 0);
* the disease effects are **posterior means** E[Δ | x] under an empirical-Bayes prior fitted to
  all genes (:mod:`.shrinkage`), which undoes the winner's curse of picking genes by x.

If drug-treated animals sit a fraction r of the way back from stressed to control level, then
E[z | x] = (1 − r − w)·E[Δ | x], so r = 1 − w − β with β the least-squares slope of z on E[Δ | x]
over the signature genes. r = 1: drug at control level; r = 0: drug at stressed level. A
bootstrap over genes gives one interval. With counts and a sheet, the same statistic is
re-estimated with DESeq2's fold changes and standard errors (:func:`counts_model`), an interval
over animals is added (:func:`animal_jackknife`), and so is a permutation null that exchanges
drug and stressed labels (keeping the controls, hence the shared reference). The verdict
(:func:`verdict`) reads the two intervals together.

References
----------
Stephens M (2017). False discovery rates: a new deal. Biostatistics 18(2):275-294.
doi:10.1093/biostatistics/kxw041

Bagot RC, Cates HM, Purushothaman I, et al. (2017). Ketamine and imipramine reverse
transcriptional signatures of susceptibility and induce resilience-specific gene expression
profiles. Biological Psychiatry 81(4):285-295. doi:10.1016/j.biopsych.2016.06.012
"""
from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from .contrasts import Contrast, NBGroupMeans, artefact_correlation, shared_groups
from .de import MIN_TOTAL_COUNT
from .dispersion import Dispersions, fit_dispersions
from .overlap import bh_adjust
from .readers import DETable, SampleSheet
from .shrinkage import posterior_mean
from ..lazy import lazy_module
from ..display import NotebookDisplay, table_text

stats = lazy_module("scipy.stats")

N_BOOT = 2000
MAX_PERMUTATIONS = 200
#: How :func:`region_reversal` finds a region's disease signature by default.
SIGNATURE_SOURCE = "Wald test of NB group means with DESeq2 dispersions, BH"


def _mode(disease: Contrast | None, drug: Contrast | None) -> str:
    """How the drug contrast relates to the disease contrast."""
    if disease is None or drug is None or disease[0] != drug[0]:
        return "unrelated"
    if drug[2] == disease[1]:
        return "vs_disease"      # drug vs stress: y = D − S
    if drug[2] == disease[2]:
        return "vs_control"      # drug vs control: y = D − C
    return "unrelated"


def _naive(x: np.ndarray, y: np.ndarray, mode: str) -> dict:
    """What is usually reported: sign agreement, rank correlation and the raw slope's r."""
    opposite = np.sign(x) != np.sign(y)
    beta = float(np.sum(x * y) / np.sum(x * x))
    return {"genes": int(len(x)), "opposite_sign_fraction": float(opposite.mean()),
            "spearman": float(stats.spearmanr(x, y).statistic) if len(x) > 2 else np.nan,
            "r_naive": 1 - beta if mode == "vs_control" else -beta}


def orthogonal(y: np.ndarray, x: np.ndarray, w: float, mode: str) -> np.ndarray:
    """The drug contrast rewritten as z = D − w·S − (1 − w)·C from y and the disease contrast x."""
    return y + (1 - w) * x if mode == "vs_disease" else y - w * x


def _from_means(gm: NBGroupMeans, dc: Contrast, drug: str, w: float) -> pd.Series:
    """The orthogonal contrast z = D − w·S − (1 − w)·C from group means."""
    return gm.means[drug] - w * gm.means[dc[1]] - (1 - w) * gm.means[dc[2]]


def _posterior(dis: pd.DataFrame) -> tuple[pd.Series, dict]:
    """Empirical-Bayes posterior means E[Δ | x] of a contrast table's fold changes, and the prior."""
    post, prior = posterior_mean(dis["log2FoldChange"].to_numpy(), dis["lfcSE"].to_numpy())
    return pd.Series(post, index=dis.index), prior


def _r(z: np.ndarray, post: np.ndarray, w: float, axis=None):
    """r = 1 − w − β, β = Σ z·E[Δ|x] / Σ E[Δ|x]² (along ``axis``); NaN where the denominator is 0."""
    den = np.sum(post ** 2, axis=axis)
    return 1 - w - np.sum(z * post, axis=axis) / np.where(den > 0, den, np.nan)


def _estimate(z: np.ndarray, post: np.ndarray, w: float, n_boot: int, rng) -> dict:
    """:func:`_r` with a bootstrap-over-genes percentile interval."""
    r = float(_r(z, post, w))
    if not np.isfinite(r):
        return {"r": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    idx = rng.integers(0, len(z), size=(n_boot, len(z)))
    lo, hi = np.nanpercentile(_r(z[idx], post[idx], w, axis=1), [2.5, 97.5])
    return {"r": r, "ci_low": float(lo), "ci_high": float(hi)}


def _words(lo: float, hi: float) -> str:
    if not lo > 0:
        return "no reversal detected: the interval includes no change from the stressed state"
    if hi < 1:
        return "partial normalisation: the drug moves the signature part of the way back to control"
    return "reversal: consistent with a full return to control level"


def verdict(r: float, lo: float, hi: float, p_permutation: float | None = None,
            smallest_p: float | None = None, animals: tuple[float, float] | None = None) -> str:
    """Words for the reversed fraction r (1 = back at control level), one rule for tables and counts.

    ``lo``–``hi`` is the interval over signature genes (bootstrap); ``animals`` the interval over
    animals (:func:`animal_jackknife`), which only the counts give. A conclusion about animals
    needs both: the verdict reads the interval that spans them, so it holds whichever sampling
    (of genes or of animals) dominates. From tables alone it says that the animals' part is
    missing (no reversal is established for them), and gives the genes' words after it. When a
    permutation null was run, reversal is claimed only if it also rejects that null at 5 %; when
    the design allows too few relabellings for that (3 vs 3 animals: 20, so p >= 0.05), the words
    say so.

    >>> verdict(0.6, 0.3, 0.9, animals=(-0.2, 1.1))
    'no reversal detected: the interval includes no change from the stressed state'
    >>> verdict(0.6, 0.3, 0.9)[:39]
    'no reversal established for the animals'
    """
    if not np.isfinite(r):
        return "not estimable"
    have_animals = animals is not None and all(np.isfinite(animals))
    span = f"r = {r:.2f} (genes {lo:.2f} to {hi:.2f}" + (
        f"; animals {animals[0]:.2f} to {animals[1]:.2f})" if have_animals else ")")
    if p_permutation is not None and smallest_p is not None and smallest_p >= 0.05:
        return (f"no reversal established: with these group sizes the smallest attainable permutation p is "
                f"{smallest_p:.2g}, so the null that keeps the shared reference cannot be rejected at 5 % "
                f"(p = {p_permutation:.2g}); {span}")
    if p_permutation is not None and not p_permutation < 0.05:
        return (f"no reversal established: the estimate does not exceed the null that keeps the shared "
                f"reference (permutation p = {p_permutation:.2g})")
    if not have_animals:
        return (f"no reversal established for the animals: tables carry no animal-level uncertainty (give the counts "
                f"and the sample sheet); across the signature genes {span}, " + _words(lo, hi).split(":")[0])
    return _words(min(lo, animals[0]), max(hi, animals[1]))


@dataclass
class ReversalResult(NotebookDisplay):
    """Naive and honest reversal of one disease signature by one drug."""

    naive: dict
    honest: dict
    method: str
    shared_reference: dict
    independent: dict = field(default_factory=dict)
    permutation: dict = field(default_factory=dict)
    all_genes: dict = field(default_factory=dict)
    genes: pd.DataFrame = field(default_factory=pd.DataFrame)
    meta: dict = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    jackknife: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        rows = [{"estimate": "naive (as given)", "genes": self.naive["genes"], "r": self.naive["r_naive"],
                 "opposite_sign_fraction": self.naive["opposite_sign_fraction"], "spearman": self.naive["spearman"]}]
        if self.independent:
            rows.append({"estimate": "drug vs control (shares the control group)", "genes": self.independent["genes"],
                         "same_sign_fraction": self.independent["same_sign_fraction"],
                         "spearman": self.independent["spearman"]})
        rows.append({"estimate": f"honest ({self.method}), interval over genes", "genes": self.honest["genes"],
                     "r": self.honest["r"], "ci_low": self.honest["ci_low"], "ci_high": self.honest["ci_high"]})
        j = self.jackknife
        if "ci_low" in j:
            rows.append({"estimate": f"honest, interval over animals (jackknife, df {j['df']})", "genes": self.honest["genes"],
                         "r": j["r"], "ci_low": j["ci_low"], "ci_high": j["ci_high"]})
        return pd.DataFrame(rows)

    @property
    def verdict(self) -> str:
        j = self.jackknife
        return verdict(self.honest["r"], self.honest["ci_low"], self.honest["ci_high"], self.permutation.get("p_value"),
                       self.permutation.get("smallest_attainable_p"),
                       (j["ci_low"], j["ci_high"]) if "ci_low" in j else None)

    def text(self) -> str:
        """Whether the contrasts share a reference group, the scores, the interval over animals, the permutation
        null, the naive count and the honest verdict."""
        lines = []
        sr = self.shared_reference
        if sr["detected"]:
            lines.append(f"shared reference detected: group(s) {', '.join(sr['groups'])} in both contrasts; "
                         f"noise alone gives a fold-change correlation of {sr['expected_null_correlation']:+.2f}")
        elif not sr["checked"]:
            lines.append(f"shared reference not checked: {sr['note']}")
        lines.append(table_text(self.summary(), ".3g"))
        j = self.jackknife
        if "se" in j:
            loo = j["leave_one_out_r"]
            most = max(loo, key=lambda k: abs(loo[k] - j["r"]))
            lines.append(f"interval over animals: delete-one jackknife over {sum(j['animals'].values())} samples, "
                         f"SE {j['se']:.2f} on {j['df']} df; leaving out {most} moves r most (to {loo[most]:.2f})")
        elif j.get("note"):
            lines.append(f"interval over animals: {j['note']}")
        if self.permutation:
            p = self.permutation
            lines.append(f"permutation null ({p['relabellings']} relabellings of drug and stressed samples): "
                         f"r {p['observed_r']:.2f} vs null mean {p['null_r_mean']:.2f}, p = {p['p_value']:.2g} "
                         f"(smallest attainable p {p['smallest_attainable_p']:.2g})")
        lines.append(f"naive: {self.naive['opposite_sign_fraction']:.0%} of {self.naive['genes']} signature genes "
                     "move the other way")
        lines.append(f"honest ({self.method}): {self.verdict}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict:
        return {"naive": self.naive, "honest": dict(self.honest, method=self.method, verdict=self.verdict),
                "shared_reference": self.shared_reference, "drug_vs_control": self.independent,
                "animal_jackknife": self.jackknife, "permutation_null": self.permutation, "all_genes": self.all_genes, "warnings": self.warnings,
                "provenance": self.meta}

    def plot(self):
        from ..figures import pyplot
        plt = pyplot()
        g = self.genes
        fig, axes = plt.subplots(1, 2, figsize=(8.8, 4))
        ax = axes[0]
        ax.scatter(g["disease"], g["drug"], s=8, color="#c0392b")
        lim = float(np.nanmax(np.abs(g[["disease", "drug"]].to_numpy()))) * 1.05 if len(g) else 1.0
        ax.axhline(0, color="0.8", lw=0.6)
        ax.axvline(0, color="0.8", lw=0.6)
        ax.set_xlabel("disease log2FC")
        ax.set_ylabel("drug log2FC (as given)")
        ax.set_xlim(-lim, lim)
        ax.set_title(f"naive: {self.naive['opposite_sign_fraction']:.0%} of signature genes opposite", fontsize=9)
        ax = axes[1]
        if "posterior_disease" in g and "orthogonal_drug" in g:
            ax.scatter(g["posterior_disease"], g["orthogonal_drug"], s=8, color="#2c7fb8")
            w = self.honest.get("w", 0.5)
            t = np.linspace(*ax.get_xlim(), 2) if len(g) else np.array([-1, 1])
            for r, ls, lab in ((0, "--", "r = 0 (stays stressed)"), (1, ":", "r = 1 (back to control)")):
                ax.plot(t, (1 - r - w) * t, color="0.4", ls=ls, lw=0.9, label=lab)
            ax.legend(fontsize=7, frameon=False)
        ax.set_xlabel("disease effect, posterior mean E[Δ | x]")
        ax.set_ylabel("drug, orthogonal contrast z")
        ax.set_title(f"honest r = {self.honest['r']:.2f} [{self.honest['ci_low']:.2f}, {self.honest['ci_high']:.2f}]", fontsize=9)
        fig.suptitle(f"{self.method}; adpharm {__version__}, seed {self.meta.get('seed')}", fontsize=8)
        fig.tight_layout()
        return axes[0]


def _group_sizes(samples: SampleSheet | None, factor: str | None) -> dict[str, int] | None:
    if samples is None or factor is None:
        return None
    return samples.column(factor).value_counts().to_dict()


def _check_groups(c: Contrast, n: dict[str, int], samples: SampleSheet, label: str) -> None:
    for g in c[1:]:
        if g not in n:
            raise AdpharmInputError(f"{samples.source}: {label} contrast group {g!r} has no samples in column {c[0]!r} "
                                    f"(levels: {', '.join(sorted(map(str, n)))})")


def reversal(disease: DETable, drug: DETable, alpha: float = 0.05, signature: list[str] | None = None,
             counts: pd.DataFrame | None = None, samples: SampleSheet | None = None,
             permutations: int = MAX_PERMUTATIONS, n_boot: int = N_BOOT, seed: int = 0,
             subset: dict[str, str] | None = None, min_total_count: int = MIN_TOTAL_COUNT) -> ReversalResult:
    """Score how far ``drug`` reverses ``disease``'s signature, naively and honestly.

    Parameters
    ----------
    disease, drug : DE tables; their ``contrast`` (factor, numerator, reference) says which groups
        they compare. Without it a shared reference cannot be checked, and the result says so.
    alpha : the disease signature is the genes at ``padj < alpha`` (``pvalue`` if no ``padj``).
    signature : use these genes instead.
    counts, samples : the count matrix and sheet behind the tables. With them the fold changes and
        standard errors are re-estimated by DESeq2's model (:func:`counts_model`: the same numbers
        as DESeq2's tables, so the estimate is the one the tables give), the drug is also compared
        with the control group, an interval over animals is added (:func:`animal_jackknife`) and a
        permutation null is run; without counts the tables' ``lfcSE`` are used, and the verdict says
        that nothing is established for the animals.
    min_total_count : with counts, keep genes with at least this many reads over the sheet's samples.
    permutations : at most this many relabellings (all of them when there are fewer).
    subset : keep only the samples whose sheet columns equal these values (e.g.
        ``{"sample_type": "Input"}``), as ``transcriptomics de --subset`` does. Without it, a sheet
        column that varies within every compared group (TRAP and input, regions, sexes) is named in
        ``warnings``: the contrasts would pool that material.

    Examples
    --------
    >>> from adpharm import datasets
    >>> from adpharm.transcriptomics.readers import read_de
    >>> stress = read_de(datasets.fetch("flxmetade_DESeq_Control.v.Stress_GSE205325_converted", download=False),
    ...                  "treatment,S,C")                                                    # doctest: +SKIP
    >>> drug = read_de(datasets.fetch("flxmetade_DESeq_Fl.v.Stress_GSE205325_converted", download=False),
    ...                "treatment,F,S")                                                      # doctest: +SKIP
    >>> reversal(stress, drug).shared_reference["detected"]                                  # doctest: +SKIP
    True
    """
    if not 0 < alpha < 1:
        raise AdpharmInputError(f"{alpha} must be between 0 and 1", field="alpha")
    if permutations < 0 or n_boot < 100:
        raise AdpharmInputError(f"permutations {permutations} must be >= 0 and n_boot {n_boot} >= 100")
    rng = np.random.default_rng(seed)
    dc, gc = disease.contrast, drug.contrast
    mode = _mode(dc, gc)
    genes = disease.table.index.intersection(drug.table.index)
    both = pd.DataFrame({"disease": disease.table.loc[genes, "log2FoldChange"],
                         "drug": drug.table.loc[genes, "log2FoldChange"]}).dropna()
    sig = list(signature) if signature is not None else disease.signature(alpha)
    sig = [g for g in sig if g in both.index]
    if len(sig) < 3:
        raise AdpharmInputError(f"{disease.source}: only {len(sig)} signature genes at padj < {alpha:g} are in both tables")
    naive = _naive(both.loc[sig, "disease"].to_numpy(), both.loc[sig, "drug"].to_numpy(), mode)
    all_genes = {"genes": int(len(both)), "spearman": float(stats.spearmanr(both["disease"], both["drug"]).statistic)}

    if subset:
        if samples is None:
            raise AdpharmInputError("needs the sample sheet", field="subset")
        samples = samples.subset(subset)
        if counts is not None:
            counts = counts[list(samples.table.index)]
    shared = shared_groups(dc, gc) if dc and gc else {}
    n = _group_sizes(samples, dc[0] if dc else None)
    if n is not None:
        _check_groups(dc, n, samples, "disease")
        if gc:
            _check_groups(gc, n, samples, "drug")
    sizes_from = "sample sheet" if n is not None else "assumed equal (no sample sheet)"
    linked = mode != "unrelated"
    n_eff = n or ({g: 1 for g in set(dc[1:]) | set(gc[1:])} if linked else None)
    shared_info = {"checked": bool(dc and gc), "detected": bool(shared),
                   "groups": {g: ("opposite" if s < 0 else "same") + " sign in the two contrasts" for g, s in shared.items()},
                   "expected_null_correlation": artefact_correlation(dc, gc, n_eff) if linked else None,
                   "group_sizes": sizes_from,
                   "disease_contrast": list(dc) if dc else None, "drug_contrast": list(gc) if gc else None}
    if not (dc and gc):
        shared_info["note"] = ("the tables do not say which groups they compare; give the disease and drug contrasts "
                               "so that a shared reference can be detected")
    meta = {"adpharm": __version__, "alpha": alpha, "seed": seed, "bootstrap": n_boot, "mode": mode,
            "disease": disease.source, "drug": drug.source, "subset": dict(subset or {})}
    table = both.loc[sig].copy()
    if not linked:
        honest = {"r": np.nan, "ci_low": np.nan, "ci_high": np.nan, "genes": 0,
                  "note": "the drug contrast is not against the disease contrast's groups; no honest estimate"}
        return ReversalResult(naive=naive, honest=honest, method="not estimable", shared_reference=shared_info,
                              independent={}, permutation={}, all_genes=all_genes,
                              genes=table.reset_index(names="gene"), meta=meta)

    w = n_eff[dc[1]] / (n_eff[dc[1]] + n_eff[dc[2]])
    independent, perm, jack, notes = {}, {}, {}, []
    if counts is not None:
        if samples is None:
            raise AdpharmInputError("needs the sample sheet as well", field="counts")
        for col, levels in samples.crossed_with(dc[0], [dc[1], dc[2], gc[1]]).items():
            notes.append(f"samples differ in {col!r} ({', '.join(levels)}) within every compared group, and the "
                         f"contrasts pool them; if these are different material, give a subset "
                         f"({col}={levels[0]!r} or another level)")
        fit, disp = counts_model(counts, samples, dc[0], min_total_count)
        groups = samples.column(dc[0])
        compared = groups[groups.isin([dc[1], dc[2], gc[1]])]
        gm = fit(compared)
        dis = gm.contrast(dc)
        z_all = _from_means(gm, dc, gc[1], w)
        source = ("re-estimated from the counts: negative-binomial group means with DESeq2's size factors and "
                  f"dispersions (~ {dc[0]}, {disp.meta['samples']} samples, {disp.meta['filter']}), the fold "
                  "changes and standard errors of DESeq2's tables")
        ind = gm.contrast((dc[0], gc[1], dc[2]))["log2FoldChange"].reindex(sig).to_numpy()
        xs = dis["log2FoldChange"].reindex(sig).to_numpy()
        okk = np.isfinite(ind) & np.isfinite(xs)
        independent = {"contrast": [dc[0], gc[1], dc[2]], "genes": int(okk.sum()),
                       "same_sign_fraction": float((np.sign(ind[okk]) == np.sign(xs[okk])).mean()),
                       "spearman": float(stats.spearmanr(xs[okk], ind[okk]).statistic),
                       "note": "shares the control group with the disease contrast: genes picked for a large "
                               "stress effect carry control noise that inflates apparent persistence"}
        table["drug_vs_control"] = ind
        if shared and permutations:
            perm = permutation_null(fit, compared, dc, gc, sig, w, permutations, seed)
        meta["dispersions"] = disp.meta
    else:
        if "lfcSE" not in disease.table:
            raise AdpharmInputError(f"{disease.source}: no lfcSE column; the honest estimate needs standard errors "
                                    "or the counts")
        dis = disease.table.loc[both.index]
        z_all = pd.Series(orthogonal(both["drug"].to_numpy(), both["disease"].to_numpy(), w, mode), index=both.index)
        source = f"the tables' fold changes and lfcSE; group sizes {sizes_from}"
    post, prior = _posterior(dis)
    p_s, z_s = post.reindex(sig).to_numpy(), z_all.reindex(sig).to_numpy()
    ok = np.isfinite(p_s) & np.isfinite(z_s)
    est = _estimate(z_s[ok], p_s[ok], w, n_boot, rng)
    honest = dict(est, genes=int(ok.sum()), w=w, data=source, prior_null_weight=prior["null_weight"])
    if counts is not None:
        jack = animal_jackknife(fit, compared, dc, gc, sig, r_full=est["r"])
    table["posterior_disease"], table["orthogonal_drug"] = p_s, z_s
    method = "orthogonal contrast with empirical-Bayes disease effects"
    return ReversalResult(naive=naive, honest=honest, method=method, shared_reference=shared_info,
                          independent=independent, permutation=perm, all_genes=all_genes,
                          genes=table.reset_index(names="gene"), meta=meta, warnings=notes, jackknife=jack)


def counts_model(counts: pd.DataFrame, samples: SampleSheet, factor: str,
                 min_total_count: int = MIN_TOTAL_COUNT) -> tuple[Callable[[pd.Series], NBGroupMeans], Dispersions]:
    """DESeq2's size factors and dispersions for ``~ factor`` over the sheet's samples
    (:func:`~.dispersion.fit_dispersions`), and a function that fits
    :class:`~.contrasts.NBGroupMeans` for any labelling of any of those samples.

    With the dispersions fitted once, the fold changes and standard errors are DESeq2's (against
    the authors' GSE205325 tables: within 6e-4 log2 units and 1.4 % on the signature genes) and a
    relabelling or a deleted animal costs a fraction of a second, so the estimate, the permutation
    null and the animal jackknife are all computed by this one estimator.
    """
    groups = samples.column(factor).rename(factor)
    if groups.nunique() < 2 or len(groups) == groups.nunique():
        raise AdpharmInputError(f"{samples.source}: column {factor!r} needs two groups and a group with two samples")
    disp = fit_dispersions(counts, groups, min_total_count)

    def fit(groups: pd.Series) -> NBGroupMeans:
        return NBGroupMeans.fit(disp.counts, groups, disp.size_factors, disp.dispersions)
    return fit, disp


def _honest_r(m: NBGroupMeans, dc: Contrast, drug: str, sig: list[str]) -> float:
    """The honest r of one fit: its own w = n_S / (n_S + n_C), posterior disease effects, orthogonal drug contrast."""
    w = m.n[dc[1]] / (m.n[dc[1]] + m.n[dc[2]])
    post = _posterior(m.contrast(dc))[0].reindex(sig).to_numpy()
    z = _from_means(m, dc, drug, w).reindex(sig).to_numpy()
    ok = np.isfinite(post) & np.isfinite(z)
    return float(_r(z[ok], post[ok], w))


def animal_jackknife(fit: Callable[[pd.Series], NBGroupMeans], groups: pd.Series, dc: Contrast, gc: Contrast,
                     sig: list[str], level: float = 0.95, r_full: float | None = None) -> dict:
    """Animal-level uncertainty of the honest r: the stratified delete-one jackknife over animals.

    Each animal of the stressed, control and drug groups is left out in turn and r is re-estimated
    (fold changes, prior, posterior disease effects and w refitted; the signature genes and the
    dispersions held). With r₍ₕᵢ₎ the estimate without animal i of group h, the variance is
    v = Σₕ (nₕ − 1)/nₕ Σᵢ (r₍ₕᵢ₎ − r̄₍ₕ₎)², and the interval r ± t(df)·√v with df = Σₕ (nₕ − 1).
    Unlike the bootstrap over genes, it carries what the animals share across genes (an animal
    whose whole profile is shifted moves every gene at once). ``r_full`` is the estimate on all
    animals when the caller has it already (otherwise it is fitted here).

    References
    ----------
    Efron B, Tibshirani RJ (1993). An Introduction to the Bootstrap, ch. 11. Chapman & Hall.
    doi:10.1007/978-1-4899-4541-9

    Wolter KM (2007). Introduction to Variance Estimation, 2nd ed., ch. 4 (stratified jackknife).
    Springer. doi:10.1007/978-0-387-35099-8
    """
    groups = groups.astype(str)
    strata = list(dict.fromkeys([dc[1], dc[2], gc[1]]))
    sizes = {h: int((groups == h).sum()) for h in strata}
    if min(sizes.values()) < 2:
        return {"animals": sizes, "note": "a compared group has one animal; no animal-level interval"}
    var, leave_out = 0.0, {}
    for h in strata:
        members = list(groups.index[groups == h])
        rs = np.array([_honest_r(fit(groups.drop(a)), dc, gc[1], sig) for a in members])
        leave_out.update(zip(members, rs.tolist()))
        var += (len(rs) - 1) / len(rs) * float(np.sum((rs - rs.mean()) ** 2))
    if r_full is None:
        r_full = _honest_r(fit(groups), dc, gc[1], sig)
    df = sum(n - 1 for n in sizes.values())
    se = float(np.sqrt(var))
    half = float(stats.t.ppf(0.5 + level / 2, df)) * se
    return {"r": r_full, "se": se, "df": df, "ci_low": r_full - half, "ci_high": r_full + half, "level": level,
            "animals": sizes, "leave_one_out_r": leave_out,
            "method": "stratified delete-one-animal jackknife, t interval"}


def permutation_null(fit: Callable[[pd.Series], NBGroupMeans], groups: pd.Series, dc: Contrast, gc: Contrast, sig: list[str],
                     w: float, permutations: int, seed: int) -> dict:
    """Null of "the drug does nothing": exchange drug and stressed labels, keep the controls.

    Each relabelling re-estimates both contrasts with ``fit`` (:func:`counts_model`: dispersions held), re-selects as many disease genes as the observed
    signature (top |t|), refits the prior and recomputes the honest r and the naive opposite-sign
    fraction. The observed values, computed the same way, are compared with this null, which
    keeps the shared reference and the selection step.
    """
    groups = groups.astype(str)
    pool = list(groups.index[groups.isin([dc[1], gc[1]])])
    n_s = int((groups == dc[1]).sum())
    every = list(itertools.combinations(range(len(pool)), n_s))
    rng = np.random.default_rng(seed)
    combos = every if len(every) <= permutations else [
        tuple(sorted(rng.choice(len(pool), n_s, replace=False))) for _ in range(permutations)]
    k = len(sig)

    def scores(g: pd.Series) -> tuple[float, float]:
        m = fit(g)
        dis, dr = m.contrast(dc), m.contrast(gc)
        top = dis["stat"].abs().nlargest(k).index
        r = float(_r(_from_means(m, dc, gc[1], w)[top].to_numpy(), _posterior(dis)[0][top].to_numpy(), w))
        opp = float((np.sign(dis.loc[top, "log2FoldChange"]) != np.sign(dr.loc[top, "log2FoldChange"])).mean())
        return r, opp

    obs = scores(groups)
    null = []
    for c in combos:
        g = groups.copy()
        g.loc[pool] = gc[1]
        g.loc[[pool[i] for i in c]] = dc[1]
        null.append(scores(g))
    null = np.array(null)
    return {"relabellings": len(combos), "exhaustive": len(combos) == len(every), "seed": seed,
            "signature_genes": k, "smallest_attainable_p": 1 / len(combos),
            "observed_r": obs[0], "null_r_mean": float(null[:, 0].mean()),
            "null_r_95": [float(v) for v in np.percentile(null[:, 0], [2.5, 97.5])],
            "p_value": float(np.mean(null[:, 0] >= obs[0])),
            "observed_opposite_sign_fraction": obs[1],
            "null_opposite_sign_fraction_mean": float(null[:, 1].mean()),
            "p_opposite_sign": float(np.mean(null[:, 1] >= obs[1]))}


# --------------------------------------------------------------------------- regions × drugs

@dataclass
class RegionReversalResult(NotebookDisplay):
    """How much of each region's disease signature each drug reverses (naive and honest)."""

    table: pd.DataFrame
    meta: dict

    def summary(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        return {"regions": self.table.to_dict(orient="records"), "provenance": self.meta}

    def text(self) -> str:
        """The region x drug table."""
        return table_text(self.table, ".3g") + "\n"

    def plot(self):
        from ..figures import pyplot
        plt = pyplot()
        t = self.table
        regions, drugs = list(dict.fromkeys(t["region"])), list(dict.fromkeys(t["drug"]))
        fig, axes = plt.subplots(1, 2, figsize=(3.2 + 1.6 * len(drugs) * 2, 0.9 + 0.7 * len(regions)))
        for ax, col, title in ((axes[0], "r_naive", "naive (drug vs stressed, raw slope)"),
                               (axes[1], "r", "honest (orthogonal contrast)")):
            m = t.pivot(index="region", columns="drug", values=col).loc[regions, drugs]
            im = ax.imshow(m.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
            for i, reg in enumerate(regions):
                for j, d in enumerate(drugs):
                    row = t[(t.region == reg) & (t.drug == d)].iloc[0]
                    txt = f"{row[col]:.2f}"
                    if col == "r":
                        txt += f"\n[{row['ci_low']:.2f}, {row['ci_high']:.2f}]"
                    ax.text(j, i, txt, ha="center", va="center", fontsize=7)
            ax.set_xticks(range(len(drugs)), drugs)
            ax.set_yticks(range(len(regions)), regions)
            ax.set_title(title, fontsize=9)
        fig.colorbar(im, ax=axes, label="fraction of signature reversed")
        fig.suptitle(f"adpharm {__version__}, seed {self.meta['seed']}", fontsize=7)
        return axes[0]


def region_reversal(counts: pd.DataFrame, samples: SampleSheet, region: str, factor: str, control: str,
                    disease: str, drugs: list[str], alpha: float = 0.05, n_boot: int = N_BOOT,
                    seed: int = 0, min_total_count: int = MIN_TOTAL_COUNT,
                    signatures: dict[str, list[str]] | None = None,
                    signature_source: str = SIGNATURE_SOURCE) -> RegionReversalResult:
    """Per region, how much of the disease signature each drug reverses, by :func:`reversal`'s estimator.

    In each region, DESeq2's size factors and dispersions are fitted once for ``~ factor``
    (:func:`counts_model`); the disease signature is the genes whose Wald test of disease vs
    control has BH-adjusted p < ``alpha``; per drug, the naive reversal (drug vs disease group,
    opposite-sign fraction and raw slope) is given beside the honest one (orthogonal contrast with
    empirical-Bayes disease effects), with its interval over genes (bootstrap) and over animals
    (:func:`animal_jackknife`); the verdict reads both, as :func:`verdict` does for one drug.

    ``signatures`` gives each region's disease signature instead (genes at padj < alpha in a full
    PyDESeq2 run, :func:`~.de.differential_expression` with ``by=region``, which adds independent
    filtering and Cook's outliers, or in the user's own DE tables), named by ``signature_source``.
    """
    if not 0 < alpha < 1:
        raise AdpharmInputError(f"{alpha} must be between 0 and 1", field="alpha")
    regions = sorted(samples.column(region).unique())
    levels = set(samples.column(factor))
    for g in [control, disease, *drugs]:
        if g not in levels:
            raise AdpharmInputError(f"{samples.source}: column {factor!r} has no group {g!r} (levels: {', '.join(sorted(levels))})")
    rng = np.random.default_rng(seed)
    rows, engine = [], None
    dc = (factor, disease, control)
    for reg in regions:
        sub = samples.subset({region: reg})
        groups = sub.column(factor)
        missing = [g for g in (control, disease, *drugs) if g not in set(groups)]
        if missing:
            raise AdpharmInputError(f"{samples.source}: {region} {reg!r} has no samples of group {missing[0]!r}")
        fit, disp = counts_model(counts[list(sub.table.index)], sub, factor, min_total_count)
        engine = disp.meta["engine"]
        gm = fit(groups)
        dis = gm.contrast(dc)
        if signatures is not None:
            sig = [g for g in signatures.get(str(reg), []) if g in dis.index]
        else:
            p = dis["pvalue"].dropna()
            q = pd.Series(bh_adjust(p.to_numpy()), index=p.index)
            sig = list(q.index[q < alpha])
        x = dis.loc[sig, "log2FoldChange"].to_numpy()
        post = _posterior(dis)[0]
        w = gm.n[disease] / (gm.n[disease] + gm.n[control])
        for d in drugs:
            row = {"region": reg, "drug": d, "signature_genes": len(sig)}
            if len(sig) >= 3:
                nv = _naive(x, gm.contrast((factor, d, disease)).loc[sig, "log2FoldChange"].to_numpy(), "vs_disease")
                e = _estimate(_from_means(gm, dc, d, w).loc[sig].to_numpy(), post.loc[sig].to_numpy(), w, n_boot, rng)
                j = animal_jackknife(fit, groups[groups.isin([disease, control, d])], dc, (factor, d, disease), sig,
                                     r_full=e["r"])
                animals = (j.get("ci_low", np.nan), j.get("ci_high", np.nan))   # verdict: NaN = no animal interval
                row.update(opposite_sign_fraction=nv["opposite_sign_fraction"], r_naive=nv["r_naive"],
                           r=e["r"], ci_low=e["ci_low"], ci_high=e["ci_high"],
                           animals_ci_low=animals[0], animals_ci_high=animals[1],
                           verdict=verdict(e["r"], e["ci_low"], e["ci_high"], animals=animals))
            else:
                row.update(opposite_sign_fraction=np.nan, r_naive=np.nan, r=np.nan, ci_low=np.nan, ci_high=np.nan,
                           animals_ci_low=np.nan, animals_ci_high=np.nan,
                           verdict=f"no disease signature in this region ({len(sig)} genes from {signature_source})")
            rows.append(row)
    meta = {"adpharm": __version__, "seed": seed, "bootstrap": n_boot, "alpha": alpha,
            "disease_contrast": list(dc), "method": "orthogonal contrast with empirical-Bayes disease effects",
            "estimator": f"negative-binomial group means with DESeq2 dispersions per region ({engine})",
            "intervals": "genes: bootstrap percentile; animals: stratified delete-one jackknife, t",
            "signature": signature_source}
    return RegionReversalResult(table=pd.DataFrame(rows), meta=meta)
