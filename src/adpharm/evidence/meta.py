"""Pairwise meta-analysis like metafor's ``rma``: common effect and random effects.

:func:`rma` pools effect sizes with the fitting core of :mod:`.rma_fit` and returns a
:class:`MetaResult`; given moderators it returns the meta-regression of :mod:`.regression`. The
fitting core's names are re-exported here for convenience.

References
----------
The estimators' and tests' sources are listed in :mod:`.rma_fit`; I² and H² follow Higgins JPT,
Thompson SG (2002), Stat Med 21:1539-1558, doi:10.1002/sim.1186, and the names and output follow
Viechtbauer W (2010), J Stat Softw 36(3):1-48, doi:10.18637/jss.v036.i03.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from .effect_sizes import RATIO_MEASURES, EffectSizes
from .regression import meta_regression
from .rma_fit import (METHODS, TESTS, Method, RmaFit, check_options, decreasing_root, fit_pvalue, fit_rma,  # noqa: F401
                      heterogeneity_stats, tau2_ci, tau2_estimate)
from ..lazy import lazy_module
from ..display import NotebookDisplay

stats = lazy_module("scipy.stats")

# ---------------------------------------------------------------- intercept-only model
@dataclass
class MetaResult(NotebookDisplay):
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

    @property
    def ratio(self) -> bool:
        return self.measure in RATIO_MEASURES

    def to_dict(self) -> dict[str, Any]:
        keys = ("measure", "method", "test", "k", "beta", "se", "zval", "pval", "ci_lb", "ci_ub", "tau2",
                "tau2_ci_lb", "tau2_ci_ub", "I2", "H2", "Q", "QEp", "pi_lb", "pi_ub", "level")
        out = {k: getattr(self, k) for k in keys}
        out = {k: (float(v) if isinstance(v, (np.floating, float)) else v) for k, v in out.items()}
        if self.test == "knha":   # under Knapp-Hartung the statistic is a t with k - 1 df (metafor prints tval, df;
            out["tval"] = out["zval"]   # its object keeps the value in zval too)
            out["df"] = self.k - 1
        if self.ratio:
            out["exp"] = {"estimate": float(np.exp(self.beta)), "ci_lb": float(np.exp(self.ci_lb)),
                          "ci_ub": float(np.exp(self.ci_ub)), "pi_lb": float(np.exp(self.pi_lb)),
                          "pi_ub": float(np.exp(self.pi_ub))}
        out["studies"] = [{"study": s, "yi": float(y), "vi": float(v), "weight_pct": float(w)}
                          for s, y, v, w in zip(self.data.study, self.data.yi, self.data.vi, self.weights)]
        out["warnings"] = list(self.warnings)
        return out

    def summary(self) -> pd.DataFrame:
        d = self.to_dict()
        stat = ("tval", "df") if self.test == "knha" else ("zval",)
        return pd.DataFrame([{k: d[k] for k in ("k", "beta", "se", *stat, "pval", "ci_lb", "ci_ub", "pi_lb", "pi_ub",
                                                "tau2", "I2", "H2", "Q", "QEp")}], index=[f"{self.method} ({self.measure})"])

    def plot(self, ax=None, **kwargs):
        """A forest plot with study columns (see :func:`adpharm.evidence.plots.forest`)."""
        from .plots import forest
        return forest(self, ax=ax, **kwargs)


def rma(es: EffectSizes, method: Method = "REML", test: Literal["z", "knha"] = "z", level: float = 0.95,
        mods: pd.DataFrame | None = None):
    """Random-effects (or common-effect, ``method="FE"``) meta-analysis of ``es``, like ``metafor::rma``.

    Parameters
    ----------
    es : EffectSizes
        From :func:`escalc`.
    method : {"FE", "DL", "HE", "SJ", "ML", "REML", "PM"}
    test : {"z", "knha"}
        Normal-theory inference, or the Knapp-Hartung adjustment (t distribution with k-p df).
    level : float
        Confidence level of the intervals.
    mods : DataFrame, optional
        Moderators, one row per study: numeric columns enter as they are, text columns as
        indicators against their first level (sorted). Gives a mixed-effects meta-regression
        (:class:`~adpharm.evidence.moderators.MetaRegression`) as ``rma(yi, vi, mods = ~ ...)`` does.

    Returns
    -------
    MetaResult, or MetaRegression when ``mods`` is given.

    Examples
    --------
    >>> import pandas as pd
    >>> from adpharm.evidence.effect_sizes import escalc
    >>> es = escalc("OR", pd.DataFrame({"ai": [10, 12, 8], "n1i": [50, 60, 40], "ci": [5, 6, 7], "n2i": [50, 60, 40]}))
    >>> res = rma(es, method="REML")
    >>> res.k, round(res.tau2, 3)
    (3, 0.0)
    """
    check_options(method, test, level)
    if mods is not None:
        return meta_regression(es, mods, method=method, test=test, level=level)
    y, v = np.asarray(es.yi, float), np.asarray(es.vi, float)
    k = len(y)
    if k < 2:
        raise AdpharmInputError(f"a meta-analysis needs at least 2 studies, got {k}")
    notes: list[str] = list(es.notes)
    if k < 5 and method != "FE":
        notes.append(f"only {k} studies: the between-study variance is poorly estimated")
    X = np.ones((k, 1))
    fit = fit_rma(y, v, X, method, test, level)
    beta, se = float(fit.beta[0]), float(np.sqrt(fit.vb[0, 0]))
    zval = beta / se
    i2, h2 = heterogeneity_stats(fit, method)
    pi_se = float(np.sqrt(se ** 2 + fit.tau2))
    t_lb, t_ub = tau2_ci(y, v, X, fit.df, level)
    return MetaResult(measure=es.measure, method=method, test=test, k=k, beta=beta, se=se, zval=zval,
                      pval=fit_pvalue(zval, fit), ci_lb=beta - fit.crit * se, ci_ub=beta + fit.crit * se,
                      tau2=fit.tau2, tau2_ci_lb=t_lb, tau2_ci_ub=t_ub, I2=float(i2), H2=float(h2), Q=fit.QE,
                      QEp=float(stats.chi2.sf(fit.QE, fit.df)), pi_lb=beta - fit.crit * pi_se,
                      pi_ub=beta + fit.crit * pi_se, weights=fit.weights, data=es, level=level, warnings=notes)


#: the fewest studies a method needs to be read with confidence: Egger's test (Sterne et al. 2011), studies per
#: moderator of a meta-regression (Cochrane Handbook, chapter 10.11.5.1), studies per subgroup for its own tau^2
MIN_K_EGGER = 10
MIN_K_PER_MODERATOR = 10
MIN_K_SUBGROUP_TAU2 = 3


def small_k_warnings(k: int, egger: bool = False, n_moderators: int = 0,
                     subgroup_sizes: dict[str, int] | None = None) -> list[str]:
    """Warnings for methods used below their sensible number of studies.

    References
    ----------
    Sterne JAC, Sutton AJ, Ioannidis JPA, et al. (2011). BMJ 343:d4002. doi:10.1136/bmj.d4002
    Deeks JJ, Higgins JPT, Altman DG (eds). Cochrane Handbook, chapter 10.11.5.1 (meta-regression: at least
    ten studies for each characteristic modelled).
    """
    out = []
    if egger and k < MIN_K_EGGER:
        out.append(f"Egger's test with {k} studies (fewer than {MIN_K_EGGER}) has too little power to rule out "
                   f"small-study effects (Sterne et al. 2011)")
    if n_moderators and k < MIN_K_PER_MODERATOR * n_moderators:
        out.append(f"meta-regression with {k} studies for {n_moderators} moderator(s): fewer than "
                   f"{MIN_K_PER_MODERATOR} studies per moderator (Cochrane Handbook 10.11.5.1)")
    for name, kk in (subgroup_sizes or {}).items():
        if kk < MIN_K_SUBGROUP_TAU2:
            out.append(f"subgroup {name}: tau^2 estimated from {kk} stud{'y' if kk == 1 else 'ies'}")
    return out
