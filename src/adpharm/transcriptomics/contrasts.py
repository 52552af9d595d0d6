"""Contrasts between sample groups: shared references and DESeq2's fold changes from group means.

Two contrasts that share a group share its sampling noise. For disease = S − C and
drug = D − S (drug against the stressed group), noise in the mean of S enters the first with a
plus sign and the second with a minus sign, so their fold changes are anti-correlated even when
the drug does nothing: with equal groups the expected correlation is −1/2 (see
:func:`artefact_correlation`). This module finds such shared groups, and :class:`NBGroupMeans`
gives every group's negative-binomial mean with DESeq2's dispersions, from which :mod:`.reversal`
builds contrasts that do not share that noise.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError

Contrast = tuple[str, str, str]  # (factor, numerator, reference)


def signs(contrast: Contrast) -> dict[str, int]:
    """Each group's sign in a contrast: +1 for the numerator, −1 for the reference."""
    _, num, ref = contrast
    return {num: 1, ref: -1}


def shared_groups(a: Contrast, b: Contrast) -> dict[str, int]:
    """Groups that two contrasts on the same factor share, with the product of their signs.

    −1 means the group's noise enters the two fold changes with opposite signs (a spurious
    anti-correlation, i.e. apparent reversal); +1 means the same sign (spurious similarity).
    """
    if a[0] != b[0]:
        return {}
    sa, sb = signs(a), signs(b)
    return {g: sa[g] * sb[g] for g in sa if g in sb}


def artefact_correlation(a: Contrast, b: Contrast, n: dict[str, int]) -> float:
    """Expected correlation of two contrasts' fold changes from sampling noise alone.

    With equal residual variance σ² per group and group means of n_g samples,
    cov = Σ_shared s_a s_b σ²/n_g and var = σ²(1/n_num + 1/n_ref) for each contrast.
    For S − C against D − S with equal n this is −1/2.
    """
    shared = shared_groups(a, b)
    cov = sum(s / n[g] for g, s in shared.items())
    va = 1 / n[a[1]] + 1 / n[a[2]]
    vb = 1 / n[b[1]] + 1 / n[b[2]]
    return float(cov / np.sqrt(va * vb))


def _nb_log_mean(y: np.ndarray, s: np.ndarray, alpha: np.ndarray, iterations: int = 100,
                 tol: float = 1e-10) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood log mean of NB counts y (genes × samples) with size factors s and dispersions alpha.

    Fisher scoring on η = log μ, where each count has mean s·μ and variance s·μ + α(s·μ)²: the
    score is Σ (y − sμ)/(1 + α sμ) and the information Σ sμ/(1 + α sμ). Returns η and its
    sampling variance 1/information; a gene with no reads in the group gives NaN for both.
    """
    a = alpha[:, None]
    start = (y / s).mean(axis=1)
    eta = np.log(np.where(start > 0, start, 1.0))[:, None]
    active = np.flatnonzero(start > 0)          # genes still moving; equal size factors need no step at all
    for _ in range(iterations):
        if not len(active):
            break
        ya, aa, ea = y[active], a[active], eta[active]
        m = s * np.exp(ea)
        step = ((ya - m) / (1 + aa * m)).sum(axis=1, keepdims=True) / (m / (1 + aa * m)).sum(axis=1, keepdims=True)
        eta[active] = ea + np.clip(step, -5.0, 5.0)
        active = active[np.abs(step[:, 0]) >= tol]
    m = s * np.exp(eta)
    var = 1 / (m / (1 + a * m)).sum(axis=1)
    empty = start <= 0
    return np.where(empty, np.nan, eta[:, 0]), np.where(empty, np.nan, var)


@dataclass
class NBGroupMeans:
    """Per-gene group means of a negative-binomial model with known size factors and dispersions.

    For a one-factor design (``~ group``), DESeq2's GLM is a reparametrisation of one mean per
    group, so its maximum-likelihood log2 fold change between two groups is the difference of the
    groups' log2 means fitted here, and its Wald standard error is the root of the sum of their
    sampling variances (the inverse Fisher information, with DESeq2's dispersions held fixed).
    Refitting with other labels or without an animal costs milliseconds, which is what the
    permutation null and the animal jackknife of :mod:`.reversal` need. Unlike DESeq2 there is no
    lower bound on the fitted count (``minmu``): a group with no reads gives no contrast (NaN),
    where DESeq2 reports a large fold change with a very large standard error.

    ``means`` and ``var`` are genes × groups (log2 scale); ``n`` is the number of samples per group.

    References
    ----------
    Love MI, Huber W, Anders S (2014). Moderated estimation of fold change and dispersion for RNA-seq
    data with DESeq2. Genome Biology 15:550. doi:10.1186/s13059-014-0550-8

    Examples
    --------
    >>> counts = pd.DataFrame([[10, 12, 30, 28], [5, 5, 5, 5]], index=["g1", "g2"], columns=list("abcd"))
    >>> fit = NBGroupMeans.fit(counts, pd.Series(["C", "C", "S", "S"], index=counts.columns),
    ...                        pd.Series(1.0, index=counts.columns), pd.Series([0.01, 0.01], index=counts.index))
    >>> round(float(fit.contrast(("g", "S", "C")).loc["g1", "log2FoldChange"]), 4)   # log2(29 / 11)
    1.3985
    """

    means: pd.DataFrame
    var: pd.DataFrame
    n: dict[str, int]

    @classmethod
    def fit(cls, counts: pd.DataFrame, groups: pd.Series, size_factors: pd.Series,
            dispersions: pd.Series) -> "NBGroupMeans":
        groups = groups.astype(str)
        alpha = dispersions.reindex(counts.index).to_numpy(float)
        if not np.isfinite(alpha).all() or (alpha < 0).any():
            raise AdpharmInputError("every gene needs a finite, non-negative dispersion", field="counts")
        means, var, n = {}, {}, {}
        for g, cols in groups.groupby(groups).groups.items():
            cols = list(cols)
            eta, v = _nb_log_mean(counts[cols].to_numpy(float), size_factors[cols].to_numpy(float)[None, :], alpha)
            means[g], var[g], n[g] = eta / np.log(2), v / np.log(2) ** 2, len(cols)
        return cls(pd.DataFrame(means, index=counts.index), pd.DataFrame(var, index=counts.index), n)

    def contrast(self, c: Contrast) -> pd.DataFrame:
        """log2 fold change, Wald standard error, statistic and normal p for numerator − reference."""
        _, num, ref = c
        for g in (num, ref):
            if g not in self.n:
                raise AdpharmInputError(f"contrast {','.join(c)}: no samples in group {g!r} "
                                        f"(groups: {', '.join(sorted(self.n))})")
        lfc = self.means[num] - self.means[ref]
        se = np.sqrt(self.var[num] + self.var[ref])
        t = lfc / se
        from scipy import stats
        p = pd.Series(2 * stats.norm.sf(np.abs(t.to_numpy())), index=lfc.index)
        return pd.DataFrame({"log2FoldChange": lfc, "lfcSE": se, "stat": t, "pvalue": p})
