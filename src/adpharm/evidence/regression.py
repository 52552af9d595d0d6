"""Meta-regression on moderators, like ``rma(yi, vi, mods = ~ ...)`` in metafor.

References
----------
Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and
interpreted? Stat Med 21:1559-1573. doi:10.1002/sim.1187
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError, reject
from .effect_sizes import EffectSizes
from .rma_fit import check_options, fit_pvalue, fit_rma, heterogeneity_stats, tau2_ci, tau2_estimate
from ..lazy import lazy_module

stats = lazy_module("scipy.stats")


def design_matrix(mods: pd.DataFrame, k: int) -> tuple[np.ndarray, list[str]]:
    """Intercept plus moderators: numbers as they are, text as indicators against the first level."""
    if len(mods) != k:
        raise AdpharmInputError(f"moderators: {len(mods)} rows for {k} studies")
    cols, names = [np.ones(k)], ["intrcpt"]
    for name in mods.columns:
        col = mods[name]
        reject(col.isna(), lambda i: f"moderator {name!r}: missing value in row {i + 1}")
        if pd.api.types.is_numeric_dtype(col):
            cols.append(col.to_numpy(float))
            names.append(str(name))
        else:
            levels = sorted(col.astype(str).unique())
            for lev in levels[1:]:
                cols.append((col.astype(str) == lev).to_numpy(float))
                names.append(f"{name}{lev}")
    X = np.column_stack(cols)
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise AdpharmInputError("moderators: the design matrix is not of full rank (redundant or constant moderator)")
    return X, names


@dataclass
class MetaRegression:
    """A mixed-effects meta-regression: coefficients, residual heterogeneity and the omnibus test QM."""

    measure: str
    method: str
    test: str
    k: int
    coef: pd.DataFrame
    tau2: float
    tau2_ci_lb: float
    tau2_ci_ub: float
    I2: float
    H2: float
    R2: float | None
    QE: float
    QEp: float
    QM: float
    QMdf: tuple[int, int | None]
    QMp: float
    level: float = 0.95
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("measure", "method", "test", "k", "tau2", "tau2_ci_lb", "tau2_ci_ub",
                                             "I2", "H2", "R2", "QE", "QEp", "QM", "QMp", "level")}
        out["QMdf"] = list(self.QMdf)
        out["coefficients"] = {name: {c: float(v) for c, v in row.items()} for name, row in self.coef.iterrows()}
        out["warnings"] = list(self.warnings)
        return out

    def summary(self) -> pd.DataFrame:
        return self.coef.copy()

    def plot(self, ax=None):
        """Coefficients with their confidence intervals."""
        from ..figures import pyplot
        plt = pyplot()
        ax = ax or plt.subplots(figsize=(6, 0.4 * len(self.coef) + 1.2))[1]
        ys = np.arange(len(self.coef))[::-1]
        c = self.coef
        ax.errorbar(c["estimate"], ys, xerr=[c["estimate"] - c["ci_lb"], c["ci_ub"] - c["estimate"]], fmt="o", color="k")
        ax.set_yticks(ys, list(c.index))
        ax.axvline(0, color="grey", ls="--", lw=0.8)
        ax.set_xlabel(f"coefficient ({self.measure} scale)")
        return ax


def meta_regression(es: EffectSizes, mods: pd.DataFrame, method: str = "REML", test: str = "z",
                    level: float = 0.95) -> MetaRegression:
    """Mixed-effects meta-regression of ``es`` on ``mods`` (see :func:`adpharm.evidence.rma`)."""
    check_options(method, test, level)
    y, v = np.asarray(es.yi, float), np.asarray(es.vi, float)
    X, names = design_matrix(mods.reset_index(drop=True), len(y))
    k, p = X.shape
    if k - p < 1:
        raise AdpharmInputError(f"meta-regression with {p} coefficients needs more than {p} studies, got {k}")
    fit = fit_rma(y, v, X, method, test, level)
    se = np.sqrt(np.diag(fit.vb))
    stat = fit.beta / se
    coef = pd.DataFrame({"estimate": fit.beta, "se": se, "zval" if fit.dist == "z" else "tval": stat,
                         "pval": [fit_pvalue(s, fit) for s in stat], "ci_lb": fit.beta - fit.crit * se,
                         "ci_ub": fit.beta + fit.crit * se}, index=names)
    b, vb = fit.beta[1:], fit.vb[1:, 1:]
    qm = float(b @ np.linalg.solve(vb, b))
    m = p - 1
    if fit.dist == "t":
        qm, qmdf, qmp = qm / m, (m, k - p), float(stats.f.sf(qm / m, m, k - p))
    else:
        qmdf, qmp = (m, None), float(stats.chi2.sf(qm, m))
    i2, h2 = heterogeneity_stats(fit, method)
    r2 = None
    if method != "FE":
        t0 = tau2_estimate(y, v, method)
        r2 = max(0.0, 100 * (t0 - fit.tau2) / t0) if t0 > 0 else 0.0
    lb, ub = tau2_ci(y, v, X, fit.df, level)
    return MetaRegression(measure=es.measure, method=method, test=test, k=k, coef=coef, tau2=fit.tau2,
                          tau2_ci_lb=lb, tau2_ci_ub=ub, I2=float(i2), H2=float(h2), R2=r2, QE=fit.QE,
                          QEp=float(stats.chi2.sf(fit.QE, fit.df)), QM=qm, QMdf=qmdf, QMp=qmp, level=level)
