"""Bundled evidence as analysis-ready tables: the arm-level trials of the knowledge base
(../shared/reference/clinical_trials.md) and the Linde 2015 primary-care network.

References
----------
Linde K, Kriston L, Rücker G, et al. (2015). Efficacy and acceptability of pharmacological
treatments for depressive disorders in primary care: systematic review and network
meta-analysis. Ann Fam Med 13:69-79. doi:10.1370/afm.1687 (data: R package metadat,
``dat.linde2015``)
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal, Sequence

import numpy as np
import pandas as pd

from ..display import NotebookDisplay, provenance, table_text
from ..errors import check_option
from ..knowledge import query
from ..knowledge.loader import DATA_DIR
from ..knowledge.schema import FAMILIES, WINDOW_LABELS, WINDOWS
from .effect_sizes import EffectSizes, escalc, wald_interval
from .meta import MetaResult, rma

Outcome = Literal["responders", "remitters"]
OUTCOMES = ("responders", "remitters")
_LINDE_COLUMN = {"responders": "resp", "remitters": "remi"}


@functools.lru_cache(maxsize=1)
def _drug_classes() -> dict[str, str]:
    drugs = query.list_drugs()
    return dict(zip(drugs["drug"], drugs["class"]))


@functools.lru_cache(maxsize=1)
def class_families() -> dict[str, str]:
    """Each class id mapped to its family (``glutamatergic`` or ``monoaminergic``)."""
    return {c: query.drug_class(c)["family"] for c in set(_drug_classes().values())}


def arm_side(arm: dict) -> tuple[str, str, str | None]:
    """``(kind, treatment, drug_class)`` of a bundled arm: a drug, a class-level arm, or a control."""
    if arm.get("drug"):
        return "drug", arm["drug"], _drug_classes().get(arm["drug"])
    if arm.get("drug_class"):
        return "class", arm["drug_class"], arm["drug_class"]
    return "control", arm["control"], None


def trial_arms(outcome: Outcome = "responders", include_unverified: bool = False) -> pd.DataFrame:
    """One row per arm of every bundled trial that reports ``outcome``.

    Columns: ``study, label (the trial's name, :func:`~adpharm.knowledge.query.trial_name`), note, treatment,
    kind (drug|class|control), drug_class, xi, ni, status,
    verified, design, population, timepoint, window, outcome, bias, refs``. Linde 2015 arms are class-level.
    Trials whose counts are unverified (status M) are left out unless ``include_unverified``.
    """
    check_option("outcome", outcome, OUTCOMES)
    return _arm_table(outcome, bool(include_unverified)).copy()


@functools.lru_cache(maxsize=4)
def _arm_table(outcome: str, include_unverified: bool) -> pd.DataFrame:
    rows = []
    refs = query.references()
    for t in query.trials():
        if t["status"] == "M" and not include_unverified:
            continue
        name = query.trial_name(t, refs)
        for a in t["arms"]:
            if a.get(outcome) is None:
                continue
            kind, treatment, cls = arm_side(a)
            rows.append({"study": t["id"], "label": name, "note": t.get("note"), "arm": a["arm"], "treatment": treatment,
                         "kind": kind, "drug_class": cls, "xi": a[outcome], "ni": a["n"], "status": t["status"],
                         "verified": t["status"] != "M", "design": t["design"], "population": t["population"],
                         "timepoint": t["timepoint"], "window": t["window"], "outcome": t["outcome"],
                         "bias": t.get("bias"), "refs": list(t["refs"])})
    return pd.DataFrame(rows)


def members(arms: pd.DataFrame, name: str) -> pd.Series:
    """Which arms belong to ``name``: the drug itself, a class (any member or the class arm), a family of
    classes (``glutamatergic``, ``monoaminergic``: every member class), or a control."""
    if name in FAMILIES:
        fam = class_families()
        in_family = arms["drug_class"].map(lambda c: fam.get(c) == name if isinstance(c, str) else False)
        return (arms["kind"] != "control") & in_family.astype(bool)
    return (arms["treatment"] == name) | ((arms["kind"] != "control") & (arms["drug_class"] == name))


def sides(arms: pd.DataFrame, a: str, c: str, group: str = "study") -> tuple[pd.Series, pd.Series]:
    """Masks of the arms on side ``a`` and side ``c``, within each ``group`` (a trial, or a trial's record).

    ``a`` takes its members; ``c`` means the arms named exactly ``c`` when the group has any, else the
    arms belonging to it, never an arm already on side ``a``. Groups without both sides are masked out.
    """
    codes, uniques = pd.factorize(arms[group])

    def any_in_group(mask: pd.Series) -> np.ndarray:
        return np.bincount(codes, weights=mask.to_numpy(bool), minlength=len(uniques))[codes] > 0

    in_a = members(arms, a)
    exact_c = arms["treatment"] == c
    in_c = exact_c.where(any_in_group(exact_c), members(arms, c)) & ~in_a
    both = any_in_group(in_a) & any_in_group(in_c)
    return in_a & both, in_c & both


def comparison(arms: pd.DataFrame, a: str, c: str, window: str | None = None) -> pd.DataFrame:
    """Two-by-two table (``study, ai, n1i, ci, n2i`` plus trial attributes) of ``a`` versus ``c``.

    Several arms of one trial that belong to ``a`` (doses of one drug, members of one class) are
    combined into one arm, as the Cochrane Handbook recommends for a shared comparator. Within a
    trial, ``c`` means the arms named exactly ``c`` when there are any, else the arms belonging to it.
    ``window`` (one of :data:`WINDOWS`) keeps the trials reported in that time window only.
    """
    if arms.empty:
        return pd.DataFrame()
    if window is not None:
        check_option("window", window, WINDOWS)
        arms = arms[arms["window"] == window]
        if arms.empty:
            return pd.DataFrame()
    in_a, in_c = sides(arms, a, c)
    both = in_a | in_c
    out = []
    for study, g in arms[both].groupby("study", sort=False):
        ga, gc = g[in_a[g.index]], g[in_c[g.index]]
        first = g.iloc[0]
        out.append({"study": study, "label": first["label"], "note": first.get("note"), "ai": int(ga["xi"].sum()), "n1i": int(ga["ni"].sum()),
                    "ci": int(gc["xi"].sum()), "n2i": int(gc["ni"].sum()),
                    "arms": " + ".join(ga["arm"]) + " vs " + " + ".join(gc["arm"]),
                    "combined_arms": len(ga) > 1 or len(gc) > 1, "verified": bool(first["verified"]),
                    "status": first["status"], "design": first["design"], "population": first["population"],
                    "timepoint": first["timepoint"], "window": first.get("window"), "outcome": first["outcome"],
                    "bias": first.get("bias"), "refs": first["refs"]})
    return pd.DataFrame(out)


#: The written rule for where each side's efficacy is read (issue 35): its licensed use and primary endpoint.
#: Keys are a drug id or a family; ``windows`` lists the acceptable time windows, best first.
ENDPOINT_RULES = {
    "esketamine": {"windows": ("week4",), "comparator": "ad_placebo", "refs": ["popova2019", "fedgchin2019"],
                   "why": "licensed with a newly started oral antidepressant; primary endpoint MADRS change at day 28 "
                          "against the oral antidepressant with a placebo spray (TRANSFORM-1/2)"},
    "glutamatergic": {"windows": ("24h",), "comparator": "placebo", "refs": ["dean2021_cochrane"],
                      "why": "24 h after one infusion, the primary time point of the Cochrane review of ketamine"},
    "monoaminergic": {"windows": ("acute-end", "week6-8"), "comparator": "placebo", "refs": ["cipriani2018"],
                      "why": "the end of the acute phase (primary outcome at 8 weeks, range 4-12, in Cipriani 2018)"},
}


def endpoint_rule(name: str) -> dict:
    """The :data:`ENDPOINT_RULES` entry for a drug, class or family: the drug's own, else its family's."""
    if name in ENDPOINT_RULES:
        return ENDPOINT_RULES[name]
    cls = _drug_classes().get(name, name)
    return ENDPOINT_RULES[class_families().get(cls, "monoaminergic")]


def rule_window(arms: pd.DataFrame, a: str, c: str) -> str | None:
    """The first window of ``a``'s :func:`endpoint_rule` in which a trial compares ``a`` with ``c``, or None."""
    for w in endpoint_rule(a)["windows"]:
        if not comparison(arms, a, c, window=w).empty:
            return w
    return None


def primary_window(arms: pd.DataFrame, a: str, c: str) -> str | None:
    """The time window in which most trials compare ``a`` with ``c`` (ties: the earlier window), or None."""
    if arms.empty:
        return None
    in_a, in_c = sides(arms, a, c)
    counts = arms[in_a | in_c].groupby("window")["study"].nunique()
    if counts.empty:
        return None
    return max(counts.index, key=lambda w: (counts[w], -WINDOWS.index(w)))


def linde2015(outcome: Outcome = "responders") -> tuple[pd.DataFrame, list[str]]:
    """Arm-level network data (``study, treatment, xi, ni, author, year``) of Linde 2015.

    Arms without a count for ``outcome`` are dropped, then studies left with fewer than two arms;
    the notes say which.
    """
    check_option("outcome", outcome, OUTCOMES)
    raw = pd.read_csv(DATA_DIR / "linde2015.csv")
    col = _LINDE_COLUMN[outcome]
    rows, notes = [], []
    for _, r in raw.iterrows():
        arms = [(r[f"treatment{k}"], r[f"n{k}"], r[f"{col}{k}"]) for k in (1, 2, 3)
                if isinstance(r[f"treatment{k}"], str) and r[f"treatment{k}"]]
        kept = [(t, n, x) for t, n, x in arms if not (pd.isna(n) or pd.isna(x))]
        label = f"{r['author']} {r['year']} ({r['id']})"
        if len(kept) < 2:
            notes.append(f"{label}: fewer than two arms report {outcome}; left out")
            continue
        if len(kept) < len(arms):
            notes.append(f"{label}: arm(s) without {outcome} left out")
        rows += [{"study": label, "treatment": t, "xi": int(x), "ni": int(n), "author": r["author"],
                  "year": int(r["year"])} for t, n, x in kept]
    return pd.DataFrame(rows), notes


#: the citation of the Linde 2015 network in the provenance of its analyses
LINDE2015_CITATION = {"reference_key": "linde2015",
                      "citation": "Linde K et al. (2015) Ann Fam Med 13:69-79, doi:10.1370/afm.1687"}


def linde2015_network(outcome: Outcome = "responders", *, reference: str | None = None, model: str = "random",
                      method: str = "REML", level: float = 0.95):
    """Network meta-analysis of Linde 2015's arms (:func:`linde2015`) for one outcome, with its data notes
    and citation (:func:`adpharm.evidence.network`)."""
    from dataclasses import replace
    from .network import network
    df, notes = linde2015(outcome)
    res = network(df, reference=reference, model=model, method=method, level=level, source="bundled linde2015")
    return replace(res, data_notes=notes, citation=dict(LINDE2015_CITATION))


def linde2015_pairwise(a: str, b: str, outcome: Outcome = "responders") -> pd.DataFrame:
    """Two-by-two table of Linde 2015 class ``a`` versus ``b`` (their arms in multi-arm trials)."""
    arms, _ = linde2015(outcome)
    out = []
    for study, g in arms.groupby("study", sort=False):
        t = list(g["treatment"])
        if a in t and b in t:
            ra, rb = g[g.treatment == a].iloc[0], g[g.treatment == b].iloc[0]
            out.append({"study": study, "year": int(ra["year"]), "ai": ra["xi"], "n1i": ra["ni"], "ci": rb["xi"],
                        "n2i": rb["ni"], "multi_arm": len(t) > 2})
    return pd.DataFrame(out)


@dataclass
class PooledRatio:
    """The odds ratio or risk ratio of a :func:`comparison` table: random-effects pooled over two or more
    trials, or the one trial's own ratio with its Wald interval."""

    es: EffectSizes
    result: MetaResult | None        # None for a single trial
    #: the ratio and its interval (``estimate``, ``ci_lb``, ``ci_ub``; a pooled one adds ``pi_lb``, ``pi_ub``)
    exp: dict[str, float]
    measure: str = "OR"

    @property
    def beta(self) -> float:
        """The log ratio."""
        return float(self.es.yi[0]) if self.result is None else float(self.result.beta)

    @property
    def se(self) -> float:
        return math.sqrt(float(self.es.vi[0])) if self.result is None else float(self.result.se)

    @property
    def tau2(self) -> float:
        return 0.0 if self.result is None else float(self.result.tau2)


def pool_ratio(table: pd.DataFrame, measure: str = "OR", method: str = "REML", level: float = 0.95,
               study: str = "study") -> PooledRatio:
    """Odds ratios (``"OR"``) or risk ratios (``"RR"``) of the trials of a two-by-two ``table``
    (:func:`comparison`), metafor's ``escalc`` with studies named by its ``study`` column, pooled by
    :func:`~adpharm.evidence.meta.rma` when there are two or more; a single trial keeps its own ratio and
    Wald interval, as metafor prints it."""
    check_option("measure", measure, ("OR", "RR"))
    es = escalc(measure, table.assign(study=table[study]))
    if len(es) == 1:
        y = float(es.yi[0])
        lo, hi = wald_interval(y, math.sqrt(float(es.vi[0])), level)
        return PooledRatio(es, None, {"estimate": math.exp(y), "ci_lb": math.exp(lo), "ci_ub": math.exp(hi)}, measure)
    res = rma(es, method=method, level=level)
    return PooledRatio(es, res, res.to_dict()["exp"], measure)


@dataclass
class BinaryPool(NotebookDisplay):
    """The bundled trials of ``a`` versus ``c`` that report ``outcome`` in one time window, pooled as odds
    or risk ratios (:func:`pool_binary`); ``pooled`` is None when no trial compares them there."""

    a: str
    c: str
    outcome: str
    window: str | None
    table: pd.DataFrame
    pooled: PooledRatio | None
    level: float = 0.95

    @property
    def k(self) -> int:
        """The number of trials pooled."""
        return len(self.table)

    def summary(self) -> pd.DataFrame:
        """The two-by-two table of the trials (events and patients per side)."""
        cols = ["study", "ai", "n1i", "ci", "n2i", "timepoint"]
        return self.table[cols] if self.k else pd.DataFrame(columns=cols)

    def to_dict(self) -> dict:
        """The pair, the window, the trials and the pooled ratio (``exp``) with its fit."""
        p = self.pooled
        return {"a": self.a, "c": self.c, "window": self.window,
                "window_label": WINDOW_LABELS.get(self.window) if self.window else None, "outcome": self.outcome,
                "measure": None if p is None else p.measure, "k": self.k,
                "trials": self.table.drop(columns=["label"]).to_dict("records") if self.k else [],
                "fit": None if p is None or p.result is None else p.result.to_dict(),
                "certainty": None if p is None else self.certainty().to_dict(),
                "provenance": provenance(source="bundled trials.yaml (clinical_trials.md, Linde 2015)"),
                "exp": None if p is None else p.exp}

    def certainty(self, mismatches: Sequence[str] = ()):
        """The certainty of the pooled ratio (:func:`~adpharm.evidence.certainty.pooled_certainty`, the trials'
        risk-of-bias notes; ``mismatches``: how the trials differ from the question, e.g. class-level evidence),
        or None when no trial was pooled."""
        from .certainty import bias_of, pooled_certainty
        p = self.pooled
        if p is None:
            return None
        return pooled_certainty(p.beta, p.se, p.tau2, len(p.es), ratio=True, bias=bias_of(self.table), mismatches=mismatches,
                                level=self.level)

    def text(self) -> str:
        """The pair, window and outcome, the trials' two-by-two table, the pooled ratio and its certainty."""
        from .certainty import certainty_text
        p = self.pooled
        if p is None:
            return f"{self.a} vs {self.c}: no bundled trial reports {self.outcome}\n"
        e = p.exp
        return "\n".join([f"{self.a} vs {self.c}, {WINDOW_LABELS[self.window]}: {self.outcome}, "
                          f"{'odds' if p.measure == 'OR' else 'risk'} ratio, k = {len(p.es)}",
                          table_text(self.summary()),
                          f"pooled {p.measure}: {e['estimate']:.3f} [{e['ci_lb']:.3f}, {e['ci_ub']:.3f}]",
                          f"certainty: {certainty_text(self.certainty().to_dict())}"]) + "\n"

    def plot(self):
        """Forest plot of the trials and the pooled ratio (two or more trials)."""
        if self.pooled is None or self.pooled.result is None:
            raise ValueError(f"a forest plot needs at least two pooled trials (have {self.k})")
        return self.pooled.result.plot()


def pool_binary(a: str, c: str, window: str | None = None, outcome: Outcome = "responders", measure: str = "OR",
                method: str = "REML", level: float = 0.95, include_unverified: bool = False,
                studies: list[str] | None = None, study: str = "study") -> BinaryPool:
    """Pool the bundled trials of ``a`` versus ``c`` that report ``outcome`` in one time window.

    The binary counterpart of :func:`~adpharm.evidence.continuous.pool_continuous`: the trials'
    arms (:func:`trial_arms`, only ``studies`` when given), the window (``window``, else the one in
    which most trials compare the pair, :func:`primary_window`), their two-by-two table
    (:func:`comparison`) and its odds or risk ratio (:func:`pool_ratio`; trials named by the table's
    ``study`` column). With no trial in the window, ``pooled`` is None.

    Examples
    --------
    >>> res = pool_binary("ketamine", "placebo", "24h")
    >>> res.k > 1 and res.pooled.exp["estimate"] > 1
    True
    """
    check_option("measure", measure, ("OR", "RR"))
    arms = trial_arms(outcome, include_unverified=include_unverified)
    if studies is not None and not arms.empty:
        arms = arms[arms["study"].isin(studies)]
    w = window or primary_window(arms, a, c)
    t = comparison(arms, a, c, window=w) if w else pd.DataFrame()
    pooled = pool_ratio(t, measure, method, level, study) if len(t) else None
    return BinaryPool(a=a, c=c, outcome=outcome, window=w, table=t, pooled=pooled, level=level)
