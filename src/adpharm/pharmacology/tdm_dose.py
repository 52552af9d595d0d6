"""A dose proposal from measured levels: the patient's own clearance by Bayesian estimation with the
population model as prior, and the dose that puts the expected level in the target range.

This is what dosing software for TDM does (a maximum a posteriori, "Bayesian forecasting" estimate
[1]_ [2]_). The prior is the drug's population model: the virtual patients of :func:`adpharm.pk.tdm`
with their sourced between-subject variability. Each measured level (an analyte or the sum a range
is for) enters through a proportional, log-normal residual error. The posterior is represented by
importance weights on the virtual patients (sampling-importance resampling), so every interval is a
posterior quantile. The maximum a posteriori (MAP) random effects are found by minimising

    0.5 eta' Omega^-1 eta + 0.5 sum_j ((log y_j - log f_j(eta)) / sigma)^2

from the best-weighted virtual patient. The proposed dose is the one, in the drug's usual steps, whose
posterior median level at steady state (same time after a dose) is closest to the geometric middle of
the target range. Where the model is linear the level scales with the dose; where it is not
(desipramine's CYP2D6 autoinhibition) each candidate is simulated.

References
----------
.. [1] Sheiner LB, Beal S, Rosenberg B, Marathe VV (1979). Forecasting individual pharmacokinetics.
   Clin Pharmacol Ther 26:294-305. doi:10.1002/cpt1979263294
.. [2] Hiemke C, Bergemann N, Clement HW, et al. (2018). Consensus guidelines for therapeutic drug
   monitoring in neuropsychopharmacology: update 2017. Pharmacopsychiatry 51:9-62.
   doi:10.1055/s-0043-116492
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from ..display import NotebookDisplay
from ..io import jsonable
from ..lazy import lazy_module
from .model import CompartmentModel, Covariates
from .simulate import PERCENTILES, iiv_covariance, solve_chunk

optimize = lazy_module("scipy.optimize")

#: The residual error of a measured level (proportional, log-normal), in per cent: the proportional residual error
#: of S-citalopram in a population model of steady-state levels in 81 patients (Akil 2016, Table 3), applied to
#: every drug. Beyond citalopram it is an assumption; every proposal says so.
DEFAULT_RESIDUAL_CV_PCT = 21.6
RESIDUAL_REFS = ["akil2016"]
#: Nominal coverage of the reported intervals (5th-95th posterior percentiles).
INTERVAL = (5, 95)
#: Below this effective sample size of the importance weights a proposal is flagged as uncertain.
MIN_ESS = 30.0
_REFS = ["sheiner1979", "akil2016"]
_NICE_STEPS_MG = (2.5, 5.0, 10.0, 12.5, 25.0, 50.0)


def _sigma(residual_cv_pct: float) -> float:
    return math.sqrt(math.log1p((residual_cv_pct / 100.0) ** 2))


def weighted_quantiles(values: np.ndarray, weights: np.ndarray, q) -> np.ndarray:
    """Quantiles (0-100) of ``values`` under normalised ``weights`` (the inverse of the weighted
    cumulative distribution, midpoint rule).

    >>> weighted_quantiles(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.6, 0.2]), [50]).tolist()
    [2.0]
    """
    order = np.argsort(values)
    v, w = values[order], weights[order]
    cdf = (np.cumsum(w) - 0.5 * w) / w.sum()
    return np.interp(np.asarray(q, float) / 100.0, cdf, v)


def posterior_weights(predicted_ng_per_ml: np.ndarray, observed_ng_per_ml: np.ndarray,
                      residual_cv_pct: float = DEFAULT_RESIDUAL_CV_PCT) -> tuple[np.ndarray, float]:
    """Importance weights of prior draws given observed levels, and their effective sample size.

    Parameters
    ----------
    predicted_ng_per_ml : (draws, observations) levels each prior draw predicts.
    observed_ng_per_ml : (observations,) measured levels, all above zero.
    residual_cv_pct : proportional residual error (log-normal).

    Examples
    --------
    >>> w, ess = posterior_weights(np.array([[50.0], [100.0], [200.0]]), np.array([100.0]), residual_cv_pct=20.0)
    >>> int(np.argmax(w)), round(ess, 2)        # the draws at half and twice the level weigh exp(-ln(2)^2 / 2 sigma^2)
    (1, 1.01)
    """
    pred = np.asarray(predicted_ng_per_ml, float)
    obs = np.asarray(observed_ng_per_ml, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (np.log(obs)[None, :] - np.log(np.where(pred > 0, pred, np.nan))) / _sigma(residual_cv_pct)
    loglik = -0.5 * np.nansum(z ** 2, axis=1)
    loglik[np.isnan(z).any(axis=1)] = -np.inf
    if not np.isfinite(loglik).any():
        return np.full(pred.shape[0], 1.0 / pred.shape[0]), 0.0
    w = np.exp(loglik - loglik.max())
    w /= w.sum()
    return w, float(1.0 / np.sum(w ** 2))


def individual_clearance_l_per_h(model: CompartmentModel, cov: Covariates, etas: dict[str, np.ndarray]) -> np.ndarray:
    """Each subject's total clearance of the parent (L/h): typical value, covariates, CYP2D6 phenotype
    and co-medication, and random effects (before any autoinhibition by the drug itself)."""
    p = model.typical(cov)
    model.apply_iiv(p, etas)
    return model.clearances(p)[model.parent.name]


@dataclass
class DoseProposal(NotebookDisplay):
    """The patient's estimated clearance and the dose proposed for the target range, with intervals.

    ``candidates`` has one row per dose considered: the daily dose, and the posterior 5th/50th/95th
    percentiles of the patient's level at steady state and the probability that it lies in the range.
    """

    drug: str
    quantity: str
    sample_h: float
    current_daily_mg: float
    proposed_daily_mg: float
    proposed_regimen: str
    expected_ng_per_ml: float
    expected_interval_ng_per_ml: tuple[float, float]
    probability_in_range: float
    target_ng_per_ml: tuple[float, float]
    target_source: str
    clearance_analyte: str
    clearance_map_l_per_h: float
    clearance_interval_l_per_h: tuple[float, float]
    clearance_typical_l_per_h: float
    effective_sample_size: float
    residual_cv_pct: float
    n_prior: int
    method: str
    candidates: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """The candidate doses and the level each is expected to give."""
        return self.candidates.copy()

    def to_dict(self) -> dict:
        lo, hi = self.expected_interval_ng_per_ml
        return {
            "dose_mg_per_day": self.proposed_daily_mg, "regimen": self.proposed_regimen,
            "current_dose_mg_per_day": self.current_daily_mg, "quantity": self.quantity,
            "expected_ng_per_ml": self.expected_ng_per_ml,
            "expected_interval_ng_per_ml": {"p5": lo, "p95": hi},
            "probability_in_range": self.probability_in_range,
            "target_ng_per_ml": {"low": self.target_ng_per_ml[0], "high": self.target_ng_per_ml[1],
                                 "source": self.target_source},
            "clearance_l_per_h": {"analyte": self.clearance_analyte, "map": self.clearance_map_l_per_h,
                                  "p5": self.clearance_interval_l_per_h[0],
                                  "p95": self.clearance_interval_l_per_h[1],
                                  "typical": self.clearance_typical_l_per_h},
            "effective_sample_size": self.effective_sample_size, "residual_cv_pct": self.residual_cv_pct,
            "n_prior": self.n_prior, "method": self.method, "refs": _REFS,
            "candidates": jsonable(self.candidates.to_dict("records")), "warnings": self.warnings,
        }

    def text(self) -> str:
        lo, hi = self.expected_interval_ng_per_ml
        clo, chi = self.clearance_interval_l_per_h
        return (f"dose proposal: {self.proposed_daily_mg:g} mg/day ({self.proposed_regimen}; now "
                f"{self.current_daily_mg:g} mg/day) is expected to give {self.quantity} {self.expected_ng_per_ml:.0f} "
                f"ng/mL (90 % interval {lo:.0f}-{hi:.0f}) {self.sample_h:g} h after a dose at steady state; "
                f"probability within {self.target_ng_per_ml[0]:g}-{self.target_ng_per_ml[1]:g} ng/mL "
                f"({self.target_source}): {self.probability_in_range:.2f}\n"
                f"  the patient's clearance of {self.clearance_analyte}: {self.clearance_map_l_per_h:.3g} L/h "
                f"(maximum a posteriori; 90 % interval {clo:.3g}-{chi:.3g}; population typical "
                f"{self.clearance_typical_l_per_h:.3g})\n"
                f"  method: {self.method} [{', '.join(_REFS)}]\n")

    def plot(self, ax=None):
        """The posterior median and 90 % interval of the level at each candidate dose, and the target."""
        from ..figures import pyplot
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        c = self.candidates
        ax.fill_between(c["dose_mg_per_day"], c["p5"], c["p95"], alpha=0.25, label="90 % interval")
        ax.plot(c["dose_mg_per_day"], c["p50"], "o-", label="posterior median")
        ax.axhspan(*self.target_ng_per_ml, color="green", alpha=0.12, label=f"target ({self.target_source})")
        ax.axvline(self.proposed_daily_mg, color="grey", linewidth=0.8)
        ax.set_xlabel("daily dose (mg)")
        ax.set_ylabel(f"{self.quantity} (ng/mL) at steady state")
        ax.set_title(f"{self.drug}: dose proposal")
        ax.legend(fontsize=8)
        return ax


def dose_step_mg(daily_mg: float) -> float:
    """The step of the candidate daily doses: the largest of 2.5, 5, 10, 12.5, 25 and 50 mg that is at most a
    quarter of the current daily dose.

    >>> dose_step_mg(150), dose_step_mg(20), dose_step_mg(75)
    (25.0, 5.0, 12.5)
    """
    fitting = [s for s in _NICE_STEPS_MG if s <= daily_mg / 4.0]
    return fitting[-1] if fitting else _NICE_STEPS_MG[0]


def _map_eta(model, events, t_obs, cov1, columns, obs, sigma, names, omega, start) -> np.ndarray:
    """The maximum a posteriori random effects of one patient."""
    prec = np.linalg.inv(omega)
    times = np.array([t_obs])

    def objective(x):
        c = solve_chunk(model, events, times, cov1, {k: np.array([x[i]]) for i, k in enumerate(names)},
                        slice(0, 1))[0, 0]
        pred = np.array([c[cols].sum() for cols in columns])
        if np.any(pred <= 0):
            return 1e12
        return 0.5 * x @ prec @ x + 0.5 * np.sum(((np.log(obs) - np.log(pred)) / sigma) ** 2)

    res = optimize.minimize(objective, start, method="Nelder-Mead",
                   options={"xatol": 1e-3, "fatol": 1e-5, "maxfev": 300 * len(names)})
    return res.x if res.fun <= objective(start) else start


def propose_dose(model: CompartmentModel, *, events_obs, t_obs_h: float, columns: list[list[int]],
                 observed_ng_per_ml: np.ndarray, predicted_obs: np.ndarray, events_ss, t_ss_h: float,
                 monitored: list[int], predicted_ss: np.ndarray, cov: Covariates, etas: dict[str, np.ndarray],
                 target: tuple[float, float], target_source: str, tau_h: float, regimen_label,
                 quantity: str, sample_h: float, max_daily_mg: float | None = None,
                 residual_cv_pct: float = DEFAULT_RESIDUAL_CV_PCT) -> DoseProposal:
    """Estimate the patient's clearance from measured levels and propose the daily dose for ``target``.

    Parameters
    ----------
    model : the drug's compartment model.
    events_obs, t_obs_h : the doses given up to the sample, and the sampling time (h from the first dose).
    columns : for each observation, the analyte columns summed (one analyte, or the sum of a range).
    observed_ng_per_ml : the measured levels (ng/mL), all above zero.
    predicted_obs : (subjects, observations) what each virtual patient predicts for them.
    events_ss, t_ss_h : the current regimen held to steady state, and the time its level is read.
    monitored : the analyte columns of the target range; ``predicted_ss`` (subjects,) their sum at ``t_ss_h``.
    cov, etas : the virtual patients (the prior).
    target : the target range (ng/mL) and ``target_source`` its publisher.
    tau_h : dosing interval; ``regimen_label(dose_mg)`` writes the regimen for a dose per administration.
    max_daily_mg : the labelled maximum daily dose: candidates stop there.
    residual_cv_pct : proportional residual error of a measured level.

    Returns
    -------
    DoseProposal

    Examples
    --------
    >>> from adpharm.pharmacology.tdm import tdm
    >>> r = tdm("imipramine", "150 mg po daily", measured="imipramine=120,desipramine=95", n=300, seed=1)
    >>> r.dose_proposal.proposed_daily_mg > 0
    True
    """
    sigma_pct = residual_cv_pct
    sigma = _sigma(sigma_pct)
    w, ess = posterior_weights(predicted_obs, observed_ng_per_ml, sigma_pct)
    clearance = individual_clearance_l_per_h(model, cov, etas)
    clo, chi = weighted_quantiles(clearance, w, INTERVAL)
    names, omega = iiv_covariance(model)
    best = int(np.argmax(w))
    warnings = []
    if names:
        start = np.array([etas[k][best] for k in names])
        cov1 = cov.subset(slice(best, best + 1))
        eta_map = _map_eta(model, events_obs, t_obs_h, cov1, columns, np.asarray(observed_ng_per_ml, float),
                           sigma, names, omega, start)
        cl_map = float(individual_clearance_l_per_h(model, cov1, {k: np.array([eta_map[i]])
                                                                    for i, k in enumerate(names)})[0])
        method = (f"Bayesian (MAP) estimate with the population model as prior ({len(w)} virtual patients, "
                  f"effective sample {ess:.0f}); proportional residual error {sigma_pct:g} %")
    else:
        # the patient's clearance scales inversely with the measured over the predicted level (geometric mean
        # over the measured quantities), and so does every level the patient will have
        scale = float(np.exp(np.mean(np.log(np.asarray(predicted_obs, float)[0] / np.asarray(observed_ng_per_ml, float)))))
        cl_map = float(clearance[0]) * scale
        half = 1.645 * sigma / math.sqrt(len(columns))
        clo, chi = cl_map * math.exp(-half), cl_map * math.exp(half)
        method = (f"no sourced between-subject variability for {model.drug}: the level is scaled proportionally "
                  f"(linear kinetics), residual error {sigma_pct:g} %")
    typ = float(individual_clearance_l_per_h(model, cov.subset(slice(0, 1)), {})[0])
    if sigma_pct == DEFAULT_RESIDUAL_CV_PCT:
        warnings.append(f"dose proposal: the residual error of {sigma_pct:g} % is citalopram's at steady state "
                        f"[{', '.join(RESIDUAL_REFS)}]; for {model.drug} it is an assumption")
    else:
        warnings.append(f"dose proposal: the residual error of {sigma_pct:g} % is the one given, not a sourced value")
    if names and ess < MIN_ESS:
        warnings.append(f"dose proposal: the measured level lies far from what this population predicts (effective "
                        f"sample {ess:.0f} of {len(w)}); check adherence, the sampling time and the regimen")

    per_day = 24.0 / tau_h
    final = events_ss[-1].dose
    current = final * per_day
    step = dose_step_mg(current)
    cap = max_daily_mg if max_daily_mg else 4.0 * current
    doses = np.arange(step, max(cap, step) + 1e-9, step)
    lo_t, hi_t = target
    mid = math.sqrt(lo_t * hi_t)
    if not names:
        # no individual parameters: the monitored level at steady state, rescaled by what was measured
        base = float(predicted_ss[0]) / scale
        spread = np.exp(np.array([-1.645, 0.0, 1.645]) * sigma)
        level = np.outer(doses / current * base, spread)
        p_in = np.array([_p_in_lognormal(m, sigma, lo_t, hi_t) for m in level[:, 1]])
    else:
        linear = not model.autoinhibits_cyp2d6
        if linear:
            scaled = predicted_ss[None, :] * (doses / current)[:, None]
        else:
            rng = np.random.default_rng(0)
            pick = rng.choice(len(w), size=min(400, len(w)), p=w)
            scaled = np.vstack([_simulate_at(model, events_ss, t_ss_h, monitored, cov, etas, pick, d / current)
                                for d in doses])
        wts = w if linear else np.full(scaled.shape[1], 1.0 / scaled.shape[1])
        level = np.array([weighted_quantiles(row, wts, PERCENTILES) for row in scaled])
        p_in = np.array([float(np.sum(wts[(row >= lo_t) & (row <= hi_t)])) for row in scaled])
    k = int(np.argmin(np.abs(np.log(level[:, 1]) - math.log(mid))))
    if k == len(doses) - 1 and level[k, 1] < lo_t:
        warnings.append(f"dose proposal: even {doses[k]:g} mg/day (the {'labelled maximum' if max_daily_mg else 'top candidate'}) "
                        f"is expected below the target range")
    cands = pd.DataFrame({"dose_mg_per_day": doses, "p5": level[:, 0], "p50": level[:, 1], "p95": level[:, 2],
                          "probability_in_range": p_in})
    return DoseProposal(drug=model.drug, quantity=quantity, sample_h=sample_h, current_daily_mg=float(current),
                        proposed_daily_mg=float(doses[k]), proposed_regimen=regimen_label(doses[k] / per_day),
                        expected_ng_per_ml=float(level[k, 1]),
                        expected_interval_ng_per_ml=(float(level[k, 0]), float(level[k, 2])),
                        probability_in_range=float(p_in[k]), target_ng_per_ml=(float(lo_t), float(hi_t)),
                        target_source=target_source, clearance_analyte=model.parent.name,
                        clearance_map_l_per_h=cl_map, clearance_interval_l_per_h=(float(clo), float(chi)),
                        clearance_typical_l_per_h=typ, effective_sample_size=float(ess),
                        residual_cv_pct=float(sigma_pct), n_prior=len(w), method=method, candidates=cands,
                        warnings=warnings)


def _p_in_lognormal(median: float, sigma: float, lo: float, hi: float) -> float:
    from scipy.stats import norm
    return float(norm.cdf((math.log(hi) - math.log(median)) / sigma) - norm.cdf((math.log(lo) - math.log(median)) / sigma))


def _simulate_at(model, events, t_h, monitored, cov: Covariates, etas, pick, factor) -> np.ndarray:
    ev = [replace(e, dose=e.dose * factor) for e in events]
    sub = cov.subset(pick)
    c = solve_chunk(model, ev, np.array([t_h]), sub, {k: v[pick] for k, v in etas.items()}, slice(0, len(pick)))
    return c[:, 0, monitored].sum(axis=1)


__all__ = ["DoseProposal", "propose_dose", "posterior_weights", "weighted_quantiles", "individual_clearance_l_per_h",
           "dose_step_mg", "DEFAULT_RESIDUAL_CV_PCT"]
