"""The primary analysis of a trial under its protocol's estimand (ICH E9(R1)).

:func:`primary_analysis` runs the analysis the protocol's primary endpoint names (MMRM, ANCOVA/LOCF,
crossover, responders missing-as-failure, log-rank) on trial data; :class:`PrimaryResult` carries it with the
estimand, for ``trial simulate``, ``trial analyze --protocol`` and ``trial power`` (which counts its
significant replicates).
"""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..errors import AdpharmInputError
from .protocol import TrialProtocol
from ..display import NotebookDisplay

__all__ = ["MMRM_METHOD", "MMRM_STRATA_METHOD", "PrimaryResult", "primary_analysis", "primary_result", "primary_test"]

MMRM_METHOD = "MMRM of change (baseline by visit, unstructured covariance, REML, Satterthwaite df)"
#: the same with the randomisation strata as covariates (data with a ``stratum`` column)
MMRM_STRATA_METHOD = ("MMRM of change (baseline by visit, randomisation strata, unstructured covariance, REML, "
                      "Satterthwaite df)")


def _result(row: dict | None, method: str) -> dict:
    if row is None:
        return {"estimate": None, "ci_lb": None, "ci_ub": None, "p": None, "method": method}
    get = (lambda k: None if row.get(k) is None else float(row[k]))  # noqa: E731
    return {"estimate": get("estimate"), "ci_lb": get("ci_lb"), "ci_ub": get("ci_ub"), "p": get("p"), "method": method}


def primary_analysis(proto: TrialProtocol, data: pd.DataFrame) -> dict:
    """The protocol's primary analysis of trial data: ``estimate`` (active minus reference; negative favours
    the active arm for scores, positive for responders), its confidence interval where the analysis gives one,
    ``p``, and ``method``. Values are None when the data do not allow the analysis (too few patients)."""
    from .analysis import (ancova_locf, check_trial_data, crossover_analysis, responder_analysis, strata_covariates,
                           survival_analysis, visit_order)
    from .mmrm import mmrm
    ep = proto.primary
    ref = proto.reference_arm.id
    active = next(a.id for a in proto.arms if a.id != ref)
    d = check_trial_data(data)
    if ep.kind == "change":
        if proto.design == "crossover" or ep.analysis == "crossover":
            rows = [r for r in crossover_analysis(d, ref, visit_order(d)) if r["visit"] == ep.visit]
            return _result(rows[0] if rows else None, "within-patient difference (crossover analysis)")
        if ep.analysis == "ancova":
            rows = ancova_locf(d, ref, [ref, active], visit_order(d), ep.visit, 1 - ep.alpha, [])
            return _result(rows[0] if rows else None, "ANCOVA of change, last observation carried forward")
        strata = strata_covariates(d)
        method = MMRM_STRATA_METHOD if strata else MMRM_METHOD
        try:
            fit = mmrm(d[d["arm"].isin([ref, active])], reference=ref, visits=[v.id for v in proto.visits],
                       covariates=strata)
        except AdpharmInputError:
            return _result(None, method)
        c = fit.contrasts[(fit.contrasts["arm"] == active) & (fit.contrasts["visit"] == ep.visit)]
        return _result(c.iloc[0].to_dict() if len(c) else None, method)
    if ep.kind in ("response", "remission"):
        thr = 10.0 if ep.threshold is None else ep.threshold
        rows = [r for r in responder_analysis(d, ref, [ref, active], ep.visit, thr, 0.95, []) if r["endpoint"] == ep.kind]
        r = rows[0]["missing_as_failure"]
        rd = r["risk_difference"]
        return {"estimate": None if rd is None else float(rd), "ci_lb": None, "ci_ub": None, "p": r.get("fisher_p"),
                "method": f"risk difference in {ep.kind} (MADRS <= {'50 % of baseline' if ep.kind == 'response' else thr}),"
                          " missing = failure, Fisher's exact test"}
    first = d[d["period"] == d["period"].min()]          # a crossover's first period, as analyse() does
    surv = survival_analysis(first, ref, [ref, active], visit_order(first), [])
    if not surv or not surv["logrank"]:
        return _result(None, "log-rank test of time to response")
    arms = surv["arms"]
    favour = -1.0 if arms[active]["events"] / arms[active]["n"] >= arms[ref]["events"] / arms[ref]["n"] else 1.0
    return {"estimate": favour, "ci_lb": None, "ci_ub": None, "p": surv["logrank"][0]["p"],
            "method": "log-rank test of time to response (estimate: -1 when the active arm responds more)"}


def primary_test(proto: TrialProtocol, data: pd.DataFrame) -> tuple[float | None, float | None]:
    """Estimate and p of the primary endpoint (:func:`primary_analysis`), with the sign of a score change:
    negative favours the active arm (a responder difference is negated)."""
    r = primary_analysis(proto, data)
    est = r["estimate"]
    if est is not None and proto.primary.kind in ("response", "remission"):
        est = -est
    return est, r["p"]




@dataclass
class PrimaryResult(NotebookDisplay):
    """The primary endpoint's result and the estimand it estimates."""

    protocol: str
    endpoint: str
    visit: str | None
    analysis: dict
    alpha: float
    estimand: dict | None

    @property
    def significant(self) -> bool | None:
        p = self.analysis["p"]
        return None if p is None else bool(p < self.alpha)

    def to_dict(self) -> dict:
        return {"endpoint": self.endpoint, "visit": self.visit, **self.analysis, "alpha": self.alpha,
                "significant": self.significant}

    def summary(self) -> pd.DataFrame:
        """One row: the endpoint, the visit, the estimate, its interval and p."""
        return pd.DataFrame([self.to_dict()])

    def plot(self, ax=None):
        """The primary estimate (drug minus control) with its interval."""
        from ..figures import interval_plot
        a = self.analysis
        return interval_plot([f"{self.endpoint}{' at ' + self.visit if self.visit else ''}"], [a["estimate"]],
                             [a["ci_lb"]], [a["ci_ub"]], xlabel=f"drug - control ({a['method']})",
                             title=f"{self.protocol}: primary endpoint", ax=ax)

    def text(self) -> str:
        """One line: the endpoint and visit, the method, the estimate with its interval and p."""
        a = self.analysis
        where = f" at {self.visit}" if self.visit else ""
        if a["estimate"] is None:
            return f"primary ({self.endpoint}{where}): not estimable from these data ({a['method']})"
        ci = "" if a["ci_lb"] is None else f" [{a['ci_lb']:.2f}, {a['ci_ub']:.2f}]"
        p = "" if a["p"] is None else f", p {a['p']:.3g}"
        return f"primary ({self.endpoint}{where}, {a['method']}): {a['estimate']:.2f}{ci}{p}"


def primary_result(proto: TrialProtocol, data: pd.DataFrame) -> PrimaryResult:
    """The primary endpoint's analysis of ``data`` with the protocol's estimand.

    Examples
    --------
    >>> from adpharm.trials.protocol import load_protocol
    >>> from adpharm.trials.simulate import simulate_trial
    >>> proto = load_protocol("ketamine-vs-midazolam")
    >>> r = primary_result(proto, simulate_trial(proto, 20, seed=1).data)
    >>> r.endpoint, r.visit
    ('change', '24h')
    """
    ep = proto.primary
    return PrimaryResult(protocol=proto.id, endpoint=ep.kind, visit=ep.visit, analysis=primary_analysis(proto, data),
                         alpha=ep.alpha,
                         estimand=None if proto.estimand is None else proto.estimand.model_dump(mode="json"))
