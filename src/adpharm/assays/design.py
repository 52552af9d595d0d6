"""Statistics that follow an experiment's design: factors crossed with treatment (strain), blocks
(batch, cohort) and bounded outcomes (a fraction or percent of time).

Every effect is tested with Type II sums of squares (or deviances): each term against the model
holding every other term that does not contain it, the F statistic against the full model's
residual mean square (or, for a bounded fraction, its Pearson dispersion). A fraction such as
immobility time is fitted as a fractional logit (quasi-binomial GLM), which keeps predictions
inside 0-1, takes exact zeros and models the variance shrinking towards the bounds, instead of an
arcsine or raw-scale analysis.

References
----------
Papke LE, Wooldridge JM (1996). Econometric methods for fractional response variables with an
application to 401(k) plan participation rates. J Appl Econometrics 11:619-632.
doi:10.1002/(SICI)1099-1255(199611)11:6<619::AID-JAE418>3.0.CO;2-1
Warton DI, Hui FKC (2011). The arcsine is asinine: the analysis of proportions in ecology.
Ecology 92:3-10. doi:10.1890/10-0340.1
Fox J, Weisberg S (2019). An R Companion to Applied Regression, 3rd ed. Sage (``car::Anova``,
Type II tests).
"""
from __future__ import annotations

import warnings
from typing import Any, Literal, Sequence, get_args

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..lazy import lazy_module

__all__ = ["Family", "FAMILIES", "design_anova", "adjusted_effect", "two_way_anova"]

stats = lazy_module("scipy.stats")

Family = Literal["gaussian", "quasibinomial"]
FAMILIES: tuple[str, ...] = get_args(Family)
_METHOD = {"gaussian": "linear model (ANOVA), Type II sums of squares",
           "quasibinomial": "fractional logit (quasi-binomial GLM), Type II deviance F tests"}


def _frame(df: pd.DataFrame, value: str, factors: Sequence[str], blocks: Sequence[str],
           family: str) -> tuple[pd.DataFrame, dict[str, str]]:
    """The model frame with safe names (``y``, ``f0``, ``f1``, ``b0`` ...) and their user names."""
    if family not in FAMILIES:
        raise AdpharmInputError(f"family {family!r} is not one of {', '.join(FAMILIES)}")
    names = {f"f{i}": c for i, c in enumerate(factors)} | {f"b{i}": c for i, c in enumerate(blocks)}
    for c in (value, *names.values()):
        if c not in df.columns:
            raise AdpharmInputError(f"missing column {c!r}")
    data = df[[value, *names.values()]].dropna()
    data = pd.DataFrame({"y": pd.to_numeric(data[value], errors="coerce"),
                         **{k: data[c].astype(str) for k, c in names.items()}}).dropna()
    if family == "quasibinomial" and ((data["y"] < 0) | (data["y"] > 1)).any():
        raise AdpharmInputError(f"column {value!r}: a fraction between 0 and 1 is needed for the fractional logit")
    for k, c in names.items():
        if data[k].nunique() < 2:
            raise AdpharmInputError(f"column {c!r}: need at least two levels")
    return data, names


def _fit(formula: str, data: pd.DataFrame, family: str):
    import statsmodels.formula.api as smf
    from statsmodels.genmod.families import Binomial   # not statsmodels.api: it imports the plotting and time-series code
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if family == "gaussian":
            return smf.ols(formula, data=data).fit()
        return smf.glm(formula, data=data, family=Binomial()).fit(scale="X2")


def _loss(fit, family: str) -> float:
    return float(fit.ssr if family == "gaussian" else fit.deviance)


def design_anova(df: pd.DataFrame, value: str, factors: Sequence[str], blocks: Sequence[str] = (),
                 family: Family = "gaussian") -> dict[str, Any]:
    """Type II tests of crossed ``factors`` (with their interaction) and additive ``blocks``.

    Parameters
    ----------
    df : DataFrame
        One row per unit (animal).
    value : str
        Outcome column; a fraction 0-1 when ``family`` is ``"quasibinomial"``.
    factors : sequence of str
        One or two crossed factors (e.g. treatment and strain); two get their interaction.
    blocks : sequence of str
        Nuisance factors entered additively (e.g. batch).
    family : {"gaussian", "quasibinomial"}
        Linear model, or fractional logit for a bounded fraction.

    Returns
    -------
    dict
        ``effects`` (effect, df, F, pval; ``partial_eta2`` for the linear model), ``residual_df``,
        ``n``, ``dispersion`` (residual mean square or Pearson dispersion) and ``method``.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"trt": np.tile(["veh", "drug"], 20), "strain": np.repeat(["A", "B"], 20)})
    >>> d["y"] = rng.normal(size=40) + (d["trt"] == "drug") * 2.0
    >>> r = design_anova(d, "y", ["trt", "strain"])
    >>> [e["effect"] for e in r["effects"]], r["residual_df"]
    (['trt', 'strain', 'trt:strain'], 36.0)

    References
    ----------
    Same as R's ``car::Anova(lm(value ~ blocks + a * b), type = 2)`` or, for fractions,
    ``car::Anova(glm(..., family = quasibinomial), type = 2, test = "F")``.
    """
    if not 1 <= len(factors) <= 2:
        raise AdpharmInputError("design_anova: give one or two crossed factors")
    data, names = _frame(df, value, factors, blocks, family)
    fs = [k for k in names if k.startswith("f")]
    bs = [k for k in names if k.startswith("b")]
    terms = {k: f"C({k})" for k in bs + fs}
    if len(fs) == 2:
        terms[":".join(fs)] = f"C({fs[0]}):C({fs[1]})"

    fits: dict[frozenset, Any] = {}

    def fit(keep):
        """The model of the terms ``keep``, fitted once (the full model and shared submodels recur)."""
        key = frozenset(keep)
        if key not in fits:
            fits[key] = _fit("y ~ " + (" + ".join(terms[t] for t in terms if t in key) if key else "1"), data, family)
        return fits[key]
    full = fit(list(terms))
    df_res = float(full.df_resid)
    if df_res < 1:
        raise AdpharmInputError(f"{value!r}: no residual degrees of freedom left for this design ({len(data)} rows)")
    scale = _loss(full, family) / df_res if family == "gaussian" else float(full.pearson_chi2) / df_res
    rows = []
    for t in terms:
        parts = set(t.split(":"))
        # Type II: the model of every term not containing t, with and without t
        base = [u for u in terms if u != t and not (parts < set(u.split(":")))]
        with_t = fit(base + [t])
        without = fit(base)
        ddf = float(without.df_resid - with_t.df_resid)
        dl = _loss(without, family) - _loss(with_t, family)
        F = (dl / ddf) / scale if ddf > 0 and scale > 0 else None
        label = ":".join(names[p] for p in t.split(":"))
        r = {"effect": label, "df": ddf, "F": F, "pval": None if F is None else float(stats.f.sf(F, ddf, df_res))}
        if family == "gaussian":
            r["ss"] = dl
            r["partial_eta2"] = dl / (dl + _loss(full, family))
        rows.append(r)
    return {"method": _METHOD[family], "family": family, "effects": rows, "residual_df": df_res,
            "n": int(len(data)), "dispersion": scale,
            "blocks": [names[b] for b in bs], "factors": [names[f] for f in fs]}


def adjusted_effect(df: pd.DataFrame, value: str, treatment: str, control: str, covariates: Sequence[str] = (),
                    family: Family = "gaussian", level: float = 0.95) -> list[dict[str, Any]]:
    """Each treatment level against ``control``, adjusted for additive ``covariates`` (strain, batch).

    The coefficient of the level in ``value ~ covariates + treatment``, with its standard error,
    t test on the residual degrees of freedom and a t-based confidence interval. For the fractional
    logit the coefficient is a log odds ratio and ``odds_ratio`` with its interval is added.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(2)
    >>> d = pd.DataFrame({"trt": np.tile(["veh", "drug"], 30), "batch": np.repeat(list("abc"), 20)})
    >>> d["y"] = 1 + (d["trt"] == "drug") * 0.5 + rng.normal(scale=0.1, size=60)
    >>> r = adjusted_effect(d, "y", "trt", "veh", ["batch"])
    >>> r[0]["level"], round(r[0]["estimate"], 1)
    ('drug', 0.5)
    """
    data, names = _frame(df, value, [treatment], covariates, family)
    if control not in set(data["f0"]):
        raise AdpharmInputError(f"control group {control!r} is not in column {treatment!r}")
    data["f0"] = pd.Categorical(data["f0"], categories=[control, *sorted(set(data["f0"]) - {control})])
    rhs = " + ".join([f"C({k})" for k in names if k.startswith("b")] + ["f0"])
    fit = _fit(f"y ~ {rhs}", data, family)
    df_res = float(fit.df_resid)
    tq = float(stats.t.ppf(0.5 + level / 2, df_res))
    out = []
    for lv in data["f0"].cat.categories[1:]:
        key = f"f0[T.{lv}]"
        est, se = float(fit.params[key]), float(fit.bse[key])
        t = est / se
        r = {"level": str(lv), "vs": str(control), "estimate": est, "se": se, "t": t, "df": df_res,
             "pval": float(2 * stats.t.sf(abs(t), df_res)), "ci_low": est - tq * se, "ci_high": est + tq * se,
             "n": int((data["f0"] == lv).sum()), "n_control": int((data["f0"] == control).sum()),
             "scale": "log odds ratio" if family == "quasibinomial" else "difference in means",
             "adjusted_for": [names[k] for k in names if k.startswith("b")]}
        if family == "quasibinomial":
            r.update({"odds_ratio": float(np.exp(est)), "or_ci_low": float(np.exp(r["ci_low"])),
                      "or_ci_high": float(np.exp(r["ci_high"]))})
        out.append(r)
    return out


def two_way_anova(df: pd.DataFrame, value: str, a: str, b: str) -> dict[str, Any]:
    """Two-way ANOVA with interaction, Type II sums of squares (each main effect adjusted for the
    other; the interaction last), F tests against the full model's residual, partial eta squared.

    The same as R's ``car::Anova(lm(value ~ a * b), type = 2)``: :func:`design_anova` with two factors.
    """
    r = design_anova(df, value, [a, b])
    r["method"] = "two-way ANOVA, Type II sums of squares"
    return r
