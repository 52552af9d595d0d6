"""Contrasts between sample groups: shared references and a fast log-count estimator.

Two contrasts that share a group share its sampling noise. For disease = S − C and
drug = D − S (drug against the stressed group), noise in the mean of S enters the first with a
plus sign and the second with a minus sign, so their fold changes are anti-correlated even when
the drug does nothing: with equal groups the expected correlation is −1/2 (see
:func:`artefact_correlation`). This module finds such shared groups and gives, per gene, the
noise variances and covariance that :mod:`.reversal` removes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError

Contrast = tuple[str, str, str]  # (factor, numerator, reference)

#: Pseudo-count added to size-factor-normalised counts before log2 (as DESeq2's ``normTransform``).
PSEUDO_COUNT = 1.0


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


def size_factors(counts: pd.DataFrame) -> pd.Series:
    """DESeq2's median-of-ratios size factors over genes with no zero count.

    References
    ----------
    Anders S, Huber W (2010). Differential expression analysis for sequence count data.
    Genome Biology 11:R106. doi:10.1186/gb-2010-11-10-r106
    """
    c = counts.to_numpy(dtype=float)
    ok = (c > 0).all(axis=1)
    if ok.sum() < 10:
        raise AdpharmInputError("counts: fewer than 10 genes are non-zero in every sample; size factors cannot be estimated")
    logc = np.log(c[ok])
    ratio = logc - logc.mean(axis=1, keepdims=True)
    return pd.Series(np.exp(np.median(ratio, axis=0)), index=counts.columns, name="size_factor")


def log_expression(counts: pd.DataFrame) -> pd.DataFrame:
    """log2(normalised count + 1), samples in columns."""
    sf = size_factors(counts)
    return np.log2(counts / sf + PSEUDO_COUNT)


@dataclass
class GroupMeans:
    """Per-gene group means of log2 expression with a pooled residual variance.

    ``means`` is genes × groups; ``n`` is the number of samples per group; ``sigma2`` is the
    per-gene residual variance pooled over all groups (a one-way linear model, as limma-trend
    would fit it without moderation).
    """

    means: pd.DataFrame
    n: dict[str, int]
    sigma2: pd.Series

    @classmethod
    def fit(cls, logexpr: pd.DataFrame, groups: pd.Series) -> "GroupMeans":
        groups = groups.astype(str)
        means, n, ss = {}, {}, 0.0
        for g, cols in groups.groupby(groups).groups.items():
            x = logexpr[list(cols)]
            means[g], n[g] = x.mean(axis=1), x.shape[1]
            ss = ss + ((x.sub(means[g], axis=0)) ** 2).sum(axis=1)
        dof = len(groups) - len(n)
        if dof < 1:
            raise AdpharmInputError("samples: every group has one sample; no residual variance to estimate noise")
        return cls(pd.DataFrame(means), n, (ss / dof).rename("sigma2"))

    def contrast(self, c: Contrast) -> pd.DataFrame:
        """log2 fold change and its standard error for numerator − reference."""
        _, num, ref = c
        for g in (num, ref):
            if g not in self.n:
                raise AdpharmInputError(f"contrast {','.join(c)}: no samples in group {g!r} "
                                        f"(groups: {', '.join(sorted(self.n))})")
        lfc = self.means[num] - self.means[ref]
        se = np.sqrt(self.sigma2 * (1 / self.n[num] + 1 / self.n[ref]))
        t = lfc / se.where(se > 0)
        from scipy import stats
        dof = sum(self.n.values()) - len(self.n)
        p = pd.Series(2 * stats.t.sf(np.abs(t.fillna(0)), dof), index=lfc.index)
        return pd.DataFrame({"log2FoldChange": lfc, "lfcSE": se, "stat": t, "pvalue": p})

    def noise_cov(self, a: Contrast, b: Contrast) -> pd.Series:
        """Per-gene sampling covariance of the two contrasts' fold changes (shared groups only)."""
        shared = shared_groups(a, b)
        return self.sigma2 * sum(s / self.n[g] for g, s in shared.items())
