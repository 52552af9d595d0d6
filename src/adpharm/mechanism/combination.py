"""Two or more drugs together: does the combination do more than its parts?

The combination and each drug alone are solved for the same virtual patients (the same PK draws,
placebo responsiveness, sensitivity and rater errors), so the comparison carries no sampling noise
between arms. For each patient the drug effect is the fractional reduction ``D`` of the MADRS score
beyond placebo; Bliss independence expects ``1 - prod(1 - D_k)`` from the single drugs, and the
highest single agent (HSA) is ``max(D_k)``. Positive excess over Bliss is synergy on this scale.

In the cascade the two arms only meet in the plasticity state, which adds their contributions, and
the symptom model saturates (``D = sP / (1 + sP)``), so without a cross-talk term the model can
only give at most Bliss-additive effects; the literature's reports of synergy in rats (ketamine with
imipramine) would need an interaction that the model does not have. The labelled interactions of
the knowledge base (e.g. blood pressure with MAOIs) are reported as flags alongside.

References
----------
.. [1] Bliss CI (1939). The toxicity of poisons applied jointly. Ann Appl Biol 26(3):585-615.
   doi:10.1111/j.1744-7348.1939.tb06990.x
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..pharmacology.model import REFERENCE_WEIGHT_KG
from ..pharmacology.simulate import PatientCovariates
from ..errors import AdpharmInputError
from ..knowledge.loader import KnowledgeBase
from .integrate import grid_for
from .model import CascadeModel
from .simulate import MechanismResult, model_version, simulate, solve
from .symptoms import drug_fraction
from ..display import NotebookDisplay


@dataclass
class CombinationResult(NotebookDisplay):
    """Per-day mean drug effect (fraction of the placebo-arm MADRS removed) alone and together."""

    drugs: list[str]
    regimens: list[tuple[str, str]]
    table: pd.DataFrame
    flags: list[dict]
    seed: int | None
    n: int
    model: CascadeModel

    def summary(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        return {"drugs": self.drugs, "regimen": "; ".join(f"{d}: {r}" for d, r in self.regimens),
                "days": self.table.to_dict(orient="records"), "flags": self.flags,
                "provenance": {"model": model_version(self.model), "seed": self.seed, "n": self.n,
                               "effect": "mean over patients of the fractional MADRS reduction beyond placebo",
                               "bliss": "1 - prod(1 - D_k) per patient (Bliss 1939)",
                               "hsa": "highest single agent, max(D_k) per patient",
                               "research_use_only": True}}

    def plot(self, ax=None):
        from ..figures import pyplot
        plt = pyplot()
        ax = ax or plt.subplots(figsize=(7, 3.5), constrained_layout=True)[1]
        t = self.table
        for d in self.drugs:
            ax.plot(t.day, t[f"effect_{d}"], label=f"{d} alone")
        ax.plot(t.day, t.effect_combination, label="combination", lw=2)
        ax.plot(t.day, t.effect_bliss, ls="--", label="Bliss expected")
        ax.set(xlabel="day", ylabel="MADRS reduction beyond placebo (fraction)",
               title=f"n = {self.n}, seed {self.seed}; {model_version(self.model)}; research use only")
        ax.title.set_fontsize(7)
        ax.legend(fontsize=7)
        return ax


def combination_of(result: MechanismResult) -> CombinationResult:
    """Each drug of a simulated combination alone, for the same patients, against the combination."""
    if len(result.regimens) < 2:
        raise AdpharmInputError("give at least two drugs with their regimens", field="regimens")
    setup, model = result.setup, result.model
    sens = setup.patients.sensitivity
    together = drug_fraction(sens[:, None], result.plasticity)
    grid = grid_for(setup.components)   # each drug alone on the combination's step grid
    alone = [drug_fraction(sens[:, None], solve(model, setup, components=[c], grid=grid, record_mean=())["plasticity"])
             for c in setup.components]
    days = sorted(result.day_index.items())
    at = [i for _, i in days]
    together, alone = together[:, at], [a[:, at] for a in alone]
    bliss = 1.0 - np.prod([1.0 - a for a in alone], axis=0)
    hsa = np.max(alone, axis=0)
    drugs = [d for d, _ in result.regimens]
    table = pd.DataFrame({"day": [d for d, _ in days]})
    for d, a in zip(drugs, alone):
        table[f"effect_{d}"] = a.mean(axis=0)
    table["effect_combination"] = together.mean(axis=0)
    table["effect_bliss"] = bliss.mean(axis=0)
    table["effect_hsa"] = hsa.mean(axis=0)
    table["excess_over_bliss"] = (together - bliss).mean(axis=0)
    table["excess_over_hsa"] = (together - hsa).mean(axis=0)
    return CombinationResult(drugs=drugs, regimens=result.regimens, table=table, flags=result.flags, seed=result.seed,
                             n=result.n, model=model)


def with_combination(result: MechanismResult) -> MechanismResult:
    """``result`` with :func:`combination_of` attached as its ``combination`` (shown in its text and JSON); a
    single drug's result is returned as it is."""
    if len(result.regimens) < 2:
        return result
    return replace(result, combination=combination_of(result))


def combination(regimens: list[tuple[str, str]], days: float, *, n: int = 500, seed: int | None = 0,
                weight_kg: float = REFERENCE_WEIGHT_KG, model: CascadeModel | None = None,
                kb: KnowledgeBase | None = None) -> CombinationResult:
    """Effect of each drug alone and of the combination, with the Bliss and HSA expectations, per day."""
    if isinstance(regimens, tuple) or len(regimens) < 2:
        raise AdpharmInputError("give at least two drugs with their regimens", field="regimens")
    return combination_of(simulate(list(regimens), days, n=n, seed=seed,
                                   covariates=PatientCovariates(weight_kg=weight_kg), model=model, kb=kb))
