"""Continuous depression outcomes of the bundled trials: one mean difference (MD) and, where the
data allow, one standardised mean difference (Hedges' g) per trial and time window, pooled by
random-effects meta-analysis within one window only.

Each trial's estimate states how it was obtained:

* the trial's own between-arm estimate when it reports one (an LSMD of an MMRM/ANCOVA, or a
  crossover's paired within-patient difference), with its SE (from the CI by the normal
  approximation when only a CI is given);
* otherwise the difference of arm means (changes from baseline, or scores at the time point),
  several arms on one side (doses, class members) combined by the Cochrane formula, an SE
  reported for an LS mean turned into an SD as ``SE * sqrt(n)``;
* a crossover trial with arm means and SDs only: paired, when the trial reports the within-patient
  correlation, else its two periods analysed as parallel groups (Elbourne 2002), which ignores
  the correlation and so gives the trial too little weight, never too much.

A trial that cannot give an estimate (no means, no SE, values unverified) is reported by name
with the reason, never dropped silently.

References
----------
Elbourne DR, Altman DG, Higgins JPT, et al. (2002). Meta-analyses involving cross-over trials:
methodological issues. Int J Epidemiol 31:140-149. doi:10.1093/ije/31.1.140
Higgins JPT, Li T, Deeks JJ (eds) (2023). Cochrane Handbook, chapter 6 (combining groups, Table
6.5.a) and chapter 10 (10.5.2: change scores and final values are not combined as SMDs).
Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related estimators.
J Educ Stat 6:107-128. doi:10.3102/10769986006002107
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError, check_option
from ..knowledge import query
from ..knowledge.schema import WINDOW_LABELS, WINDOWS
from . import bundled
from .effect_sizes import EffectSizes, hedges_g, wald_interval
from .meta import METHODS, MetaResult, rma
from ..lazy import lazy_module
from ..display import NotebookDisplay, provenance, quote_parameters, table_text

stats = lazy_module("scipy.stats")

ContinuousMeasure = Literal["MD", "SMD"]
CONTINUOUS_MEASURES = ("MD", "SMD")
_Z975 = 1.959963984540054      # stats.norm.ppf(0.975): the half-width of a reported 95 % CI in SEs


def combine_groups(n: np.ndarray, mean: np.ndarray, sd: np.ndarray) -> tuple[float, float, float]:
    """One group from several (size, mean, SD): the Cochrane Handbook's formula (Table 6.5.a),
    applied pairwise.

    >>> combine_groups(np.array([10, 10]), np.array([1.0, 3.0]), np.array([1.0, 1.0]))[1:]
    (2.0, 1.4509525002200232)
    """
    n1, m1, s1 = float(n[0]), float(mean[0]), float(sd[0])
    for n2, m2, s2 in zip(n[1:], mean[1:], sd[1:]):
        n2, m2, s2 = float(n2), float(m2), float(s2)
        tot = n1 + n2
        s1 = float(np.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2 + n1 * n2 / tot * (m1 - m2) ** 2) / (tot - 1)))
        m1 = (n1 * m1 + n2 * m2) / tot
        n1 = tot
    return n1, m1, s1


@functools.lru_cache(maxsize=1)
def _records() -> tuple[dict[str, Any], ...]:
    return tuple(query.continuous_records())


def continuous_arms() -> pd.DataFrame:
    """One row per arm of every continuous-outcome record, with the record's attributes.

    Columns: ``record, study, arm, treatment, kind, drug_class, n, mean, sd, se, arm_status, status,
    window, timepoint, scale, measure, design, population, bias, note, refs``.
    """
    return _continuous_arms().copy()


@functools.lru_cache(maxsize=1)
def _continuous_arms() -> pd.DataFrame:
    rows = []
    for i, r in enumerate(_records()):
        for a in r["arms"]:
            kind, treatment, cls = bundled.arm_side(a)
            rows.append({"record": i, "study": r["trial"], "arm": a["arm"], "treatment": treatment, "kind": kind,
                         "drug_class": cls, "n": a["n"], "mean": a.get("mean"), "sd": a.get("sd"), "se": a.get("se"),
                         "arm_status": a.get("status") or r["status"], "status": r["status"], "window": r["window"],
                         "timepoint": r["timepoint"], "scale": r["scale"], "measure": r["measure"],
                         "design": r["design"], "population": r["population"], "bias": r.get("bias"),
                         "note": r.get("note"), "refs": list(r["refs"])})
    return pd.DataFrame(rows)


def _side(g: pd.DataFrame, include_unverified: bool) -> tuple[float, float, float] | None:
    """Combined (n, mean, SD) of the arms ``g``, or None when an arm lacks a mean with SD/SE (or is M)."""
    if g["mean"].isna().any() or (g["sd"].isna() & g["se"].isna()).any():
        return None
    if not include_unverified and (g["arm_status"] == "M").any():
        return None
    sd = g["sd"].where(g["sd"].notna(), g["se"] * np.sqrt(g["n"]))
    return combine_groups(g["n"].to_numpy(float), g["mean"].to_numpy(float), sd.to_numpy(float))


def _why_not(ga: pd.DataFrame, gc: pd.DataFrame, contrasts: list[dict], include_unverified: bool) -> str:
    arms = pd.concat([ga, gc])
    if contrasts and all(c.get("se") is None and c.get("ci") is None for c in contrasts):
        return "between-arm estimate without SE or CI"
    if arms["mean"].isna().all() and not contrasts:
        return "no mean change, score or between-arm estimate in the bundled source"
    if arms["mean"].isna().any():
        return "an arm has no mean"
    if (arms["sd"].isna() & arms["se"].isna()).any():
        return "arm means without SD or SE"
    if not include_unverified and (arms["arm_status"] == "M").any():
        return "arm values unverified (M); include_unverified uses them"
    return "several between-arm estimates against one control and no arm data to combine them"


def _record_effect(rec: dict, ga: pd.DataFrame, gc: pd.DataFrame, include_unverified: bool) -> tuple[dict | None, str | None]:
    """The MD (and SMD where possible) of one record, or a reason why there is none."""
    names_a, names_c = set(ga["arm"]), set(gc["arm"])
    contrasts = [c for c in rec.get("contrasts", []) if c["arm"] in names_a and c["vs"] in names_c]
    a, c = _side(ga, include_unverified), _side(gc, include_unverified)
    crossover = "crossover" in rec["design"].lower()
    usable = [x for x in contrasts if x.get("se") is not None or x.get("ci") is not None]
    if len(usable) == 1 and len(names_a) == 1:
        x = usable[0]
        md = float(x["estimate"])
        se = float(x["se"]) if x.get("se") is not None else (x["ci"][1] - x["ci"][0]) / (2 * _Z975)
        src = "SE" if x.get("se") is not None else "SE from the 95 % CI (normal approximation)"
        method = (f"paired within-patient difference reported by the trial (crossover; Elbourne 2002), {src}"
                  if x["analysis"] == "paired" else f"LSMD reported by the trial, {src}")
        from_arms = False
    elif a is not None and c is not None:
        from_arms = True
        md = a[1] - c[1]
        what = "changes" if rec["measure"] == "change" else "scores at the time point"
        combined = " (arms combined, Cochrane Handbook 6.5.2.10)" if len(ga) > 1 or len(gc) > 1 else ""
        r = rec.get("correlation")
        if crossover and r is not None:
            n = min(a[0], c[0])
            se = float(np.sqrt((a[2] ** 2 + c[2] ** 2 - 2 * r * a[2] * c[2]) / n))
            method = f"crossover: paired difference of mean {what}, within-patient correlation {r:g} reported"
        elif crossover:
            se = float(np.sqrt(a[2] ** 2 / a[0] + c[2] ** 2 / c[0]))
            method = (f"crossover periods analysed as parallel groups (Elbourne 2002; ignores the within-patient "
                      f"correlation, conservative): difference of mean {what}")
        else:
            se = float(np.sqrt(a[2] ** 2 / a[0] + c[2] ** 2 / c[0]))
            method = f"difference of mean {what}{combined}"
        if ga["se"].notna().any() or gc["se"].notna().any():
            method += "; SD = SE x sqrt(n) for LS means"
    else:
        return None, _why_not(ga, gc, contrasts, include_unverified)
    row = {"md": md, "md_se": se, "md_method": method, "smd": None, "smd_se": None, "smd_note": None}
    arms = pd.concat([ga, gc])
    if (a is None or c is None) and not include_unverified and (arms["arm_status"] == "M").any() \
            and arms["sd"].notna().all():
        row["smd_note"] = "the arms' SDs are unverified (M); include_unverified uses them"
    elif a is None or c is None or (crossover and len(usable) == 1 and usable[0]["analysis"] == "paired"):
        row["smd_note"] = "no between-patient SD for the arms"
    elif rec["measure"] != "change":
        row["smd_note"] = "scores at the time point are not pooled with change scores as SMDs (Cochrane Handbook 10.5.2)"
    else:
        sdp = float(np.sqrt(((a[0] - 1) * a[2] ** 2 + (c[0] - 1) * c[2] ** 2) / (a[0] + c[0] - 2)))
        g, v = hedges_g(md, sdp, a[0], c[0])
        row.update(smd=float(g), smd_se=float(np.sqrt(v)))
    n1 = int(ga["n"].sum()) if not crossover else int(ga["n"].max())
    n2 = int(gc["n"].sum()) if not crossover else int(gc["n"].max())
    uses_m_arms = (from_arms or row["smd"] is not None) and bool((arms["arm_status"] == "M").any())
    row.update(n1=n1, n2=n2, verified=rec["status"] != "M" and not uses_m_arms)
    return row, None


@dataclass
class ContinuousTable:
    """Per-trial continuous effects of ``a`` versus ``c`` in one time window, and the trials that
    could not give one (``excluded``: trial, time point, reason)."""

    a: str
    c: str
    window: str
    rows: pd.DataFrame
    excluded: list[dict[str, str]]
    include_unverified: bool = False

    def summary(self) -> pd.DataFrame:
        cols = ["study", "timepoint", "scale", "n1", "n2", "md", "md_se", "smd", "smd_se", "md_method"]
        if not len(self.rows):
            return pd.DataFrame(columns=cols)
        out = self.rows[cols].copy()
        for c in ("smd", "smd_se"):
            out[c] = pd.to_numeric(out[c], errors="coerce")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"a": self.a, "c": self.c, "window": self.window, "window_label": WINDOW_LABELS[self.window],
                "trials": self.rows.to_dict("records"), "excluded": list(self.excluded),
                "include_unverified": self.include_unverified}


def continuous_table(a: str, c: str, window: str, include_unverified: bool = False,
                     studies: list[str] | None = None) -> ContinuousTable:
    """Per-trial MD and SMD of ``a`` (drug, class or family) versus ``c`` (a control or another side)
    at ``window``, from the bundled records (see :mod:`adpharm.evidence.continuous`); ``studies``
    keeps the named trials only."""
    check_option("window", window, WINDOWS)
    arms = continuous_arms()
    if studies is not None:
        known = set(arms["study"])
        for s in studies:
            if s not in known:
                raise AdpharmInputError(f"{s!r} is not a bundled trial with continuous outcomes "
                                        f"(known: {', '.join(sorted(known))})", field="trials")
        arms = arms[arms["study"].isin(studies)]
    arms = arms[arms["window"] == window]
    rows: list[dict[str, Any]] = []
    excluded: list[dict[str, str]] = []
    if arms.empty:
        return ContinuousTable(a=a, c=c, window=window, rows=pd.DataFrame(rows), excluded=excluded,
                               include_unverified=include_unverified)
    in_a, in_c = bundled.sides(arms, a, c, group="record")
    for rec_i, g in arms[in_a | in_c].groupby("record", sort=True):
        rec = _records()[rec_i]
        label = f"{query.trial_name(rec)} ({rec['timepoint']})"
        if rec["status"] == "M" and not include_unverified:
            excluded.append({"study": rec["trial"], "timepoint": rec["timepoint"],
                             "reason": "unverified values (status M); include_unverified uses them"})
            continue
        row, why = _record_effect(rec, g[in_a[g.index]], g[in_c[g.index]], include_unverified)
        if row is None:
            excluded.append({"study": rec["trial"], "timepoint": rec["timepoint"], "reason": why})
            continue
        rows.append({"study": rec["trial"], "label": label, **row, "timepoint": rec["timepoint"], "window": rec["window"],
                     "scale": rec["scale"], "measure": rec["measure"], "design": rec["design"],
                     "population": rec["population"], "bias": rec.get("bias"), "note": rec.get("note"),
                     "status": rec["status"], "refs": list(rec["refs"])})
    return ContinuousTable(a=a, c=c, window=window, rows=pd.DataFrame(rows), excluded=excluded,
                           include_unverified=include_unverified)


@dataclass
class ContinuousPool(NotebookDisplay):
    """A pooled MD or SMD of ``a`` versus ``c`` in one time window (negative favours ``a``)."""

    table: ContinuousTable
    measure: str
    method: str
    level: float
    result: MetaResult | None
    estimate: float | None
    ci_lb: float | None
    ci_ub: float | None
    k: int
    studies: list[str]
    scale: str | None
    notes: list[str] = field(default_factory=list)

    @property
    def se(self) -> float | None:
        """Standard error of the estimate (a single trial's from its Wald interval)."""
        if self.result is not None:
            return float(self.result.se)
        if self.estimate is None:
            return None
        return (self.ci_ub - self.ci_lb) / (2 * float(stats.norm.ppf(0.5 + self.level / 2)))

    def summary(self) -> pd.DataFrame:
        return self.table.summary()

    def to_dict(self) -> dict[str, Any]:
        out = {"measure": self.measure, "method": self.method_text(),
               "level": self.level, "k": self.k, "studies": self.studies, "scale": self.scale,
               "estimate": self.estimate, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub, "notes": list(self.notes),
               **self.table.to_dict()}
        if self.result is not None:
            d = self.result.to_dict()
            out.update(tau2=d["tau2"], I2=d["I2"], Q=d["Q"], QEp=d["QEp"], pi_lb=d["pi_lb"], pi_ub=d["pi_ub"])
        out["refs"] = sorted({r for t in self.table.rows.to_dict("records") if t["study"] in self.studies
                              for r in t["refs"]} | ({"elbourne2002"} if any(
                                  "crossover" in str(m) for m in self.table.rows.get("md_method", [])) else set()))
        out["provenance"] = provenance(model="random-effects meta-analysis" if self.k > 1 else "single trial",
                                       source="bundled continuous.yaml (clinical_trials.md)")
        if self.estimate is not None:
            out["certainty"] = self.certainty().to_dict()
        return out

    def method_text(self) -> str:
        """The pooling method (the tau^2 estimator), or how a single trial's interval was made."""
        return self.method if self.k > 1 else "single trial (Wald interval)"

    def certainty(self):
        """The certainty of the pooled estimate (:func:`~adpharm.evidence.certainty.pooled_certainty`, the pooled
        trials' risk-of-bias notes), or None when nothing was pooled."""
        from .certainty import bias_of, pooled_certainty
        if self.estimate is None:
            return None
        used = self.table.rows[self.table.rows["study"].isin(self.studies)]
        return pooled_certainty(self.estimate, self.se, 0.0 if self.result is None else self.result.tau2, self.k,
                                ratio=False, bias=bias_of(used),
                                level=self.level)

    def text(self) -> str:
        """The pair, window and measure, the trials, the pooled estimate with its certainty, and the notes."""
        from .certainty import certainty_text
        t = self.table
        lines = [f"{t.a} vs {t.c}, {WINDOW_LABELS[t.window]}: {self.measure}"
                 f"{' (' + self.scale + ')' if self.scale and self.measure == 'MD' else ''}, k = {self.k}"]
        if len(t.rows):
            lines.append(table_text(self.summary(), ".3g", na_rep="-"))
        if self.estimate is not None:
            lines.append(f"pooled {self.measure}: {self.estimate:.3f} [{self.ci_lb:.3f}, {self.ci_ub:.3f}] "
                         f"({self.method_text()}; negative favours {t.a})")
            lines.append(f"certainty: {certainty_text(self.certainty().to_dict())}")
        else:
            lines.append(f"pooled {self.measure}: not estimable from the bundled trials")
        lines += [f"note: {quote_parameters(n, ['include_unverified'])}" for n in self.notes]
        return "\n".join(lines) + "\n"

    def plot(self):
        """Forest plot of the trials and the pooled estimate (two or more trials)."""
        from .plots import forest
        if self.result is None:
            raise ValueError("a forest plot needs at least two pooled trials")
        return forest(self.result, title=f"{self.table.a} vs {self.table.c}, {WINDOW_LABELS[self.table.window]} "
                                         f"({self.measure}{', ' + self.scale if self.scale else ''})")


def pool_continuous(a: str, c: str, window: str, measure: ContinuousMeasure = "MD", method: str = "REML",
                    level: float = 0.95, include_unverified: bool = False,
                    studies: list[str] | None = None) -> ContinuousPool:
    """Pool the per-trial MD (one scale only) or SMD (change scores only) of ``a`` vs ``c`` at ``window``.

    Trials left out of this measure are added to ``notes`` with the reason. With no trial the
    estimate is None; with one it is that trial's estimate and Wald interval.
    """
    check_option("measure", measure, CONTINUOUS_MEASURES)
    check_option("method", method, METHODS)
    t = continuous_table(a, c, window, include_unverified, studies)
    notes = [f"{e['study']} ({e['timepoint']}): {e['reason']}" for e in t.excluded]
    rows = t.rows
    scale = None
    if len(rows) and measure == "MD":
        scales = rows["scale"].value_counts()
        scale = str(scales.index[0])
        for _, r in rows[rows["scale"] != scale].iterrows():
            notes.append(f"{r['label']}: not in the MD: scale {r['scale']} (MD pools {scale} only; the SMD pools "
                         f"across scales)")
        rows = rows[rows["scale"] == scale]
        y, se = rows["md"], rows["md_se"]
    elif len(rows):
        for _, r in rows[rows["smd"].isna()].iterrows():
            notes.append(f"{r['label']}: not in the SMD: {r['smd_note']}")
        rows = rows[rows["smd"].notna()]
        y, se = rows["smd"], rows["smd_se"]
    k = len(rows)
    if k == 0:
        return ContinuousPool(table=t, measure=measure, method=method, level=level, result=None, estimate=None,
                              ci_lb=None, ci_ub=None, k=0, studies=[], scale=scale, notes=notes)
    studies = list(rows["study"])
    if k == 1:
        est = float(y.iloc[0])
        lo, hi = wald_interval(est, float(se.iloc[0]), level)
        return ContinuousPool(table=t, measure=measure, method=method, level=level, result=None, estimate=est, ci_lb=lo,
                              ci_ub=hi, k=1, studies=studies, scale=scale, notes=notes)
    es = EffectSizes(y.to_numpy(float), se.to_numpy(float) ** 2, measure, list(rows["label"]))
    res = rma(es, method=method, level=level)
    return ContinuousPool(table=t, measure=measure, method=method, level=level, result=res, estimate=float(res.beta),
                          ci_lb=float(res.ci_lb), ci_ub=float(res.ci_ub), k=k, studies=studies, scale=scale,
                          notes=notes)
