"""Group statistics shared by the assays: two-group tests (Student, Welch, Mann-Whitney) with
Hedges' g, several groups (one-way ANOVA, Kruskal-Wallis, Tukey HSD, Dunnett versus control),
normality checks and detection of duplicated measurements.

References
----------
Grubbs FE (1969). Procedures for detecting outlying observations in samples. Technometrics
11:1-21. doi:10.1080/00401706.1969.10490657
Dunnett CW (1955). A multiple comparison procedure for comparing several treatments with a
control. J Am Stat Assoc 50:1096-1121. doi:10.1080/01621459.1955.10501294
Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related
estimators. J Educ Stat 6:107-128. doi:10.3102/10769986006002107
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..evidence.effect_sizes import hedges_g
from ..lazy import lazy_module

stats = lazy_module("scipy.stats")


def group_smd(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Hedges' g of two samples (x minus y) with a large-sample interval: the pooled SD of the samples
    put through :func:`adpharm.evidence.effect_sizes.hedges_g`, the one home of the formula."""
    n1, n2 = len(x), len(y)
    sp = np.sqrt(((n1 - 1) * np.var(x, ddof=1) + (n2 - 1) * np.var(y, ddof=1)) / (n1 + n2 - 2))
    g, v = hedges_g(np.mean(x) - np.mean(y), sp, n1, n2)
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(v)
    return {"g": float(g), "ci_lb": float(g - half), "ci_ub": float(g + half)}


def grubbs(x: np.ndarray, alpha: float = 0.05) -> dict[str, Any] | None:
    """Two-sided Grubbs test for one outlier (normal data): G = max|x - mean| / SD against
    G_crit = (n - 1) / sqrt(n) * sqrt(t^2 / (n - 2 + t^2)), t the upper alpha/(2n) point of t(n - 2).
    None below three values or with no spread."""
    x = np.asarray(x, float)
    n = len(x)
    sd = np.std(x, ddof=1) if n >= 3 else 0.0
    if n < 3 or sd == 0:
        return None
    i = int(np.argmax(np.abs(x - x.mean())))
    g = float(abs(x[i] - x.mean()) / sd)
    t = stats.t.ppf(1 - alpha / (2 * n), n - 2)
    crit = float((n - 1) / np.sqrt(n) * np.sqrt(t ** 2 / (n - 2 + t ** 2)))
    return {"G": g, "critical": crit, "alpha": alpha, "index": i, "value": float(x[i]), "outlier": g > crit}


def describe(df: pd.DataFrame, value: str, group: str) -> pd.DataFrame:
    """n, mean, SD, SEM and median per group."""
    g = df.groupby(group, sort=False)[value]
    out = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=1), "median": g.median()})
    out["sem"] = out["sd"] / np.sqrt(out["n"])
    return out


def compare_groups(df: pd.DataFrame, value: str, group: str, control: str | None = None,
                   unit: str = "animal") -> dict[str, Any]:
    """Tests of ``value`` between the levels of ``group``, chosen by the number of groups.

    Two groups: Student's and Welch's t tests, Mann-Whitney U, Hedges' g (first level minus
    control). Three or more: one-way ANOVA, Kruskal-Wallis, Tukey HSD and, with ``control``,
    Dunnett's test of each group against it. Shapiro-Wilk and Grubbs' outlier test per group are
    reported alongside (flags for the reader; nothing is removed).

    Degenerate data give no number rather than a misleading one: a group without spread is not tested
    for normality, and when no group varies at all the parametric tests, Hedges' g and the rank tests
    are null. ``notes`` says why in each case. No numerical warning is printed.

    ``primary`` declares the test to read first, with its effect size, interval, p and n per group of
    ``unit`` (animal, cage, lane): Welch's t with Hedges' g for two groups; Dunnett's test against the
    control (or the one-way ANOVA without one) for more.

    Examples
    --------
    >>> d = pd.DataFrame({"g": ["veh"] * 4 + ["drug"] * 4, "y": [5.0, 6, 7, 6, 3, 4, 2, 3]})
    >>> r = compare_groups(d, "y", "g", control="veh", unit="cage")
    >>> r["primary"]["test"], r["primary"]["unit"], r["primary"]["n"]
    ("Welch's t test", 'cage', {'veh': 4, 'drug': 4})
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _compare_groups(df, value, group, control)
    out["primary"] = _primary(out, df.dropna(subset=[value]).groupby(group, sort=False).size(), unit)
    return out


def _primary(st: dict[str, Any], n: pd.Series, unit: str) -> dict[str, Any]:
    """The declared primary test of :func:`compare_groups`' output."""
    p = {"unit": unit, "n": {str(k): int(v) for k, v in n.items()}, "notes": []}
    if "comparison" in st:
        g, w = st.get("hedges_g"), st.get("welch_t")
        return p | {"test": "Welch's t test", "effect": "Hedges' g",
                    "comparisons": [{"comparison": st["comparison"], "estimate": g and g["g"],
                                     "ci_low": g and g["ci_lb"], "ci_high": g and g["ci_ub"],
                                     "pval": w and w["pval"]}]}
    if st.get("dunnett") is not None:
        return p | {"test": "Dunnett's test against the control", "effect": "difference in means",
                    "comparisons": [{"comparison": f"{r['group']} vs {r['vs']}", "estimate": r["diff"],
                                     "ci_low": None, "ci_high": None, "pval": r["pval"]} for r in st["dunnett"]]}
    a = st.get("anova")
    return p | {"test": "one-way ANOVA", "effect": "F",
                "comparisons": [{"comparison": "all groups", "estimate": a and a["F"], "ci_low": None,
                                 "ci_high": None, "pval": a and a["pval"]}]}


def _compare_groups(df: pd.DataFrame, value: str, group: str, control: str | None) -> dict[str, Any]:
    for c in (value, group):
        if c not in df.columns:
            raise AdpharmInputError(f"missing column {c!r}")
    data = df[[group, value]].dropna()
    levels = list(dict.fromkeys(data[group]))
    if len(levels) < 2:
        raise AdpharmInputError(f"column {group!r}: need at least two groups, found {levels}")
    if control is not None and control not in levels:
        raise AdpharmInputError(f"control group {control!r} is not in column {group!r} ({', '.join(map(str, levels))})")
    xs = {lv: data.loc[data[group] == lv, value].to_numpy(float) for lv in levels}
    small = [lv for lv, x in xs.items() if len(x) < 2]
    if small:
        raise AdpharmInputError(f"group {small[0]!r} has fewer than two values")
    spread = {lv: bool(np.ptp(x) > 0) for lv, x in xs.items()}
    notes = [f"group {str(lv)!r}: all values are equal, so normality is not tested"
             for lv, x in xs.items() if len(x) >= 3 and not spread[lv]]
    out: dict[str, Any] = {"groups": describe(data, value, group).reset_index().to_dict(orient="records"),
                           "normality": {str(lv): (float(stats.shapiro(x).pvalue) if len(x) >= 3 and spread[lv] else None)
                                         for lv, x in xs.items()},
                           "outliers": {str(lv): grubbs(x) for lv, x in xs.items()}, "notes": notes}
    flat = not any(spread.values())
    if flat:
        notes.append("no group varies: the t tests, ANOVA, Hedges' g and the rank tests are undefined (null)")
    if len(levels) == 2:
        ctrl = control if control is not None else levels[0]
        other = next(lv for lv in levels if lv != ctrl)
        x, y = xs[other], xs[ctrl]
        out["comparison"] = f"{other} vs {ctrl}"
        if flat:
            out.update({"student_t": None, "welch_t": None, "mann_whitney": None, "hedges_g": None})
            return out
        out.update({"student_t": _t(stats.ttest_ind(x, y, equal_var=True)),
                    "welch_t": _t(stats.ttest_ind(x, y, equal_var=False)),
                    "mann_whitney": _u(stats.mannwhitneyu(x, y)),
                    "hedges_g": group_smd(x, y)})
        return out
    if flat:
        out.update({"anova": None, "kruskal": None, "tukey": None})
        if control is not None:
            out["dunnett"] = None
        return out
    samples = [xs[lv] for lv in levels]
    an = stats.f_oneway(*samples)
    kw = stats.kruskal(*samples)
    tk = stats.tukey_hsd(*samples)
    out.update({"anova": {"F": float(an.statistic), "pval": float(an.pvalue),
                          "df": [len(levels) - 1, int(sum(map(len, samples)) - len(levels))]},
                "kruskal": {"H": float(kw.statistic), "pval": float(kw.pvalue)},
                "tukey": [{"a": str(levels[i]), "b": str(levels[j]), "diff": float(np.mean(samples[i]) - np.mean(samples[j])),
                           "pval": float(tk.pvalue[i, j])} for i in range(len(levels)) for j in range(i + 1, len(levels))]})
    if control is not None:
        others = [lv for lv in levels if lv != control]
        dn = stats.dunnett(*[xs[lv] for lv in others], control=xs[control], random_state=0)  # seeded: same bytes every run
        out["dunnett"] = [{"group": str(lv), "vs": str(control), "diff": float(np.mean(xs[lv]) - np.mean(xs[control])),
                           "pval": float(p)} for lv, p in zip(others, dn.pvalue)]
    return out


def _u(r) -> dict[str, float]:
    return {"U": float(r.statistic), "pval": float(r.pvalue)}


def _t(r) -> dict[str, float]:
    return {"t": float(r.statistic), "df": float(r.df), "pval": float(r.pvalue)}


def fold_change_tests(df: pd.DataFrame, value: str, group: str, control: str) -> dict[str, Any]:
    """Each group's fold change against its control, when every blot (or batch) was normalised to its own control.

    Normalising to the control makes the control lanes carry no between-blot variance (one control lane per blot
    gives exactly 1.000 ± 0), so the control is not a group to put into an ANOVA or Dunnett's test. Instead each
    other group's log2 fold change is tested against 0 (one-sample t-test, n = its lanes), with its geometric-mean
    fold change and 95 % CI, and the p-values are Holm-adjusted across groups.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["c"] * 3 + ["d"] * 3, "fc": [1.0, 1.0, 1.0, 2.1, 1.8, 2.4]})
    >>> r = fold_change_tests(t, "fc", "group", "c")
    >>> r["tests"][0]["group"], r["tests"][0]["n"]
    ('d', 3)
    """
    data = df[[group, value]].dropna()
    data = data[data[value] > 0]
    if control not in set(data[group]):
        raise AdpharmInputError(f"control group {control!r} is not in column {group!r}")
    ctrl = data.loc[data[group] == control, value].to_numpy(float)
    rows, notes = [], []
    for lv in [g for g in dict.fromkeys(data[group]) if g != control]:
        x = np.log2(data.loc[data[group] == lv, value].to_numpy(float))
        if len(x) < 2:
            notes.append(f"group {str(lv)!r}: fewer than two lanes, not tested")
            continue
        m, se = float(x.mean()), float(x.std(ddof=1) / np.sqrt(len(x)))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = stats.ttest_1samp(x, 0.0)
        tcrit = float(stats.t.ppf(0.975, len(x) - 1))
        rows.append({"group": str(lv), "n": int(len(x)), "fold_change": float(2 ** m),
                     "ci_low": float(2 ** (m - tcrit * se)), "ci_high": float(2 ** (m + tcrit * se)),
                     "t": float(t.statistic) if np.isfinite(t.statistic) else None,
                     "p": float(t.pvalue) if np.isfinite(t.pvalue) else None})
        if len(x) < 3:
            notes.append(f"group {str(lv)!r}: n = {len(x)} lanes, little power; read it as descriptive")
    ps = [(i, r["p"]) for i, r in enumerate(rows) if r["p"] is not None]
    order = sorted(ps, key=lambda ip: ip[1])
    running = 0.0
    for rank, (i, p) in enumerate(order):       # Holm step-down, monotone
        running = max(running, min(1.0, (len(order) - rank) * p))
        rows[i]["p_holm"] = running
    return {"method": ("each blot normalised to its own control lanes, so the control carries no between-blot "
                       "variance and is not a test group; each group's log2 fold change tested against 0 "
                       "(one-sample t-test, n = lanes), Holm-adjusted across groups"),
            "control": {"group": str(control), "n": int(len(ctrl)), "mean": float(ctrl.mean()) if len(ctrl) else None,
                        "sd": float(ctrl.std(ddof=1)) if len(ctrl) > 1 else None},
            "tests": rows, "notes": notes}


def duplicated_values(df: pd.DataFrame, id_col: str, cols: list[str]) -> list[dict[str, Any]]:
    """Different animals carrying identical measurements (copied rows): one entry per repeated value set."""
    sub = df[[id_col, *cols]].dropna()
    out = []
    for key, g in sub.groupby(cols, sort=False):
        ids = list(dict.fromkeys(g[id_col].astype(str)))
        if len(ids) > 1:
            out.append({"values": dict(zip(cols, key if isinstance(key, tuple) else (key,))), "ids": ids})
    return out


def mixed_anova(df: pd.DataFrame, value: str, subject: str, within: str, between: str | None = None) -> dict[str, Any]:
    """Repeated-measures ANOVA, with an optional between-subjects factor (split-plot design).

    Every subject needs every level of ``within`` (one value each). Sums of squares are those of
    R's ``aov(value ~ between * within + Error(subject / within))``; the within-subject tests also
    carry the Greenhouse-Geisser epsilon (from the pooled within-group covariance of the levels)
    and the corrected p value.

    References
    ----------
    Greenhouse SW, Geisser S (1959). On methods in the analysis of profile data. Psychometrika
    24:95-112. doi:10.1007/BF02289823
    """
    cols = [value, subject, within] + ([between] if between else [])
    for c in cols:
        if c not in df.columns:
            raise AdpharmInputError(f"missing column {c!r}")
    d = df[cols].dropna()
    wide = d.pivot_table(index=subject, columns=within, values=value, aggfunc="count")
    if (wide.fillna(0) != 1).any().any():
        bad = wide.index[(wide.fillna(0) != 1).any(axis=1)][0]
        raise AdpharmInputError(f"subject {bad!r}: needs exactly one {value!r} at every level of {within!r}")
    y = d.pivot_table(index=subject, columns=within, values=value)
    n, k = y.shape
    if k < 2 or n < 3:
        raise AdpharmInputError(f"repeated measures need at least two levels of {within!r} and three subjects")
    grp = (d.groupby(subject)[between].first().reindex(y.index).astype(str) if between
           else pd.Series("all", index=y.index))
    if between and grp.nunique() < 2:
        raise AdpharmInputError(f"column {between!r}: need at least two groups")
    Y = y.to_numpy(float)
    m = Y.mean()
    subj_mean = Y.mean(axis=1)
    z = Y - subj_mean[:, None]
    levels = list(dict.fromkeys(grp))
    G = len(levels)
    ss_w = n * float(((Y.mean(axis=0) - m) ** 2).sum())
    ss_wg = sum(float(((z[(grp == g).to_numpy()].mean(axis=0)) ** 2).sum()) * int((grp == g).sum()) for g in levels)
    ss_err_w = float((z ** 2).sum()) - ss_wg
    df_w, df_err_w = k - 1, (n - G) * (k - 1)
    resid = np.vstack([Y[(grp == g).to_numpy()] - Y[(grp == g).to_numpy()].mean(axis=0) for g in levels])
    S = resid.T @ resid / (n - G)
    C = np.linalg.qr(np.vstack([np.ones(k), np.eye(k)[:-1]]).T)[0][:, 1:].T   # orthonormal contrasts
    M = C @ S @ C.T
    eps = float(np.trace(M) ** 2 / ((k - 1) * np.trace(M @ M)))
    ms_err_w = ss_err_w / df_err_w
    out = []

    def row(effect, ss, df1, df2, ms_err, within_effect):
        F = (ss / df1) / ms_err
        r = {"effect": effect, "df": float(df1), "df_error": float(df2), "ss": ss, "F": float(F),
             "pval": float(stats.f.sf(F, df1, df2))}
        if within_effect:
            r.update({"gg_epsilon": eps, "pval_gg": float(stats.f.sf(F, df1 * eps, df2 * eps))})
        return r
    if between:
        ss_subj = k * float(((subj_mean - m) ** 2).sum())
        ss_b = k * sum(int((grp == g).sum()) * (float(subj_mean[(grp == g).to_numpy()].mean()) - m) ** 2 for g in levels)
        ss_err_b = ss_subj - ss_b
        out.append(row(between, ss_b, G - 1, n - G, ss_err_b / (n - G), False))
    out.append(row(within, ss_w, df_w, df_err_w, ms_err_w, True))
    if between:
        out.append(row(f"{between}:{within}", ss_wg - ss_w, (G - 1) * (k - 1), df_err_w, ms_err_w, True))
    return {"method": ("mixed (split-plot) ANOVA" if between else "repeated-measures ANOVA")
            + ", Greenhouse-Geisser corrected p for within-subject effects",
            "effects": out, "subjects": int(n), "levels": [str(c) for c in y.columns]}
