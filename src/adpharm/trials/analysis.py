"""Analysis of a trial's long data: MMRM, responders and remitters, time to response, ANCOVA/LOCF.

Input: one row per subject and attended visit with columns ``subject, arm, visit, baseline, value``
(``period`` for crossover data, ``time_h`` optional). The primary analysis is the MMRM of
:mod:`adpharm.trials.mmrm`. Responders (at least 50 % below baseline) and remitters (at or below a
threshold) at a visit are compared with odds ratio, risk difference and number needed to treat;
patients who left before the visit count as non-responders (non-responder imputation), and the
observed-case rates are given beside. Time to first response is estimated by Kaplan-Meier per arm
with the log-rank test (lifelines), censored at the last attended visit. The sensitivity analysis is
an ANCOVA of the last observation carried forward. Crossover data get the two-period analysis of
the within-subject differences (Jones and Kenward), which removes the period effect.

References
----------
.. [1] Altman DG (1998). Confidence intervals for the number needed to treat. BMJ 317:1309-1312.
   doi:10.1136/bmj.317.7168.1309
.. [2] Jones B, Kenward MG (2014). Design and Analysis of Cross-Over Trials, 3rd ed. CRC Press, ch. 2.
.. [3] Kaplan EL, Meier P (1958). Nonparametric estimation from incomplete observations. J Am Stat
   Assoc 53:457-481. doi:10.1080/01621459.1958.10501452
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError, check_level
from ..evidence.effect_sizes import escalc
from ..io import read_table
from ..mechanism.symptoms import RESPONSE_FRACTION, is_response, remitters
from .mmrm import MMRMResult, mmrm
from .protocol import visit_hours
from ..lazy import lazy_module
from ..display import NotebookDisplay, table_text

stats = lazy_module("scipy.stats")

REQUIRED = ("subject", "arm", "visit", "baseline", "value")
CONTROL_WORDS = ("placebo", "saline", "midazolam", "control", "vehicle", "sham")


def read_trial_csv(path: str | Path) -> pd.DataFrame:
    """Read and check a trial data file; errors name the file, the column or row and the reason."""
    p = Path(path)
    if not p.is_file():
        raise AdpharmInputError(f"{p}: data file not found")
    d = read_table(p, dtype={"subject": str, "arm": str, "visit": str})
    return check_trial_data(d, str(p))


def strata_covariates(d: pd.DataFrame) -> list[str]:
    """The randomisation-strata covariates of the primary MMRM: ``["stratum"]`` when the data carry the
    column (simulated trials of protocols that stratify), else none."""
    return ["stratum"] if "stratum" in d.columns else []


def check_trial_data(d: pd.DataFrame, where: str = "data") -> pd.DataFrame:
    missing = [c for c in REQUIRED if c not in d.columns]
    if missing:
        raise AdpharmInputError(f"{where}: missing column(s) {', '.join(missing)} (need {', '.join(REQUIRED)})")
    if d.empty:
        raise AdpharmInputError(f"{where}: no rows")
    d = d.copy()
    # the optional columns too: a text time_h once reached the analysis as strings
    for c in ("baseline", "value", *(c for c in ("time_h", "period") if c in d.columns)):
        num = pd.to_numeric(d[c], errors="coerce")
        bad = (num.isna() & d[c].notna()) | ~np.isfinite(num.fillna(0.0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise AdpharmInputError(f"{where}: row {i + 2}: column {c}: {str(d[c].iloc[i])[:40]!r} is not a number")
        d[c] = num
    for c in ("subject", "arm", "visit", *(["stratum"] if "stratum" in d.columns else [])):
        if d[c].isna().any():
            raise AdpharmInputError(f"{where}: row {int(np.flatnonzero(d[c].isna())[0]) + 2}: column {c} is empty")
        d[c] = d[c].astype(str)
    d = d.dropna(subset=["value"])
    if d["baseline"].isna().any():
        raise AdpharmInputError(f"{where}: row {int(np.flatnonzero(d['baseline'].isna())[0]) + 2}: baseline is empty")
    if "period" not in d.columns:
        d["period"] = 1
    nb = d.groupby(["subject", "period"])["baseline"].nunique()
    if (nb > 1).any():
        raise AdpharmInputError(f"{where}: subject {nb.index[nb > 1][0][0]!r} has more than one baseline in a period")
    dup = d.duplicated(["subject", "period", "visit"])
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise AdpharmInputError(f"{where}: row {i + 2}: subject {d['subject'].iloc[i]!r} has visit "
                                f"{d['visit'].iloc[i]!r} twice")
    return d


def reference_arm(arms: list[str], given: str | None = None) -> str:
    """The given arm, else the first arm whose name says placebo/control, else the first arm."""
    if given is not None:
        if given not in arms:
            raise AdpharmInputError(f"{given!r} is not an arm in the data ({', '.join(arms)})", field="reference")
        return given
    return next((a for a in arms if any(w in a.lower() for w in CONTROL_WORDS)), arms[0])


def visit_order(d: pd.DataFrame) -> list[str]:
    if "time_h" in d.columns and d["time_h"].notna().all():
        t = d.groupby("visit", sort=False)["time_h"].min()
        return list(t.sort_values(kind="stable").index)
    first = list(dict.fromkeys(d["visit"]))
    hours = [visit_hours(v) for v in first]
    if all(h is not None for h in hours):
        return [v for _, v in sorted(zip(hours, first), key=lambda x: x[0])]
    return first


def _visit_hours_map(d: pd.DataFrame, order: list[str]) -> dict[str, float] | None:
    if "time_h" in d.columns and d["time_h"].notna().all():
        return d.groupby("visit")["time_h"].min().to_dict()
    hours = {v: visit_hours(v) for v in order}
    return hours if all(h is not None for h in hours.values()) else None


def binary_comparison(x1: int, n1: int, x0: int, n0: int, level: float = 0.95) -> dict:
    """Odds ratio (Woolf), risk difference (Wald) and NNT of arm 1 against arm 0, with Fisher's exact p.

    The log odds ratio and its variance are :func:`~adpharm.evidence.effect_sizes.escalc`'s
    (``"OR"``: 0.5 added to every cell when a cell is zero, as metafor). The NNT interval inverts the
    risk-difference interval (Altman 1998); when that interval includes 0 the NNT interval runs
    through infinity and is reported as such.
    """
    z = stats.norm.ppf(0.5 + level / 2)
    p1, p0 = (x1 / n1 if n1 else float("nan")), (x0 / n0 if n0 else float("nan"))
    if min(n1, n0) == 0:
        return {"rate": p1, "rate_reference": p0, "n": n1, "n_reference": n0, "odds_ratio": None,
                "risk_difference": None, "nnt": None, "note": "an arm has no patients"}
    es = escalc("OR", pd.DataFrame({"ai": [x1], "n1i": [n1], "ci": [x0], "n2i": [n0]}))
    lor, se_lor = float(es.yi[0]), math.sqrt(float(es.vi[0]))
    rd = p1 - p0
    se_rd = math.sqrt(p1 * (1 - p1) / n1 + p0 * (1 - p0) / n0)
    rd_lo, rd_hi = rd - z * se_rd, rd + z * se_rd
    nnt = (1 / rd) if rd != 0 else float("inf")
    if rd_lo > 0 or rd_hi < 0:
        nnt_ci = sorted([1 / rd_hi, 1 / rd_lo])
        nnt_note = "NNT (benefit)" if rd > 0 else "NNT (harm: negative)"
    else:
        nnt_ci = None
        nnt_note = "risk-difference interval includes 0: the NNT interval runs through infinity"
    fisher_p = float(stats.fisher_exact([[x1, n1 - x1], [x0, n0 - x0]])[1])
    return {"rate": p1, "rate_reference": p0, "n": int(n1), "n_reference": int(n0), "events": int(x1),
            "events_reference": int(x0), "odds_ratio": math.exp(lor), "or_ci_lb": math.exp(lor - z * se_lor),
            "or_ci_ub": math.exp(lor + z * se_lor), "risk_difference": rd, "rd_ci_lb": rd_lo, "rd_ci_ub": rd_hi,
            "nnt": nnt, "nnt_ci": nnt_ci, "nnt_note": nnt_note, "fisher_p": fisher_p}


@dataclass
class TrialAnalysis(NotebookDisplay):
    """Every analysis of one data set."""

    design: str
    reference: str
    visits: list[str]
    mmrm: MMRMResult | None
    responders: list[dict]
    survival: dict | None
    ancova_locf: list[dict]
    crossover: list[dict]
    n_subjects: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        if self.mmrm is not None:
            return self.mmrm.summary()
        return pd.DataFrame(self.crossover)

    def to_dict(self) -> dict:
        return {"design": self.design, "reference": self.reference, "visits": self.visits,
                "n_subjects": self.n_subjects,
                "mmrm": self.mmrm.to_dict() if self.mmrm is not None else None,
                "responders": self.responders, "survival": self.survival, "ancova_locf": self.ancova_locf,
                "crossover": self.crossover or None, "notes": self.notes,
                "provenance": {"analysis": "adpharm.trials.analysis", "research_use_only": True}}

    def text(self) -> str:
        """Every analysis, a line or table each: MMRM contrasts, crossover, responders and remitters (missing =
        failure), time to response and ANCOVA/LOCF."""
        lines = []
        if self.mmrm is not None:
            lines.append(f"MMRM ({self.mmrm.to_dict()['model']}, {self.mmrm.df_method} df):")
            lines.append(table_text(self.mmrm.contrasts, ".4g"))
        if self.crossover:
            lines.append("crossover (period-adjusted):")
            lines.append(table_text(pd.DataFrame(self.crossover), ".4g"))
        for r in self.responders:
            m = r["missing_as_failure"]
            if m.get("odds_ratio") is None:
                continue
            oc = r.get("observed_cases") or {}
            oc_text = (f"; observed cases {oc['rate']:.3f} vs {oc['rate_reference']:.3f}"
                       if oc.get("rate") is not None and oc.get("rate_reference") is not None else "")
            nnt = "not estimable" if m["nnt"] is None or not math.isfinite(m["nnt"]) else f"{m['nnt']:.3g}"
            lines.append(f"{r['endpoint']} at {r['visit']} ({r['arm']} vs {r['reference']}, missing = failure): "
                         f"{m['rate']:.3f} vs {m['rate_reference']:.3f}, OR {m['odds_ratio']:.3g} "
                         f"[{m['or_ci_lb']:.3g}, {m['or_ci_ub']:.3g}], RD {m['risk_difference']:.3f}, NNT {nnt}{oc_text}")
        if self.survival:
            for t in self.survival["logrank"]:
                lines.append(f"time to response, log-rank {t['arm']} vs {t['reference']}: chi2 {t['chi2']:.3g}, p {t['p']:.3g}")
        for a in self.ancova_locf:
            lines.append(f"ANCOVA/LOCF at {a['visit']}: {a['estimate']:.3f} (SE {a['se']:.3f}), p {a['p']:.3g}")
        return "".join(f"{ln}\n" for ln in lines)

    def plot(self, ax=None):
        if self.mmrm is None:
            raise AdpharmInputError("plot: crossover data have no MMRM plot")
        return self.mmrm.plot(ax)


def analyse(data: pd.DataFrame, *, reference: str | None = None, visit: str | None = None,
            remission_threshold: float = 10.0, df_method: str = "satterthwaite", level: float = 0.95,
            baseline_by_visit: bool = True, strata: bool = True) -> TrialAnalysis:
    """Analyse long trial data (see the module docstring).

    Parameters
    ----------
    data : long data (checked by :func:`check_trial_data`).
    reference : the comparator arm (default: placebo/control by name, else the first arm).
    visit : the visit of the responder, survival-cut and ANCOVA analyses (default the last).
    remission_threshold : score at or below which a patient is in remission.
    df_method, level, baseline_by_visit : passed to :func:`adpharm.trials.mmrm.mmrm`.
    strata : with a ``stratum`` column (the randomisation strata), enter it in the MMRM as a covariate
        (the default of regulatory analysis plans); False leaves it out.

    Examples
    --------
    >>> from adpharm.trials.simulate import simulate_trial
    >>> res = analyse(simulate_trial("ssri-mdd-8wk", 30, seed=1).data)
    >>> type(res).__name__
    'TrialAnalysis'
    """
    check_level(level)
    if not 0 <= remission_threshold <= 60:
        raise AdpharmInputError(f"{remission_threshold!r} must be between 0 and 60", field="remission_threshold")
    d = check_trial_data(data)
    order = visit_order(d)
    if visit is not None and visit not in order:
        raise AdpharmInputError(f"{visit!r} is not a visit in the data ({', '.join(order)})", field="visit")
    arms = list(dict.fromkeys(d["arm"]))
    ref = reference_arm(arms, reference)
    notes: list[str] = []
    periods = sorted(d["period"].unique())
    design = "crossover" if len(periods) > 1 else "parallel"
    xo: list[dict] = []
    if design == "crossover":
        xo = crossover_analysis(d, ref, order, level)
        notes.append("crossover: MMRM, responders and survival use period 1 only (a parallel comparison)")
        d = d[d["period"] == periods[0]]
    post = [v for v in order if not np.allclose(d.loc[d["visit"] == v, "value"] - d.loc[d["visit"] == v, "baseline"], 0)]
    if not post:
        raise AdpharmInputError("no post-baseline visit (every value equals its baseline)", field="data")
    target = visit or post[-1]
    n_subj = {a: int(d.loc[d["arm"] == a, "subject"].nunique()) for a in arms}
    try:
        fit = mmrm(d, reference=ref, visits=order, df_method=df_method, level=level,
                   baseline_by_visit=baseline_by_visit, covariates=strata_covariates(d) if strata else ())
        notes += fit.not_estimable
    except AdpharmInputError as exc:
        fit = None
        notes.append(f"MMRM not fitted: {exc}")
    resp = responder_analysis(d, ref, arms, target, remission_threshold, level, notes)
    surv = survival_analysis(d, ref, arms, order, notes)
    anc = ancova_locf(d, ref, arms, order, target, level, notes)
    return TrialAnalysis(design=design, reference=ref, visits=order, mmrm=fit, responders=resp, survival=surv,
                         ancova_locf=anc, crossover=xo, n_subjects=n_subj, notes=notes)


def responder_analysis(d, ref, arms, target, thr, level, notes) -> list[dict]:
    subjects = d.groupby("subject", sort=False).agg(arm=("arm", "first"), baseline=("baseline", "first"))
    at = d[d["visit"] == target].set_index("subject")["value"]
    subjects["value"] = at
    out = []
    for kind, rule in (("response", is_response), ("remission", lambda v, b: remitters(v, thr))):
        hit = rule(subjects["value"], subjects["baseline"]).fillna(False)
        seen = subjects["value"].notna()
        for a in arms:
            if a == ref:
                continue
            m1, m0 = subjects["arm"] == a, subjects["arm"] == ref
            nri = binary_comparison(int(hit[m1].sum()), int(m1.sum()), int(hit[m0].sum()), int(m0.sum()), level)
            oc = binary_comparison(int(hit[m1 & seen].sum()), int((m1 & seen).sum()),
                                   int(hit[m0 & seen].sum()), int((m0 & seen).sum()), level)
            if (m1 & seen).sum() == 0 or (m0 & seen).sum() == 0:
                notes.append(f"{kind} at {target}: no patients left in {a if (m1 & seen).sum() == 0 else ref}")
            out.append({"endpoint": kind, "visit": target, "arm": a, "reference": ref,
                        "definition": (f"MADRS <= {RESPONSE_FRACTION:.0%} of baseline" if kind == "response"
                                       else f"score <= {thr:g}"),
                        "missing_as_failure": nri, "observed_cases": oc})
    return out


def survival_analysis(d, ref, arms, order, notes) -> dict | None:
    hours = _visit_hours_map(d, order)
    if hours is None:
        notes.append("time to response: visit times unknown (give time_h or labels such as 24h, day7, week6)")
        return None
    try:
        from lifelines import KaplanMeierFitter
        from lifelines.statistics import logrank_test
    except ImportError:  # pragma: no cover - the trials extra installs lifelines
        notes.append("time to response: lifelines is not installed (pip install adpharm[trials])")
        return None
    dd = d.assign(t_h=d["visit"].map(hours), resp=is_response(d["value"], d["baseline"]))
    dd = dd[dd["t_h"] > 0]
    rows = []
    for s, g in dd.groupby("subject", sort=False):
        g = g.sort_values("t_h")
        hit = g[g["resp"]]
        if len(hit):
            rows.append((s, g["arm"].iloc[0], float(hit["t_h"].iloc[0]), 1))
        else:
            rows.append((s, g["arm"].iloc[0], float(g["t_h"].iloc[-1]), 0))
    tt = pd.DataFrame(rows, columns=["subject", "arm", "time_h", "event"])
    out = {"endpoint": "time to first response (MADRS <= 50 % of baseline)", "unit": "day",
           "censoring": "at the last attended visit", "arms": {}}
    for a in arms:
        g = tt[tt["arm"] == a]
        if g.empty:
            continue
        km = KaplanMeierFitter().fit(g["time_h"] / 24.0, g["event"], label=a)
        med = float(km.median_survival_time_)
        sf = km.survival_function_[a]
        out["arms"][a] = {"n": int(len(g)), "events": int(g["event"].sum()),
                          "median_days": None if not math.isfinite(med) else med,
                          "cumulative_response": {f"{t:g}": round(1 - float(v), 6) for t, v in sf.items() if t > 0}}
    tests = []
    for a in arms:
        if a == ref:
            continue
        g1, g0 = tt[tt["arm"] == a], tt[tt["arm"] == ref]
        if g1.empty or g0.empty:
            continue
        lr = logrank_test(g1["time_h"], g0["time_h"], g1["event"], g0["event"])
        tests.append({"arm": a, "reference": ref, "chi2": float(lr.test_statistic), "p": float(lr.p_value)})
    out["logrank"] = tests
    return out


def ancova_locf(d, ref, arms, order, target, level, notes) -> list[dict]:
    import statsmodels.formula.api as smf
    rank = {v: i for i, v in enumerate(order)}
    upto = d[d["visit"].map(rank) <= rank[target]]
    last = upto.sort_values("visit", key=lambda s: s.map(rank), kind="stable").groupby("subject").tail(1)
    post = last.assign(change=last["value"] - last["baseline"],
                       arm=pd.Categorical(last["arm"], categories=[ref] + [a for a in arms if a != ref]))
    if post["arm"].nunique() < 2 or len(post) <= len(arms) + 1:
        notes.append(f"ANCOVA/LOCF at {target}: too few patients to fit")
        return []
    formula = "change ~ C(arm) + baseline"
    if post["baseline"].nunique() < 2:
        formula = "change ~ C(arm)"
        notes.append("ANCOVA/LOCF: every baseline is the same, fitted without the baseline covariate")
    fit = smf.ols(formula, data=post).fit()
    ci = fit.conf_int(alpha=1 - level)
    out = []
    for a in arms:
        if a == ref:
            continue
        name = f"C(arm)[T.{a}]"
        if name not in fit.params.index:
            continue
        out.append({"arm": a, "reference": ref, "visit": target, "method": "ANCOVA, last observation carried forward",
                    "estimate": float(fit.params[name]), "se": float(fit.bse[name]), "df": float(fit.df_resid),
                    "ci_lb": float(ci.loc[name, 0]), "ci_ub": float(ci.loc[name, 1]), "p": float(fit.pvalues[name]),
                    "n": int(fit.nobs)})
    return out


def crossover_analysis(d: pd.DataFrame, ref: str, order: list[str], level: float = 0.95) -> list[dict]:
    """Two-period crossover: treatment effect on change from the period baseline at each visit.

    With ``y_1, y_2`` a subject's changes in periods 1 and 2, the half period differences
    ``(y_1 - y_2) / 2`` are compared between the two sequences with a two-sample t-test; half the
    difference of the sequence means estimates the treatment effect free of the period effect
    (Jones and Kenward 2014, section 2.3).
    """
    periods = sorted(d["period"].unique())
    if len(periods) != 2:
        raise AdpharmInputError(f"crossover analysis: needs two periods, the data have {len(periods)}")
    arms = list(dict.fromkeys(d["arm"]))
    active = [a for a in arms if a != ref]
    if len(active) != 1:
        raise AdpharmInputError(f"crossover analysis: needs one arm besides {ref!r}, the data have {active}")
    act = active[0]
    q = stats.norm.ppf(0.5 + level / 2)
    seq = d[d["period"] == periods[0]].groupby("subject")["arm"].first()
    out = []
    for v in order:
        s = d[d["visit"] == v].assign(change=lambda x: x["value"] - x["baseline"])
        w = s.pivot_table(index="subject", columns="period", values="change")
        if w.shape[1] < 2:
            continue
        w = w.dropna()
        if w.empty or np.allclose(w.to_numpy(), 0):
            continue
        half = (w[periods[0]] - w[periods[1]]) / 2
        g_ab = half[seq.reindex(half.index) == act]   # active first
        g_ba = half[seq.reindex(half.index) == ref]
        if len(g_ab) < 2 or len(g_ba) < 2:
            out.append({"visit": v, "arm": act, "reference": ref, "estimate": None,
                        "note": "fewer than two complete subjects in a sequence"})
            continue
        est, se, df = _pooled_difference(g_ab, g_ba)
        tq = stats.t.ppf(0.5 + level / 2, df) if df > 0 else q
        t = est / se if se > 0 else float("nan")
        out.append({"visit": v, "arm": act, "reference": ref, "method": "two-period crossover (period-adjusted)",
                    "estimate": est, "se": se, "df": float(df), "ci_lb": est - tq * se, "ci_ub": est + tq * se,
                    "p": float(2 * stats.t.sf(abs(t), df)), "n_complete": int(len(half)),
                    **_carryover(w[periods[0]] + w[periods[1]], seq, act, ref)})
    return out


def _pooled_difference(a: pd.Series, b: pd.Series) -> tuple[float, float, int]:
    """Difference of two group means with its pooled-variance standard error and degrees of freedom."""
    df = len(a) + len(b) - 2
    sp2 = ((len(a) - 1) * a.var() + (len(b) - 1) * b.var()) / df
    return float(a.mean() - b.mean()), float(math.sqrt(sp2 * (1 / len(a) + 1 / len(b)))), df


def _carryover(total: pd.Series, seq: pd.Series, act: str, ref: str) -> dict:
    """Carry-over check of a 2x2 crossover: the subjects' totals over both periods compared between the
    sequences with a two-sample t-test (Grizzle 1965; Jones and Kenward 2014, section 2.5, where its low power
    is why it is read at the 10 % level). A difference means the first period's treatment is still acting in
    the second, and the period-adjusted estimate is biased."""
    a = total[seq.reindex(total.index) == act]
    b = total[seq.reindex(total.index) == ref]
    if len(a) < 2 or len(b) < 2:
        return {"carryover_estimate": None, "carryover_p": None}
    est, se, df = _pooled_difference(a, b)
    return {"carryover_estimate": est, "carryover_p": float(2 * stats.t.sf(abs(est / se), df)) if se > 0 else None}
