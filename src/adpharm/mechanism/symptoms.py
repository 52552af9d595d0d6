"""MADRS trajectories from the plasticity state: placebo response, patient variability, rater error.

For virtual patient ``i`` with baseline ``B_i`` (normal, truncated at the inclusion minimum),
maximal placebo improvement ``p_i = expit(logit(m) + sigma z_i)`` (``m`` the median) and sensitivity
``s_i = exp(omega z'_i)``:

    true MADRS_i(t) = B_i (1 - p_i (1 - exp(-t / tau_p))) (1 - D_i(t)),
    D_i(t) = s_i P_i(t) / (1 + s_i P_i(t)),

with ``P_i`` the cascade's plasticity state; each rating adds independent rater error (normal,
SD from inter-rater agreement) and is bounded to 0-60. The placebo arm is the same patients with
``P = 0``, sharing every draw, so drug-placebo differences carry no sampling noise between arms.
Response is a rating at or below half the baseline; remission a rating at or below 10 (configurable).
HAM-D17 equivalents come from the equipercentile linking of Leucht et al. (2018).

References
----------
.. [1] Leucht S, Fennema H, Engel RR, Kaspers-Janssen M, Szegedi A (2018). Translating the HAM-D
   into the MADRS and vice versa with equipercentile linking. J Affect Disord 226:326-331.
   PMID 29031182.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

MADRS_MAX = 60.0
HAMD17_MAX = 52.0
REMISSION_MADRS = 10.0
#: corresponding HAM-D17 and MADRS totals (Leucht 2018: HAM-D 10, 20, 30, 40 ~ MADRS 13, 26, 39, 52-53);
#: both scales are 0 at no symptoms
HAMD17_ANCHORS = (0.0, 10.0, 20.0, 30.0, 40.0)
MADRS_ANCHORS = (0.0, 13.0, 26.0, 39.0, 52.5)


@dataclass
class Patients:
    """The random draws that make each virtual patient (shared by drug and placebo arms)."""

    baseline: np.ndarray
    placebo_max: np.ndarray
    sensitivity: np.ndarray
    rater_z: np.ndarray        # (patients, visits) standard normal rater errors


def _logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def draw_patients(n: int, n_visits: int, params: dict, rng: np.random.Generator) -> Patients:
    """Draw baseline scores, placebo responsiveness, sensitivity and rater errors."""
    mean, sd, low = (np.broadcast_to(np.asarray(params[k], dtype=float), (n,))
                     for k in ("madrs_baseline_mean", "madrs_baseline_sd", "madrs_inclusion_min"))
    base = rng.normal(mean, sd, n)
    bad = base < low
    while bad.any():
        base[bad] = rng.normal(mean[bad], sd[bad])
        bad = base < low
    base = np.minimum(base, MADRS_MAX)
    z_p = rng.standard_normal(n)
    placebo_max = 1.0 / (1.0 + np.exp(-(_logit(params["placebo_max_median_frac"]) + params["placebo_logit_sd"] * z_p)))
    sens = np.exp(params["sensitivity_log_sd"] * rng.standard_normal(n))
    return Patients(base, placebo_max, sens, rng.standard_normal((n, n_visits)))


def drug_fraction(sensitivity, plasticity):
    """Fraction of the symptoms removed by the drug, ``s P / (1 + s P)``."""
    sp = sensitivity * plasticity
    return sp / (1.0 + sp)


def rated_score(baseline, placebo_max, drug_frac, t_days, tau_days, rater_sd, rater_z):
    """Rated MADRS: ``B (1 - p (1 - exp(-t / tau))) (1 - D)`` plus rater error, bounded to 0-60.

    Arguments broadcast; ``t_days`` is the time since the placebo response began (first contact).
    """
    placebo = placebo_max * (1.0 - np.exp(-t_days / tau_days))
    true = baseline * (1.0 - placebo) * (1.0 - drug_frac)
    return np.clip(true + rater_sd * rater_z, 0.0, MADRS_MAX)


def madrs(patients: Patients, plasticity: np.ndarray, times_h: np.ndarray, params: dict) -> np.ndarray:
    """Rated MADRS ``(patients, visits)`` for the plasticity state at the visit times (0 for placebo)."""
    t_days = np.asarray(times_h, dtype=float) / 24.0
    tau_days = np.asarray(params["placebo_tau_days"], dtype=float).reshape(-1, 1)   # scalar or per patient
    rated = rated_score(patients.baseline[:, None], patients.placebo_max[:, None],
                        drug_fraction(patients.sensitivity[:, None], plasticity), t_days[None, :], tau_days,
                        np.asarray(params["rater_sd_points"], dtype=float).reshape(-1, 1), patients.rater_z)
    rated[:, 0] = patients.baseline            # the baseline visit is the inclusion rating itself
    return rated


def responders(scores: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Boolean ``(patients, visits)``: at least a 50 % reduction from baseline."""
    return scores <= 0.5 * baseline[:, None]


def remitters(scores: np.ndarray, threshold: float = REMISSION_MADRS) -> np.ndarray:
    return scores <= threshold


def hamd17_from_madrs(scores: np.ndarray) -> np.ndarray:
    """HAM-D17 totals corresponding to MADRS totals (piecewise-linear equipercentile link, Leucht 2018).

    Between the published anchor pairs the link is interpolated linearly; above MADRS 52.5 the last
    segment's slope is extended, bounded by the HAM-D17 maximum of 52.
    """
    m = np.asarray(scores, dtype=float)
    slope = (HAMD17_ANCHORS[-1] - HAMD17_ANCHORS[-2]) / (MADRS_ANCHORS[-1] - MADRS_ANCHORS[-2])
    h = np.interp(m, MADRS_ANCHORS, HAMD17_ANCHORS)
    high = m > MADRS_ANCHORS[-1]
    h = np.where(high, HAMD17_ANCHORS[-1] + slope * (m - MADRS_ANCHORS[-1]), h)
    return np.clip(h, 0.0, HAMD17_MAX)
