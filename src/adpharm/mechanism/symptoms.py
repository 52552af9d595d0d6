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
"""
from __future__ import annotations

from dataclasses import dataclass

import math

import numpy as np

MADRS_MAX = 60.0
REMISSION_MADRS = 10.0


@dataclass
class Patients:
    """The random draws that make each virtual patient (shared by drug and placebo arms)."""

    baseline: np.ndarray
    placebo_max: np.ndarray
    sensitivity: np.ndarray
    rater_z: np.ndarray        # (patients, visits) standard normal rater errors


def _logit(p: float) -> float:
    p = min(max(float(p), 1e-9), 1 - 1e-9)
    return math.log(p / (1 - p))


def draw_patients(n: int, n_visits: int, params: dict, rng: np.random.Generator) -> Patients:
    """Draw baseline scores, placebo responsiveness, sensitivity and rater errors."""
    mean, sd, low = params["madrs_baseline_mean"], params["madrs_baseline_sd"], params["madrs_inclusion_min"]
    base = rng.normal(mean, sd, n)
    bad = base < low
    while bad.any():
        base[bad] = rng.normal(mean, sd, int(bad.sum()))
        bad = base < low
    base = np.minimum(base, MADRS_MAX)
    z_p = rng.standard_normal(n)
    placebo_max = 1.0 / (1.0 + np.exp(-(_logit(params["placebo_max_median_frac"]) + params["placebo_logit_sd"] * z_p)))
    sens = np.exp(params["sensitivity_log_sd"] * rng.standard_normal(n))
    return Patients(base, placebo_max, sens, rng.standard_normal((n, n_visits)))


def madrs(patients: Patients, plasticity: np.ndarray, times_h: np.ndarray, params: dict) -> np.ndarray:
    """Rated MADRS ``(patients, visits)`` for the plasticity state at the visit times (0 for placebo)."""
    t_days = np.asarray(times_h, dtype=float) / 24.0
    placebo = patients.placebo_max[:, None] * (1.0 - np.exp(-t_days[None, :] / params["placebo_tau_days"]))
    sp = patients.sensitivity[:, None] * plasticity
    drug = sp / (1.0 + sp)
    true = patients.baseline[:, None] * (1.0 - placebo) * (1.0 - drug)
    rated = true + params["rater_sd_points"] * patients.rater_z
    rated[:, 0] = patients.baseline            # the baseline visit is the inclusion rating itself
    return np.clip(rated, 0.0, MADRS_MAX)


def responders(scores: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Boolean ``(patients, visits)``: at least a 50 % reduction from baseline."""
    return scores <= 0.5 * baseline[:, None]


def remitters(scores: np.ndarray, threshold: float = REMISSION_MADRS) -> np.ndarray:
    return scores <= threshold
