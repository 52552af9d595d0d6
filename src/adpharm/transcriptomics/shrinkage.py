"""Empirical-Bayes posterior means of fold changes (adaptive shrinkage with a normal-mixture prior).

A gene picked because its observed fold change is large has, on average, a smaller true one
(the winner's curse). The posterior mean E[Δ | x] under a prior learned from all genes corrects
this whatever rule picked the gene, because it conditions on what was observed.

The prior is a mixture of a point mass at zero and zero-centred normals on a fixed geometric grid
of scales; only the weights are fitted, by EM, as in ashr's normal-mixture option.

References
----------
Stephens M (2017). False discovery rates: a new deal. Biostatistics 18(2):275-294.
doi:10.1093/biostatistics/kxw041
"""
from __future__ import annotations

import numpy as np

from ..errors import AdpharmInputError


def _grid(x: np.ndarray, se: np.ndarray) -> np.ndarray:
    lo = max(np.min(se) / 10, 1e-3)
    hi = max(2 * np.sqrt(max(np.max(x ** 2 - se ** 2), 0.0)), 8 * lo)
    return np.concatenate([[0.0], np.geomspace(lo, hi, 14)])


def posterior_mean(x: np.ndarray, se: np.ndarray, iterations: int = 500, tol: float = 1e-8) -> tuple[np.ndarray, dict]:
    """E[Δ | x] for x ~ N(Δ, se²) and Δ ~ π₀δ₀ + Σ_k π_k N(0, σ_k²), weights π fitted by EM.

    Returns the posterior means and the fitted prior (``scales``, ``weights``, ``null_weight``).
    """
    x = np.asarray(x, float)
    se = np.asarray(se, float)
    ok = np.isfinite(x) & np.isfinite(se) & (se > 0)
    if ok.sum() < 50:
        raise AdpharmInputError(f"shrinkage: only {int(ok.sum())} genes have a fold change and a standard error (need 50)")
    xs, ss = x[ok], se[ok]
    scales = _grid(xs, ss)
    var = ss[:, None] ** 2 + scales[None, :] ** 2
    loglik = -0.5 * (np.log(2 * np.pi * var) + xs[:, None] ** 2 / var)
    lik = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    w = np.full(len(scales), 1 / len(scales))
    # A small penalty on the null weight, as ashr's default nullweight = 10, keeps π₀ from collapsing.
    prior_counts = np.zeros(len(scales))
    prior_counts[0] = 9.0
    for _ in range(iterations):
        post = lik * w
        post /= post.sum(axis=1, keepdims=True)
        new = (post.sum(axis=0) + prior_counts) / (len(xs) + prior_counts.sum())
        if np.max(np.abs(new - w)) < tol:
            w = new
            break
        w = new
    post = lik * w
    post /= post.sum(axis=1, keepdims=True)
    shrink = scales[None, :] ** 2 / var
    pm = np.full(x.shape, np.nan)
    pm[ok] = (post * shrink).sum(axis=1) * xs
    return pm, {"scales": scales.tolist(), "weights": w.tolist(), "null_weight": float(w[0])}
