"""Adjusted indirect comparison (Bucher) of two treatments through a common comparator, with a
transitivity report that shows what differs between the two sets of trials.

References
----------
Bucher HC, Guyatt GH, Griffith LE, Walter SD (1997). The results of direct and indirect
treatment comparisons in meta-analysis of randomized controlled trials. J Clin Epidemiol
50:683-691. doi:10.1016/S0895-4356(97)00049-8
Salanti G (2012). Indirect and mixed-treatment comparison, network, or multiple-treatments
meta-analysis: many names, many benefits, many concerns for the next generation evidence
synthesis tool. Res Synth Methods 3:80-97. doi:10.1002/jrsm.1037
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..units import HOURS_PER_DAY, HOURS_PER_WEEK, hours
from .effect_sizes import RATIO_MEASURES, escalc
from .meta import MetaResult, rma
from ..lazy import lazy_module
from ..display import NotebookDisplay, provenance, table_text

stats = lazy_module("scipy.stats")

_SCALES = ("MADRS", "HDRS", "HAM-D", "CGI", "SSI", "IDS")


def timepoint_hours(text: str) -> float | None:
    """Hours from a time point as trial reports write it: "24 h", "day 2-3", "6 weeks" (range midpoint)."""
    t = str(text).lower()
    m = re.search(r"(day|week|wk)s?\s*(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?", t)
    if m:
        lo = float(m.group(2))
        hi = float(m.group(3)) if m.group(3) else lo
        return hours((lo + hi) / 2, m.group(1))
    m = re.search(r"(\d+(?:\.\d+)?)(?:\s*-\s*(\d+(?:\.\d+)?))?\s*(min|h|hour|day|week|wk)s?\b", t)
    if m:
        lo = float(m.group(1))
        hi = float(m.group(2)) if m.group(2) else lo
        return hours((lo + hi) / 2, m.group(3))
    return None


def _fmt_hours(h: float) -> str:
    if h < 2 * HOURS_PER_DAY:
        return f"{h:.0f} h"
    return f"{h / HOURS_PER_DAY:.0f} days" if h < 3 * HOURS_PER_WEEK else f"{h / HOURS_PER_WEEK:.0f} weeks"


@dataclass
class Side:
    """One leg of the indirect comparison: the pooled direct estimate of a treatment versus the comparator."""

    treatment: str
    k: int
    beta: float
    se: float
    trials: pd.DataFrame
    fit: MetaResult | None

    def to_dict(self) -> dict[str, Any]:
        cols = [c for c in ("study", "label", "ai", "n1i", "ci", "n2i", "arms", "status", "design", "population",
                            "timepoint", "outcome") if c in self.trials.columns]
        return {"treatment": self.treatment, "k": self.k, "beta": self.beta, "se": self.se,
                "meta_analysis": None if self.fit is None else {k: v for k, v in self.fit.to_dict().items()
                                                                if k not in ("studies",)},
                "trials": self.trials[cols].to_dict(orient="records")}


@dataclass
class IndirectResult(NotebookDisplay):
    """``a`` versus ``b`` through ``via``: estimate, interval, both legs and the transitivity report."""

    a: str
    b: str
    via: str
    measure: str
    beta: float
    se: float
    ci_lb: float
    ci_ub: float
    pval: float
    side_a: Side
    side_b: Side
    transitivity: list[dict[str, str]]
    level: float = 0.95
    warnings: list[str] = field(default_factory=list)
    #: the time window each leg was pooled in (bundled trials), or None when the tables came from the caller
    windows: dict[str, str | None] | None = None
    #: where the legs' trials came from (a file, or the bundled trials)
    source: str = "data"

    estimable = True

    def certainty(self):
        """The certainty of the indirect estimate (:func:`~adpharm.evidence.certainty.pooled_certainty`): both
        legs' trials, their risk-of-bias notes (a note is some concern), the larger leg's tau^2."""
        from .certainty import bias_from_notes, pooled_certainty
        tau2 = max((s.fit.tau2 for s in (self.side_a, self.side_b) if s.fit is not None), default=0.0)
        bias = bias_from_notes([b for s in (self.side_a, self.side_b)
                                for b in (s.trials["bias"] if "bias" in s.trials else [None] * s.k)])
        return pooled_certainty(self.beta, self.se, tau2, self.side_a.k + self.side_b.k,
                                ratio=self.measure in RATIO_MEASURES, bias=bias, indirect_only=True, level=self.level)

    def to_dict(self) -> dict[str, Any]:
        out = {"a": self.a, "b": self.b, "via": self.via, "measure": self.measure, "method": "Bucher 1997",
               "estimable": True, "certainty": self.certainty().to_dict(),
               "windows": self.windows,
               "beta": self.beta, "se": self.se, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub, "pval": self.pval,
               "level": self.level, "legs": {"a": self.side_a.to_dict(), "b": self.side_b.to_dict()},
               "transitivity": self.transitivity, "fragile": bool(self.transitivity), "warnings": self.warnings}
        if self.measure in RATIO_MEASURES:
            out["exp"] = {"estimate": float(np.exp(self.beta)), "ci_lb": float(np.exp(self.ci_lb)),
                          "ci_ub": float(np.exp(self.ci_ub))}
        out["provenance"] = provenance(input=self.source)
        return out

    def text(self) -> str:
        """The two legs and the indirect estimate, the ratio with its interval, the certainty and what makes the
        comparison fragile."""
        lines = [f"Indirect comparison (Bucher) of {self.a} vs {self.b} through {self.via}, {self.measure}:",
                 table_text(self.summary(), ".4g", index=True)]
        if self.measure in RATIO_MEASURES:
            lines.append(f"{self.a} vs {self.b}: {self.measure} {np.exp(self.beta):.2f} [{np.exp(self.ci_lb):.2f}, "
                         f"{np.exp(self.ci_ub):.2f}]")
        from .certainty import certainty_text
        lines.append(f"certainty: {certainty_text(self.certainty().to_dict())}")
        if self.transitivity:
            lines.append("Transitivity: the two legs differ, so this estimate is fragile:")
            lines += [f"  - {f['attribute']}: {f.get('a', '')} | {f.get('b', '')} ({f['why']})"
                      for f in self.transitivity]
        return "\n".join(lines) + "\n"

    def summary(self) -> pd.DataFrame:
        rows = [{"comparison": f"{s.treatment} vs {self.via}", "k": s.k, "beta": s.beta, "se": s.se}
                for s in (self.side_a, self.side_b)]
        rows.append({"comparison": f"{self.a} vs {self.b} (indirect)", "k": self.side_a.k + self.side_b.k,
                     "beta": self.beta, "se": self.se})
        return pd.DataFrame(rows).set_index("comparison")

    def plot(self, ax=None):
        """The two direct legs and the indirect estimate on one axis."""
        from ..figures import pyplot
        plt = pyplot()
        ax = ax or plt.subplots(figsize=(6, 2.2))[1]
        s = self.summary()
        crit = stats.norm.ppf(0.5 + self.level / 2)
        f = np.exp if self.measure in RATIO_MEASURES else (lambda x: x)
        ys = np.arange(len(s))[::-1]
        ax.errorbar(f(s["beta"]), ys, xerr=[f(s["beta"]) - f(s["beta"] - crit * s["se"]),
                                            f(s["beta"] + crit * s["se"]) - f(s["beta"])], fmt="o", color="k")
        ax.set_yticks(ys, list(s.index))
        ax.axvline(f(0.0), color="grey", ls="--", lw=0.8)
        if self.measure in RATIO_MEASURES:
            ax.set_xscale("log")
        return ax


def bucher(beta_ac: float, se_ac: float, beta_bc: float, se_bc: float, level: float = 0.95) -> dict[str, float]:
    """Adjusted indirect estimate of A versus B from A versus C and B versus C (Bucher et al. 1997)."""
    if se_ac <= 0 or se_bc <= 0:
        raise AdpharmInputError("bucher: standard errors must be positive")
    beta = beta_ac - beta_bc
    se = float(np.hypot(se_ac, se_bc))
    crit = float(stats.norm.ppf(0.5 + level / 2))
    return {"beta": beta, "se": se, "ci_lb": beta - crit * se, "ci_ub": beta + crit * se,
            "pval": float(2 * stats.norm.sf(abs(beta / se)))}


def _pool(name: str, table: pd.DataFrame, measure: str, method: str, source: str) -> Side:
    es = escalc(measure, table, source=source)
    if len(es) == 1:
        return Side(name, 1, float(es.yi[0]), float(np.sqrt(es.vi[0])), table, None)
    fit = rma(es, method=method)
    return Side(name, fit.k, fit.beta, fit.se, table, fit)


#: The kind of each bundled control: both legs of a Bucher comparison must share it.
COMPARATOR_KINDS = {"placebo": "placebo alone", "saline": "placebo alone",
                    "ad_placebo": "placebo added to an oral antidepressant", "midazolam": "active placebo (midazolam)"}
#: Population classes, by the first rule whose words a trial's population text contains.
POPULATION_RULES = (("suicidal inpatients or imminent risk", ("suicid",)),
                    ("perioperative", ("surgery",)),
                    ("primary care", ("primary care",)),
                    ("chronic depression", ("chronic", "dysthymia")),
                    ("treatment-resistant depression", ("trd", "treatment-resistant", "failed antidepressant")))
POPULATION_CLASSES = tuple(c for c, _ in POPULATION_RULES) + ("outpatient MDD",)
#: Windows that all mean the end of the acute phase (4-12 weeks)
_ACUTE_END = {"week6-8", "acute-end"}


def population_class(text: str) -> str:
    """The class of a trial's population: suicidal, perioperative, primary care, chronic depression, TRD,
    else outpatient MDD (:data:`POPULATION_RULES`)."""
    t = str(text).lower()
    return next((c for c, words in POPULATION_RULES if any(w in t for w in words)), "outpatient MDD")


def same_period(wa: str | None, wb: str | None) -> bool:
    """Two windows that measure the same period (the same window, or both the end of the acute phase)."""
    return wa == wb or (wa in _ACUTE_END and wb in _ACUTE_END)


def estimability(ta: pd.DataFrame, tb: pd.DataFrame, a: str, b: str, via: str,
                 windows: dict[str, str | None]) -> list[str]:
    """Why a Bucher comparison of the two legs would not be estimable: the legs must share the time window,
    the kind of comparator and one population class (issue 35). An empty list: estimable. Both legs are
    taken against the same control ``via``, so they share its kind (:data:`COMPARATOR_KINDS`)."""
    from ..knowledge.schema import WINDOW_LABELS     # here: the knowledge schema is not needed to import this module
    reasons = []
    wa, wb = windows.get("a"), windows.get("b")
    if wa is not None and wb is not None and not same_period(wa, wb):
        la, lb = (WINDOW_LABELS.get(w, str(w)) for w in (wa, wb))
        reasons.append(f"time window: {a} at {la}, {b} at {lb}")
    for t, name in ((ta, a), (tb, b)):
        if len(t) == 0:
            reasons.append(f"no trial compares {name} with {via} at its time window")
    if len(ta) and len(tb):
        pa = sorted({population_class(p) for p in ta["population"]}) if "population" in ta else []
        pb = sorted({population_class(p) for p in tb["population"]}) if "population" in tb else []
        if pa and pb and (len(pa) > 1 or len(pb) > 1 or pa != pb):
            reasons.append(f"population: {a} in {' and '.join(pa)}, {b} in {' and '.join(pb)}")
    return reasons


@dataclass
class NotEstimable(NotebookDisplay):
    """A Bucher comparison that the evidence cannot carry: the reasons, and what each leg holds."""

    a: str
    b: str
    via: str
    reasons: list[str]
    windows: dict[str, str | None]
    legs: dict[str, dict]
    source: str = "bundled trials"

    estimable = False

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "via": self.via, "estimable": False, "reasons": list(self.reasons),
                "windows": self.windows, "legs": self.legs, "method": "Bucher 1997 (not computed)",
                "provenance": provenance(input=self.source)}

    def text(self) -> str:
        """Why the comparison is not estimable, and what would make it so."""
        return "\n".join([f"Indirect comparison (Bucher) of {self.a} vs {self.b} through {self.via}: not estimable",
                          *(f"  - {r}" for r in self.reasons),
                          "Both legs must share the time window, the kind of comparator and the population class "
                          "(`window` and `population` choose them)."]) + "\n"

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame({"reason": self.reasons})


def _values(t: pd.DataFrame, col: str) -> list[str]:
    return list(dict.fromkeys(str(x) for x in t[col])) if col in t.columns else []


def transitivity_report(ta: pd.DataFrame, tb: pd.DataFrame, a: str, b: str) -> list[dict[str, str]]:
    """Flags for what differs between the trials of the two legs (population, time point, design,
    scale, verification status, size of the evidence)."""
    from ..knowledge.schema import WINDOW_LABELS
    flags = []
    pa, pb = _values(ta, "population"), _values(tb, "population")
    if pa and pb and set(pa) != set(pb):
        flags.append({"attribute": "population", "a": "; ".join(pa), "b": "; ".join(pb),
                      "why": "effect modifiers (severity, treatment resistance, setting) may differ between the legs"})
    ha = [h for h in map(timepoint_hours, _values(ta, "timepoint")) if h is not None]
    hb = [h for h in map(timepoint_hours, _values(tb, "timepoint")) if h is not None]
    wa = [w for w in _values(ta, "window") if w in WINDOW_LABELS]
    wb = [w for w in _values(tb, "window") if w in WINDOW_LABELS]
    if wa and wb and set(wa) != set(wb):
        flags.append({"attribute": "time point", "a": "; ".join(WINDOW_LABELS[w] for w in wa),
                      "b": "; ".join(WINDOW_LABELS[w] for w in wb),
                      "why": "the legs measure response at different times after starting treatment"})
    elif ha and hb:
        ma, mb = statistics.median(ha), statistics.median(hb)
        if max(ma, mb) / max(min(ma, mb), 1e-9) >= 3:
            flags.append({"attribute": "time point", "a": _fmt_hours(ma), "b": _fmt_hours(mb),
                          "why": "the legs measure response at different times after starting treatment"})
    cross = lambda t: bool(t["design"].str.contains("crossover", case=False).any()) if "design" in t.columns else False  # noqa: E731
    if cross(ta) != cross(tb):
        which = a if cross(ta) else b
        flags.append({"attribute": "design", "a": "; ".join(_values(ta, "design")), "b": "; ".join(_values(tb, "design")),
                      "why": f"{which}'s leg includes crossover trials, analysed here as if parallel (no first-period data)"})
    sa = {s for o in _values(ta, "outcome") for s in _SCALES if re.search(rf"\b{s}\b", o.upper())}
    sb = {s for o in _values(tb, "outcome") for s in _SCALES if re.search(rf"\b{s}\b", o.upper())}
    if sa != sb:
        flags.append({"attribute": "scale", "a": ", ".join(sorted(sa)) or "not stated",
                      "b": ", ".join(sorted(sb)) or "not stated",
                      "why": "response is defined on different rating scales"})
    for t, name in ((ta, a), (tb, b)):
        if "verified" in t.columns and not t["verified"].all():
            flags.append({"attribute": "verification", "a" if t is ta else "b": name,
                          "why": f"some counts on {name}'s leg are unverified (from memory or secondary copies)"})
        if len(t) < 3:
            flags.append({"attribute": "evidence size", "a" if t is ta else "b": f"{len(t)} trial(s)",
                          "why": f"{name}'s leg rests on {len(t)} trial(s); tau^2 cannot be estimated well"})
    return flags


def indirect(table_a: pd.DataFrame, table_b: pd.DataFrame, a: str, b: str, via: str, measure: str = "OR",
             method: str = "REML", level: float = 0.95, source: str = "data") -> IndirectResult:
    """Bucher indirect comparison of ``a`` versus ``b`` from two sets of trials against ``via``.

    Parameters
    ----------
    table_a, table_b : DataFrame
        Two-by-two tables (``study, ai, n1i, ci, n2i``; ``ai`` the treatment arm, ``ci`` the
        comparator), optionally with ``population, timepoint, design, outcome, verified`` columns
        that feed the transitivity report.
    measure : {"OR", "RR", "RD"}
    method : str
        Estimator of tau^2 for pooling each leg (see :func:`rma`).

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"study": ["s1"], "ai": [15], "n1i": [30], "ci": [8], "n2i": [30]})
    >>> b = pd.DataFrame({"study": ["s2"], "ai": [12], "n1i": [30], "ci": [9], "n2i": [30]})
    >>> r = indirect(a, b, "A", "B", "placebo")
    >>> round(r.beta, 3) == round(r.side_a.beta - r.side_b.beta, 3)
    True
    """
    if measure not in ("OR", "RR", "RD"):
        raise AdpharmInputError(f"{measure!r} is not one of OR, RR, RD", field="measure")
    for t, name in ((table_a, a), (table_b, b)):
        if len(t) == 0:
            raise AdpharmInputError(f"{source}: no trial compares {name} with {via}")
    sa = _pool(a, table_a, measure, method, source)
    sb = _pool(b, table_b, measure, method, source)
    r = bucher(sa.beta, sa.se, sb.beta, sb.se, level)
    shared = set(map(str, table_a["study"])) & set(map(str, table_b["study"]))
    notes = []
    if shared:
        notes.append(f"trials in both legs ({', '.join(sorted(shared))}): their legs are correlated and the "
                     f"Bucher variance is too small; use a network meta-analysis")
    return IndirectResult(a=a, b=b, via=via, measure=measure, side_a=sa, side_b=sb, level=level,
                          transitivity=transitivity_report(table_a, table_b, a, b), warnings=notes, source=source, **r)


def indirect_from_arms(arms: pd.DataFrame, a: str, b: str, via: str = "placebo", *, measure: str = "OR",
                       method: str = "REML", level: float = 0.95, source: str = "data") -> IndirectResult:
    """:func:`indirect` from arm-level data (``study, treatment, xi, ni``, optionally ``population, timepoint,
    design, outcome, verified``): each leg is the trials with an arm of ``a`` (or ``b``) and an arm of ``via``.

    Examples
    --------
    >>> import pandas as pd
    >>> arms = pd.DataFrame({"study": ["s1", "s1", "s2", "s2"], "treatment": ["A", "P", "B", "P"],
    ...                      "xi": [15, 8, 12, 9], "ni": [30, 30, 30, 30]})
    >>> round(indirect_from_arms(arms, "A", "B", "P").beta, 3)   # ln(15*22/(15*8)) - ln(12*21/(18*9))
    0.57
    """
    from . import bundled
    from .effect_sizes import arm_counts
    for c in ("study", "treatment", "xi", "ni"):
        if c not in arms.columns:
            raise AdpharmInputError(f"{source}: missing column {c!r}: expected arm-level study, treatment, xi, ni")
    arm_counts(arms, source)
    t = arms.assign(kind="drug", drug_class=None, arm=arms["treatment"].astype(str), label=arms["study"].astype(str),
                    verified=arms["verified"] if "verified" in arms.columns else True, status="",
                    refs=[[] for _ in range(len(arms))])
    for c in ("design", "population", "timepoint", "outcome"):
        if c not in t.columns:
            t[c] = "not stated"
    return indirect(bundled.comparison(t, a, via), bundled.comparison(t, b, via), a, b, via, measure=measure,
                    method=method, level=level, source=source)



def bundled_indirect(a: str, b: str, via: str = "placebo", outcome: str = "responders", measure: str = "OR",
                     method: str = "REML", level: float = 0.95, window_a: str | None = None,
                     window_b: str | None = None, include_unverified: bool = False,
                     population: str | None = None) -> IndirectResult | NotEstimable:
    """:func:`indirect` on the bundled trials; ``a`` and ``b`` are drugs or classes, ``via`` a control or drug.

    Each leg pools the trials of one time window only: ``window_a``/``window_b``, by default the first
    window of the side's written endpoint rule (:func:`~adpharm.evidence.bundled.endpoint_rule`: its licensed
    use and primary endpoint) in which it has trials against ``via``. ``population`` keeps the trials of one
    population class (:data:`POPULATION_CLASSES`) on both legs.

    Returns :class:`NotEstimable` with its reasons, instead of a number, when the legs differ in time window
    or population class (:func:`estimability`), or when a leg has no trial.
    """
    from . import bundled
    if population is not None and population not in POPULATION_CLASSES:
        raise AdpharmInputError(f"{population!r} is not one of {', '.join(POPULATION_CLASSES)}", field="population")
    arms = bundled.trial_arms(outcome, include_unverified=include_unverified)
    if population is not None:
        arms = arms[arms["population"].map(population_class) == population]
    for name in (a, b):
        if bundled.comparison(arms, name, via).empty:
            raise AdpharmInputError(f"bundled trials: no trial compares {name} with {via}"
                                    + (f" in {population}" if population else ""))
    wa = window_a or bundled.rule_window(arms, a, via)
    wb = window_b or bundled.rule_window(arms, b, via)
    ta = bundled.comparison(arms, a, via, window=wa) if wa else pd.DataFrame()
    tb = bundled.comparison(arms, b, via, window=wb) if wb else pd.DataFrame()
    windows = {"a": wa, "b": wb}
    reasons = estimability(ta, tb, a, b, via, windows)
    if reasons:
        legs = {k: {"treatment": n, "k": int(len(t)), "window": windows[k],
                    "trials": [str(x) for x in t["label"]] if len(t) else [],
                    "populations": sorted({population_class(p) for p in t["population"]}) if len(t) else []}
                for k, n, t in (("a", a, ta), ("b", b, tb))}
        return NotEstimable(a=a, b=b, via=via, reasons=reasons, windows=windows, legs=legs)
    res = indirect(ta, tb, a, b, via, measure=measure, method=method, level=level, source="bundled trials")
    res.windows = windows
    return res
