"""Therapeutic drug monitoring: the concentration a regimen should give, the consensus range, and
where a measured level falls.

:func:`tdm` simulates a virtual population (seeded, with the drug's sourced between-subject
variability and the chosen CYP2D6 phenotype, co-medication and age) on the regimen until steady
state, and reads every analyte, and the analytes the consensus range sums, at the sampling time
after the last dose. The expected range is the dose-related reference range of the AGNP guideline
built from the model: the 16th-84th percentiles (mean +- SD, 68 % of "normal" patients: CYP2D6
normal metabolisers without interacting co-medication, the default). A measured level below it
suggests non-adherence or fast metabolism, above it slow metabolism, an interacting inhibitor or a
sample drawn too soon after a dose [1]_ [2]_. The 5th-95th percentiles are reported as well. The
consensus therapeutic reference range comes from ``knowledge/data/tdm.yaml``.

References
----------
.. [1] Hiemke C, Bergemann N, Clement HW, et al. (2018). Consensus guidelines for therapeutic drug
   monitoring in neuropsychopharmacology: update 2017. Pharmacopsychiatry 51:9-62.
   doi:10.1055/s-0043-116492
.. [2] Haen E, Greiner C. Dose-related reference ranges for therapeutic drug monitoring in human
   blood specimens. European Psychiatry (abstract).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..io import jsonable
from ..knowledge.loader import KnowledgeBase
from ..knowledge.schema import TDMRange
from .inactivation import recovery_note
from .model import (CYP2D6_INHIBITOR_REFS, NO_INHIBITOR, PHENOTYPES, REFERENCE_AGE_Y, REFERENCE_PHENOTYPE,
                    REFERENCE_SEX, REFERENCE_WEIGHT_KG)
from .regimen import Regimen, parse_regimen
from .simulate import (MODEL_VERSION, PatientCovariates, dose_warnings, draw_etas, model_for,
                       solve_chunk)
from .tdm_dose import DEFAULT_RESIDUAL_CV_PCT, DoseProposal, propose_dose as propose_dose_for
from .tdm_measured import SUM, Measured, check_unit, from_ng_per_ml, parse_measured, ratio_ranges, to_ng_per_ml
from ..display import NotebookDisplay

PERCENTILES = (5, 16, 50, 84, 95)
#: Steady state is read after at least this long on the final dose (desipramine under CYP2D6
#: saturation and norfluoxetine need about six weeks to come within a few per cent).
STEADY_STATE_H = 56 * 24.0
DEFAULT_N = 1000
DEFAULT_SEED = 2026
_INTERPRET_REFS = ["hiemke2018"]


@dataclass
class TDMResult(NotebookDisplay):
    """Expected concentrations at the sampling time, the consensus range and the measured level.

    ``expected`` has one row per quantity (each analyte, and the sum when the consensus range sums
    several) with the typical adult's value and the population's 5th/16th/50th/84th/95th percentiles
    (ng/mL); the 16th-84th percentiles are the dose-related reference range.
    """

    drug: str
    regimen: str
    sample_h: float
    interval_h: float
    phenotype: str
    cyp2d6_inhibitor: str
    age_y: float
    n: int
    seed: int
    expected: pd.DataFrame
    consensus: TDMRange | None
    quantity: str
    measured_ng_per_ml: float | None = None
    measured_percentile: float | None = None
    verdict: str | None = None
    against_range: str | None = None
    variability: bool = True
    profile_h: np.ndarray | None = None
    profile_ng_per_ml: np.ndarray | None = None   # (percentiles + typical, times) of the quantity
    warnings: list[str] = field(default_factory=list)
    weight_kg: float = REFERENCE_WEIGHT_KG
    sex: str = REFERENCE_SEX
    #: the covariate effects that acted on this drug's model, each with its source
    covariates_applied: list[str] = field(default_factory=list)
    #: the unit of the measured levels and of ``expected`` (ng/mL or nmol/L)
    unit: str = "ng/mL"
    #: hours since the first dose when the sample was drawn (None: at steady state)
    since_start_h: float | None = None
    #: the typical patient's level at the sampling time as a fraction of its steady-state level
    steady_state_fraction: float | None = None
    #: each measured quantity placed in the expected distribution
    placements: list[dict] = field(default_factory=list)
    #: the metabolite-to-parent ratio, where both were measured
    ratio: dict | None = None
    dose_proposal: DoseProposal | None = None
    dose_proposal_note: str | None = None

    def summary(self) -> pd.DataFrame:
        """The expected concentrations (ng/mL) at the sampling time."""
        return self.expected.copy()

    def provenance(self) -> dict:
        c = self.consensus
        return {
            "model_version": MODEL_VERSION, "seed": self.seed, "n_subjects": self.n,
            "population": (f"{self.weight_kg:g} kg, {self.age_y:g} y, {self.sex}; CYP2D6 {self.phenotype}; "
                           f"CYP2D6 inhibitor {self.cyp2d6_inhibitor}"),
            "covariates_applied": list(self.covariates_applied),
            "steady_state": f"after {STEADY_STATE_H / 24:g} days on the final dose",
            "consensus_refs": list(c.refs) if c else [],
            "interpretation_refs": _INTERPRET_REFS,
            "inhibitor_refs": CYP2D6_INHIBITOR_REFS if self.cyp2d6_inhibitor != "none" else [],
            "note": "simulation of the dose-related range; research use only, not for clinical decisions",
        }

    def to_dict(self) -> dict:
        c = self.consensus
        rows = self.expected.to_dict("records")
        key = "expected_ng_per_ml" if self.unit == "ng/mL" else "expected_nmol_per_l"
        return {
            "drug": self.drug, "regimen": self.regimen, "sample_h_after_dose": self.sample_h,
            "since_start_h": self.since_start_h, "steady_state_fraction": self.steady_state_fraction,
            "interval_h": self.interval_h, "quantity": self.quantity, "unit": self.unit,
            key: jsonable(rows),
            "variability_sourced": self.variability,
            "consensus_range_ng_per_ml": ({"low": c.low_ng_per_ml, "high": c.high_ng_per_ml,
                                          "source": c.source_label,
                                          "alert": c.alert_ng_per_ml, "analytes": c.analytes, "refs": c.refs,
                                          "note": c.note} if c and c.has_range else None),
            "consensus_note": c.note if c and not c.has_range else None,
            "measured_ng_per_ml": self.measured_ng_per_ml, "measured_percentile": self.measured_percentile,
            "verdict": self.verdict, "against_consensus_range": self.against_range,
            "measured": jsonable(self.placements), "ratio": jsonable(self.ratio),
            "dose_proposal": self.dose_proposal.to_dict() if self.dose_proposal is not None else None,
            "dose_proposal_note": self.dose_proposal_note,
            "warnings": self.warnings, "provenance": self.provenance(),
        }

    def _timing(self) -> str:
        if self.since_start_h is None:
            return (f"sampled {self.sample_h:g} h after the last dose (dosing interval {self.interval_h:g} h), "
                    "steady state")
        frac = (f"; the typical patient is at {100 * self.steady_state_fraction:.0f} % of steady state"
                if self.steady_state_fraction is not None else "")
        return (f"sampled {self.sample_h:g} h after the last dose, {self.since_start_h / 24:.3g} days after the first "
                f"(dosing interval {self.interval_h:g} h): before steady state{frac}")

    def text(self) -> str:
        """The report as plain text."""
        lines = [f"{self.drug}: {self.regimen}, {self._timing()}",
                 f"population: {self.provenance()['population']} ({self.n} virtual patients, seed {self.seed})"]
        lines += [f"  {c}" for c in self.covariates_applied]
        lines += ["", f"expected concentration ({self.unit}):"]
        for r in self.expected.itertuples(index=False):
            band = (f"  median {r.p50:.0f}, expected (68 %) {r.p16:.0f}-{r.p84:.0f}, 90 % {r.p5:.0f}-{r.p95:.0f}"
                    if self.variability else "")
            lines.append(f"  {r.quantity:28s} typical {r.typical:.0f}{band}")
        if not self.variability:
            lines.append("  (no sourced between-subject variability for this drug: typical value only)")
        c = self.consensus
        if c is not None and c.has_range:
            alert = f"; its alert level {c.alert_ng_per_ml:g}" if c.alert_ng_per_ml else "; no alert level sourced"
            lines.append(f"therapeutic reference range ({' + '.join(c.analytes)}) of {c.source_label}: "
                         f"{c.low_ng_per_ml:g}-{c.high_ng_per_ml:g} ng/mL{alert} [{', '.join(c.refs)}]")
        elif c is not None:
            lines.append(f"therapeutic reference range: not compared ({c.note})")
        else:
            lines.append("therapeutic reference range: none bundled for this drug")
        for p in self.placements:
            pct = (f", {_ordinal(p['percentile'])} percentile of the expected "
                   f"({p['expected_p16']:.0f}-{p['expected_p84']:.0f} {self.unit})" if p["percentile"] is not None else "")
            conv = f" = {p['measured_ng_per_ml']:.4g} ng/mL" if self.unit != "ng/mL" else ""
            lines.append(f"measured {p['quantity']}: {p['measured']:g} {self.unit}{conv}{pct}")
            lines.append(f"  {p['verdict']}")
            if p["quantity"] == self.quantity and self.against_range:
                lines.append(f"  {self.against_range}")
        if self.ratio is not None:
            lines += _ratio_lines(self.ratio)
        if self.dose_proposal is not None:
            lines += ["", self.dose_proposal.text().rstrip()]
        elif self.dose_proposal_note:
            lines += ["", self.dose_proposal_note]
        return "\n".join(lines) + "\n"

    def plot(self, ax=None):
        """The expected band of the monitored quantity over the last dosing interval, the consensus
        range, the sampling time and the measured level."""
        from ..figures import pyplot
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        t = self.profile_h
        p5, p16, med, p84, p95, typ = self.profile_ng_per_ml
        if self.variability:
            ax.fill_between(t, p5, p95, alpha=0.15, color="C0", label="5th-95th percentile")
            ax.fill_between(t, p16, p84, alpha=0.3, color="C0", label="expected range (16th-84th)")
            ax.plot(t, med, color="C0", label="median")
        ax.plot(t, typ, linestyle="--", label="typical adult")
        c = self.consensus
        if c is not None and c.has_range:
            ax.axhspan(c.low_ng_per_ml, c.high_ng_per_ml, color="green", alpha=0.12,
                       label=f"{c.range_source or 'reference'} range {c.low_ng_per_ml:g}-{c.high_ng_per_ml:g}")
        ax.axvline(self.sample_h, color="grey", linewidth=0.8)
        if self.measured_ng_per_ml is not None:
            ax.plot([self.sample_h], [self.measured_ng_per_ml], "ko", label=f"measured {self.measured_ng_per_ml:g}")
        ax.set_xlabel("hours after the last dose" + (" (steady state)" if self.since_start_h is None else ""))
        ax.set_ylabel(f"{self.quantity} (ng/mL)")
        ax.set_title(f"{self.drug}: {self.regimen}")
        ax.legend(fontsize=8)
        return ax


def _ratio_lines(r: dict) -> list[str]:
    name = f"{r['metabolite']}/{r['parent']} ratio"
    if r.get("value") is None:
        return [f"{name}: {r['note']}"]
    e = r["expected"]
    out = [f"{name}: {r['value']:.2f}, {_ordinal(r['percentile'])} percentile of this population's "
           f"(expected (68 %) {e[1]:.2f}-{e[3]:.2f}, 90 % {e[0]:.2f}-{e[4]:.2f})"]
    if r["by_phenotype"]:
        ranges = "; ".join(f"{ph} {v[0]:.2f}-{v[4]:.2f}" for ph, v in r["by_phenotype"].items() if v is not None)
        fits = ", ".join(r["fits_phenotypes"]) or "none of them"
        out.append(f"  90 % range by CYP2D6 phenotype: {ranges}; the measured ratio fits {fits}")
    return out


def _ordinal(pct: float) -> str:
    if pct < 1:
        return "below the 1st"
    if pct > 99:
        return "above the 99th"
    k = int(round(pct))
    suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
    return f"{k}{suffix}"


def _maintenance(reg: Regimen) -> tuple[float, float]:
    """Dosing interval and the time of the last dose after which steady state is read."""
    tau = reg.interval_h()
    last = reg.phases[-1]
    if tau is None or last.interval_h is None:
        raise AdpharmInputError(f"regimen {reg.text!r}: therapeutic drug monitoring needs a dose repeated at a "
                                "constant interval (e.g. '150 mg po daily')")
    if last.course_h is not None:
        raise AdpharmInputError(f"regimen {reg.text!r}: the last phase stops after a set time; monitoring needs "
                                "an ongoing maintenance dose")
    probe = reg.events(until_h=STEADY_STATE_H * 4)
    final = probe[-1].dose
    changed = max((e.time_h for e in probe if e.dose != final), default=0.0)
    start = max(STEADY_STATE_H, changed + STEADY_STATE_H)
    t_last = next((e.time_h for e in probe if e.time_h >= start), None)
    if t_last is None:
        raise AdpharmInputError(f"regimen {reg.text!r}: no steady state within {4 * STEADY_STATE_H / 24:g} days")
    return tau, t_last


def _verdict(percentile: float, value: float, quantity: str, variability: bool, typical: float) -> str:
    if not variability:
        return (f"{value / typical:.2g} times the typical adult's {quantity} at this dose (no sourced variability "
                "to place it in a range)")
    if percentile < 16:
        return ("below the expected range at this dose: usually incomplete adherence or fast metabolism "
                "(CYP2D6 ultrarapid metaboliser, enzyme induction); check the sampling time")
    if percentile > 84:
        return ("above the expected range at this dose: usually slow metabolism (CYP2D6 poor metaboliser), an "
                "interacting inhibitor, or a sample drawn soon after a dose")
    return "within the expected range at this dose"


def _against(c: TDMRange | None, value: float) -> str | None:
    if c is None or not c.has_range:
        return None
    if c.alert_ng_per_ml and value > c.alert_ng_per_ml:
        return f"above the alert level of {c.range_source or 'its source'} ({c.alert_ng_per_ml:g} ng/mL)"
    return (f"{c.position(value)} the therapeutic reference range of {c.range_source or 'its source'} "
            f"({c.low_ng_per_ml:g}-{c.high_ng_per_ml:g} ng/mL)")


#: TDM databases: concentration-to-dose ratios 1.5-2-fold higher over 65 than under 40 for 12 of 14 antidepressants
ELDERLY_NOTE = ("TDM databases show 1.5-2-fold higher concentration-to-dose ratios over 65 for most antidepressants "
                "[waade2012]")


def covariate_notes(model, *, age_y: float, sex: str, phenotype: str, cyp2d6_inhibitor: str) -> tuple[list[str], list[str]]:
    """What the patient's covariates do in ``model``: the sourced effects that act (text with refs) and, for
    every covariate given away from the reference patient (NM, no inhibitor, 40 y, male) that the drug's
    model has no sourced effect for, a warning that it is not modelled. Weight always acts (allometric)."""
    applied, not_modelled = [], []
    drug = model.drug
    if phenotype != REFERENCE_PHENOTYPE or cyp2d6_inhibitor != NO_INHIBITOR:
        if model.cyp2d6_dependent:
            parts = [f"{a.name} {100 * a.cyp2d6_fraction.value:.0f} % of its clearance"
                     for a in model.analytes if a.cyp2d6_fraction is not None and a.cyp2d6_fraction.value > 0]
            parts += [f"{a.name} formed by CYP2D6" for a in model.analytes if a.formed_by_cyp2d6]
            refs = sorted({r for a in model.analytes if a.cyp2d6_fraction is not None for r in a.cyp2d6_fraction.refs})
            applied.append(f"CYP2D6 {phenotype}, inhibitor {cyp2d6_inhibitor}: acts through {'; '.join(parts)} "
                           f"[{', '.join(refs)}]")
        else:
            not_modelled.append(f"CYP2D6 {phenotype} / inhibitor {cyp2d6_inhibitor}: not modelled for {drug} "
                                "(no sourced CYP2D6 pathway in its model); the expected range is the normal metaboliser's")
    for cov, given, default in (("age_y", age_y, REFERENCE_AGE_Y), ("sex", sex, REFERENCE_SEX)):
        effects = model.covariate_effects(cov)
        for e in effects:
            if e.applies(age_y, sex):
                when = f"age >= {e.at_least:g} y" if cov == "age_y" else f"sex {e.level}"
                applied.append(f"{when}: {e.analyte} {e.parameter.split('_')[0]} x {e.factor:g} [{', '.join(e.refs)}]")
        if not effects and given != default:
            label = f"age {given:g} y" if cov == "age_y" else f"sex {given}"
            extra = f"; {ELDERLY_NOTE}" if cov == "age_y" and given >= 65 else ""
            not_modelled.append(f"{label}: not modelled for {drug}{extra}")
    return applied, not_modelled


def _regimen_label(route: str, tau_h: float):
    freq = {24.0: "daily", 12.0: "bid", 8.0: "tid", 6.0: "qid"}.get(tau_h, f"every {tau_h:g} h")
    return lambda dose_mg: f"{dose_mg:g} mg {route} {freq}"


def _sampling(reg: Regimen, sample_h: float | None, since_start_h: float | None) -> tuple[float, float, float, float]:
    """The dosing interval, the time of the last dose before the sample, the sample's time after that dose,
    and the time of the last dose of the steady state the range is for."""
    tau, t_last = _maintenance(reg)
    if since_start_h is None:
        sample_h = tau if sample_h is None else float(sample_h)
        if not math.isfinite(sample_h) or sample_h < 0 or sample_h > tau:
            raise AdpharmInputError(f"sampling time: {sample_h:g} h after the last dose is outside the dosing "
                                    f"interval (0-{tau:g} h)")
        return tau, t_last, sample_h, t_last
    if sample_h is not None:
        raise AdpharmInputError("give the time since the first dose or the time after the last dose "
                                "(sample_h), not both", field="since_start_h")
    t = float(since_start_h)
    if not math.isfinite(t) or t <= 0:
        raise AdpharmInputError(f"{since_start_h:g} h is not after the first dose", field="since_start_h")
    given = [e.time_h for e in reg.events(until_h=t) if e.time_h < t]
    if not given:
        raise AdpharmInputError(f"{t:g} h is not after the first dose", field="since_start_h")
    t_ref = max(given)
    if t - t_ref > tau:
        raise AdpharmInputError(f"{t:g} h is {t - t_ref:g} h after the last dose, beyond the "
                                f"dosing interval of {tau:g} h", field="since_start_h")
    return tau, t_ref, t - t_ref, t_last


def _patient(c: PatientCovariates) -> tuple[float, float, str, str, str]:
    """The one patient a TDM request is about: each covariate a single value."""
    for name in ("weight_kg", "age_y", "sex", "phenotype", "cyp2d6_inhibitor"):
        if np.ndim(getattr(c, name)) != 0:
            raise AdpharmInputError(f"TDM is about one patient: give one value, not {np.size(getattr(c, name))}",
                                    field=name)
    return float(c.weight_kg), float(c.age_y), str(c.sex), str(c.phenotype), str(c.cyp2d6_inhibitor)


def tdm(drug: str, regimen: str | Regimen, *, measured: float | str | Mapping[str, float] | None = None,
        unit: str = "ng/mL", sample_h: float | None = None, since_start_h: float | None = None,
        covariates: PatientCovariates | None = None, n: int = DEFAULT_N, seed: int | None = DEFAULT_SEED,
        target: tuple[float, float] | None = None, propose_dose: bool | None = None,
        residual_cv_pct: float = DEFAULT_RESIDUAL_CV_PCT, kb: KnowledgeBase | None = None) -> TDMResult:
    """Expected concentrations of ``drug`` on ``regimen`` at the sampling time, where measured levels fall,
    and the dose that reaches the target range.

    Parameters
    ----------
    drug : a bundled drug with a PK parameter set.
    regimen : a maintenance regimen repeated at a constant interval (titration before it is allowed).
    measured : measured levels: a number (the monitored quantity, i.e. the analytes the range sums, e.g.
        imipramine + desipramine), a mapping ``{analyte: level}`` or ``"imipramine=120,desipramine=95"``.
    unit : ``"ng/mL"`` or ``"nmol/L"`` (measured levels and the expected table).
    sample_h : hours after the last dose (default: the dosing interval, a trough), at steady state.
    since_start_h : instead of ``sample_h``, hours since the first dose of ``regimen``: a level drawn
        before steady state is placed against the level expected at that time.
    covariates : the patient (:class:`~.simulate.PatientCovariates`, one value per covariate): weight, age,
        sex, CYP2D6 phenotype (PM, IM, NM, the default and the "normal" patient of the dose-related range, UM,
        or ``"mixed"``, an unknown genotype drawn from published frequencies) and CYP2D6 inhibitor co-medication
        (``"none"``, ``"moderate"`` or ``"strong"``). Default: the reference patient.
    n, seed : size and seed of the virtual population (also the prior of the dose proposal).
    target : the target range (ng/mL) of the dose proposal (default: the bundled therapeutic range).
    propose_dose : propose a dose (default: whenever a level is measured and a target range exists;
        ``True`` without a target range is an error).
    residual_cv_pct : the proportional residual error of a measured level in the dose proposal.

    Returns
    -------
    TDMResult

    Examples
    --------
    >>> r = tdm("imipramine", "150 mg po daily", measured=60, n=200, seed=1)
    >>> r.quantity
    'imipramine + desipramine'
    >>> r = tdm("imipramine", "150 mg po daily", measured="imipramine=120,desipramine=95", n=200, seed=1)
    >>> round(r.ratio["value"], 2)
    0.79
    """
    from ..knowledge.loader import bundled
    kb = kb or bundled()
    patient = covariates or PatientCovariates()
    weight_kg, age_y, sex, phenotype, cyp2d6_inhibitor = _patient(patient)
    model = model_for(drug, kb)
    reg = regimen if isinstance(regimen, Regimen) else parse_regimen(regimen)
    for r in reg.routes:
        model.check_route(r)
    check_unit(unit)
    names = model.analyte_names
    meas = None if measured is None else parse_measured(measured, names, model.drug, unit)
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= 100_000:
        raise AdpharmInputError(f"{n} must be a whole number from 1 to 100,000", field="n")
    if not (math.isfinite(residual_cv_pct) and 1 <= residual_cv_pct <= 100):
        raise AdpharmInputError(f"{residual_cv_pct:g} must be between 1 and 100 per cent", field="residual_cv_pct")
    tau, t_ref, sample_h, t_ss = _sampling(reg, sample_h, since_start_h)
    seed = DEFAULT_SEED if seed is None else seed

    consensus = kb.tdm.get(model.drug)
    summed = consensus.analytes if consensus is not None and consensus.has_range else [model.parent.name]
    quantity = " + ".join(summed)
    target_range, target_source = _target(target, consensus, propose_dose, model.drug)
    rel = np.unique(np.append(np.linspace(0.0, tau, 49), sample_h))
    times = t_ref + rel
    events = [e for e in reg.events(until_h=float(times[-1]) + 1e-6) if e.time_h <= t_ref + 1e-9]
    events_ss = [e for e in reg.events(until_h=t_ss + tau) if e.time_h <= t_ss + 1e-9]

    rng = np.random.default_rng(seed)
    cov = patient.draw(n, rng)
    etas = draw_etas(model, n, rng)
    pop = solve_chunk(model, events, times, cov, etas, slice(0, n))
    typical_patient = replace(patient, phenotype=REFERENCE_PHENOTYPE) if phenotype == "mixed" else patient
    typ_cov = typical_patient.draw(1, np.random.default_rng(seed))
    typical = solve_chunk(model, events, times, typ_cov, {}, slice(0, 1))[0]

    idx = [names.index(a) for a in summed]
    k = int(np.searchsorted(rel, sample_h))
    at_sample = pop[:, k, :]
    steady_fraction = None
    if since_start_h is not None:
        typ_ss = solve_chunk(model, events_ss, np.array([t_ss + sample_h]), typ_cov, {}, slice(0, 1))[0, 0, idx].sum()
        steady_fraction = float(typical[k, idx].sum() / typ_ss) if typ_ss > 0 else None
    monitored = at_sample[:, idx].sum(axis=1)
    # a spread only where the drug has sourced variability or the phenotype mix moves it
    variability = bool(np.ptp(monitored) > 1e-6 * max(float(np.mean(monitored)), 1e-12))
    expected = _expected_table(model, at_sample, typical[k], summed, quantity, unit, variability)
    q = pop[:, :, idx].sum(axis=2)
    profile = np.vstack([np.percentile(q, PERCENTILES, axis=0), typical[:, idx].sum(axis=1)])

    applied, not_modelled = covariate_notes(model, age_y=age_y, sex=sex, phenotype=phenotype,
                                            cyp2d6_inhibitor=cyp2d6_inhibitor)
    warns = dose_warnings(model, reg, float(times[-1]), np.asarray([weight_kg]), age_y) + not_modelled
    note = recovery_note(model.drug, kb)
    if note:
        warns.append(note)
    res = TDMResult(drug=model.drug, regimen=reg.text, sample_h=sample_h, interval_h=tau, phenotype=phenotype,
                    cyp2d6_inhibitor=cyp2d6_inhibitor, age_y=age_y, n=n, seed=seed, expected=expected,
                    consensus=consensus, quantity=quantity, variability=variability, profile_h=rel,
                    profile_ng_per_ml=profile, warnings=warns, weight_kg=float(weight_kg), sex=str(sex),
                    covariates_applied=applied, unit=unit, since_start_h=since_start_h,
                    steady_state_fraction=steady_fraction)
    if meas is None:
        return res
    obs_cols, obs_ng = _place_measured(res, model, meas, at_sample, typical[k], summed, idx, variability)
    if len(meas.analytes) == 2 and len(names) == 2:
        res.ratio = _ratio(model, meas, at_sample, events, times[k], n, patient, seed)
    if (propose_dose is not False and target_range is not None and obs_ng.size and np.all(obs_ng > 0)):
        if since_start_h is None:
            pred_ss = monitored
        else:
            pred_ss = solve_chunk(model, events_ss, np.array([t_ss + sample_h]), cov, etas, slice(0, n))[:, 0, idx].sum(axis=1)
        pred_obs = np.column_stack([at_sample[:, c].sum(axis=1) for c in obs_cols])
        lim = model.spec.dose_limit
        res.dose_proposal = propose_dose_for(
            model, events_obs=events, t_obs_h=float(times[k]), columns=obs_cols, observed_ng_per_ml=obs_ng,
            predicted_obs=pred_obs, events_ss=events_ss, t_ss_h=t_ss + sample_h, monitored=idx, predicted_ss=pred_ss,
            cov=cov, etas=etas, target=target_range, target_source=target_source, tau_h=tau,
            regimen_label=_regimen_label(events_ss[-1].route, tau), quantity=quantity, sample_h=sample_h,
            max_daily_mg=_max_daily_mg(lim, age_y), residual_cv_pct=residual_cv_pct)
        res.warnings += res.dose_proposal.warnings
    elif propose_dose is not False and target_range is not None and obs_ng.size:
        res.dose_proposal_note = ("no dose proposal: a measured level of 0 (not detected) cannot be scaled; check "
                                  "adherence and the sampling time")
    elif propose_dose is not False and target_range is None:
        res.dose_proposal_note = (f"no dose proposal: no therapeutic reference range bundled for {model.drug} "
                                  "(give a target range)")
    return res


def _max_daily_mg(lim, age_y: float) -> float | None:
    """The labelled maximum daily dose for this patient (the lower cap over an age where one is labelled)."""
    if lim is None:
        return None
    if lim.older is not None and age_y > lim.older.older_than_y:
        return min(x for x in (lim.daily_mg, lim.older.daily_mg) if x)
    return lim.daily_mg


def _target(target, consensus: TDMRange | None, propose_dose, drug: str):
    if target is not None:
        lo, hi = (float(x) for x in target)
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise AdpharmInputError(f"{lo:g}-{hi:g} ng/mL is not a range (need 0 < low < high)", field="target")
        return (lo, hi), "the target given"
    if consensus is not None and consensus.has_range:
        return (consensus.low_ng_per_ml, consensus.high_ng_per_ml), consensus.range_source or "bundled range"
    if propose_dose:
        raise AdpharmInputError(f"dose proposal: no therapeutic reference range is bundled for {drug}; give a target "
                                "range (target=(low, high) ng/mL)")
    return None, None


def _expected_table(model, at_sample, typical_k, summed, quantity, unit, variability) -> pd.DataFrame:
    """One row per analyte (and the sum of the range), in ``unit``; nmol/L sums add the molar levels."""
    names = model.analyte_names
    mw = np.array([a.mw_g_per_mol.value for a in model.analytes])
    conv = np.ones(len(names)) if unit == "ng/mL" else 1000.0 / mw
    quantities = [(a, [names.index(a)]) for a in names]
    if len(summed) > 1:
        quantities.append((quantity, [names.index(a) for a in summed]))
    rows = []
    for label, cols in quantities:
        v = (at_sample[:, cols] * conv[cols]).sum(axis=1)
        pct = np.percentile(v, PERCENTILES)
        rows.append({"quantity": label, "typical": float((typical_k[cols] * conv[cols]).sum()),
                     **{f"p{p}": float(x) for p, x in zip(PERCENTILES, pct)}})
    expected = pd.DataFrame(rows)
    if not variability:
        expected[[f"p{p}" for p in PERCENTILES]] = np.nan   # no spread to report
    return expected


def _place_measured(res: TDMResult, model, meas: Measured, at_sample, typical_k, summed, idx, variability):
    """Place each measured analyte and, where the range's analytes are all known, their sum; return the
    observation columns and levels (ng/mL) for the dose proposal."""
    names = model.analyte_names
    mw = {a.name: a.mw_g_per_mol.value for a in model.analytes}
    rows, cols, obs = [], [], []
    for a in meas.analytes:
        j = names.index(a)
        ng = to_ng_per_ml(meas.values[a], meas.unit, mw[a])
        rows.append(_placement(a, meas.values[a], ng, at_sample[:, j], float(typical_k[j]), variability,
                               from_ng_per_ml(at_sample[:, j], meas.unit, mw[a])))
        cols.append([j])
        obs.append(ng)
    summed_known = all(a in meas.values for a in summed)
    if meas.is_sum:
        if len(summed) == 1:
            ng_sum = to_ng_per_ml(meas.values[SUM], meas.unit, mw[summed[0]])
        else:
            # a molar sum: converted with the composition the typical patient has at this time
            molar = np.array([typical_k[names.index(a)] * 1000.0 / mw[a] for a in summed])
            ng_sum = (meas.values[SUM] * float(typical_k[idx].sum() / molar.sum()) if meas.unit == "nmol/L"
                      else meas.values[SUM])
            if meas.unit == "nmol/L":
                res.warnings.append(f"measured {res.quantity} in nmol/L: converted to ng/mL with the composition of the "
                                    "typical patient; give each analyte for an exact conversion")
        cols.append(idx)
        obs.append(ng_sum)
    elif summed_known and len(summed) > 1:
        ng_sum = sum(obs[meas.analytes.index(a)] for a in summed)
    else:
        ng_sum = None
    if ng_sum is not None and (len(summed) > 1 or meas.is_sum):
        in_unit = (meas.values[SUM] if meas.is_sum else
                   sum(meas.values[a] for a in summed))
        unit_pop = at_sample[:, idx].sum(axis=1) if meas.unit == "ng/mL" else \
            sum(from_ng_per_ml(at_sample[:, names.index(a)], "nmol/L", mw[a]) for a in summed)
        rows.append(_placement(res.quantity, in_unit, ng_sum, at_sample[:, idx].sum(axis=1),
                               float(typical_k[idx].sum()), variability, unit_pop))
    res.placements = rows
    primary = next((r for r in rows if r["quantity"] == res.quantity), None)
    if primary is not None:
        res.measured_ng_per_ml = primary["measured_ng_per_ml"]
        res.measured_percentile = primary["percentile"]
        res.verdict = primary["verdict"]
        res.against_range = _against(res.consensus, primary["measured_ng_per_ml"])
    return cols, np.array(obs, float)


def _placement(label, value, ng, pop_ng, typical_ng, variability, pop_unit) -> dict:
    pct = float(100.0 * np.mean(pop_ng < ng)) if variability else None
    lo, hi = (np.percentile(pop_unit, (16, 84)) if variability else (None, None))
    return {"quantity": label, "measured": float(value), "measured_ng_per_ml": float(ng), "percentile": pct,
            "expected_p16": None if lo is None else float(lo), "expected_p84": None if hi is None else float(hi),
            "verdict": _verdict(pct or 0.0, ng, label, variability, typical_ng)}


def _ratio(model, meas: Measured, at_sample, events, t_h, n: int, patient: PatientCovariates, seed: int):
    """The metabolite-to-parent ratio measured, its place in this population of ``n``, and the range each
    CYP2D6 phenotype gives (when the drug's model depends on CYP2D6): ``patient`` with each phenotype in turn."""
    parent, metab = model.analyte_names
    mw = {a.name: a.mw_g_per_mol.value for a in model.analytes}
    p_ng = to_ng_per_ml(meas.values[parent], meas.unit, mw[parent])
    m_ng = to_ng_per_ml(meas.values[metab], meas.unit, mw[metab])
    if p_ng <= 0:
        return {"metabolite": metab, "parent": parent, "value": None,
                "note": f"{parent} not detected: no ratio (check adherence or ultrarapid metabolism)"}
    value = m_ng / p_ng
    here = ratio_ranges({"this population": at_sample[:, 1]}, {"this population": at_sample[:, 0]})["this population"]
    by_pheno = {}
    if model.cyp2d6_dependent:
        pops, pars = {}, {}
        m = min(n, 400)
        for ph in PHENOTYPES:
            rng = np.random.default_rng(seed)
            c = replace(patient, phenotype=ph).draw(m, rng)
            e = draw_etas(model, m, rng)
            x = solve_chunk(model, events, np.array([t_h]), c, e, slice(0, m))[:, 0, :]
            pops[ph], pars[ph] = x[:, 1], x[:, 0]
        by_pheno = ratio_ranges(pops, pars)
    fits = [ph for ph, r in by_pheno.items() if r is not None and r[0] <= value <= r[4]]
    return {"metabolite": metab, "parent": parent, "value": float(value), "expected": here,
            "percentile": float(100.0 * np.mean(at_sample[:, 1] / np.where(at_sample[:, 0] > 0, at_sample[:, 0], np.nan)
                                                < value)),
            "by_phenotype": by_pheno, "fits_phenotypes": fits,
            "basis": "ratio of mass concentrations (ng/mL); expected ranges from the model's virtual patients "
                     f"(CYP2D6 inhibitor {patient.cyp2d6_inhibitor}, same sampling time)",
            "population_phenotype": patient.phenotype}


__all__ = ["TDMResult", "tdm", "Measured", "DoseProposal", "covariate_notes", "ELDERLY_NOTE", "STEADY_STATE_H"]
