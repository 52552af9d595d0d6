"""Group comparisons of nested data: several slices (or cells) from each animal, where the animal,
not the slice, is the experimental unit.

Slices from one animal are not independent, so a t test over slices inflates the false-positive
rate. The comparison here is a linear mixed model with a random intercept per animal, fitted by
REML, with each group tested against the control on the between-animal degrees of freedom
(number of animals minus number of groups; the containment rule of ``nlme::lme``), and a t-based
confidence interval. When every animal gave one slice the model reduces to a comparison of
animals, and Welch's t test with Hedges' g is used. A group with fewer than two animals is not
tested: its spread between animals is unknown.

References
----------
Aarts E, Verhage M, Veenvliet JV, Dolan CV, van der Sluis S (2014). A solution to dependency:
using multilevel analysis to accommodate nested data. Nat Neurosci 17:491-496.
doi:10.1038/nn.3648 (PMID 24671065)
Pinheiro JC, Bates DM (2000). Mixed-Effects Models in S and S-PLUS. Springer, section 2.4.2
(denominator degrees of freedom of ``lme``). doi:10.1007/b98882
"""
from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..lazy import lazy_module
from . import stats as gstats

__all__ = ["nested_comparison"]

stats = lazy_module("scipy.stats")


def nested_comparison(df: pd.DataFrame, value: str, group: str, cluster: str, control: str | None = None,
                      unit: str = "slice", cluster_unit: str = "animal", level: float = 0.95) -> dict[str, Any]:
    """Each group against ``control`` for ``value`` measured on units nested in clusters.

    Parameters
    ----------
    df : DataFrame
        One row per unit (slice) with ``value``, ``group`` and ``cluster`` (animal) columns.
    control : str, optional
        The reference group (default: the first group in the table).
    unit, cluster_unit : str
        Names of the measured unit and of the independent unit, used in the text.

    Returns
    -------
    dict
        ``primary`` (the declared test with each comparison's difference in means, CI and p, n per
        group in animals and slices), ``animal_means`` (Welch's t on animal means, a sensitivity
        check), ``icc`` (share of variance between animals) and ``notes``; or ``not_done`` with the
        reason when a group has fewer than two animals.

    Examples
    --------
    >>> d = pd.DataFrame({"group": ["veh"] * 6 + ["drug"] * 6, "animal": list("aabbccddeeff"),
    ...                   "pct": [80, 84, 90, 88, 76, 79, 101, 99, 95, 97, 104, 108.0]})
    >>> r = nested_comparison(d, "pct", "group", "animal", control="veh")
    >>> r["primary"]["test"], r["primary"]["comparisons"][0]["df"]
    ('linear mixed model, random intercept per animal (REML)', 4.0)
    >>> round(r["primary"]["comparisons"][0]["estimate"], 2)
    17.83
    """
    for c in (value, group, cluster):
        if c not in df.columns:
            raise AdpharmInputError(f"missing column {c!r}")
    data = df[[value, group, cluster]].dropna().copy()
    data[cluster] = data[cluster].astype(str)
    levels = list(dict.fromkeys(data[group].astype(str)))
    data[group] = data[group].astype(str)
    control = levels[0] if control is None else str(control)
    if len(levels) < 2:
        raise AdpharmInputError(f"column {group!r}: need at least two groups, found {levels}")
    if control not in levels:
        raise AdpharmInputError(f"control group {control!r} is not in column {group!r} ({', '.join(levels)})")
    crossed = data.groupby(cluster)[group].nunique()
    if (crossed > 1).any():
        raise AdpharmInputError(f"{cluster_unit} {crossed.index[crossed > 1][0]!r} appears in two groups; "
                                f"this comparison needs each {cluster_unit} in one group")
    n_cl = data.groupby(group, sort=False)[cluster].nunique().reindex(levels)
    n_un = data.groupby(group, sort=False).size().reindex(levels)
    n = {lv: {cluster_unit + "s": int(n_cl[lv]), unit + "s": int(n_un[lv])} for lv in levels}
    few = [lv for lv in levels if n_cl[lv] < 2]
    if few:
        return {"not_done": f"group {few[0]!r} has {int(n_cl[few[0]])} {cluster_unit}; a test between groups needs "
                            f"at least 2 {cluster_unit}s per group ({unit}s from one {cluster_unit} are not independent)",
                "n": n, "notes": []}
    means = data.groupby([group, cluster], sort=False)[value].mean().reset_index()
    sens = gstats.compare_groups(means, value, group, control=control, unit=cluster_unit)
    if (data.groupby(cluster).size() == 1).all():
        primary = sens["primary"] | {"n": {lv: int(n_cl[lv]) for lv in levels}}
        primary["notes"] = primary.get("notes", []) + [f"one {unit} per {cluster_unit}: {cluster_unit}s compared directly"]
        return {"primary": primary, "n": n, "notes": []}
    fit = _mixed(data, value, group, cluster, control, levels, level)
    others = [lv for lv in levels if lv != control]
    notes = []
    if len(others) > 1:
        notes.append(f"{len(others)} comparisons against {control!r}, not adjusted for multiplicity")
    if fit["boundary"]:
        notes.append(f"the between-{cluster_unit} variance is estimated at zero (ICC 0): the model equals a "
                     f"{unit}-level regression with {cluster_unit}-level degrees of freedom")
    primary = {"test": f"linear mixed model, random intercept per {cluster_unit} (REML)",
               "effect": "difference in means", "unit": f"{cluster_unit} ({unit}s nested)",
               "n": {lv: int(n_cl[lv]) for lv in levels}, "notes": [],
               "comparisons": [{"comparison": f"{c['level']} vs {control}", **{k: v for k, v in c.items() if k != "level"}}
                               for c in fit["comparisons"]]}
    return {"primary": primary, "n": n, "icc": fit["icc"], "variance": fit["variance"],
            "animal_means": {"test": "Welch's t test on animal means", "primary": sens["primary"]}
            if len(levels) == 2 else {"test": "Dunnett's test on animal means", "primary": sens["primary"]},
            "notes": notes}


def _mixed(data: pd.DataFrame, value: str, group: str, cluster: str, control: str, levels: list[str],
           level: float) -> dict[str, Any]:
    """REML random-intercept fit; contrasts of each level against ``control`` on between-cluster df."""
    from statsmodels.regression.mixed_linear_model import MixedLM
    others = [lv for lv in levels if lv != control]
    X = np.column_stack([np.ones(len(data))] + [(data[group] == lv).to_numpy(float) for lv in others])
    y = data[value].to_numpy(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = MixedLM(y, X, groups=data[cluster].to_numpy()).fit(reml=True, method=["lbfgs", "powell"])
    var_c = float(np.asarray(fit.cov_re).ravel()[0])
    var_e = float(fit.scale)
    # generalised least squares at the REML variances: the fixed effects and their covariance
    # (X' V^-1 X)^-1 as nlme reports them (statsmodels' bse_fe comes from the joint Hessian)
    codes = pd.factorize(data[cluster])[0]
    Z = np.eye(codes.max() + 1)[codes]
    Vinv = np.linalg.inv(var_c * Z @ Z.T + var_e * np.eye(len(y)))
    cov = np.linalg.inv(X.T @ Vinv @ X)
    beta = cov @ X.T @ Vinv @ y
    df_between = float(data[cluster].nunique() - len(levels))
    tq = float(stats.t.ppf(0.5 + level / 2, df_between))
    comps = []
    for k, lv in enumerate(others, start=1):
        est, se = float(beta[k]), float(np.sqrt(cov[k, k]))
        t = est / se
        comps.append({"level": lv, "estimate": est, "se": se, "t": t, "df": df_between,
                      "pval": float(2 * stats.t.sf(abs(t), df_between)),
                      "ci_low": est - tq * se, "ci_high": est + tq * se})
    total = var_c + var_e
    return {"comparisons": comps, "variance": {"between": var_c, "within": var_e},
            "icc": var_c / total if total > 0 else None, "boundary": var_c <= 1e-8 * max(total, 1e-300)}
