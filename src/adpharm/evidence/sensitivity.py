"""Leave-one-out, cumulative meta-analysis and Egger's regression test, like metafor's
``leave1out``, ``cumul`` and ``regtest``.

References
----------
Egger M, Davey Smith G, Schneider M, Minder C (1997). Bias in meta-analysis detected by a simple,
graphical test. BMJ 315:629-634. doi:10.1136/bmj.315.7109.629
Sterne JAC, Egger M (2005). Regression methods to detect publication and other bias in
meta-analysis. In: Publication Bias in Meta-Analysis, Wiley, 99-110. doi:10.1002/0470870168.ch6
Lau J, Antman EM, Jimenez-Silva J, et al. (1992). Cumulative meta-analysis of therapeutic
trials for myocardial infarction. N Engl J Med 327:248-254. doi:10.1056/NEJM199207233270406
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Sequence

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from .meta import MetaResult, rma
from .moderators import meta_regression
from ..lazy import lazy_module
from ..display import NotebookDisplay

stats = lazy_module("scipy.stats")

_COLUMNS = ("estimate", "se", "zval", "pval", "ci_lb", "ci_ub", "Q", "Qp", "tau2", "I2", "H2")


def _row(label: str, r: MetaResult) -> dict[str, Any]:
    return {"study": label, "estimate": r.beta, "se": r.se, "zval": r.zval, "pval": r.pval, "ci_lb": r.ci_lb,
            "ci_ub": r.ci_ub, "Q": r.Q, "Qp": r.QEp, "tau2": r.tau2, "I2": r.I2, "H2": r.H2, "k": r.k}


@dataclass
class SequenceResult(NotebookDisplay):
    """A table of refitted models (leave-one-out or cumulative), one row per step."""

    kind: str
    table: pd.DataFrame
    measure: str
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "measure": self.measure, "method": self.method,
                "rows": self.table.reset_index().to_dict(orient="records")}

    def summary(self) -> pd.DataFrame:
        return self.table.copy()

    def plot(self, ax=None):
        from ..figures import pyplot
        plt = pyplot()
        t = self.table
        ax = ax or plt.subplots(figsize=(6, 0.3 * len(t) + 1.2))[1]
        ys = np.arange(len(t))[::-1]
        f = np.exp if self.measure in ("OR", "RR") else (lambda x: x)
        ax.errorbar(f(t["estimate"]), ys, xerr=[f(t["estimate"]) - f(t["ci_lb"]), f(t["ci_ub"]) - f(t["estimate"])],
                    fmt="o", color="k", ms=3)
        ax.set_yticks(ys, [("- " if self.kind == "leave1out" else "+ ") + str(s) for s in t.index])
        if self.measure in ("OR", "RR"):
            ax.set_xscale("log")
        ax.set_title("Leave-one-out" if self.kind == "leave1out" else "Cumulative meta-analysis")
        return ax


def leave1out(res: MetaResult) -> SequenceResult:
    """Refit the model of ``res`` leaving out each study in turn."""
    es = res.data
    if len(es) < 3:
        raise AdpharmInputError("leave-one-out needs at least 3 studies")
    rows = [_row(es.study[i], rma(es.subset(np.arange(len(es)) != i), method=res.method, test=res.test,
                                  level=res.level)) for i in range(len(es))]
    return SequenceResult(kind="leave1out", table=pd.DataFrame(rows).set_index("study"), measure=es.measure,
                          method=res.method)


def cumul(res: MetaResult, order: Sequence[float] | None = None) -> SequenceResult:
    """Cumulative meta-analysis, adding studies in the order of ``order`` (e.g. publication year).

    The first row is the first study alone (its own estimate and Wald interval), as in metafor.
    """
    es = res.data
    idx = np.arange(len(es)) if order is None else np.argsort(np.asarray(order, float), kind="stable")
    rows = []
    for j in range(len(idx)):
        sub = es.subset(idx[: j + 1])
        if j == 0:
            y, se = float(sub.yi[0]), float(np.sqrt(sub.vi[0]))
            crit = stats.norm.ppf(0.5 + res.level / 2)
            rows.append({"study": sub.study[0], "estimate": y, "se": se, "zval": y / se,
                         "pval": float(2 * stats.norm.sf(abs(y / se))), "ci_lb": y - crit * se, "ci_ub": y + crit * se,
                         "Q": 0.0, "Qp": 1.0, "tau2": 0.0, "I2": 0.0, "H2": 1.0, "k": 1})
        else:
            rows.append(_row(sub.study[-1], rma(sub, method=res.method, test=res.test, level=res.level)))
    return SequenceResult(kind="cumul", table=pd.DataFrame(rows).set_index("study"), measure=es.measure,
                          method=res.method)


@dataclass
class RegTest:
    """Egger-type regression test for funnel-plot asymmetry."""

    model: str
    predictor: str
    stat: float
    dist: str
    df: int | None
    pval: float
    limit_estimate: float
    limit_ci_lb: float
    limit_ci_ub: float
    slope: float
    k: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def plot(self, res: MetaResult, ax=None):
        from .plots import funnel
        return funnel(res, ax=ax, egger=self)


def regtest(res: MetaResult, model: Literal["rma", "lm"] = "rma") -> RegTest:
    """Regression test for funnel-plot asymmetry with the standard error as predictor.

    ``model="rma"`` (metafor's default) adds the standard error as a moderator to the model of
    ``res``; ``model="lm"`` is Egger's original weighted regression with a multiplicative
    dispersion term (t test with k-2 df). The limit estimate is the intercept: the effect
    expected in an infinitely large study.
    """
    es = res.data
    k = len(es)
    if k < 3:
        raise AdpharmInputError(f"the regression test needs at least 3 studies, got {k}")
    sei = np.sqrt(es.vi)
    if model == "rma":
        reg = meta_regression(es, pd.DataFrame({"sei": sei}), method=res.method, test=res.test, level=res.level)
        c = reg.coef
        stat_col = "zval" if "zval" in c.columns else "tval"
        return RegTest(model="rma", predictor="sei", stat=float(c.loc["sei", stat_col]), dist=stat_col[0],
                       df=None if stat_col == "zval" else k - 2, pval=float(c.loc["sei", "pval"]),
                       limit_estimate=float(c.loc["intrcpt", "estimate"]), limit_ci_lb=float(c.loc["intrcpt", "ci_lb"]),
                       limit_ci_ub=float(c.loc["intrcpt", "ci_ub"]), slope=float(c.loc["sei", "estimate"]), k=k)
    if model != "lm":
        raise AdpharmInputError(f"{model!r} is not one of rma, lm", field="model")
    X = np.column_stack([np.ones(k), sei])
    w = 1 / es.vi
    WX = X * w[:, None]
    xtwx_inv = np.linalg.inv(X.T @ WX)
    b = xtwx_inv @ WX.T @ es.yi
    r = es.yi - X @ b
    sigma2 = float(np.sum(w * r ** 2) / (k - 2))
    se = np.sqrt(np.diag(xtwx_inv) * sigma2)
    crit = stats.t.ppf(0.5 + res.level / 2, k - 2)
    t = float(b[1] / se[1])
    return RegTest(model="lm", predictor="sei", stat=t, dist="t", df=k - 2, pval=float(2 * stats.t.sf(abs(t), k - 2)),
                   limit_estimate=float(b[0]), limit_ci_lb=float(b[0] - crit * se[0]),
                   limit_ci_ub=float(b[0] + crit * se[0]), slope=float(b[1]), k=k)
