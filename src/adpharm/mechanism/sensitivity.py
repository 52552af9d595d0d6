"""Which parameters control onset, duration and size of the effect: local and Morris sensitivity.

Both methods run the typical patient (typical PK, median placebo response, unit sensitivity, no
rater error) so that only the model parameters vary, and evaluate all parameter points at once as
one vectorised population (each "patient" carries its own parameter values).

Outputs, from the typical patient's mean separation from placebo (MADRS points):

- ``onset_h``: first time the separation reaches the onset threshold (linear interpolation);
- ``duration_h``: time from onset until the separation falls back below the threshold (censored at
  the end of the simulation if it never does);
- ``peak_separation_madrs``: the largest separation.

Local coefficients are normalised (elasticities, d ln y / d ln p) by central differences of
ln y over +-1 % steps in every parameter (exact for power laws). The Morris screen moves each
parameter over a log-uniform range ``[value / span, value * span]`` (fractions of a whole
capped below 1; half-saturation constants ``k_*`` are not fractions of a whole) on a
``levels``-point grid along ``trajectories`` random one-at-a-time paths, and reports mu* (mean absolute elementary effect,
Campolongo 2007) and sigma (interaction or non-linearity).

References
----------
.. [1] Morris MD (1991). Factorial sampling plans for preliminary computational experiments.
   Technometrics 33(2):161-174. doi:10.1080/00401706.1991.10484804
.. [2] Campolongo F, Cariboni J, Saltelli A (2007). An effective screening design for sensitivity
   analysis of large models. Environ Model Softw 22(10):1509-1518. doi:10.1016/j.envsoft.2006.10.004
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..pharmacology.model import REFERENCE_WEIGHT_KG
from ..pharmacology.simulate import PatientCovariates
from ..errors import AdpharmInputError
from ..io import jsonable
from ..knowledge.loader import KnowledgeBase, or_bundled
from .model import CascadeModel, load
from .simulate import ONSET_THRESHOLD_MADRS, check_arguments, model_version, prepare, solve
from .symptoms import madrs
from ..display import NotebookDisplay, table_text

METRICS = ("onset_h", "duration_h", "peak_separation_madrs")
#: symptom-model parameters that act on the typical patient's separation from placebo
SYMPTOM_PARAMETERS = ("madrs_baseline_mean", "placebo_contact_median_frac", "placebo_expectancy_median_frac",
                      "placebo_tau_days", "placebo_expectancy_decay_days", "placebo_expectancy_persist_frac",
                      "placebo_contact_tau_days")
METHODS = ("morris", "local")
LOCAL_STEP = 0.01
MAX_POINTS = 20_000


def sensitivity_times(days: float) -> np.ndarray:
    """Quarter-hour outputs over the first three days (ketamine's onset), then every 2 h."""
    end = days * 24.0
    fine = np.arange(0.0, min(end, 72.0) + 1e-9, 0.25)
    coarse = np.arange(74.0, end + 1e-9, 2.0) if end > 72.0 else np.array([])
    t = np.unique(np.round(np.concatenate([fine, coarse, [end]]), 9))
    return t


def metrics(times_h: np.ndarray, separation: np.ndarray, threshold: float) -> dict[str, np.ndarray]:
    """Onset, duration (NaN if the separation never falls back) and peak for each row of ``separation``."""
    n = separation.shape[0]
    onset = np.full(n, np.nan)
    offset = np.full(n, np.nan)
    above = separation >= threshold
    for i in range(n):
        hit = np.nonzero(above[i])[0]
        if not hit.size:
            continue
        j = hit[0]
        if j == 0:
            onset[i] = times_h[0]
        else:
            y0, y1 = separation[i, j - 1], separation[i, j]
            onset[i] = times_h[j - 1] + (threshold - y0) / (y1 - y0) * (times_h[j] - times_h[j - 1])
        peak = int(np.argmax(separation[i]))
        below = np.nonzero(~above[i, peak:])[0]
        if below.size:
            k = peak + below[0]
            y0, y1 = separation[i, k - 1], separation[i, k]
            offset[i] = times_h[k - 1] + (y0 - threshold) / (y0 - y1) * (times_h[k] - times_h[k - 1])
    return {"onset_h": onset, "duration_h": offset - onset, "peak_separation_madrs": separation.max(axis=1)}


@dataclass
class SensitivityResult(NotebookDisplay):
    """Sensitivity of onset, duration and peak effect to every varied parameter."""

    method: str
    label: str
    regimen: str
    days: float
    parameters: list[str]
    nominal: dict[str, float]
    table: pd.DataFrame            # one row per parameter and metric
    baseline_metrics: dict[str, float]
    settings: dict
    model: CascadeModel

    def summary(self) -> pd.DataFrame:
        """The table, most influential first within each metric."""
        key = "mu_star" if self.method == "morris" else "abs_coefficient"
        df = self.table.copy()
        if self.method == "local":
            df["abs_coefficient"] = df["coefficient"].abs()
        df = df.sort_values(["metric", key], ascending=[True, False], na_position="last")
        return df.drop(columns=["abs_coefficient"], errors="ignore").reset_index(drop=True)

    def text(self) -> str:
        """The regimen, the method, the typical patient's onset, duration and peak, and the table."""
        nm = ", ".join(f"{k} {v:.4g}" if v == v else f"{k} not reached" for k, v in self.baseline_metrics.items())
        return (f"{self.label}: {self.regimen}; {self.method} sensitivity, typical patient ({nm})\n"
                + table_text(self.summary(), ".4g") + "\n")

    def ranking(self, metric: str) -> list[str]:
        """Parameters ordered by influence on ``metric``."""
        s = self.summary()
        return s.loc[s.metric == metric, "parameter"].tolist()

    def to_dict(self) -> dict:
        return {
            "method": self.method, "drug": self.label, "regimen": self.regimen, "days": self.days,
            "nominal_metrics": jsonable(self.baseline_metrics),
            "results": jsonable(self.summary().to_dict(orient="records")),
            "settings": self.settings,
            "provenance": {"model": model_version(self.model), "seed": self.settings.get("seed"),
                           "patient": "typical patient (typical PK, median placebo response, unit sensitivity, "
                                      "no rater error)",
                           "method": ("Morris elementary effects, mu* and sigma (Morris 1991; Campolongo 2007)"
                                      if self.method == "morris" else
                                      f"normalised local coefficients d ln y / d ln p, central differences of "
                                      f"+-{LOCAL_STEP:.0%}"),
                           "research_use_only": True},
        }

    def plot(self, axes=None):
        """Morris: mu* against sigma per metric; local: bar chart of coefficients per metric."""
        from ..figures import pyplot
        plt = pyplot()
        if axes is None:
            _, axes = plt.subplots(1, len(METRICS), figsize=(4.2 * len(METRICS), 4.2), constrained_layout=True)
        s = self.summary()
        for ax, m in zip(np.ravel(axes), METRICS):
            d = s[s.metric == m]
            if self.method == "morris":
                ax.scatter(d.mu_star, d.sigma, s=14)
                for _, r in d.head(6).iterrows():
                    ax.annotate(r.parameter, (r.mu_star, r.sigma), fontsize=6)
                ax.set(xlabel="mu* (per unit of the log range)", ylabel="sigma", title=m)
            else:
                d = d.head(12)[::-1]
                ax.barh(d.parameter, d.coefficient)
                ax.tick_params(axis="y", labelsize=6)
                ax.set(xlabel="d ln y / d ln p", title=m)
        np.ravel(axes)[0].figure.suptitle(f"Sensitivity ({self.method}) of {self.label}: {self.regimen}; "
                                          f"{model_version(self.model)}; research use only", fontsize=8)
        return axes


def _elasticity(up: float, down: float, base: float) -> float:
    """d ln y / d ln p from values at p (1 + h) and p / (1 + h): log differences (exact for power laws)
    when both are positive, else the relative central difference."""
    h = math.log(1 + LOCAL_STEP)
    if up > 0 and down > 0:
        return (math.log(up) - math.log(down)) / (2 * h)
    return (up - down) / (2 * h) / base if base else float("nan")


def _bounds(model: CascadeModel, name: str, span: float) -> tuple[float, float]:
    v = model.parameters[name].value
    lo, hi = v / span, v * span
    if name.endswith("_frac") and not name.startswith("k_"):   # fractions of a whole stay below 1
        hi = min(hi, 0.99)
        lo = min(lo, hi)
    return lo, hi


def _values(model: CascadeModel, names: list[str], unit: np.ndarray, span: float) -> dict[str, np.ndarray]:
    """Parameter arrays for points ``unit`` (points x parameters) in [0, 1], log-uniform over the bounds."""
    out = {}
    for j, name in enumerate(names):
        lo, hi = _bounds(model, name, span)
        out[name] = np.exp(math.log(lo) + unit[:, j] * (math.log(hi) - math.log(lo)))
    return out


def morris_design(k: int, trajectories: int, levels: int, rng: np.random.Generator) -> tuple[np.ndarray, list]:
    """Points (trajectories * (k + 1), k) on the unit grid and, per step, (trajectory, parameter, delta)."""
    delta = levels / (2.0 * (levels - 1))
    grid = np.arange(levels) / (levels - 1)
    pts, steps = [], []
    for r in range(trajectories):
        x = rng.choice(grid, size=k)
        pts.append(x.copy())
        for j in rng.permutation(k):
            d = delta if x[j] + delta <= 1 + 1e-12 else -delta
            x[j] += d
            pts.append(x.copy())
            steps.append((r, int(j), d))
    return np.array(pts), steps


def sensitivity(regimen: tuple[str, str], days: float, *, method: str = "morris", parameters: list[str] | None = None,
                trajectories: int = 20, levels: int = 4, span: float = 2.0, seed: int | None = 0,
                onset_threshold: float = ONSET_THRESHOLD_MADRS, weight_kg: float = REFERENCE_WEIGHT_KG,
                model: CascadeModel | None = None, kb: KnowledgeBase | None = None) -> SensitivityResult:
    """Sensitivity of onset time, duration and peak separation to the model's parameters.

    Parameters
    ----------
    regimen : ``(drug, regimen)``.
    days : simulated days (long enough for the effect to appear and fade).
    method : ``"morris"`` (global screening) or ``"local"`` (normalised derivatives at the nominal values).
    parameters : names to vary; default every parameter upstream of the plasticity state plus the
        symptom parameters that act on the typical patient.
    trajectories, levels, span : Morris design (paths, grid levels, range factor around each value).
    seed : seeds the Morris design (the typical patient involves no other random draw).

    Returns
    -------
    SensitivityResult
    """
    kb = or_bundled(kb)
    model = model or load()
    if method not in METHODS:
        raise AdpharmInputError(f"{method!r} is not one of {', '.join(METHODS)}", field="method")
    regs = check_arguments(regimen, days, 1, onset_threshold=onset_threshold)
    if len(regs) != 1:
        raise AdpharmInputError("give one drug with its regimen", field="regimen")
    names = parameters or [*model.parameters_upstream_of("plasticity"), *SYMPTOM_PARAMETERS]
    for name in names:
        if name not in model.parameters:
            raise AdpharmInputError(f"parameter {name!r}: not in the model (see adpharm mechanism parameters)")
    if not (isinstance(trajectories, int) and 2 <= trajectories <= 1000):
        raise AdpharmInputError(f"{trajectories!r} must be a whole number from 2 to 1000", field="trajectories")
    if not (isinstance(levels, int) and levels >= 2 and levels % 2 == 0):
        raise AdpharmInputError(f"{levels!r} must be an even whole number of at least 2", field="levels")
    if not (math.isfinite(span) and 1.0 < span <= 100.0):
        raise AdpharmInputError(f"{span!r} must be above 1 and at most 100", field="span")
    names = list(dict.fromkeys(names))
    k = len(names)
    nominal = np.array([model.parameters[nm].value for nm in names])
    if method == "local":
        factors = np.ones((2 * k + 1, k))
        for j in range(k):
            factors[1 + 2 * j, j] = 1 + LOCAL_STEP
            factors[2 + 2 * j, j] = 1 / (1 + LOCAL_STEP)
        values = {nm: nominal[j] * factors[:, j] for j, nm in enumerate(names)}
    else:
        rng = np.random.default_rng(seed)
        unit, steps = morris_design(k, trajectories, levels, rng)
        values = {nm: np.concatenate([[nominal[j]], v]) for j, (nm, v) in enumerate(_values(model, names, unit, span).items())}
    n_points = len(next(iter(values.values())))   # row 0 is the nominal point in both methods
    if n_points > MAX_POINTS:
        raise AdpharmInputError(f"{trajectories} paths x {k + 1} points is more than {MAX_POINTS:,} runs",
                                field="trajectories")
    times = sensitivity_times(days)
    setup = prepare(regs, days, n_points, seed, model, kb, covariates=PatientCovariates(weight_kg=weight_kg),
                    params=values, times_h=times, typical=True)
    out = solve(model, setup, record_mean=())
    zero = np.zeros_like(out["plasticity"])
    sep = madrs(setup.patients, zero, times, setup.params) - madrs(setup.patients, out["plasticity"], times, setup.params)
    y = metrics(times, sep, onset_threshold)
    rows = []
    base = {m: float(y[m][0]) for m in METRICS}
    if method == "local":
        for j, nm in enumerate(names):
            for m in METRICS:
                up, down = y[m][1 + 2 * j], y[m][2 + 2 * j]
                coef = _elasticity(up, down, base[m])
                rows.append({"parameter": nm, "basis": model.parameters[nm].basis, "metric": m,
                             "value": float(nominal[j]), "coefficient": float(coef)})
        settings = {"step": LOCAL_STEP, "onset_threshold": onset_threshold, "seed": seed}
    else:
        horizon = float(times[-1])
        censored = {m: int(np.isnan(y[m][1:]).sum()) for m in METRICS}
        filled = {"onset_h": np.where(np.isnan(y["onset_h"]), horizon, y["onset_h"]),
                  "duration_h": np.where(np.isnan(y["duration_h"]),
                                         horizon - np.nan_to_num(y["onset_h"], nan=horizon), y["duration_h"]),
                  "peak_separation_madrs": y["peak_separation_madrs"]}
        ee = {m: [[] for _ in names] for m in METRICS}
        per = k + 1
        for idx, (r, j, d) in enumerate(steps):
            a = 1 + r * per + (idx - r * k)
            for m in METRICS:
                ee[m][j].append((filled[m][a + 1] - filled[m][a]) / d)
        for j, nm in enumerate(names):
            lo, hi = _bounds(model, nm, span)
            for m in METRICS:
                e = np.array(ee[m][j])
                rows.append({"parameter": nm, "basis": model.parameters[nm].basis, "metric": m,
                             "value": float(nominal[j]), "low": lo, "high": hi,
                             "mu_star": float(np.mean(np.abs(e))), "mu": float(np.mean(e)),
                             "sigma": float(np.std(e, ddof=1)) if e.size > 1 else float("nan")})
        settings = {"trajectories": trajectories, "levels": levels, "span": span, "seed": seed, "runs": n_points - 1,
                    "onset_threshold": onset_threshold, "censored_runs": censored,
                    "censoring": "runs with no onset or no offset within the simulation are given the horizon"}
    d, r = regs[0]
    return SensitivityResult(method=method, label=d, regimen=str(r), days=float(days), parameters=names,
                             nominal=dict(zip(names, nominal.tolist())), table=pd.DataFrame(rows),
                             baseline_metrics=base, settings=settings, model=model)
