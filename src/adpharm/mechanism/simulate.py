"""Run the mechanism: regimen -> PK -> occupancy -> cascade -> MADRS, for a population, with placebo.

:func:`simulate` is the one entry point (the command line, the guide, the trials engine and the
benchmark call it). Every random draw (covariates, PK random effects, placebo responsiveness,
sensitivity, rater error) is made from one seeded generator before anything is solved, and the
placebo arm is the same virtual patients without the drug.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from ..knowledge.loader import KnowledgeBase, or_bundled
from ..pharmacology.simulate import PERCENTILES, PatientCovariates
from .drive import DriveStepper, PKComponent, pk_component
from .integrate import Grid, integrate
from .model import CascadeModel, load
from .population import Population, load_populations
from .symptoms import (REMISSION_MADRS, Patients, draw_patients, hamd17_from_madrs, madrs, population_values,
                       remitters, responders)
from ..display import NotebookDisplay, table_text

MAX_DAYS = 365
MAX_PATIENTS = 1_000_000
#: mean MADRS difference from placebo taken as clinically meaningful (points)
ONSET_THRESHOLD_MADRS = 2.0
#: what the JSON ``states`` holds: the steps of both arms, from occupancy to the plasticity state
REPORTED = ["occ_nmda", "glutamate_frac", "ampa_drive_frac", "bdnf_release_frac", "trkb_frac", "mtorc1_frac",
            "synaptic_protein_frac", "spine_density_frac", "occ_sert", "occ_net", "serotonin_fold",
            "noradrenaline_fold", "raphe_firing_fold", "autoreceptor_sensitivity", "creb_frac",
            "bdnf_transcription_frac", "new_neuron_frac", "plasticity", "dissociation_frac",
            "systolic_bp_change_mmhg", "diastolic_bp_change_mmhg",
            "anticholinergic_load_frac", "antihistaminergic_load_frac"]


def day_index(times_h: np.ndarray) -> dict[int, int]:
    """Whole days among the output times, mapped to their index."""
    return {int(round(t / 24)): i for i, t in enumerate(times_h) if abs(t / 24 - round(t / 24)) < 1e-9}


def onset_day(separation: np.ndarray, times_h: np.ndarray, threshold: float) -> int | None:
    """First whole day (>= 1) on which the mean placebo-minus-drug MADRS reaches ``threshold``."""
    for d, i in sorted(day_index(times_h).items()):
        if d >= 1 and separation[i] >= threshold:
            return d
    return None


#: the measures of early onset of Taylor et al. 2006 (SSRIs against placebo): week 1 against week 6
EARLY_DAY, REFERENCE_DAY = 7, 42


def early_onset(summary: pd.DataFrame) -> dict | None:
    """Early onset as Taylor et al. (2006) measured it, from a :meth:`MechanismResult.summary` table.

    Returns the relative risk of a 50 % reduction at day 7 (drug over placebo; None when no placebo
    patient responds), the day-7 separation (placebo minus drug mean MADRS) and its share of the separation
    at day 42 (or at the last whole day when the run is shorter), or None for runs shorter than 7 days.

    References
    ----------
    .. [1] Taylor MJ, Freemantle N, Geddes JR, Bhagwagar Z (2006). Early onset of selective serotonin
       reuptake inhibitor antidepressant action: systematic review and meta-analysis. Arch Gen Psychiatry
       63(11):1217-1223. doi:10.1001/archpsyc.63.11.1217 (RR 1.64, 1.2-2.25; about a third of the week-6
       difference at week 1).

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"day": [7, 42], "separation": [1.0, 3.0], "response_rate": [0.09, 0.5],
    ...                   "placebo_response_rate": [0.06, 0.35]})
    >>> round(early_onset(t)["week1_relative_risk"], 2), round(early_onset(t)["week1_share"], 3)
    (1.5, 0.333)
    """
    rows = summary.set_index("day")
    if EARLY_DAY not in rows.index:
        return None
    ref_day = REFERENCE_DAY if REFERENCE_DAY in rows.index else int(rows.index.max())
    w1, ref = rows.loc[EARLY_DAY], rows.loc[ref_day]
    placebo = float(w1["placebo_response_rate"])
    return {"week1_relative_risk": float(w1["response_rate"]) / placebo if placebo > 0 else None,
            "week1_response_rate": float(w1["response_rate"]), "week1_placebo_response_rate": placebo,
            "week1_separation": float(w1["separation"]), "reference_day": ref_day,
            "reference_separation": float(ref["separation"]),
            "week1_share": float(w1["separation"]) / float(ref["separation"]) if ref["separation"] > 0 else None,
            "published": "Taylor 2006 (taylor2006), SSRIs against placebo: RR 1.64 (1.2-2.25) for a 50 % HDRS "
                         "reduction at week 1; about a third of the week-6 difference at week 1"}


def is_monoaminergic(drug: str) -> bool:
    """Whether a drug's class belongs to the monoaminergic family: the drugs Taylor 2006's week-1 measures
    describe (a fast-acting drug's week 1 is its fading, not its onset)."""
    kb = or_bundled(None)
    d = kb.drugs.get(drug)
    return d is not None and d.drug_class in kb.classes and kb.classes[d.drug_class].family == "monoaminergic"


def early_onset_text(onset: dict | None) -> str:
    """One line for the text output; empty when the run is shorter than a week."""
    if onset is None:
        return ""
    rr = onset["week1_relative_risk"]
    rr_text = "not estimable (no placebo responder)" if rr is None else f"{rr:.2f}"
    share = onset["week1_share"]
    share_text = "" if share is None else f" = {100 * share:.0f} % of day {onset['reference_day']}'s"
    return (f"early onset (Taylor 2006's measures): week-1 relative risk of a 50 % reduction {rr_text} "
            f"({100 * onset['week1_response_rate']:.1f} % vs {100 * onset['week1_placebo_response_rate']:.1f} %); "
            f"week-1 separation {onset['week1_separation']:.2f} MADRS points{share_text} "
            f"({onset['reference_separation']:.2f}); published: RR 1.64 (1.2-2.25), about a third\n")


def regimen_text(regimens: list[tuple[str, str]]) -> str:
    """``drug: regimen; drug: regimen``: the regimens of a run as one line."""
    return "; ".join(f"{d}: {r}" for d, r in regimens)


def early_onset_line(summary: pd.DataFrame, regimens: list[tuple[str, str]]) -> str:
    """Taylor 2006's early-onset line (:func:`early_onset_text`) for a run whose drugs are all monoaminergic,
    else empty (a fast-acting drug's week 1 is its fading, not its onset)."""
    return early_onset_text(early_onset(summary) if all(is_monoaminergic(d) for d, _ in regimens) else None)


def population_line(population: Population | None, control: str) -> str:
    """``population: NAME (LABEL); placebo arm: CONTROL``, a line of a run's text."""
    pop = population or load_populations().get(None)
    return f"population: {pop.name} ({pop.label}); placebo arm: {control}\n"


def model_version(model: CascadeModel) -> str:
    return f"adpharm {__version__} cascade model {model.version} ({model.source})"


@dataclass
class MechanismResult(NotebookDisplay):
    """Trajectories of one regimen (or combination) and its placebo arm for a virtual population."""

    label: str
    regimens: list[tuple[str, str]]
    times_h: np.ndarray
    states: dict[str, np.ndarray]        # mean over patients, per output time
    madrs: np.ndarray                    # (patients, times)
    madrs_placebo: np.ndarray
    baseline: np.ndarray
    remission_threshold: float
    onset_threshold: float
    seed: int | None
    model: CascadeModel
    params: dict
    warnings: list[str] = field(default_factory=list)
    flags: list[dict] = field(default_factory=list)
    components: list[PKComponent] = field(default_factory=list, repr=False)
    setup: Setup | None = field(default=None, repr=False)         # the draws, to re-solve parts of the regimen
    plasticity: np.ndarray | None = field(default=None, repr=False)  # (patients, times)
    population: Population | None = None
    expectancy: dict = field(default_factory=dict)   # the expectancy factor of each arm, and why
    background: list[tuple[str, str]] = field(default_factory=list)   # given to both arms (e.g. an oral antidepressant)
    #: each drug of a combination alone against it (:func:`adpharm.mechanism.combination.with_combination`)
    combination: NotebookDisplay | None = field(default=None, repr=False)

    @property
    def n(self) -> int:
        return self.madrs.shape[0]

    def text(self) -> str:
        """The run (regimen, patients, seed, onset day), who the patients are, the table by day, Taylor 2006's
        early-onset measures (monoaminergic drugs) and, for a combination, each drug alone against it."""
        control = self.expectancy.get("control", "inert")
        head = (f"{self.label}: {regimen_text(self.regimens)} ({self.n} "
                f"patient{'s' if self.n > 1 else ''}, seed {self.seed}; onset day {self.onset_day()})\n"
                + population_line(self.population, control))
        summary = self.summary()
        text = head + table_text(summary, ".3f") + "\n" + early_onset_line(summary, self.regimens)
        if self.combination is not None:
            text += ("\ncombination (fraction of the MADRS removed beyond placebo; Bliss = independent action):\n"
                     + table_text(self.combination.summary(), ".3f") + "\n")
        return text

    @property
    def day_index(self) -> dict[int, int]:
        """Whole days and the output index at that time."""
        return day_index(self.times_h)

    def rates(self, scores: np.ndarray) -> tuple[dict[str, float], dict[str, float]]:
        resp = responders(scores, self.baseline).mean(axis=0)
        rem = remitters(scores, self.remission_threshold).mean(axis=0)
        days = self.day_index
        return ({str(d): float(resp[i]) for d, i in days.items()}, {str(d): float(rem[i]) for d, i in days.items()})

    def separation(self) -> np.ndarray:
        """Mean MADRS, placebo minus drug, at each output time (positive: the drug is better)."""
        return self.madrs_placebo.mean(axis=0) - self.madrs.mean(axis=0)

    def onset_day(self) -> int | None:
        """First whole day (>= 1) with a mean separation from placebo of at least the threshold."""
        return onset_day(self.separation(), self.times_h, self.onset_threshold)

    def onset_h(self) -> float | None:
        sep = self.separation()
        hit = np.nonzero(sep >= self.onset_threshold)[0]
        return float(self.times_h[hit[0]]) if hit.size else None

    def summary(self) -> pd.DataFrame:
        """One row per whole day: MADRS (drug, placebo), separation, response and remission rates."""
        resp, rem = self.rates(self.madrs)
        presp, prem = self.rates(self.madrs_placebo)
        sep = self.separation()
        rows = []
        for d, i in sorted(self.day_index.items()):
            rows.append({"day": d, "madrs_mean": float(self.madrs[:, i].mean()),
                         "madrs_placebo_mean": float(self.madrs_placebo[:, i].mean()),
                         "separation": float(sep[i]), "response_rate": resp[str(d)], "remission_rate": rem[str(d)],
                         "placebo_response_rate": presp[str(d)], "placebo_remission_rate": prem[str(d)]})
        return pd.DataFrame(rows)

    @staticmethod
    def _percentiles(scores: np.ndarray) -> dict[str, list[float]]:
        out = {"mean": scores.mean(axis=0)}
        for p in PERCENTILES:
            out[f"p{p}"] = np.percentile(scores, p, axis=0)
        return {k: [round(float(x), 4) for x in v] for k, v in out.items()}

    def provenance(self) -> dict:
        return {
            "model": model_version(self.model),
            "seed": self.seed, "n": self.n,
            "population": self.population.to_dict() if self.population else None,
            "placebo_arm": self.expectancy,
            "parameters": {k: {"value": (float(np.mean(v)) if np.ndim(v) else float(v)),
                               "basis": self.model.parameters[k].basis, "refs": list(self.model.parameters[k].refs),
                               "fact": self.model.parameters[k].fact} for k, v in self.params.items()},
            "pk": {c.drug: {"targets": c.basis} for c in self.components},
            "states": "mean over virtual patients at each time",
            "onset": f"first whole day with mean placebo-minus-drug MADRS >= {self.onset_threshold:g} points",
            "remission": f"MADRS <= {self.remission_threshold:g}", "response": "MADRS <= 50 % of baseline",
            "hamd17": "from MADRS by the equipercentile link of Leucht 2018 (leucht2018)",
            "research_use_only": True,
        }

    def side_effects(self) -> dict:
        """Peaks of the side-effect trajectories (population means) and when they occur."""
        out = {}
        for key, name in (("dissociation_peak_frac", "dissociation_frac"),
                          ("systolic_bp_change_peak_mmhg", "systolic_bp_change_mmhg"),
                          ("diastolic_bp_change_peak_mmhg", "diastolic_bp_change_mmhg"),
                          ("anticholinergic_load_peak_frac", "anticholinergic_load_frac"),
                          ("antihistaminergic_load_peak_frac", "antihistaminergic_load_frac")):
            out[key] = float(np.max(self.states[name]))
        out["systolic_bp_peak_time_h"] = float(self.times_h[int(np.argmax(self.states["systolic_bp_change_mmhg"]))])
        out["cadss"] = None
        out["cadss_note"] = ("dissociation is reported as effect-site NMDA occupancy (Bowdle 1998); no sourced "
                             "slope from occupancy to CADSS points was found, so no CADSS score is given")
        return out

    def to_dict(self) -> dict:
        resp, rem = self.rates(self.madrs)
        presp, prem = self.rates(self.madrs_placebo)
        return {
            "drug": self.label,
            "regimen": regimen_text(self.regimens),
            "background": [{"drug": d, "regimen": r, "arms": "both"} for d, r in self.background],
            "time_h": [round(float(t), 6) for t in self.times_h],
            "states": {k: [float(x) for x in v] for k, v in self.states.items()},
            "madrs": self._percentiles(self.madrs),
            "hamd17": self._percentiles(hamd17_from_madrs(self.madrs)),
            "onset_day": self.onset_day(),
            "onset_h": self.onset_h(),
            "early_onset": early_onset(self.summary()),
            "response_rate": resp,
            "remission_rate": rem,
            "placebo": {"madrs": self._percentiles(self.madrs_placebo),
                        "hamd17": self._percentiles(hamd17_from_madrs(self.madrs_placebo)),
                        "response_rate": presp, "remission_rate": prem},
            "side_effects": self.side_effects(),
            "flags": self.flags,
            "warnings": self.warnings,
            "provenance": self.provenance(),
            **({"combination": self.combination.to_dict()} if self.combination is not None else {}),
        }

    def to_sbml(self, patient: int = 0) -> str:
        """SBML of the full model (PK with this run's doses, occupancy, cascade) for one virtual patient."""
        from .sbml import to_sbml
        return to_sbml(self.model, self.params, self.components, patient)

    def tidy(self) -> pd.DataFrame:
        """Wide table, one row per output time: states (population mean) and MADRS means."""
        df = pd.DataFrame({"time_h": self.times_h})
        for k, v in self.states.items():
            df[k] = v
        df["madrs_mean"] = self.madrs.mean(axis=0)
        df["madrs_placebo_mean"] = self.madrs_placebo.mean(axis=0)
        df["hamd17_mean"] = hamd17_from_madrs(self.madrs).mean(axis=0)
        df["hamd17_placebo_mean"] = hamd17_from_madrs(self.madrs_placebo).mean(axis=0)
        return df

    def plot(self, axes=None):
        """Four panels: occupancy, glutamatergic arm, monoaminergic arm, MADRS with placebo."""
        from ..figures import pyplot
        plt = pyplot()
        if axes is None:
            _, axes = plt.subplots(2, 2, figsize=(11, 7), constrained_layout=True)
        ax = np.asarray(axes).ravel()
        d = self.times_h / 24.0
        for name in ("occ_nmda", "occ_sert", "occ_net"):
            ax[0].plot(d, self.states[name], label=name.replace("occ_", "").upper())
        ax[0].set(title="Occupancy", ylabel="fraction", xlabel="day")
        for name in ("glutamate_frac", "bdnf_release_frac", "mtorc1_frac", "synaptic_protein_frac", "spine_density_frac"):
            ax[1].plot(d, self.states[name], label=name.replace("_frac", ""))
        ax[1].set(title="Glutamatergic arm", xlabel="day")
        for name in ("serotonin_fold", "raphe_firing_fold", "autoreceptor_sensitivity", "creb_frac",
                     "bdnf_transcription_frac", "new_neuron_frac"):
            ax[2].plot(d, self.states[name], label=name.replace("_frac", ""))
        ax[2].set(title="Monoaminergic arm", xlabel="day")
        for scores, lab in ((self.madrs, self.label), (self.madrs_placebo, "placebo")):
            m = scores.mean(axis=0)
            ax[3].plot(d, m, label=lab)
            if self.n > 1:
                lo, hi = np.percentile(scores, [25, 75], axis=0)
                ax[3].fill_between(d, lo, hi, alpha=0.15)
        ax[3].set(title=f"MADRS (n = {self.n}, seed {self.seed})", ylabel="MADRS", xlabel="day")
        for a in ax:
            a.legend(fontsize=7)
        ax[3].figure.suptitle(f"{self.label} — simulated, {model_version(self.model)}; research use only", fontsize=8)
        return ax


#: Every labelled interaction is reported, none is simulated: the blood-pressure state follows NMDA
#: load only (no sourced pressor effect of MAO inhibition, tyramine or noradrenaline), and serotonin
#: toxicity is not a state of the model.
INTERACTION_NOT_MODELLED = "labelled, not modelled"


def _flags(drugs: list[str], kb: KnowledgeBase) -> list[dict]:
    """Labelled interactions between the drugs of a combination."""
    out = []
    for a in drugs:
        for b in drugs:
            if a == b:
                continue
            other = kb.drugs[b]
            cls = kb.classes.get(other.drug_class)
            words = {other.name.lower(), other.id, other.drug_class.lower()}
            if cls is not None:
                words.add(cls.name.lower())
            for it in kb.drugs[a].interactions:
                agent = it.agent.lower()
                if any(w and (w in agent or w.rstrip("s") in agent) for w in words):
                    out.append({"drugs": [a, b], "agent": it.agent, "effect": it.effect, "severity": it.severity,
                                "refs": list(it.refs), "modelled": INTERACTION_NOT_MODELLED})
    return out


def output_times(days: float) -> np.ndarray:
    step = 1.0 if days <= 14 else 4.0
    return np.round(np.arange(0.0, days * 24 + step / 2, step), 9)


@dataclass
class Setup:
    """Everything drawn before solving: parameters, output times, each drug's PK, the virtual patients."""

    params: dict
    times_h: np.ndarray
    components: list[PKComponent]
    patients: Patients

    @property
    def n(self) -> int:
        return self.patients.baseline.shape[0]


def check_arguments(regimens, days, n, remission_threshold=REMISSION_MADRS,
                    onset_threshold=ONSET_THRESHOLD_MADRS) -> list[tuple[str, str]]:
    """Validate the common arguments; returns the regimens as a list."""
    if isinstance(regimens, tuple):
        regimens = [regimens]
    if not regimens:
        raise AdpharmInputError("give at least one drug with its regimen", field="regimens")
    if not isinstance(days, (int, float)) or not math.isfinite(days) or days <= 0 or days > MAX_DAYS:
        raise AdpharmInputError(f"{days!r} must be more than 0 and at most {MAX_DAYS}", field="days")
    if not isinstance(n, (int, np.integer)) or n < 1 or n > MAX_PATIENTS:
        raise AdpharmInputError(f"{n!r} must be a whole number from 1 to {MAX_PATIENTS:,}", field="n")
    for name, v in (("remission_threshold", remission_threshold), ("onset_threshold", onset_threshold)):
        if not math.isfinite(v) or v < 0 or v > 60:
            raise AdpharmInputError(f"{v!r} must be between 0 and 60 MADRS points", field=name)
    return list(regimens)


def prepare(regimens: list[tuple[str, str]], days: float, n: int, seed: int | None, model: CascadeModel,
            kb: KnowledgeBase, *, covariates: PatientCovariates | None = None, params: dict | None = None,
            times_h: np.ndarray | None = None, typical: bool = False,
            population: str | Population | None = None) -> Setup:
    """Draw a population and build its PK. ``covariates`` (:class:`PatientCovariates`, default the
    reference adult) says who the patients are. ``typical``: every patient is the typical patient
    (typical PK, median placebo response and onset, unit sensitivity, mean baseline, no rating error).
    ``population`` (a name or a :class:`Population`, default the default population) sets the
    baseline and placebo parameters; ``params`` override them."""
    pop = population if isinstance(population, Population) else load_populations().get(population)
    p = model.parameter_values({**population_values(pop), **(params or {})})
    times = output_times(days) if times_h is None else np.asarray(times_h, dtype=float)
    rng = np.random.default_rng(seed)
    cov = (covariates or PatientCovariates()).draw(n, rng)
    components = [pk_component(d, r, float(times[-1]), cov, rng, kb, typical=typical) for d, r in regimens]
    patients = draw_patients(n, times.size, p, rng)
    if n == 1 or typical:
        patients.sensitivity[:] = 1.0
        patients.expectancy_max[:] = p["placebo_expectancy_median_frac"]
        patients.contact_max[:] = p["placebo_contact_median_frac"]
        patients.baseline[:] = p["madrs_baseline_mean"]
        patients.contact_onset_z[:] = 0.0
    if typical:
        patients.rater_z[:] = 0.0
    return Setup(p, times, components, patients)


def solve(model: CascadeModel, setup: Setup, components: list[PKComponent] | None = None, grid: Grid | None = None,
          record=("plasticity",), record_mean=REPORTED) -> dict[str, np.ndarray]:
    """Integrate the cascade driven by ``components`` (default: all of the setup's drugs)."""
    comps = setup.components if components is None else components
    stepper = DriveStepper(comps, setup.n, list(model.inputs))
    return integrate(model, setup.params, stepper, setup.times_h, list(record), grid, record_mean=list(record_mean))


def simulate(regimens: list[tuple[str, str]] | tuple[str, str], days: float, *, n: int = 1, seed: int | None = None,
             covariates: PatientCovariates | None = None, params: dict | None = None,
             remission_threshold: float = REMISSION_MADRS, onset_threshold: float = ONSET_THRESHOLD_MADRS,
             times_h: np.ndarray | None = None, grid: Grid | None = None, model: CascadeModel | None = None,
             kb: KnowledgeBase | None = None, typical: bool = False, population: str | Population | None = None,
             control: str = "inert", background: list[tuple[str, str]] | None = None) -> MechanismResult:
    """Simulate one drug (``(drug, regimen)``) or a combination (a list of them) and its placebo arm.

    Parameters
    ----------
    regimens : ``(drug, regimen)`` or a list of them (drugs given together).
    days : simulated days (the MADRS visits are every output time; rates are reported per whole day).
    n, seed : virtual patients and the seed. ``n = 1`` is one patient with the typical PK.
    covariates : who the patients are (weight, age, sex, CYP2D6 phenotype and inhibitor), a
        :class:`~adpharm.pharmacology.simulate.PatientCovariates`; default the reference adult.
    params : overrides of model parameters (scalars, or arrays of length ``n``).
    typical : every patient is the typical patient (for sensitivity analysis over parameter arrays).
    population : who the patients are (``adpharm.mechanism.population``): baseline severity and
        placebo response; default the default population (``mdd-outpatient``).
    control : the placebo arm's control, ``inert`` (saline, placebo pill or spray) or ``active``
        (a placebo with noticeable effects, such as midazolam).
    background : ``(drug, regimen)`` pairs given to both arms, as an adjunctive trial gives its newly
        started oral antidepressant (TRANSFORM: esketamine or placebo spray, each with the antidepressant);
        the separation is then the drug's effect over the background's.

    Returns
    -------
    MechanismResult

    Examples
    --------
    >>> r = simulate(("ketamine", "0.5 mg/kg iv over 40 min"), 7, n=50, seed=1)
    >>> r.summary()["day"].tolist()[:3]
    [0, 1, 2]
    """
    kb = or_bundled(kb)
    model = model or load()
    regimens = check_arguments(regimens, days, n, remission_threshold, onset_threshold)
    background = [tuple(b) for b in (background or [])]
    pops = load_populations()
    pop = population if isinstance(population, Population) else pops.get(population)
    setup = prepare(regimens + background, days, n, seed, model, kb, covariates=covariates, params=params,
                    times_h=times_h, typical=typical, population=pop)
    arms = arm_expectancy(regimens, setup.components[:len(regimens)], control, kb)
    out = solve(model, setup, grid=grid)
    placebo_plasticity = (solve(model, setup, components=setup.components[len(regimens):], grid=grid,
                                record_mean=())["plasticity"]
                          if background else np.zeros_like(out["plasticity"]))
    p, times = setup.params, setup.times_h
    warnings = [w for c in setup.components for w in c.warnings]
    label = " + ".join(d for d, _ in regimens)
    return MechanismResult(label=label, regimens=[(d, str(r)) for d, r in regimens], times_h=times,
                           states={k: out[f"mean:{k}"] for k in REPORTED},
                           madrs=madrs(setup.patients, out["plasticity"], times, p, arms["drug_arm_factor"]),
                           madrs_placebo=madrs(setup.patients, placebo_plasticity, times, p,
                                               arms["placebo_arm_factor"]),
                           baseline=setup.patients.baseline, remission_threshold=remission_threshold,
                           onset_threshold=onset_threshold, seed=seed, model=model, params=p, warnings=warnings,
                           flags=_flags([d for d, _ in regimens + background], kb), components=setup.components,
                           setup=setup, plasticity=out["plasticity"], population=pop, expectancy=arms,
                           background=background)


def arm_expectancy(regimens: list[tuple[str, str]], components: list[PKComponent], control: str,
                   kb: KnowledgeBase) -> dict:
    """The expectancy factor of the drug arm and of its placebo arm, with the reason.

    Expectancy applies when the regimens dose by a salient procedure (an infusion, a nasal spray);
    the drug arm keeps all of it, an inert placebo beside a drug of an unblinding class keeps
    ``1 - unblinding`` (functional unblinding, Wilkinson 2019), an active placebo keeps all of it.
    """
    pops = load_populations()
    routes = sorted({r for c in components for r in c.regimen.routes})
    procedure = pops.expectancy_applies(routes)
    classes = [kb.drugs[d].drug_class for d, _ in regimens if d in kb.drugs]
    return {"control": control, "routes": routes, "procedure": procedure,
            "drug_arm_factor": pops.arm_factor(routes, classes, None),
            "placebo_arm_factor": pops.arm_factor(routes, classes, control),
            "unblinding_frac": pops.unblinding_frac.to_dict(),
            "note": ("expectancy of a salient procedure (infusion, nasal spray) in both arms; an inert placebo beside "
                     "a drug patients notice keeps less of it" if procedure else
                     "oral dosing: no procedure expectancy; the non-specific response is therapeutic contact")}
