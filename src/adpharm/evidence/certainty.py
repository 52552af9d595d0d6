"""Certainty of evidence for a pooled, network or indirect estimate: six CINeMA domains, each judged by a
written rule from the data, and an overall rating.

The domains and their judgements (``no concerns``, ``some concerns``, ``major concerns``) follow CINeMA
(Nikolakopoulou et al. 2020). The rules here are adpharm's, stated so that each judgement can be checked:

* **within-study bias**: from per-trial risk-of-bias judgements (``low``, ``some``, ``high``). No
  judgement at all is *not assessed*, and is counted as some concerns, never as none. Major concerns
  when more than half of the trials are high risk, some concerns when any trial is not low risk.
* **reporting bias**: Egger's regression test on the trials against the comparator when there are at
  least 10 (Sterne et al. 2011); p < 0.10 is a small-study effect. Major concerns for a small-study
  effect in published trials only; some concerns for a small-study effect when unpublished trials are
  included, or when the test is not possible (k < 10) and every trial is published; otherwise none.
* **indirectness**: each mismatch between the question and the evidence (population class, time
  window, kind of comparator) is named; one is some concerns, two or more major concerns.
* **imprecision**: the confidence interval against the range of equivalence (by default odds ratios
  0.8 to 1.25, CINeMA's default for a binary outcome): crossing neither boundary no concerns, one some
  concerns, both major concerns.
* **heterogeneity**: the 95 % prediction interval (``beta +- z sqrt(se^2 + tau^2)``) against the same
  boundaries: no concerns when it crosses no more of them than the confidence interval, some concerns
  for one more, major concerns for two more.
* **incoherence**: the node-splitting test of the comparison where it has direct and indirect evidence
  (p < 0.01 major, p < 0.10 some concerns), otherwise the design-by-treatment test of the whole network
  (p < 0.05 some concerns); a pairwise pool or a single trial has no incoherence to judge (no concerns,
  said so).

The overall rating starts at high and goes down one level for each domain with some concerns and two
for each with major concerns, to at most very low.

Examples
--------
>>> import math
>>> from adpharm.evidence.certainty import imprecision
>>> imprecision(math.log(1.5), 0.05).judgement
'no concerns'
>>> imprecision(math.log(1.1), 0.2).judgement
'major concerns'

References
----------
Nikolakopoulou A, Higgins JPT, Papakonstantinou T, et al. (2020). CINeMA: an approach for assessing
confidence in the results of a network meta-analysis. PLoS Med 17(4):e1003082.
doi:10.1371/journal.pmed.1003082
Sterne JAC, Sutton AJ, Ioannidis JPA, et al. (2011). Recommendations for examining and interpreting
funnel plot asymmetry in meta-analyses of randomised controlled trials. BMJ 343:d4002.
doi:10.1136/bmj.d4002
Higgins JPT, Thompson SG, Spiegelhalter DJ (2009). A re-evaluation of random-effects meta-analysis.
J R Stat Soc A 172:137-159. doi:10.1111/j.1467-985X.2008.00552.x
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, Sequence, get_args

from ..lazy import lazy_module

stats = lazy_module("scipy.stats")

__all__ = ["Judgement", "JUDGEMENTS", "RATINGS", "DOMAINS", "EQUIVALENCE_OR", "Domain", "Certainty",
           "within_study_bias", "reporting_bias", "indirectness", "imprecision", "heterogeneity", "incoherence",
           "rate", "pooled_certainty", "bias_from_notes", "certainty_text"]

Judgement = Literal["no concerns", "some concerns", "major concerns"]
JUDGEMENTS: tuple[str, ...] = get_args(Judgement)
RATINGS = ("high", "moderate", "low", "very low")
DOMAINS = ("within_study_bias", "reporting_bias", "indirectness", "imprecision", "heterogeneity", "incoherence")
#: CINeMA's default range of equivalence for an odds ratio (Nikolakopoulou et al. 2020)
EQUIVALENCE_OR = (0.8, 1.25)
_LOG_EQ = (math.log(EQUIVALENCE_OR[0]), math.log(EQUIVALENCE_OR[1]))


@dataclass(frozen=True)
class Domain:
    """One domain's judgement and the reason the rule gives for it."""

    judgement: str
    reason: str

    def to_dict(self) -> dict:
        return {"judgement": self.judgement, "reason": self.reason}


@dataclass(frozen=True)
class Certainty:
    """The overall rating and its six domains (``certainty: {rating, domains}`` in every output)."""

    rating: str
    domains: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"rating": self.rating, "domains": {k: d.to_dict() for k, d in self.domains.items()},
                "method": "CINeMA domains by adpharm's written rules (adpharm.evidence.certainty)",
                "refs": ["nikolakopoulou2020"]}

    def __str__(self) -> str:
        return certainty_text(self.to_dict())


def certainty_text(c: dict) -> str:
    """One line of a certainty record (:meth:`Certainty.to_dict`): the rating and every domain with concerns."""
    down = [f"{k.replace('_', ' ')}: {d['judgement']}" for k, d in c["domains"].items() if d["judgement"] != "no concerns"]
    return c["rating"] + (f" ({'; '.join(down)})" if down else "")


def _crossed(lo: float, hi: float, bounds: tuple[float, float]) -> int:
    return sum(lo < b < hi for b in bounds)


def _level(n: int) -> str:
    return JUDGEMENTS[min(n, 2)]


def bias_of(trials) -> list[str | None]:
    """:func:`bias_from_notes` of a trials table's ``bias`` column; a table without one: not assessed."""
    return bias_from_notes(trials["bias"] if "bias" in trials.columns else [None] * len(trials))


def bias_from_notes(notes) -> list[str | None]:
    """Per-trial risk-of-bias judgements from the bundled trials' free-text notes: a stated concern is ``some``,
    no note is not assessed (None)."""
    return [("some" if isinstance(n, str) and n else None) for n in notes]


def within_study_bias(judgements: Sequence[str | None] | None) -> Domain:
    """From per-trial risk of bias (``low``, ``some``, ``high``; None where a trial has none)."""
    given = [j for j in (judgements or []) if j]
    if not given:
        return Domain("some concerns", "risk of bias not assessed in the data (counted as some concerns)")
    high = sum(j == "high" for j in given)
    not_low = sum(j != "low" for j in given) + (len(judgements) - len(given))
    if high > len(judgements) / 2:
        return Domain("major concerns", f"{high} of {len(judgements)} trials at high risk of bias")
    if not_low:
        return Domain("some concerns", f"{not_low} of {len(judgements)} trials not at low risk of bias (or not assessed)")
    return Domain("no concerns", f"all {len(judgements)} trials at low risk of bias")


def reporting_bias(k: int, n_unpublished: int, egger_p: float | None) -> Domain:
    """Small-study effects (Egger, k >= 10) and whether unpublished trials are included."""
    unpub = f"{n_unpublished} of {k} trials unpublished"
    if egger_p is None or k < 10:
        if n_unpublished:
            return Domain("no concerns", f"fewer than 10 trials for Egger's test; {unpub} included")
        return Domain("some concerns", "fewer than 10 trials for Egger's test, all published")
    if egger_p < 0.10:
        if n_unpublished:
            return Domain("some concerns", f"small-study effect (Egger p = {egger_p:.3f}); {unpub} included")
        return Domain("major concerns", f"small-study effect (Egger p = {egger_p:.3f}) in published trials only")
    return Domain("no concerns", f"no small-study effect (Egger p = {egger_p:.3f}, k = {k}); {unpub}")


def indirectness(mismatches: Sequence[str]) -> Domain:
    """Each named mismatch between the question and the evidence (population, time window, comparator)."""
    if not mismatches:
        return Domain("no concerns", "population, time window and comparator match the question")
    return Domain(_level(min(len(mismatches), 2)), "; ".join(mismatches))


def _fmt(x: float, ratio: bool) -> str:
    return f"{math.exp(x):.2f}" if ratio else f"{x:.3g}"


def imprecision(beta: float, se: float, level: float = 0.95, bounds: tuple[float, ...] = _LOG_EQ,
                ratio: bool = True) -> Domain:
    """The confidence interval against the range of equivalence (``bounds`` on the log scale for a ratio;
    for a difference with no stated minimal important difference, ``bounds=(0.0,)``: no difference)."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    lo, hi = beta - z * se, beta + z * se
    n = _crossed(lo, hi, bounds)
    what = ("the range of equivalence " + "-".join(_fmt(b, ratio) for b in bounds)) if len(bounds) > 1 else \
        f"no difference ({_fmt(bounds[0], ratio)})"
    return Domain(_level(n), f"CI {_fmt(lo, ratio)} to {_fmt(hi, ratio)} crosses "
                             f"{('no', 'one', 'both')[n]} boundar{'y' if n == 1 else 'ies'} of {what}")


def heterogeneity(beta: float, se: float, tau2: float, level: float = 0.95, bounds: tuple[float, ...] = _LOG_EQ,
                  ratio: bool = True, k: int | None = None) -> Domain:
    """The prediction interval against the same boundaries, beside the confidence interval."""
    if k == 1:
        return Domain("no concerns", "one trial: no between-trial heterogeneity to judge")
    z = float(stats.norm.ppf(0.5 + level / 2))
    n_ci = _crossed(beta - z * se, beta + z * se, bounds)
    half = z * math.sqrt(se ** 2 + max(tau2, 0.0))
    n_pi = _crossed(beta - half, beta + half, bounds)
    pi = f"prediction interval {_fmt(beta - half, ratio)} to {_fmt(beta + half, ratio)} (tau^2 {tau2:.3g})"
    extra = max(n_pi - n_ci, 0)
    return Domain(_level(extra), f"{pi} crosses {extra} more boundar{'y' if extra == 1 else 'ies'} than the CI")


def incoherence(nodesplit_p: float | None = None, global_p: float | None = None, pairwise: bool = False) -> Domain:
    """Node-splitting p of the comparison, else the design-by-treatment p of the network."""
    if pairwise:
        return Domain("no concerns", "direct evidence only (a pairwise pool or one trial): no incoherence to judge")
    if nodesplit_p is not None and math.isfinite(nodesplit_p):
        j = "major concerns" if nodesplit_p < 0.01 else "some concerns" if nodesplit_p < 0.10 else "no concerns"
        return Domain(j, f"direct vs indirect (node-splitting) p = {nodesplit_p:.3f}")
    if global_p is not None and math.isfinite(global_p):
        j = "some concerns" if global_p < 0.05 else "no concerns"
        return Domain(j, f"no indirect evidence to split; design-by-treatment inconsistency p = {global_p:.3f}")
    return Domain("no concerns", "no indirect evidence and no test of inconsistency possible")


def rate(domains: dict[str, Domain]) -> Certainty:
    """High, less one level per domain with some concerns and two per domain with major concerns."""
    missing = set(DOMAINS) - set(domains)
    if missing:
        raise ValueError(f"domains: missing {', '.join(sorted(missing))}")
    down = sum(JUDGEMENTS.index(d.judgement) for d in domains.values())
    return Certainty(RATINGS[min(down, 3)], {k: domains[k] for k in DOMAINS})


def pooled_certainty(beta: float, se: float, tau2: float, k: int, ratio: bool = True,
                     bias: Sequence[str | None] | None = None, n_unpublished: int = 0, egger_p: float | None = None,
                     mismatches: Sequence[str] = (), level: float = 0.95, indirect_only: bool = False) -> Certainty:
    """The certainty of a pairwise pool, a single trial or a Bucher comparison (no network to split).

    ``beta``/``se`` on the log scale for a ratio, else a difference (judged against no difference);
    ``bias``: one entry per trial, its risk-of-bias judgement (``low``/``some``/``high``) or None."""
    bounds = _LOG_EQ if ratio else (0.0,)
    return rate({
        "within_study_bias": within_study_bias(list(bias) if bias is not None else None),
        "reporting_bias": reporting_bias(k, n_unpublished, egger_p),
        "indirectness": indirectness(list(mismatches)),
        "imprecision": imprecision(beta, se, level, bounds, ratio),
        "heterogeneity": heterogeneity(beta, se, tau2, level, bounds, ratio, k=k),
        "incoherence": (Domain("no concerns", "indirect evidence only: no direct comparison to check it against")
                        if indirect_only else incoherence(pairwise=True)),
    })
