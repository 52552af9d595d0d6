"""The fitting core shared by every random-effects model in adpharm, like metafor's ``rma``.

Weighted least squares in matrix form for the intercept-only model and models with moderators, with
the between-study variance tau^2 estimated by DL, HE, SJ, ML, REML or PM (``FE`` fits the
common-effect model). The iterative estimators (ML, REML, PM) are solved to machine precision with a
bracketing root finder rather than stopped at a tolerance. This module holds numbers only: the
result types live in :mod:`.meta` (pooled estimate) and :mod:`.regression` (meta-regression).

References
----------
DerSimonian R, Laird N (1986). Meta-analysis in clinical trials. Control Clin Trials 7:177-188.
doi:10.1016/0197-2456(86)90046-2
Paule RC, Mandel J (1982). Consensus values and weighting factors. J Res Natl Bur Stand 87:377-385.
Sidik K, Jonkman JN (2005). Simple heterogeneity variance estimation for meta-analysis. J R Stat
Soc C 54:367-384. doi:10.1111/j.1467-9876.2005.00489.x
Knapp G, Hartung J (2003). Improved tests for a random effects meta-regression with a single
covariate. Stat Med 22:2693-2710. doi:10.1002/sim.1482
Viechtbauer W (2007). Confidence intervals for the amount of heterogeneity in meta-analysis.
Stat Med 26:37-52. doi:10.1002/sim.2514
Higgins JPT, Thompson SG (2002). Quantifying heterogeneity in a meta-analysis. Stat Med
21:1539-1558. doi:10.1002/sim.1186
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
36(3):1-48. doi:10.18637/jss.v036.i03
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import get_args, Literal

import numpy as np

from ..errors import check_level, check_option
from ..lazy import lazy_module

optimize = lazy_module("scipy.optimize")
stats = lazy_module("scipy.stats")

Method = Literal["FE", "DL", "HE", "SJ", "ML", "REML", "PM"]
METHODS = get_args(Method)
TESTS = ("z", "knha")


# ---------------------------------------------------------------- linear algebra of the fit
# Everything is computed from weights and residuals, in O(k p^2): the residual-forming matrix
# P = W - W X (X'WX)^-1 X'W is never built (P y = W r, y'P y = sum(w r^2)).
def _wls(y: np.ndarray, v: np.ndarray, X: np.ndarray, tau2: float):
    """Weighted least squares at tau^2: weights w, coefficients b, (X'WX)^-1 and residuals r."""
    w = 1 / (v + tau2)
    WX = X * w[:, None]
    C = np.linalg.inv(X.T @ WX)
    b = C @ (WX.T @ y)
    return w, b, C, y - X @ b


def _trace_p(w: np.ndarray, X: np.ndarray, C: np.ndarray) -> float:
    """tr(P) = sum(w) - tr((X'WX)^-1 X'W^2 X)."""
    return float(np.sum(w) - np.trace(C @ (X.T @ (X * (w ** 2)[:, None]))))


def _qe(tau2: float, y: np.ndarray, v: np.ndarray, X: np.ndarray) -> float:
    """Generalised residual heterogeneity statistic y'Py at a given tau^2."""
    w, _, _, r = _wls(y, v, X, tau2)
    return float(np.sum(w * r ** 2))


def _upper_bracket(f, start: float) -> float:
    hi = max(start, 1e-4)
    while f(hi) > 0:
        hi *= 4
        if hi > 1e12:
            raise RuntimeError("could not bracket the root for tau^2")
    return hi


def decreasing_root(f, scale: float) -> float:
    """Largest-sensible root of a decreasing function f on [0, inf); 0 when f(0) <= 0."""
    if f(0.0) <= 0:
        return 0.0
    hi = _upper_bracket(f, scale)
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))


def tau2_estimate(y: np.ndarray, v: np.ndarray, method: str, X: np.ndarray | None = None) -> float:
    """Between-study (residual) variance by the named estimator; ``X`` defaults to an intercept."""
    k = len(y)
    X = np.ones((k, 1)) if X is None else X
    p = X.shape[1]
    if method == "FE":
        return 0.0
    if method == "DL":
        w, _, C, r = _wls(y, v, X, 0.0)
        return max(0.0, (float(np.sum(w * r ** 2)) - (k - p)) / _trace_p(w, X, C))
    if method == "HE":  # ordinary least squares: residual sum of squares minus tr((I - H) V)
        _, _, C, r = _wls(y, np.zeros(k), X, 1.0)
        hat = np.sum((X @ C) * X, axis=1)
        return max(0.0, (float(r @ r) - float(np.sum(v * (1 - hat)))) / (k - p))
    if method == "SJ":
        t0 = float(np.var(y))  # var(y) * (k-1)/k, metafor's starting value
        return t0 * _qe(t0, y, v, X) / (k - p)
    scale = float(np.var(y)) + float(np.mean(v))
    if method == "PM":
        return decreasing_root(lambda t: _qe(t, y, v, X) - (k - p), scale)

    def score(t: float) -> float:  # derivative of the (restricted) log-likelihood, decreasing near the root
        w, _, C, r = _wls(y, v, X, t)
        return float(np.sum((w * r) ** 2)) - (_trace_p(w, X, C) if method == "REML" else float(np.sum(w)))
    return decreasing_root(score, scale)


@dataclass
class RmaFit:
    """The shared numbers of a fitted (mixed-effects) meta-regression model."""

    beta: np.ndarray
    vb: np.ndarray
    tau2: float
    QE: float
    df: int
    crit: float
    dist: Literal["z", "t"]
    s2_typ: float
    weights: np.ndarray


def fit_rma(y: np.ndarray, v: np.ndarray, X: np.ndarray, method: str, test: str, level: float) -> RmaFit:
    k, p = X.shape
    tau2 = tau2_estimate(y, v, method, X)
    w, beta, vb, r = _wls(y, v, X, tau2)
    w0, _, c0, r0 = _wls(y, v, X, 0.0)
    qe = float(np.sum(w0 * r0 ** 2))
    alpha = 1 - level
    if test == "knha":
        vb = vb * float(np.sum(w * r ** 2)) / (k - p)
        crit, dist = float(stats.t.ppf(1 - alpha / 2, k - p)), "t"
    else:
        crit, dist = float(stats.norm.ppf(1 - alpha / 2)), "z"
    return RmaFit(beta=beta, vb=vb, tau2=float(tau2), QE=qe, df=k - p, crit=crit, dist=dist,
                s2_typ=(k - p) / _trace_p(w0, X, c0), weights=100 * w / np.sum(w))


def heterogeneity_stats(fit: RmaFit, method: str) -> tuple[float, float]:
    """I^2 (%) and H^2 as metafor reports them."""
    if method == "FE":
        i2 = max(0.0, 100 * (fit.QE - fit.df) / fit.QE) if fit.QE > 0 else 0.0
        return i2, fit.QE / fit.df
    return 100 * fit.tau2 / (fit.tau2 + fit.s2_typ), (fit.tau2 + fit.s2_typ) / fit.s2_typ


def tau2_ci(y: np.ndarray, v: np.ndarray, X: np.ndarray, df: int, level: float) -> tuple[float, float]:
    """Q-profile confidence interval for tau^2 (Viechtbauer 2007)."""
    alpha = 1 - level
    scale = float(np.var(y)) + float(np.mean(v))
    q_hi, q_lo = stats.chi2.ppf(1 - alpha / 2, df), stats.chi2.ppf(alpha / 2, df)
    return (decreasing_root(lambda t: _qe(t, y, v, X) - q_hi, scale), decreasing_root(lambda t: _qe(t, y, v, X) - q_lo, scale))


def fit_pvalue(stat: float, fit: RmaFit) -> float:
    return float(2 * (stats.t.sf(abs(stat), fit.df) if fit.dist == "t" else stats.norm.sf(abs(stat))))


def check_options(method: str, test: str, level: float) -> None:
    check_option("method", method, METHODS)
    check_option("test", test, TESTS)
    check_level(level)
