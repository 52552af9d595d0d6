"""A pairwise meta-analysis as a reviewer runs it in metafor: effect sizes (``escalc``), the pooled model
(``rma``) and, when asked, subgroups, meta-regression, leave-one-out, cumulative meta-analysis and Egger's
test, with the certainty of the pooled estimate and the warnings for methods used on too few studies.

This is what ``adpharm meta run`` prints (:meth:`PairwiseAnalysis.text`) and writes as JSON
(:meth:`PairwiseAnalysis.to_dict`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pandas as pd

from ..display import NotebookDisplay, provenance, table_text
from ..errors import AdpharmInputError
from .certainty import Certainty, certainty_text, pooled_certainty
from .effect_sizes import EffectSizes, escalc
from .meta import MetaResult, rma, small_k_warnings
from .moderators import SubgroupResult, subgroups as fit_subgroups
from .sensitivity import RegTest, SequenceResult, cumul, leave1out, regtest

__all__ = ["PairwiseAnalysis", "meta_analysis"]

#: Egger's test enters the certainty of the pooled estimate (publication bias) from this many studies
EGGER_CERTAINTY_MIN_K = 10


@dataclass
class PairwiseAnalysis(NotebookDisplay):
    """One data set's pairwise meta-analysis and the analyses asked around it."""

    source: str
    effect_sizes: EffectSizes
    result: MetaResult
    certainty: Certainty
    subgroups: SubgroupResult | None = None
    meta_regression: MetaResult | None = None
    leave1out: SequenceResult | None = None
    cumul: SequenceResult | None = None
    #: Egger's test, fitted when asked (``egger``) or when it enters the certainty (None with fewer than 3 studies)
    regtest: RegTest | None = None
    egger: bool = False
    small_k: list[str] = field(default_factory=list)

    @property
    def warnings(self) -> list[str]:
        """The model's warnings and those for methods used on too few studies."""
        return self.result.warnings + self.small_k

    def summary(self) -> pd.DataFrame:
        """The pooled model's table."""
        return self.result.summary()

    def to_dict(self) -> dict:
        out = self.result.to_dict()
        if self.subgroups is not None:
            out["subgroups"] = self.subgroups.to_dict()
        if self.meta_regression is not None:
            out["meta_regression"] = self.meta_regression.to_dict()
        if self.leave1out is not None:
            out["leave1out"] = self.leave1out.to_dict()["rows"]
        if self.cumul is not None:
            out["cumul"] = self.cumul.to_dict()["rows"]
        if self.egger:
            out["regtest"] = None if self.regtest is None else self.regtest.to_dict()
        out["warnings"] = out.get("warnings", []) + self.small_k
        out["certainty"] = self.certainty.to_dict()
        out["provenance"] = provenance(input=self.source)
        return out

    def text(self) -> str:
        """The model and its table, the test, the estimate with its prediction interval, the certainty and
        each analysis asked."""
        res, out = self.result, self.result.to_dict()
        lines = [f"{'Common-effect' if res.method == 'FE' else 'Random-effects'} meta-analysis ({res.method}, "
                 f"{self.effect_sizes.measure}, k = {res.k})", table_text(res.summary(), ".4g", index=True)]
        if res.test == "knha":
            lines.append(f"test (Knapp-Hartung): t = {out['tval']:.3f}, df = {out['df']}, p = {out['pval']:.4g}")
        if "exp" in out:
            e = out["exp"]
            lines.append(f"exp: {e['estimate']:.3f} [{e['ci_lb']:.3f}, {e['ci_ub']:.3f}]; prediction interval "
                         f"[{e['pi_lb']:.3f}, {e['pi_ub']:.3f}]")
        else:
            lines.append(f"estimate: {res.beta:.4g} [{res.ci_lb:.4g}, {res.ci_ub:.4g}]; prediction interval "
                         f"[{res.pi_lb:.4g}, {res.pi_ub:.4g}]")
        lines.append(f"certainty: {certainty_text(self.certainty.to_dict())}")
        sub = self.subgroups
        if sub is not None:
            lines.append("\nSubgroups\n" + table_text(sub.summary(), ".4g", index=True))
            lines.append(f"Test for subgroup differences: Q = {sub.Qb:.3f}, df = {sub.Qb_df}, p = {sub.Qbp:.4g}")
        if self.meta_regression is not None:
            coefs = pd.DataFrame(self.meta_regression.to_dict()["coefficients"]).T
            lines.append("\nMeta-regression\n" + table_text(coefs, ".4g", index=True))
        for title, seq in (("Leave-one-out", self.leave1out), ("Cumulative", self.cumul)):
            if seq is not None:
                rows = pd.DataFrame(seq.to_dict()["rows"]).set_index("study")
                lines.append(f"\n{title}\n" + table_text(rows, ".4g", index=True))
        if self.egger:
            eg = self.regtest
            lines.append("\nEgger's test: " + ("needs at least 3 studies" if eg is None else
                                                f"z = {eg.stat:.3f}, p = {eg.pval:.4g}; limit estimate "
                                                f"{eg.limit_estimate:.4f}"))
        return "\n".join(lines) + "\n"

    def plot(self, ax=None):
        """The forest plot (by subgroup when there are subgroups)."""
        return (self.subgroups or self.result).plot(ax=ax)

    def funnel(self, ax=None):
        """The funnel plot, with Egger's line when there are at least 3 studies."""
        from .plots import funnel
        eg = self.regtest if self.regtest is not None else (regtest(self.result) if self.result.k >= 3 else None)
        return funnel(self.result, ax=ax, egger=eg)


def _columns(df: pd.DataFrame, names: Sequence[str], source: str, field: str) -> pd.DataFrame:
    missing = [c for c in names if c not in df.columns]
    if missing:
        raise AdpharmInputError(f"{source}: {field}: no column {missing[0]!r}")
    return df[list(names)]


def meta_analysis(data: pd.DataFrame, measure: str | None = None, *, method: str = "REML", test: str = "z",
             level: float = 0.95, subgroup: str | None = None, mods: Sequence[str] = (), loo: bool = False,
             cumul_by: str | None = None, egger: bool = False, source: str = "data") -> PairwiseAnalysis:
    """Pairwise meta-analysis of ``data`` (metafor's columns) and the analyses asked around it.

    Parameters
    ----------
    data : one row per study, with metafor's columns (``ai,bi,ci,di``, ``ai,n1i,ci,n2i``,
        ``m1i,sd1i,n1i,m2i,sd2i,n2i``, ``yi,vi`` or ``yi,sei``).
    measure : OR, RR, RD, SMD or MD (optional with ``yi``: metafor's generic outcome).
    method, test, level : as :func:`adpharm.evidence.rma` (``test="knha"``: Knapp-Hartung).
    subgroup : a column defining subgroups (separate tau^2 and the test of differences).
    mods : moderator columns of a meta-regression.
    loo : leave each study out in turn.
    cumul_by : add studies in the order of this column (e.g. year; missing values last).
    egger : Egger's regression test for funnel asymmetry.
    source : the data's name in errors and provenance.

    Examples
    --------
    >>> import pandas as pd
    >>> d = pd.DataFrame({"yi": [0.1, 0.3, 0.2, 0.5], "vi": [0.04, 0.05, 0.03, 0.06]})
    >>> r = meta_analysis(d, method="DL", loo=True)
    >>> r.text().splitlines()[0]
    'Random-effects meta-analysis (DL, GEN, k = 4)'
    """
    es = escalc(measure, data, source=source)
    res = rma(es, method=method, test=test, level=level)
    sub = None
    if subgroup:
        groups = _columns(data, [subgroup], source, "subgroup")[subgroup]
        sub = fit_subgroups(es, list(groups), method=method, test=test, level=level)
    mods = [c for c in mods if c]
    metareg = rma(es, method=method, test=test, level=level, mods=_columns(data, mods, source, "mods")) if mods else None
    loo_res = leave1out(res) if loo else None
    cum = None
    if cumul_by:
        order = pd.to_numeric(_columns(data, [cumul_by], source, "cumul_by")[cumul_by], errors="coerce")
        cum = cumul(res, order=order.fillna(float("inf")))
    eg = regtest(res) if len(es) >= 3 and (egger or res.k >= EGGER_CERTAINTY_MIN_K) else None
    small_k = small_k_warnings(res.k, egger=egger, n_moderators=len(mods),
                               subgroup_sizes={g: r.k for g, r in sub.groups.items()} if sub else None)
    egger_p = eg.pval if res.k >= EGGER_CERTAINTY_MIN_K else None
    certainty = pooled_certainty(res.beta, res.se, res.tau2, res.k, ratio=res.ratio, egger_p=egger_p, level=level)
    return PairwiseAnalysis(source=source, effect_sizes=es, result=res, certainty=certainty, subgroups=sub,
                            meta_regression=metareg, leave1out=loo_res, cumul=cum, regtest=eg, egger=egger,
                            small_k=small_k)
