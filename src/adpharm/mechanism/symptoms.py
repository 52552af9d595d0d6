"""MADRS trajectories from the plasticity state: non-specific response, drug effect, rater error.

For virtual patient ``i`` of trial ``j`` with baseline ``B_i`` (normal, truncated to the
population's inclusion window), placebo responsiveness ``z_i`` and drug sensitivity
``s_i = exp(omega z'_i)``:

    e_i = expit(logit(m_e) + sigma z_i + u_j),   c_i = expit(logit(m_c) + sigma z_i + u_j)
    g(t_e) = (1 - exp(-t_e / tau_e)) (p + (1 - p) exp(-t_e / tau_d))
    N_i(t) = 1 - (1 - f e_i g(t_e)) (1 - c_i (1 - exp(-t_c / tau_c)))
    D_i(t) = s_i P_i(t) / (1 + s_i P_i(t))
    I_i(t) = max(N, D) + (1 - omega) min(N, D) (1 - max(N, D))
    true MADRS_i(t) = B_i (1 - I_i(t)),

``N`` the non-specific (placebo) improvement: expectancy ``e`` (a salient procedure such as an
infusion; ``t_e`` the time since the first one, ``f`` the fraction an arm keeps: 1 for drug arms and
active placebos, less for an inert placebo beside a drug patients notice) and therapeutic contact ``c``
(``t_c`` the time since the first contact). The expectancy response rises within hours (``tau_e``) and
falls back, with time constant ``tau_d``, to a persistent fraction ``p`` of its peak: the inert-spray
arm of Daly 2018 improved 9.7 MADRS points at 2 h, 5.7 at 24 h and 4.9 at day 8 [4]. Later sessions of
a repeated procedure are not re-triggered; the persistent part stands for them. The medians ``m_e`` and
``m_c`` come from the population (:mod:`.population`), ``u_j ~ N(0, tau_trial)`` is the trial's random
effect, ``P_i`` the cascade's plasticity state. ``I`` is the patient's improvement under drug and
non-specific response together:
with no overlap (``omega = 0``) the drug removes a fraction ``D`` of what the non-specific response
leaves (independent action, ``1 - (1 - N)(1 - D)``); with full overlap (``omega = 1``) the two draw on
the same improvement and the larger one counts. The overlap ``omega`` (``drug_placebo_overlap_frac``)
is calibrated; with it the drug's benefit over placebo shrinks as the placebo response grows, as
published trials show (Iovieno & Papakostas 2012 [3]: NNT about 4, 6 and 9 in trials whose placebo arms
respond < 30 %, 30-40 % and >= 40 %), and the score cannot fall below 0.
Each rating adds independent rater error (normal, SD from inter-rater agreement), bounded to 0-60.
The placebo arm is the same patients with ``P = 0``, sharing every draw. Response is a rating at or
below half the baseline; remission a rating at or below 10 (configurable). HAM-D17 equivalents come
from the equipercentile linking of Leucht et al. (2018).

References
----------
.. [1] Leucht S, Fennema H, Engel RR, Kaspers-Janssen M, Szegedi A (2018). Translating the HAM-D
   into the MADRS and vice versa with equipercentile linking. J Affect Disord 226:326-331.
   PMID 29031182.
.. [2] Rutherford BR, Roose SP (2013). A model of placebo response in antidepressant clinical
   trials. Am J Psychiatry 170(7):723-733. doi:10.1176/appi.ajp.2012.12040474
.. [3] Iovieno N, Papakostas GI (2012). Correlation between different levels of placebo response rate
   and clinical trial outcome in major depressive disorder: a meta-analysis. J Clin Psychiatry
   73(10):1300-1306.
.. [4] Daly EJ, Singh JB, Fedgchin M, et al. (2018). Efficacy and safety of intranasal esketamine adjunctive
   to oral antidepressant therapy in treatment-resistant depression. JAMA Psychiatry 75(2):139-148.
   doi:10.1001/jamapsychiatry.2017.3739
"""
from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .population import Population

MADRS_MAX = 60.0
HAMD17_MAX = 52.0
REMISSION_MADRS = 10.0
#: response: the score at or below this fraction of baseline (a reduction of at least 50 %)
RESPONSE_FRACTION = 0.5
#: corresponding HAM-D17 and MADRS totals (Leucht 2018: HAM-D 10, 20, 30, 40 ~ MADRS 13, 26, 39, 52-53);
#: both scales are 0 at no symptoms
HAMD17_ANCHORS = (0.0, 10.0, 20.0, 30.0, 40.0)
MADRS_ANCHORS = (0.0, 13.0, 26.0, 39.0, 52.5)


@dataclass
class Patients:
    """The random draws that make each virtual patient (shared by drug and placebo arms)."""

    baseline: np.ndarray
    expectancy_max: np.ndarray   # maximal improvement fraction from expectancy (full, before the arm's factor)
    contact_max: np.ndarray      # maximal improvement fraction from therapeutic contact
    sensitivity: np.ndarray
    rater_z: np.ndarray          # (patients, visits) standard normal rating errors (rater and fluctuation)
    contact_onset_z: np.ndarray  # standard normal: how fast the patient's contact response sets in

    def subset(self, idx) -> Patients:
        return Patients(*(getattr(self, f.name)[idx] for f in fields(self)))

    @staticmethod
    def concat(parts: list[Patients]) -> Patients:
        return Patients(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Patients)))


def expit(x):
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=float)))


def logit(p):
    p = np.clip(np.asarray(p, dtype=float), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def population_values(pop: Population, **overrides) -> dict:
    """The cascade-model parameter values a population sets (baseline, inclusion window, placebo
    medians), with ``overrides`` (e.g. a protocol's baseline mean) applied where not None."""
    out = {"madrs_baseline_mean": pop.madrs_baseline_mean.value, "madrs_baseline_sd": pop.madrs_baseline_sd.value,
           "madrs_inclusion_min": pop.madrs_min, "madrs_inclusion_max": pop.madrs_max,
           "placebo_contact_median_frac": pop.contact_median_frac.value,
           "placebo_expectancy_median_frac": pop.expectancy_median_frac.value}
    out.update({k: v for k, v in overrides.items() if v is not None})
    return out


def draw_patients(n: int, n_visits: int, params: dict, rng: np.random.Generator,
                  trial_logit: float | np.ndarray = 0.0) -> Patients:
    """Draw baseline scores, placebo responsiveness, sensitivity and rater errors.

    ``params`` holds the cascade's parameters with a population's values (:func:`population_values`);
    ``trial_logit`` is the trial's random effect on both placebo logits: one value for one trial, or
    one per patient for patients pooled over several trials.
    """
    mean, sd = (np.broadcast_to(np.asarray(params[k], dtype=float), (n,))
                for k in ("madrs_baseline_mean", "madrs_baseline_sd"))
    low = float(params["madrs_inclusion_min"])
    high = min(float(params.get("madrs_inclusion_max", MADRS_MAX)), MADRS_MAX)
    base = rng.normal(mean, sd, n)
    bad = (base < low) | (base > high)
    for _ in range(1000):
        if not bad.any():
            break
        base[bad] = rng.normal(mean[bad], sd[bad])
        bad = (base < low) | (base > high)
    base = np.clip(base, low, high)
    z_p = rng.standard_normal(n)
    shift = float(np.asarray(params["placebo_logit_sd"])) * z_p + trial_logit
    expectancy = expit(logit(params["placebo_expectancy_median_frac"]) + shift)
    contact = expit(logit(params["placebo_contact_median_frac"]) + shift)
    sens = np.exp(params["sensitivity_log_sd"] * rng.standard_normal(n))
    rater_z = rng.standard_normal((n, n_visits))
    return Patients(baseline=base, expectancy_max=expectancy, contact_max=contact, sensitivity=sens,
                    rater_z=rater_z, contact_onset_z=rng.standard_normal(n))


def drug_fraction(sensitivity, plasticity):
    """Fraction of the symptoms removed by the drug, ``s P / (1 + s P)``."""
    sp = sensitivity * plasticity
    return sp / (1.0 + sp)


def per_patient(value, ndim: int):
    """A parameter as an array that broadcasts over ``(patients, ...)``: scalars stay scalars, a
    per-patient vector becomes a column."""
    arr = np.asarray(value, dtype=float)
    return arr.reshape(-1, *([1] * (ndim - 1))) if arr.ndim == 1 and ndim > 1 else arr


def expectancy_course(t_expectancy_days, params, ndim: int = 0):
    """Time course ``g(t) = (1 - exp(-t/tau_e)) (p + (1 - p) exp(-t/tau_d))`` of the expectancy response
    after a procedure at ``t = 0`` (0 before it): a rise within hours to a peak that falls back to the
    persistent fraction ``p``."""
    tau_e = per_patient(params["placebo_tau_days"], ndim)
    tau_d = per_patient(params["placebo_expectancy_decay_days"], ndim)
    keep = per_patient(params["placebo_expectancy_persist_frac"], ndim)
    t = np.clip(t_expectancy_days, 0, None)
    return (1.0 - np.exp(-t / tau_e)) * (keep + (1.0 - keep) * np.exp(-t / tau_d))


def contact_tau_days(params, onset_z, ndim: int = 0):
    """Each patient's contact time constant ``tau_c exp(sigma_tau z)``: the population's median
    (``placebo_contact_tau_days``) spread log-normally (``placebo_contact_tau_log_sd``), so that some
    patients improve within days of the first contact and others over months."""
    return (per_patient(params["placebo_contact_tau_days"], ndim)
            * np.exp(per_patient(params["placebo_contact_tau_log_sd"], ndim) * np.asarray(onset_z, dtype=float)))


def rating_sd_points(params) -> float | np.ndarray:
    """SD of a rating around the patient's true score: rater error and visit-to-visit fluctuation
    of the symptoms, independent of each other, ``sqrt(rater_sd^2 + fluctuation_sd^2)``."""
    return np.hypot(np.asarray(params["rater_sd_points"], dtype=float),
                    np.asarray(params["symptom_fluctuation_sd_points"], dtype=float))


def nonspecific(expectancy_max, contact_max, expectancy_factor, t_expectancy_days, t_contact_days, params, *,
                onset_z):
    """Non-specific improvement fraction ``1 - (1 - f e g(t_e)) (1 - c (1 - exp(-t_c/tau_c,i)))``
    (:func:`expectancy_course` for ``g``, :func:`contact_tau_days` for ``tau_c,i`` from the patients'
    ``onset_z``, shaped like ``contact_max``).

    Times before the procedure (``t_e < 0``) or the first contact carry no improvement. The time
    constants may be scalars or per-patient vectors.
    """
    ndim = max(np.ndim(expectancy_max), np.ndim(t_expectancy_days), np.ndim(t_contact_days))
    tau_c = contact_tau_days(params, onset_z, ndim)
    e = expectancy_factor * expectancy_max * expectancy_course(t_expectancy_days, params, ndim)
    c = contact_max * (1.0 - np.exp(-np.clip(t_contact_days, 0, None) / tau_c))
    return 1.0 - (1.0 - e) * (1.0 - c)


def improvement(nonspecific_frac, drug_frac, overlap):
    """Improvement fraction ``max(N, D) + (1 - omega) min(N, D) (1 - max(N, D))`` of drug and non-specific
    response together: independent action at ``omega = 0``, the larger of the two at ``omega = 1``."""
    hi = np.maximum(nonspecific_frac, drug_frac)
    lo = np.minimum(nonspecific_frac, drug_frac)
    return hi + (1.0 - overlap) * lo * (1.0 - hi)


def rated_score(baseline, nonspecific_frac, drug_frac, rater_sd, rater_z, *, overlap):
    """Rated MADRS: ``B (1 - I)`` (:func:`improvement`) plus rater error, bounded to 0-60 (arguments broadcast)."""
    true = baseline * (1.0 - improvement(nonspecific_frac, drug_frac, overlap))
    return np.clip(true + rater_sd * rater_z, 0.0, MADRS_MAX)


def madrs(patients: Patients, plasticity: np.ndarray, times_h: np.ndarray, params: dict,
          expectancy_factor: float = 1.0) -> np.ndarray:
    """Rated MADRS ``(patients, visits)`` for the plasticity state at the visit times (0 for placebo);
    the procedure and the first contact are at time 0."""
    t_days = np.asarray(times_h, dtype=float)[None, :] / 24.0
    n = nonspecific(patients.expectancy_max[:, None], patients.contact_max[:, None], expectancy_factor,
                    t_days, t_days, params, onset_z=patients.contact_onset_z[:, None])
    rated = rated_score(patients.baseline[:, None], n, drug_fraction(patients.sensitivity[:, None], plasticity),
                        per_patient(rating_sd_points(params), 2), patients.rater_z,
                        overlap=per_patient(params["drug_placebo_overlap_frac"], 2))
    rated[:, 0] = patients.baseline            # the baseline visit is the inclusion rating itself
    return rated


def is_response(score, baseline):
    """The one responder rule: ``score <= RESPONSE_FRACTION * baseline``, elementwise (arrays or Series).

    >>> bool(is_response(14.0, 30.0)), bool(is_response(16.0, 30.0))
    (True, False)
    """
    return score <= RESPONSE_FRACTION * baseline


def responders(scores: np.ndarray, baseline: np.ndarray) -> np.ndarray:
    """Boolean ``(patients, visits)``: :func:`is_response` at every visit."""
    return is_response(scores, baseline[:, None])


def remitters(scores: np.ndarray, threshold: float = REMISSION_MADRS) -> np.ndarray:
    """Boolean, elementwise: the score at or below the remission threshold."""
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
