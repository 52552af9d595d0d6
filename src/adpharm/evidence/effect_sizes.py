"""Effect sizes and sampling variances, like metafor's ``escalc``.

References
----------
Viechtbauer W (2010). Conducting meta-analyses in R with the metafor package. J Stat Softw
36(3):1-48. doi:10.18637/jss.v036.i03
Hedges LV (1981). Distribution theory for Glass's estimator of effect size and related
estimators. J Educ Stat 6(2):107-128. doi:10.3102/10769986006002107
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import get_args, Literal

import numpy as np
import pandas as pd
from scipy.special import gammaln

from ..errors import AdpharmInputError, reject
from ..lazy import lazy_module

stats = lazy_module("scipy.stats")

Measure = Literal["OR", "RR", "RD", "SMD", "MD"]
MEASURES = get_args(Measure)
#: metafor's generic outcome: precomputed ``yi`` with ``vi`` or ``sei``, on whatever scale they are given
GENERIC = "GEN"
RATIO_MEASURES = ("OR", "RR")


@dataclass
class EffectSizes:
    """Observed outcomes ``yi`` and sampling variances ``vi`` per study (ratio measures on the log scale)."""

    yi: np.ndarray
    vi: np.ndarray
    measure: str
    study: list[str]
    #: what the computation did that a reader should know (double-zero studies, non-whole counts)
    notes: list[str] = field(default_factory=list)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({"study": self.study, "yi": self.yi, "vi": self.vi})

    summary = to_frame

    def __len__(self) -> int:
        return len(self.yi)

    def subset(self, index) -> "EffectSizes":
        """The studies at positions ``index`` (a boolean mask or integer positions)."""
        idx = np.flatnonzero(index) if np.asarray(index).dtype == bool else np.asarray(index, int)
        return EffectSizes(self.yi[idx], self.vi[idx], self.measure, [self.study[i] for i in idx], list(self.notes))

    def to_dict(self) -> dict:
        return {"measure": self.measure, "study": list(self.study), "yi": self.yi.tolist(), "vi": self.vi.tolist()}


def wald_interval(y, se, level: float = 0.95):
    """Normal-theory (Wald) interval ``y -/+ z se``: one study's interval, as metafor prints it."""
    crit = float(stats.norm.ppf(0.5 + level / 2))
    return y - crit * se, y + crit * se


def hedges_g(md, sd_pooled, n1, n2):
    """Hedges' g with the exact small-sample correction and metafor's default large-sample variance
    (``escalc("SMD")``), from a mean difference and the pooled SD; arrays or scalars.

    References
    ----------
    Hedges LV (1981). J Educ Stat 6(2):107-128. doi:10.3102/10769986006002107
    """
    mi = n1 + n2 - 2
    cmi = np.exp(gammaln(mi / 2) - 0.5 * np.log(mi / 2) - gammaln((mi - 1) / 2))
    g = cmi * md / sd_pooled
    return g, 1 / n1 + 1 / n2 + g ** 2 / (2 * (n1 + n2))


def numeric_column(df: pd.DataFrame, name: str, source: str, integer: bool = False) -> np.ndarray:
    if name not in df.columns:
        raise AdpharmInputError(f"{source}: missing column {name!r}")
    x = pd.to_numeric(df[name], errors="coerce")
    reject(x.isna() & df[name].notna(),
            lambda i: f"{source}: column {name!r} row {i + 1}: {df[name].iloc[i]!r} is not a number")
    reject(x.isna(), lambda i: f"{source}: column {name!r} row {i + 1}: missing value")
    arr = x.to_numpy(dtype=float)
    if integer:
        reject(arr < 0, lambda i: f"{source}: column {name!r} row {i + 1}: negative count {arr[i]:g}")
    return arr


def fractional_count_note(df: pd.DataFrame, columns, source: str) -> str | None:
    """A note naming the count columns of ``df`` that hold non-whole values, or None.

    Imputed counts (for example responders imputed from a continuous outcome, as in the GRISELDA
    registry of Cipriani et al. 2018) are not whole numbers; metafor's ``escalc`` takes them as they are,
    and so does adpharm, saying so."""
    hits = []
    for c in columns:
        if c in df.columns:
            x = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=float)
            k = int(np.sum(np.isfinite(x) & (x != np.round(x))))
            if k:
                hits.append(f"{c} ({k} row{'s' if k > 1 else ''}, e.g. row {int(np.flatnonzero(np.isfinite(x) & (x != np.round(x)))[0]) + 1})")
    if not hits:
        return None
    return (f"{source}: non-whole counts in {', '.join(hits)}: taken as given (imputed counts), as metafor's "
            f"escalc does")


def arm_counts(df: pd.DataFrame, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Arm-level events ``xi`` and totals ``ni``, checked: whole, non-negative, ``ni > 0``, ``xi <= ni``."""
    xi, ni = numeric_column(df, "xi", source, integer=True), numeric_column(df, "ni", source, integer=True)
    reject(ni <= 0, lambda i: f"{source}: column 'ni' row {i + 1}: group size must be positive")
    reject(xi > ni, lambda i: f"{source}: row {i + 1}: events xi={xi[i]:g} exceed the total ni={ni[i]:g}")
    return xi, ni


def _two_by_two(df: pd.DataFrame, source: str) -> tuple[np.ndarray, ...]:
    """(ai, n1i, ci, n2i) from ``ai, bi, ci, di`` or ``ai, n1i, ci, n2i`` columns."""
    ai, ci = numeric_column(df, "ai", source, True), numeric_column(df, "ci", source, True)
    if "n1i" in df.columns and "n2i" in df.columns:
        n1, n2 = numeric_column(df, "n1i", source, True), numeric_column(df, "n2i", source, True)
    elif "bi" in df.columns and "di" in df.columns:
        n1, n2 = ai + numeric_column(df, "bi", source, True), ci + numeric_column(df, "di", source, True)
    else:
        raise AdpharmInputError(f"{source}: missing columns: need bi and di, or n1i and n2i, beside ai and ci")
    for ev, n, en, nn in ((ai, n1, "ai", "n1i"), (ci, n2, "ci", "n2i")):
        reject(ev > n, lambda i: f"{source}: row {i + 1}: events {en}={ev[i]:g} exceed the total {nn}={n[i]:g}")
        reject(n <= 0, lambda i: f"{source}: row {i + 1}: group size {nn} must be positive")
    return ai, n1, ci, n2


def escalc(measure: Measure | None, data: pd.DataFrame, add: float = 0.5, to: Literal["only0", "all", "none"] = "only0",
           source: str = "data") -> EffectSizes:
    """Compute effect sizes like ``metafor::escalc``.

    Parameters
    ----------
    measure : {"OR", "RR", "RD", "SMD", "MD"} or None
        Log odds ratio, log risk ratio, risk difference, standardised mean difference (Hedges' g,
        exact bias correction) or raw mean difference. None with precomputed ``yi`` is metafor's
        generic outcome (``GEN``); a measure given with ``yi`` labels its scale.
    data : DataFrame
        Columns as in metafor: ``ai, bi, ci, di`` or ``ai, n1i, ci, n2i`` for events; ``m1i, sd1i,
        n1i, m2i, sd2i, n2i`` for means; or ``yi, vi`` / ``yi, sei`` given directly. ``study`` names rows.
    add, to : float, {"only0", "all", "none"}
        Continuity correction for OR and RR: add ``add`` to every cell of tables with a zero cell
        (``only0``, metafor's default), of all tables (``all``), or never. RD needs none.
    source : str
        Name of the input (file name) used in error messages.

    Returns
    -------
    EffectSizes

    Examples
    --------
    >>> import pandas as pd
    >>> es = escalc("OR", pd.DataFrame({"ai": [10, 12], "n1i": [50, 60], "ci": [5, 6], "n2i": [50, 60]}))
    >>> [round(float(y), 3) for y in es.yi]
    [0.811, 0.811]
    """
    if measure is None:
        if "yi" not in data.columns:
            raise AdpharmInputError(f"one of {', '.join(MEASURES)} is needed to compute effect sizes from the arm "
                                    f"data of {source}, or columns yi with vi or sei", field="measure")
        measure = GENERIC
    elif measure not in MEASURES:
        raise AdpharmInputError(f"{measure!r} is not one of {', '.join(MEASURES)}", field="measure")
    if to not in ("only0", "all", "none"):
        raise AdpharmInputError(f"{to!r} is not one of only0, all, none", field="to")
    if len(data) == 0:
        raise AdpharmInputError(f"{source}: no rows")
    study = [str(s) for s in data["study"]] if "study" in data.columns else [str(i + 1) for i in range(len(data))]
    if "yi" in data.columns:
        yi = numeric_column(data, "yi", source)
        if "vi" in data.columns:
            vi = numeric_column(data, "vi", source)
        elif "sei" in data.columns:
            vi = numeric_column(data, "sei", source) ** 2
        else:
            raise AdpharmInputError(f"{source}: missing column 'vi' or 'sei' beside 'yi'")
        reject(vi <= 0, lambda i: f"{source}: row {i + 1}: sampling variance must be positive")
        return EffectSizes(yi, vi, measure, study)

    if measure in ("OR", "RR", "RD"):
        ai, n1, ci, n2 = _two_by_two(data, source)
        bi, di = n1 - ai, n2 - ci
        notes = [n for n in [fractional_count_note(data, ["ai", "bi", "ci", "di", "n1i", "n2i"], source)] if n]
        double = np.flatnonzero(((ai == 0) & (ci == 0)) | ((bi == 0) & (di == 0)))
        if double.size and measure in RATIO_MEASURES:
            names = ", ".join(study[i] for i in double[:5]) + (" ..." if double.size > 5 else "")
            notes.append(f"{double.size} double-zero stud{'y' if double.size == 1 else 'ies'} (no events, or only "
                         f"events, in both groups: {names}) kept with the {add:g} continuity correction, as metafor's "
                         f"escalc does by default (drop00 = FALSE); they carry little weight")
        if measure in RATIO_MEASURES and to != "none":
            zero = (ai == 0) | (bi == 0) | (ci == 0) | (di == 0)
            corr = np.full(len(ai), add) if to == "all" else np.where(zero, add, 0.0)
            ai, bi, ci, di = ai + corr, bi + corr, ci + corr, di + corr
            n1, n2 = ai + bi, ci + di
        with np.errstate(divide="ignore", invalid="ignore"):
            if measure == "OR":
                yi = np.log(ai * di / (bi * ci))
                vi = 1 / ai + 1 / bi + 1 / ci + 1 / di
            elif measure == "RR":
                yi = np.log((ai / n1) / (ci / n2))
                vi = 1 / ai - 1 / n1 + 1 / ci - 1 / n2
            else:
                p1, p2 = ai / n1, ci / n2
                yi = p1 - p2
                vi = p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2
        reject(~(np.isfinite(yi) & np.isfinite(vi) & (vi > 0)),
                lambda i: f"{source}: row {i + 1} ({study[i]}): effect size undefined "
                          f"(zero cells without a continuity correction, or no variance)")
        return EffectSizes(yi, vi, measure, study, notes)

    m1, s1, n1 = (numeric_column(data, c, source) for c in ("m1i", "sd1i", "n1i"))
    m2, s2, n2 = (numeric_column(data, c, source) for c in ("m2i", "sd2i", "n2i"))
    for arr, name in ((s1, "sd1i"), (s2, "sd2i")):
        reject(arr < 0, lambda i: f"{source}: column {name!r} row {i + 1}: negative standard deviation")
    for arr, name in ((n1, "n1i"), (n2, "n2i")):
        reject(arr < 2, lambda i: f"{source}: column {name!r} row {i + 1}: group size must be at least 2")
    if measure == "MD":
        return EffectSizes(m1 - m2, s1 ** 2 / n1 + s2 ** 2 / n2, measure, study)
    sdp = np.sqrt(((n1 - 1) * s1 ** 2 + (n2 - 1) * s2 ** 2) / (n1 + n2 - 2))
    yi, vi = hedges_g(m1 - m2, sdp, n1, n2)
    return EffectSizes(yi, vi, measure, study)
