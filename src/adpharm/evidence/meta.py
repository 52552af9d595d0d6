"""Pairwise meta-analysis like metafor's ``rma``: common effect and random effects.

Estimators of the between-study variance tau^2: DL, HE, SJ, ML, REML, PM; ``FE`` fits the
common-effect model. The iterative estimators (ML, REML, PM) are solved to machine precision
with a bracketing root finder rather than stopped at a tolerance.

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
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..errors import AdpharmInputError
from .effect_sizes import RATIO_MEASURES, EffectSizes

Method = Literal["FE", "DL", "HE", "SJ", "ML", "REML", "PM"]
METHODS = ("FE", "DL", "HE", "SJ", "ML", "REML", "PM")


def _wmean(y: np.ndarray, w: np.ndarray) -> float:
    return float(np.sum(w * y) / np.sum(w))


def _q_gen(tau2: float, y: np.ndarray, v: np.ndarray) -> float:
    """Generalised Q statistic at a given tau^2."""
    w = 1 / (v + tau2)
    return float(np.sum(w * (y - _wmean(y, w)) ** 2))


def _upper_bracket(f, start: float) -> float:
    hi = max(start, 1e-4)
    while f(hi) > 0:
        hi *= 4
        if hi > 1e12:
            raise RuntimeError("could not bracket the root for tau^2")
    return hi


def _solve(f, scale: float) -> float:
    """Largest-sensible root of a decreasing function f on [0, inf); 0 when f(0) <= 0."""
    if f(0.0) <= 0:
        return 0.0
    hi = _upper_bracket(f, scale)
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500))


def tau2_estimate(y: np.ndarray, v: np.ndarray, method: str) -> float:
    """Between-study variance by the named estimator (intercept-only model)."""
    k = len(y)
    w = 1 / v
    if method == "FE":
        return 0.0
    if method == "DL":
        q = float(np.sum(w * (y - _wmean(y, w)) ** 2))
        return max(0.0, (q - (k - 1)) / (np.sum(w) - np.sum(w ** 2) / np.sum(w)))
    if method == "HE":
        return max(0.0, (np.sum((y - y.mean()) ** 2) - (k - 1) / k * np.sum(v)) / (k - 1))
    if method == "SJ":
        t0 = float(np.var(y))  # var(y) * (k-1)/k, metafor's starting value
        wt = 1 / (v + t0)
        return t0 * float(np.sum(wt * (y - _wmean(y, wt)) ** 2)) / (k - 1)
    scale = float(np.var(y)) + float(np.mean(v))
    if method == "PM":
        return _solve(lambda t: _q_gen(t, y, v) - (k - 1), scale)

    def score(t: float) -> float:  # derivative of the (restricted) log-likelihood, decreasing near the root
        wt = 1 / (v + t)
        r2 = (y - _wmean(y, wt)) ** 2
        s = float(np.sum(wt ** 2 * r2) - np.sum(wt))
        return s + float(np.sum(wt ** 2) / np.sum(wt)) if method == "REML" else s
    return _solve(score, scale)


@dataclass
class MetaResult:
    """Results of :func:`rma`, with metafor's names (``beta, se, ci_lb, ci_ub, tau2, I2, Q, QEp, k``)."""

    measure: str
    method: str
    test: str
    k: int
    beta: float
    se: float
    zval: float
    pval: float
    ci_lb: float
    ci_ub: float
    tau2: float
    tau2_ci_lb: float
    tau2_ci_ub: float
    I2: float
    H2: float
    Q: float
    QEp: float
    pi_lb: float
    pi_ub: float
    weights: np.ndarray = field(repr=False)
    data: EffectSizes = field(repr=False)
    level: float = 0.95
    warnings: list[str] = field(default_factory=list)

    @property
    def tau(self) -> float:
        return float(np.sqrt(self.tau2))

    def to_dict(self) -> dict[str, Any]:
        keys = ("measure", "method", "test", "k", "beta", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2",
                "tau2_ci_lb", "tau2_ci_ub", "I2", "H2", "Q", "QEp", "pi_lb", "pi_ub", "level")
        out = {k: getattr(self, k) for k in keys}
        out = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in out.items()}
        if self.measure in RATIO_MEASURES:
            out["exp"] = {"estimate": float(np.exp(self.beta)), "ci_lb": float(np.exp(self.ci_lb)),
                          "ci_ub": float(np.exp(self.ci_ub)), "pi_lb": float(np.exp(self.pi_lb)),
                          "pi_ub": float(np.exp(self.pi_ub))}
        out["studies"] = [{"study": s, "yi": float(y), "vi": float(v), "weight_pct": float(w)}
                          for s, y, v, w in zip(self.data.study, self.data.yi, self.data.vi, self.weights)]
        out["warnings"] = list(self.warnings)
        return out

    def summary(self) -> pd.DataFrame:
        d = self.to_dict()
        return pd.DataFrame([{k: d[k] for k in ("k", "beta", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2",
                                                "I2", "H2", "Q", "QEp")}], index=[f"{self.method} ({self.measure})"])

    def plot(self, ax=None):
        """A forest plot (matplotlib, imported lazily)."""
        import matplotlib.pyplot as plt
        es = self.data
        k = len(es.yi)
        crit = stats.norm.ppf(0.5 + self.level / 2)
        ax = ax or plt.subplots(figsize=(7, 0.35 * k + 1.5))[1]
        ys = np.arange(k, 0, -1)
        se = np.sqrt(es.vi)
        f = np.exp if self.measure in RATIO_MEASURES else (lambda x: x)
        ax.errorbar(f(es.yi), ys, xerr=[f(es.yi) - f(es.yi - crit * se), f(es.yi + crit * se) - f(es.yi)],
                    fmt="s", color="k", ms=4, capsize=2)
        ax.fill([f(self.ci_lb), f(self.beta), f(self.ci_ub), f(self.beta)], [0, 0.3, 0, -0.3], color="k")
        ax.set_yticks(list(ys) + [0], list(es.study) + [f"{self.method} model"])
        ax.axvline(f(0.0), color="grey", lw=0.8, ls="--")
        if self.measure in RATIO_MEASURES:
            ax.set_xscale("log")
        ax.set_xlabel({"OR": "Odds ratio", "RR": "Risk ratio"}.get(self.measure, self.measure))
        return ax


def rma(es: EffectSizes, method: Method = "REML", test: Literal["z", "knha"] = "z", level: float = 0.95) -> MetaResult:
    """Random-effects (or common-effect, ``method="FE"``) meta-analysis of ``es``, like ``metafor::rma``.

    Parameters
    ----------
    es : EffectSizes
        From :func:`escalc`.
    method : {"FE", "DL", "HE", "SJ", "ML", "REML", "PM"}
    test : {"z", "knha"}
        Normal-theory inference, or the Knapp-Hartung adjustment (t distribution with k-1 df).
    level : float
        Confidence level of the intervals.
    """
    if method not in METHODS:
        raise AdpharmInputError(f"--method: {method!r} is not one of {', '.join(METHODS)}")
    if test not in ("z", "knha"):
        raise AdpharmInputError(f"test: {test!r} is not one of z, knha")
    if not 0 < level < 1:
        raise AdpharmInputError(f"level: {level} must be between 0 and 1")
    y, v = np.asarray(es.yi, float), np.asarray(es.vi, float)
    k = len(y)
    if k < 2:
        raise AdpharmInputError(f"a meta-analysis needs at least 2 studies, got {k}")
    notes: list[str] = []
    if k < 5 and method != "FE":
        notes.append(f"only {k} studies: the between-study variance is poorly estimated")
    w0 = 1 / v
    q = float(np.sum(w0 * (y - _wmean(y, w0)) ** 2))
    qep = float(stats.chi2.sf(q, k - 1))
    tau2 = tau2_estimate(y, v, method)
    w = 1 / (v + tau2)
    beta = _wmean(y, w)
    se = float(np.sqrt(1 / np.sum(w)))
    alpha = 1 - level
    if test == "knha":
        s2 = float(np.sum(w * (y - beta) ** 2) / (k - 1))
        se = se * np.sqrt(s2)
        crit = float(stats.t.ppf(1 - alpha / 2, k - 1))
        zval = beta / se
        pval = float(2 * stats.t.sf(abs(zval), k - 1))
    else:
        crit = float(stats.norm.ppf(1 - alpha / 2))
        zval = beta / se
        pval = float(2 * stats.norm.sf(abs(zval)))
    s2_typ = (k - 1) * np.sum(w0) / (np.sum(w0) ** 2 - np.sum(w0 ** 2))
    if method == "FE":
        i2 = max(0.0, 100 * (q - (k - 1)) / q) if q > 0 else 0.0
        h2 = q / (k - 1)
    else:
        i2 = float(100 * tau2 / (tau2 + s2_typ))
        h2 = float((tau2 + s2_typ) / s2_typ)
    pi_se = float(np.sqrt(se ** 2 + tau2))
    # Q-profile confidence interval for tau^2 (Viechtbauer 2007)
    scale = float(np.var(y)) + float(np.mean(v))
    q_hi, q_lo = stats.chi2.ppf(1 - alpha / 2, k - 1), stats.chi2.ppf(alpha / 2, k - 1)
    t_lb = _solve(lambda t: _q_gen(t, y, v) - q_hi, scale)
    t_ub = _solve(lambda t: _q_gen(t, y, v) - q_lo, scale)
    return MetaResult(measure=es.measure, method=method, test=test, k=k, beta=beta, se=float(se), zval=float(zval),
                      pval=pval, ci_lb=beta - crit * se, ci_ub=beta + crit * se, tau2=float(tau2),
                      tau2_ci_lb=t_lb, tau2_ci_ub=t_ub, I2=float(i2), H2=float(h2), Q=q, QEp=qep,
                      pi_lb=beta - crit * pi_se, pi_ub=beta + crit * pi_se, weights=100 * w / np.sum(w),
                      data=es, level=level, warnings=notes)
