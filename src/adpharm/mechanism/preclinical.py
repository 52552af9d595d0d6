"""Virtual preclinical assays: the same cascade in a rodent, read out as forced-swim immobility and
sucrose preference after acute or chronic dosing.

Rodent PK is the human compartment model at rodent body weight: clearances scale with weight to the
power 0.75 and volumes linearly (the allometric scaling the PK engine applies to every subject), so
a 25 g mouse clears ketamine about 3.9 times faster per kilogram than a 70 kg adult. Intraperitoneal
injection is represented as an intravenous bolus when the drug's model has that route (i.p.
absorption is fast; first pass through the liver is ignored), and otherwise as an oral dose.
Receptor affinities and the cascade are those of the human model; several of the cascade's time
constants were measured in rodents to begin with (Li 2010, Le Poul 1995, Zhao 2006).

Read-outs, for the typical animal at the test time (by default 24 h after the last dose):

- forced swim immobility = control immobility x (1 - I), with I = P / (1 + P) the improvement the
  plasticity state P gives the typical patient; the control immobility defaults to 0.58, the
  minutes 2-6 immobility ratio of the control mice in ../shared/data/fst (behaviopy);
- sucrose preference: the fraction I of a stress-induced deficit restored, and the preference itself
  when control and stressed preferences are given.

No parameter is fitted to animal behaviour: this is the clinical mapping applied to a rodent, so the
absolute sizes are illustrative and the contrast (acute versus chronic) is the prediction. The model
has no acute behavioural effect of raised monoamines, so it misses the FST's sensitivity to acute or
subacute tricyclics on which Porsolt validated the test [1].

References
----------
.. [1] Porsolt RD, Le Pichon M, Jalfre M (1977). Depression: a new animal model sensitive to
   antidepressant treatments. Nature 266:730-732. doi:10.1038/266730a0
.. [2] Li N et al. (2010). mTOR-dependent synapse formation underlies the rapid antidepressant
   effects of NMDA antagonists. Science 329:959-964. doi:10.1126/science.1190287
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..knowledge.loader import KnowledgeBase, or_bundled
from ..pharmacology.simulate import PatientCovariates, model_for
from .model import CascadeModel, load
from .simulate import model_version, prepare, solve
from ..display import NotebookDisplay, table_text

SPECIES_WEIGHT_KG = {"mouse": 0.025, "rat": 0.3}
#: minutes 2-6 immobility ratio of the control mice (behaviopy forcedswim_bins.csv, n = 14)
CONTROL_IMMOBILITY = 0.58
SCHEDULES = ("acute", "chronic")


@dataclass
class PreclinicalResult(NotebookDisplay):
    """Forced-swim immobility and sucrose-preference restoration, acute versus chronic dosing."""

    drug: str
    dose_mg_per_kg: float
    species: str
    route: str
    chronic_days: int
    test_delay_h: float
    control_immobility: float
    spt_control: float | None
    spt_stressed: float | None
    rows: list[dict]
    courses: dict[str, pd.DataFrame]
    model: CascadeModel

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows)

    def text(self) -> str:
        """The dose, species and route, and the acute and chronic results."""
        return (f"{self.drug} {self.dose_mg_per_kg:g} mg/kg, typical {self.species} (i.p. as {self.route})\n"
                + table_text(self.summary(), ".4g") + "\n")

    def to_dict(self) -> dict:
        return {
            "drug": self.drug, "dose_mg_per_kg": self.dose_mg_per_kg, "species": self.species, "route": self.route,
            "results": self.rows,
            "provenance": {
                "model": model_version(self.model),
                "animal": f"typical {self.species} of {SPECIES_WEIGHT_KG[self.species] * 1000:g} g; human PK scaled "
                          "allometrically (clearance ^0.75, volume ^1); human affinities and cascade",
                "route": "intraperitoneal represented as " + self.route,
                "immobility": f"control immobility {self.control_immobility:g} x (1 - P / (1 + P)); "
                              "default control 0.58 from behaviopy_fst (../shared/data/fst)",
                "sucrose_preference": "fraction of the stress-induced deficit restored = P / (1 + P)",
                "test": f"{self.test_delay_h:g} h after the last dose; chronic = {self.chronic_days} daily doses",
                "calibration": "none on animal behaviour: the clinical mapping applied to a rodent",
                "research_use_only": True,
            },
        }

    def plot(self, ax=None):
        """Immobility over time after the first dose, acute and chronic schedules, with the test times."""
        from ..figures import pyplot
        plt = pyplot()
        ax = ax or plt.subplots(figsize=(7, 3.5), constrained_layout=True)[1]
        for sched, df in self.courses.items():
            ax.plot(df.time_h / 24.0, df.immobility, label=sched)
        for r in self.rows:
            ax.plot(r["test_time_h"] / 24.0, r["immobility"], "o", color="k")
        ax.axhline(self.control_immobility, ls=":", color="grey", label="vehicle")
        ax.set(xlabel="day", ylabel="FST immobility (fraction)", ylim=(0, 1),
               title=f"{self.drug} {self.dose_mg_per_kg:g} mg/kg in a typical {self.species} "
                     f"(simulated; {model_version(self.model)}; research use only)")
        ax.title.set_fontsize(7)
        ax.legend(fontsize=7)
        return ax


def preclinical(drug: str, dose_mg_per_kg: float, *, species: str = "mouse", chronic_days: int = 21,
                test_delay_h: float = 24.0, control_immobility: float = CONTROL_IMMOBILITY,
                spt_control: float | None = None, spt_stressed: float | None = None,
                model: CascadeModel | None = None, kb: KnowledgeBase | None = None) -> PreclinicalResult:
    """Virtual forced swim and sucrose preference after one dose and after ``chronic_days`` daily doses.

    Parameters
    ----------
    drug : a bundled drug.
    dose_mg_per_kg : the dose per injection (mg/kg, intraperitoneal).
    species : ``"mouse"`` (25 g) or ``"rat"`` (300 g).
    chronic_days : daily doses of the chronic schedule (21 by convention).
    test_delay_h : hours from the last dose to the test.
    control_immobility : vehicle immobility fraction.
    spt_control, spt_stressed : sucrose preference of unstressed and stressed vehicle animals, to
        report the preference itself (optional).

    Returns
    -------
    PreclinicalResult
    """
    kb = or_bundled(kb)
    model = model or load()
    if species not in SPECIES_WEIGHT_KG:
        raise AdpharmInputError(f"{species!r} is not one of {', '.join(SPECIES_WEIGHT_KG)}", field="species")
    if not (isinstance(dose_mg_per_kg, (int, float)) and math.isfinite(dose_mg_per_kg) and 0 < dose_mg_per_kg <= 1000):
        raise AdpharmInputError(f"dose: {dose_mg_per_kg!r} mg/kg must be above 0 and at most 1000")
    if not (isinstance(chronic_days, int) and 1 <= chronic_days <= 120):
        raise AdpharmInputError(f"chronic days: {chronic_days!r} must be a whole number from 1 to 120")
    if not (math.isfinite(test_delay_h) and 0 < test_delay_h <= 24 * 14):
        raise AdpharmInputError(f"test delay: {test_delay_h!r} h must be above 0 and at most 336")
    if not (0 < control_immobility < 1):
        raise AdpharmInputError(f"control immobility: {control_immobility!r} must be a fraction between 0 and 1")
    if (spt_control is None) != (spt_stressed is None):
        raise AdpharmInputError("sucrose preference: give both the control and the stressed preference, or neither")
    if spt_control is not None and not (0 <= spt_stressed < spt_control <= 1):
        raise AdpharmInputError(f"sucrose preference: stressed {spt_stressed!r} must be below control {spt_control!r}, "
                                "both fractions")
    pk = model_for(drug, kb)
    route = "iv" if "iv" in pk.spec.routes or not pk.spec.routes else "po"
    rows, courses = [], {}
    for sched in SCHEDULES:
        doses = 1 if sched == "acute" else chronic_days
        regimen = f"{dose_mg_per_kg:g} mg/kg {route}" + (f" daily for {doses} days" if doses > 1 else "")
        test_h = 24.0 * (doses - 1) + test_delay_h
        step = 0.25 if test_h <= 72 else 2.0
        times = np.unique(np.round(np.append(np.arange(0.0, test_h, step), test_h), 9))
        setup = prepare([(drug, regimen)], test_h / 24.0, 1, 0, model, kb,
                        covariates=PatientCovariates(weight_kg=SPECIES_WEIGHT_KG[species]), times_h=times,
                        typical=True)
        out = solve(model, setup, record_mean=())
        plast = out["plasticity"][0]
        improvement = plast / (1.0 + plast)
        courses[sched] = pd.DataFrame({"time_h": times, "plasticity": plast,
                                       "immobility": control_immobility * (1.0 - improvement)})
        imp = float(improvement[-1])
        row = {"schedule": sched, "doses": doses, "regimen": regimen, "test_time_h": float(test_h),
               "plasticity": float(plast[-1]), "immobility": control_immobility * (1.0 - imp),
               "immobility_vehicle": control_immobility,
               "immobility_reduction_pct": 100.0 * imp, "spt_deficit_restored_frac": imp}
        if spt_control is not None:
            row["sucrose_preference"] = spt_stressed + (spt_control - spt_stressed) * imp
        rows.append(row)
    return PreclinicalResult(drug=drug, dose_mg_per_kg=float(dose_mg_per_kg), species=species, route=route,
                             chronic_days=chronic_days, test_delay_h=float(test_delay_h),
                             control_immobility=float(control_immobility), spt_control=spt_control,
                             spt_stressed=spt_stressed, rows=rows, courses=courses, model=model)
