"""What drives the cascade: each drug's exact PK, stepped in time, turned into occupancies.

A :class:`PKComponent` holds one drug's linear compartment model for a population (system
matrices, dose inputs, central volumes) and the affinity weights of its analytes at every target.
:class:`DriveStepper` advances all components together (several drugs for a combination) and
returns the cascade's inputs at the current time: occupancies from the summed, affinity-weighted
unbound concentrations of every analyte of every drug (competitive binding at one site), and the
inactivated fraction of enzymes that irreversible inhibitors destroy (MAO-A), stepped exactly
for the mean inactivation rate over each step (:mod:`adpharm.pharmacology.inactivation`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..knowledge.loader import KnowledgeBase, or_bundled
from ..pharmacology.inactivation import InactivationWeights, inactivation_rate, inactivation_weights, step_activity
from ..pharmacology.model import Autoinhibition, CompartmentModel, Covariates
from ..pharmacology.occupancy import occupancy_coefficients, occupied_fraction
from ..pharmacology.regimen import Regimen, parse_regimen
from ..pharmacology.simulate import dose_warnings, draw_etas, model_for, subject_system
from ..pharmacology.solver import Bolus, Infusion, Stepper

#: cascade input fed by each occupancy target
TARGET_INPUTS = {"NMDA": "occ_nmda", "SERT": "occ_sert", "NET": "occ_net", "M1": "occ_m1", "H1": "occ_h1",
                 "MAO-A": "mao_inhibition"}


#: substeps of each step for the enzyme activity of irreversible inhibitors (halves the PK step so
#: that the mean-rate step agrees with a tight-tolerance ODE solver to 1e-4, tests/mechanism)
INACTIVATION_SUBSTEPS = 2


@dataclass
class PKComponent:
    """One drug's PK for a population, with the weights that turn concentrations into occupancy."""

    drug: str
    regimen: Regimen
    model: CompartmentModel
    a: np.ndarray
    boluses: list[Bolus]
    infusions: list[Infusion]
    v1_l: np.ndarray          # (patients, analytes)
    coefs: dict[str, np.ndarray]
    basis: dict[str, dict]
    hill: float
    warnings: list[str] = field(default_factory=list)
    update: Autoinhibition | None = None  # CYP2D6 autoinhibition (model.autoinhibition)
    inactivation: dict[str, InactivationWeights] = field(default_factory=dict)  # irreversible (MAO-A)

    @property
    def central(self) -> list[int]:
        """State index of each analyte's central compartment."""
        return [self.model.central[a.name] for a in self.model.analytes]


def pk_component(drug: str, regimen: str | Regimen, hours: float, cov: Covariates, rng: np.random.Generator | None,
                 kb: KnowledgeBase | None = None, typical: bool = False,
                 etas: dict[str, np.ndarray] | None = None) -> PKComponent:
    """Build a drug's PK for the population ``cov``: random effects ``etas`` when given, else drawn
    from ``rng``, none if ``typical``."""
    kb = or_bundled(kb)
    model = model_for(drug, kb)
    reg = regimen if isinstance(regimen, Regimen) else parse_regimen(regimen)
    for r in reg.routes:
        model.check_route(r)
    events = reg.events(until_h=hours)
    n = cov.weight_kg.shape[0]
    if etas is None:
        etas = {} if typical else draw_etas(model, n, rng)
    p, a, boluses, infusions, update = subject_system(model, events, cov, etas)
    coefs, basis, hill = occupancy_coefficients(drug, kb)
    return PKComponent(drug, reg, model, a, boluses, infusions, model.central_volumes_l(p), coefs, basis, hill,
                       dose_warnings(model, reg, hours, cov.weight_kg) if events else [], update,
                       inactivation_weights(model, kb))


class DriveStepper:
    """Advance every component's PK exactly and report the cascade inputs at the current time."""

    def __init__(self, components: list[PKComponent], n: int, input_names: list[str]):
        self.components = components
        self.n = n
        self.input_names = input_names
        self.steppers = [Stepper(c.a, c.boluses, c.infusions, c.update) for c in components]
        #: resynthesis rate and active fraction of each irreversibly inhibited enzyme
        self.k_syn = {t: w.k_syn_per_h for c in components for t, w in c.inactivation.items()}
        self.activity = {t: np.ones(n) for t in sorted(self.k_syn)}

    def dose(self, t: float) -> None:
        """Apply the boluses given at time ``t``."""
        for st in self.steppers:
            st.dose(t)

    def advance(self, t: float, dt: float) -> None:
        """Move from ``t`` to ``t + dt`` (no dose event strictly inside)."""
        if not self.activity:
            for st in self.steppers:
                st.advance(t, dt)
            return
        # the enzyme is stepped for the mean inactivation rate over each of INACTIVATION_SUBSTEPS parts
        h = dt / INACTIVATION_SUBSTEPS
        k_start = self._inactivation_rates()
        for i in range(INACTIVATION_SUBSTEPS):
            for st in self.steppers:
                st.advance(t + i * h, h)
            k_end = self._inactivation_rates()
            for target, e in self.activity.items():
                self.activity[target] = step_activity(e, k_start[target], k_end[target], self.k_syn[target], h)
            k_start = k_end

    def _inactivation_rates(self) -> dict[str, np.ndarray]:
        eff = {t: 0.0 for t in self.activity}
        inv_ki = {t: 0.0 for t in self.activity}
        for st, c in zip(self.steppers, self.components):
            if not c.inactivation:
                continue
            conc = c.model.concentrations_ng_per_ml(st.x, c.v1_l)
            for target, w in c.inactivation.items():
                e, i = w.terms(conc)
                eff[target] = eff[target] + e
                inv_ki[target] = inv_ki[target] + i
        return {t: inactivation_rate(eff[t] + np.zeros(self.n), inv_ki[t]) for t in self.activity}

    def inputs(self) -> dict[str, np.ndarray]:
        s_sum: dict[str, np.ndarray] = {}
        hill = 1.0
        for st, c in zip(self.steppers, self.components):
            conc = c.model.concentrations_ng_per_ml(st.x, c.v1_l)
            hill = c.hill
            for target, coef in c.coefs.items():
                s_sum[target] = s_sum.get(target, 0.0) + conc @ coef
        out = {name: np.zeros(self.n) for name in self.input_names}
        for target, s in s_sum.items():
            name = TARGET_INPUTS.get(target)
            if name in out:
                out[name] = occupied_fraction(s, hill)
        for target, e in self.activity.items():
            name = TARGET_INPUTS.get(target)
            if name in out:
                out[name] = 1.0 - e
        return out

    def event_times(self) -> list[float]:
        return sorted({t for st in self.steppers for t in st.event_times()})
