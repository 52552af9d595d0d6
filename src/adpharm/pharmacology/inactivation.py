"""Irreversible enzyme inactivation: MAO-A under tranylcypromine and phenelzine.

A mechanism-based inhibitor destroys the enzyme it binds; activity comes back only as new enzyme
is made. The active fraction ``E`` of an enzyme follows

    dE/dt = k_syn (1 - E) - k_inact(t) E,    k_inact = sum_i eff_i C_u,i / (1 + sum_j C_u,j / KI_j)

with ``eff_i = kinact_i / KI_i`` (per nM per hour) of every inactivating analyte of every drug
given, ``C_u`` the unbound plasma concentration in nM, and ``k_syn = ln 2 / t_half`` the enzyme's
resynthesis rate (one value per enzyme, a property of the enzyme and not of the drug). Between
two times the equation is linear in ``E``; with the inactivation rate taken as the mean of its
values at both ends, the step is exact for that mean rate:

    E(t + dt) = E_ss + (E(t) - E_ss) exp(-(k_syn + k) dt),   E_ss = k_syn / (k_syn + k)

so the activity can be stepped alongside the exact PK of :mod:`.solver` for a whole population,
with no stiff solver (:func:`activity_bdf` is the reference the tests compare it with).
Inhibition (``1 - E``) is what ``pk occupancy`` reports for MAO-A and what feeds the cascade's
``mao_inhibition`` input.

References
----------
.. [1] Silverman RB (1995). Mechanism-based enzyme inactivators. Methods Enzymol 249:240-283.
.. [2] Bieck PR, Antonin KH (1982). Monoamine oxidase inhibition by tranylcypromine: assessment in
   human volunteers. Eur J Clin Pharmacol 22(4):301-308. doi:10.1007/BF00548397 (onset once 40 mg
   had been given; pharmacodynamic half-life 1.3 d).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import AdpharmInputError
from ..knowledge.loader import KnowledgeBase, or_bundled
from ..units import ng_per_ml_to_nm
from .model import CompartmentModel

#: Output-grid substep (h) used to integrate the activity between PK outputs.
MAX_SUBSTEP_H = 0.1
#: The inhibition that counts as onset in :func:`onset_h` (half the enzyme inactivated).
ONSET_INHIBITION = 0.5


@dataclass(frozen=True)
class InactivationWeights:
    """How one drug's analytes inactivate one enzyme: per analyte, the factor from plasma ng/mL to
    unbound nM, the efficiency ``kinact/KI`` (0 for an analyte that does not inactivate it) and
    ``1/KI`` (0 where the rate is linear in concentration); and the enzyme's resynthesis rate with
    its source (:func:`resynthesis_rate_per_h`)."""

    target: str
    to_unbound_nm: np.ndarray
    efficiency_per_nm_per_h: np.ndarray
    inv_ki_per_nm: np.ndarray
    sources: dict
    k_syn_per_h: float = 0.0
    resynthesis: dict | None = None

    def terms(self, conc_ng_per_ml: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(sum eff C_u, sum C_u/KI)`` for concentrations ``(..., analytes)``."""
        cu = conc_ng_per_ml * self.to_unbound_nm
        return cu @ self.efficiency_per_nm_per_h, cu @ self.inv_ki_per_nm


def inactivation_weights(model: CompartmentModel, kb: KnowledgeBase | None = None) -> dict[str, InactivationWeights]:
    """``{target: weights}`` for every enzyme one of the model's analytes inactivates (may be empty),
    with the enzyme's resynthesis rate from ``kb``."""
    targets = sorted({t for a in model.analytes for t in a.inactivation})
    out = {}
    for target in targets:
        n = len(model.analytes)
        to_nm, eff, inv_ki, src = np.zeros(n), np.zeros(n), np.zeros(n), {}
        for i, a in enumerate(model.analytes):
            to_nm[i] = ng_per_ml_to_nm(a.fu.value, a.mw_g_per_mol.value)
            spec = a.inactivation.get(target)
            if spec is None:
                continue
            eff[i] = spec.efficiency_per_nm_per_h
            inv_ki[i] = 1.0 / spec.ki_nm if spec.ki_nm else 0.0
            src[a.name] = {"efficiency_per_nm_per_h": spec.efficiency_per_nm_per_h, "ki_nm": spec.ki_nm,
                           "refs": list(spec.refs), "basis": spec.basis, "note": spec.note,
                           "verified": spec.verified}
        k_syn, resynthesis = resynthesis_rate_per_h(target, kb)
        out[target] = InactivationWeights(target, to_nm, eff, inv_ki, src, k_syn, resynthesis)
    return out


def resynthesis_rate_per_h(target: str, kb: KnowledgeBase | None = None) -> tuple[float, dict]:
    """The enzyme's resynthesis rate ``ln 2 / t_half`` and its source (only MAO-A has one)."""
    kb = or_bundled(kb)
    spec = kb.occupancy.mao_resynthesis_half_life_h if kb.occupancy and target == "MAO-A" else None
    if spec is None:
        raise AdpharmInputError(f"{target}: no sourced resynthesis half-life, so its inactivation cannot be simulated")
    return float(np.log(2) / spec.value), {"half_life_h": spec.value, "refs": list(spec.refs), "fact": spec.fact,
                                           "note": spec.note}


#: The activity an enzyme counts as recovered at in :func:`recovery_note` (90 % of baseline).
RECOVERED_ACTIVITY = 0.9


def recovery_days(half_life_h: float, recovered: float = RECOVERED_ACTIVITY) -> float:
    """Days for a fully inactivated enzyme to come back to ``recovered`` of baseline by first-order resynthesis:
    ``t = t_half log2(1 / (1 - recovered))``.

    >>> round(recovery_days(31.2), 2)
    4.32
    """
    return half_life_h * float(np.log2(1.0 / (1.0 - recovered))) / 24.0


def recovery_note(drug: str, kb: KnowledgeBase | None = None) -> str | None:
    """What the modelled MAO-A recovery is and is not, beside the sourced washouts (issue 36): None for a drug
    that inactivates no enzyme. The model has the fast phase of resynthesis only; the labelled washouts and the
    recovery of tyramine sensitivity (the knowledge base's ``washout`` safety facts) are longer."""
    kb = or_bundled(kb)
    spec_pk = kb.pk_models.get(drug)
    inactivates = spec_pk is not None and any("MAO-A" in a.inactivation for a in spec_pk.analytes)
    if not inactivates or kb.occupancy is None or kb.occupancy.mao_resynthesis_half_life_h is None:
        return None
    spec = kb.occupancy.mao_resynthesis_half_life_h
    washouts = [f for f in kb.safety_for(drug) if f.kind == "washout"]
    sourced = "; ".join(f"{f.text} [{', '.join(f.refs)}]" for f in washouts) or "no washout sourced"
    return (f"{drug}: the modelled MAO-A recovery is only the fast phase of resynthesis (half-life {spec.value:g} h "
            f"[{', '.join(spec.refs)}]: {100 * RECOVERED_ACTIVITY:.0f} % of activity {recovery_days(spec.value):.1f} days "
            f"after full inhibition); the sourced washouts are longer: {sourced}")


def inactivation_rate(eff_sum: np.ndarray, inv_ki_sum: np.ndarray) -> np.ndarray:
    """``k_inact`` (per h) from the summed terms of every drug (competing inactivators share one enzyme)."""
    return eff_sum / (1.0 + inv_ki_sum)


def step_activity(e: np.ndarray, k_start: np.ndarray, k_end: np.ndarray, k_syn_per_h: float,
                  dt_h: float) -> np.ndarray:
    """Active fraction after ``dt_h``, exact for the mean of the inactivation rates at both ends."""
    k = 0.5 * (k_start + k_end) + k_syn_per_h
    e_ss = k_syn_per_h / k
    return e_ss + (e - e_ss) * np.exp(-k * dt_h)


def activity_profile(times_h: np.ndarray, conc_ng_per_ml: np.ndarray, weights: InactivationWeights,
                     k_syn_per_h: float, e0: float | np.ndarray = 1.0) -> np.ndarray:
    """Active enzyme fraction ``(subjects, times)`` for concentrations ``(subjects, times, analytes)``.

    The times should be fine enough for the PK (:data:`MAX_SUBSTEP_H`); :func:`simulate` asks the PK
    solver for such a grid.
    """
    eff, inv_ki = weights.terms(conc_ng_per_ml)
    k = inactivation_rate(eff, inv_ki)
    out = np.empty(k.shape)
    out[:, 0] = e0
    dt = np.diff(times_h)
    for j in range(1, len(times_h)):
        out[:, j] = step_activity(out[:, j - 1], k[:, j - 1], k[:, j], k_syn_per_h, dt[j - 1])
    return out


def onset_h(times_h: np.ndarray, activity: np.ndarray, inhibition: float = ONSET_INHIBITION) -> np.ndarray:
    """First time each subject's inhibition reaches ``inhibition`` (linear interpolation; NaN if never)."""
    inh = 1.0 - activity
    out = np.full(inh.shape[0], np.nan)
    for s in range(inh.shape[0]):
        j = np.flatnonzero(inh[s] >= inhibition)
        if j.size == 0:
            continue
        j = j[0]
        if j == 0:
            out[s] = times_h[0]
            continue
        a, b = inh[s, j - 1], inh[s, j]
        out[s] = times_h[j - 1] + (inhibition - a) / (b - a) * (times_h[j] - times_h[j - 1])
    return out


def activity_bdf(times_h: np.ndarray, conc_unbound_nm: np.ndarray, kinact_per_h: float, ki_nm: float,
                 resynthesis_half_life_h: float) -> np.ndarray:
    """Reference solution for one subject with scipy's BDF method (``C`` interpolated linearly).

    Slow, for tests of :func:`activity_profile`.
    """
    from scipy.integrate import solve_ivp
    if kinact_per_h <= 0 or ki_nm <= 0 or resynthesis_half_life_h <= 0:
        raise AdpharmInputError("inactivation: kinact, KI and the resynthesis half-life must be positive")
    t = np.asarray(times_h, float)
    c = np.asarray(conc_unbound_nm, float)
    kdeg = np.log(2) / resynthesis_half_life_h

    def rhs(tt, e):
        ci = np.interp(tt, t, c)
        return kdeg * (1 - e) - kinact_per_h * ci / (ki_nm + ci) * e

    sol = solve_ivp(rhs, (t[0], t[-1]), [1.0], method="BDF", t_eval=t, rtol=1e-9, atol=1e-12,
                    max_step=max((t[-1] - t[0]) / 2000, 1e-3))
    return sol.y[0]


__all__ = ["InactivationWeights", "inactivation_weights", "resynthesis_rate_per_h", "inactivation_rate",
           "recovery_note", "recovery_days", "RECOVERED_ACTIVITY",
           "step_activity", "activity_profile", "onset_h", "activity_bdf", "ONSET_INHIBITION", "MAX_SUBSTEP_H"]
