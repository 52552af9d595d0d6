"""What drives the cascade: each drug's exact PK, stepped in time, turned into occupancies.

A :class:`PKComponent` holds one drug's linear compartment model for a population (system
matrices, dose inputs, central volumes) and the affinity weights of its analytes at every target.
:class:`DriveStepper` advances all components together (several drugs for a combination) and
returns the cascade's inputs at the current time: occupancies from the summed, affinity-weighted
unbound concentrations of every analyte of every drug (competitive binding at one site).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..knowledge.loader import KnowledgeBase
from ..pharmacology.model import CompartmentModel, Covariates
from ..pharmacology.occupancy import occupancy_coefficients, occupied_fraction
from ..pharmacology.regimen import Regimen, parse_regimen
from ..pharmacology.simulate import _kb, dose_warnings, draw_etas, model_for
from ..pharmacology.solver import Bolus, Infusion, _step_matrices

#: cascade input fed by each occupancy target
TARGET_INPUTS = {"NMDA": "occ_nmda", "SERT": "occ_sert", "NET": "occ_net", "M1": "occ_m1", "H1": "occ_h1",
                 "MAO-A": "mao_inhibition"}


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
    central: list[int]        # state index of each analyte's central compartment
    coefs: dict[str, np.ndarray]
    basis: dict[str, dict]
    hill: float
    warnings: list[str] = field(default_factory=list)

    def event_times(self) -> list[float]:
        out = [b.time_h for b in self.boluses]
        for inf in self.infusions:
            out += [inf.start_h, inf.end_h]
        return out

    def conc_ng_per_ml(self, x: np.ndarray) -> np.ndarray:
        return np.maximum(x[:, self.central], 0.0) / self.v1_l * 1000.0


def pk_component(drug: str, regimen: str | Regimen, hours: float, cov: Covariates, rng: np.random.Generator,
                 kb: KnowledgeBase | None = None) -> PKComponent:
    """Build a drug's PK for the population ``cov`` (random effects drawn from ``rng``)."""
    kb = _kb(kb)
    model = model_for(drug, kb)
    reg = regimen if isinstance(regimen, Regimen) else parse_regimen(regimen)
    for r in reg.routes:
        model.check_route(r)
    events = reg.events(until_h=hours)
    n = cov.weight_kg.shape[0]
    etas = draw_etas(model, n, rng)
    p = model.typical(cov)
    model.apply_iiv(p, etas)
    boluses, infusions = model.inputs(events, cov.weight_kg)
    coefs, basis, hill = occupancy_coefficients(drug, kb)
    v1 = np.stack([p[f"{a.name}.v1_l"] for a in model.analytes], axis=1)
    central = [model.central[a.name] for a in model.analytes]
    return PKComponent(drug, reg, model, model.matrix(p), boluses, infusions, v1, central, coefs, basis, hill,
                       dose_warnings(model, reg, hours, cov.weight_kg) if events else [])


class DriveStepper:
    """Advance every component's PK exactly and report the cascade inputs at the current time."""

    def __init__(self, components: list[PKComponent], n: int, input_names: list[str]):
        self.components = components
        self.n = n
        self.input_names = input_names
        self.x = [np.zeros((n, c.a.shape[1])) for c in components]
        self._cache: list[dict[float, tuple[np.ndarray, np.ndarray]]] = [{} for _ in components]
        self._bolus = [self._by_time(c.boluses) for c in components]

    @staticmethod
    def _by_time(boluses: list[Bolus]) -> dict[float, list[Bolus]]:
        out: dict[float, list[Bolus]] = {}
        for b in boluses:
            out.setdefault(round(b.time_h, 9), []).append(b)
        return out

    def dose(self, t: float) -> None:
        """Apply the boluses given at time ``t``."""
        key = round(t, 9)
        for x, by_time in zip(self.x, self._bolus):
            for b in by_time.get(key, ()):
                x[:, b.state] += b.amount

    def advance(self, t: float, dt: float) -> None:
        """Move from ``t`` to ``t + dt`` (no dose event strictly inside)."""
        key = round(dt, 12)
        mid = t + dt / 2
        for i, c in enumerate(self.components):
            cache = self._cache[i]
            if key not in cache:
                cache[key] = _step_matrices(c.a, dt)
            phi, psi = cache[key]
            x = np.einsum("sij,sj->si", phi, self.x[i])
            active = [inf for inf in c.infusions if inf.start_h <= mid < inf.end_h]
            if active:
                r = np.zeros_like(x)
                for inf in active:
                    r[:, inf.state] += inf.rate
                x += np.einsum("sij,sj->si", psi, r)
            self.x[i] = x

    def inputs(self) -> dict[str, np.ndarray]:
        s_sum: dict[str, np.ndarray] = {}
        hill = 1.0
        for x, c in zip(self.x, self.components):
            conc = c.conc_ng_per_ml(x)
            hill = c.hill
            for target, coef in c.coefs.items():
                s_sum[target] = s_sum.get(target, 0.0) + conc @ coef
        out = {name: np.zeros(self.n) for name in self.input_names}
        for target, s in s_sum.items():
            name = TARGET_INPUTS.get(target)
            if name in out:
                out[name] = occupied_fraction(s, hill)
        return out

    def event_times(self) -> list[float]:
        return sorted({t for c in self.components for t in c.event_times()})
