"""Group statistics shared by the assays: two-group tests (Student, Welch, Mann-Whitney) with
Hedges' g, several groups (one-way ANOVA, Kruskal-Wallis, Tukey HSD, Dunnett versus control),
normality checks and detection of duplicated measurements.

References
----------
Dunnett CW (1955). A multiple comparison procedure for comparing several treatments with a
control. J Am Stat Assoc 50:1096-1121. doi:10.1080/01621459.1955.10501294
Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related
estimators. J Educ Stat 6:107-128. doi:10.3102/10769986006002107
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import gammaln

from ..errors import AdpharmInputError


def hedges_g(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> dict[str, float]:
    """Bias-corrected standardised mean difference (x minus y) with a large-sample interval."""
    n1, n2 = len(x), len(y)
    m = n1 + n2 - 2
    sp = np.sqrt(((n1 - 1) * np.var(x, ddof=1) + (n2 - 1) * np.var(y, ddof=1)) / m)
    j = np.exp(gammaln(m / 2) - 0.5 * np.log(m / 2) - gammaln((m - 1) / 2))
    g = j * (np.mean(x) - np.mean(y)) / sp
    se = np.sqrt(1 / n1 + 1 / n2 + g ** 2 / (2 * (n1 + n2)))
    z = stats.norm.ppf(0.5 + level / 2)
    return {"g": float(g), "ci_lb": float(g - z * se), "ci_ub": float(g + z * se)}


def describe(df: pd.DataFrame, value: str, group: str) -> pd.DataFrame:
    """n, mean, SD, SEM and median per group."""
    g = df.groupby(group, sort=False)[value]
    out = pd.DataFrame({"n": g.size(), "mean": g.mean(), "sd": g.std(ddof=1), "median": g.median()})
    out["sem"] = out["sd"] / np.sqrt(out["n"])
    return out


def compare_groups(df: pd.DataFrame, value: str, group: str, control: str | None = None) -> dict[str, Any]:
    """Tests of ``value`` between the levels of ``group``, chosen by the number of groups.

    Two groups: Student's and Welch's t tests, Mann-Whitney U, Hedges' g (first level minus
    control). Three or more: one-way ANOVA, Kruskal-Wallis, Tukey HSD and, with ``control``,
    Dunnett's test of each group against it. Shapiro-Wilk per group is reported alongside.
    """
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
    out: dict[str, Any] = {"groups": describe(data, value, group).reset_index().to_dict(orient="records"),
                           "normality": {str(lv): (float(stats.shapiro(x).pvalue) if len(x) >= 3 else None)
                                         for lv, x in xs.items()}}
    if len(levels) == 2:
        ctrl = control if control is not None else levels[0]
        other = next(lv for lv in levels if lv != ctrl)
        x, y = xs[other], xs[ctrl]
        out.update({"comparison": f"{other} vs {ctrl}",
                    "student_t": _t(stats.ttest_ind(x, y, equal_var=True)),
                    "welch_t": _t(stats.ttest_ind(x, y, equal_var=False)),
                    "mann_whitney": _u(stats.mannwhitneyu(x, y)),
                    "hedges_g": hedges_g(x, y)})
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


def duplicated_values(df: pd.DataFrame, id_col: str, cols: list[str]) -> list[dict[str, Any]]:
    """Different animals carrying identical measurements (copied rows): one entry per repeated value set."""
    sub = df[[id_col, *cols]].dropna()
    out = []
    for key, g in sub.groupby(cols, sort=False):
        ids = list(dict.fromkeys(g[id_col].astype(str)))
        if len(ids) > 1:
            out.append({"values": dict(zip(cols, key if isinstance(key, tuple) else (key,))), "ids": ids})
    return out
