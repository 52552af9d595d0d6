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
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..io import jsonable
from ..knowledge.loader import KnowledgeBase
from ..knowledge.schema import TDMRange
from .model import CYP2D6_INHIBITOR_REFS, REFERENCE_WEIGHT_KG
from .regimen import Regimen, parse_regimen
from .simulate import MODEL_VERSION, dose_warnings, draw_covariates, draw_etas, model_for, solve_chunk
from ..display import NotebookDisplay

PERCENTILES = (5, 16, 50, 84, 95)
#: Steady state is read after at least this long on the final dose (desipramine under CYP2D6
#: saturation and norfluoxetine need about six weeks to come within a few per cent).
STEADY_STATE_H = 56 * 24.0
DEFAULT_N = 1000
DEFAULT_SEED = 2026
_INTERPRET_REFS = ["hiemke2018", "haen_greiner_drrr"]


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
    sex: str = "male"
    #: the covariate effects that acted on this drug's model, each with its source
    covariates_applied: list[str] = field(default_factory=list)

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
        return {
            "drug": self.drug, "regimen": self.regimen, "sample_h_after_dose": self.sample_h,
            "interval_h": self.interval_h, "quantity": self.quantity,
            "expected_ng_per_ml": jsonable(rows),
            "variability_sourced": self.variability,
            "consensus_range_ng_per_ml": ({"low": c.low_ng_per_ml, "high": c.high_ng_per_ml,
                                          "source": c.source_label,
                                          "alert": c.alert_ng_per_ml, "analytes": c.analytes, "refs": c.refs,
                                          "note": c.note} if c and c.has_range else None),
            "consensus_note": c.note if c and not c.has_range else None,
            "measured_ng_per_ml": self.measured_ng_per_ml, "measured_percentile": self.measured_percentile,
            "verdict": self.verdict, "against_consensus_range": self.against_range,
            "warnings": self.warnings, "provenance": self.provenance(),
        }

    def text(self) -> str:
        """The report as plain text."""
        lines = [f"{self.drug}: {self.regimen}, sampled {self.sample_h:g} h after the last dose "
                 f"(dosing interval {self.interval_h:g} h), steady state",
                 f"population: {self.provenance()['population']} ({self.n} virtual patients, seed {self.seed})"]
        lines += [f"  {c}" for c in self.covariates_applied]
        lines += ["", "expected concentration (ng/mL):"]
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
        if self.measured_ng_per_ml is not None:
            pct = (f", {_ordinal(self.measured_percentile)} percentile of the expected {self.quantity}"
                   if self.measured_percentile is not None else "")
            lines.append(f"measured {self.quantity}: {self.measured_ng_per_ml:g} ng/mL{pct}")
            lines.append(f"  {self.verdict}")
            if self.against_range:
                lines.append(f"  {self.against_range}")
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
        ax.set_xlabel("hours after the last dose (steady state)")
        ax.set_ylabel(f"{self.quantity} (ng/mL)")
        ax.set_title(f"{self.drug}: {self.regimen}")
        ax.legend(fontsize=8)
        return ax


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
    if phenotype != "NM" or cyp2d6_inhibitor != "none":
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
    for cov, given, default in (("age_y", age_y, 40.0), ("sex", sex, "male")):
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


def tdm(drug: str, regimen: str | Regimen, *, measured_ng_per_ml: float | None = None, sample_h: float | None = None,
        phenotype: str = "NM", cyp2d6_inhibitor: str = "none", age_y: float = 40.0, sex: str = "male",
        weight_kg: float = 70.0, n: int = DEFAULT_N, seed: int | None = DEFAULT_SEED,
        kb: KnowledgeBase | None = None) -> TDMResult:
    """Expected steady-state concentrations of ``drug`` on ``regimen`` at ``sample_h`` after a dose.

    Parameters
    ----------
    drug : a bundled drug with a PK parameter set.
    regimen : a maintenance regimen repeated at a constant interval (titration before it is allowed).
    measured_ng_per_ml : a measured level of the monitored quantity (the analytes the consensus
        range sums, e.g. imipramine + desipramine), placed against the expected range.
    sample_h : hours after the last dose (default: the dosing interval, a trough).
    phenotype : CYP2D6 PM, IM, NM (default: the "normal" patient of the dose-related range), UM, or
        ``"mixed"`` (unknown genotype: published frequencies).
    cyp2d6_inhibitor : co-medication: ``"none"``, ``"moderate"`` or ``"strong"``.
    age_y, sex, weight_kg : covariates of the patient.
    n, seed : size and seed of the virtual population.

    Returns
    -------
    TDMResult

    Examples
    --------
    >>> r = tdm("imipramine", "150 mg po daily", measured_ng_per_ml=60, n=200, seed=1)
    >>> r.quantity
    'imipramine + desipramine'
    """
    from ..knowledge.loader import bundled
    kb = kb or bundled()
    model = model_for(drug, kb)
    reg = regimen if isinstance(regimen, Regimen) else parse_regimen(regimen)
    for r in reg.routes:
        model.check_route(r)
    tau, t_last = _maintenance(reg)
    sample_h = tau if sample_h is None else float(sample_h)
    if not math.isfinite(sample_h) or sample_h < 0 or sample_h > tau:
        raise AdpharmInputError(f"sampling time: {sample_h:g} h after the last dose is outside the dosing interval "
                                f"(0-{tau:g} h)")
    if measured_ng_per_ml is not None and (not math.isfinite(measured_ng_per_ml) or measured_ng_per_ml < 0):
        raise AdpharmInputError(f"measured: {measured_ng_per_ml:g} ng/mL is not a concentration (need 0 or more)")
    if not isinstance(n, (int, np.integer)) or not 1 <= n <= 100_000:
        raise AdpharmInputError(f"n: {n} must be a whole number from 1 to 100,000")
    seed = DEFAULT_SEED if seed is None else seed

    consensus = kb.tdm.get(model.drug)
    summed = consensus.analytes if consensus is not None and consensus.has_range else [model.parent.name]
    quantity = " + ".join(summed)
    grid = np.linspace(0.0, tau, 49)
    rel = np.unique(np.append(grid, sample_h))
    times = t_last + rel
    events = reg.events(until_h=float(times[-1]) + 1e-6)
    events = [e for e in events if e.time_h <= t_last + 1e-9]

    rng = np.random.default_rng(seed)
    cov = draw_covariates(n, rng, weight_kg, age_y, sex, phenotype, cyp2d6_inhibitor)
    etas = draw_etas(model, n, rng)
    pop = solve_chunk(model, events, times, cov, etas, slice(0, n))
    typ_cov = draw_covariates(1, np.random.default_rng(seed), weight_kg, age_y, sex,
                              "NM" if phenotype == "mixed" else phenotype, cyp2d6_inhibitor)
    typical = solve_chunk(model, events, times, typ_cov, {}, slice(0, 1))[0]

    names = model.analyte_names
    idx = [names.index(a) for a in summed]
    k = int(np.searchsorted(rel, sample_h))
    at_sample = pop[:, k, idx].sum(axis=1)
    # a spread only where the drug has sourced variability or the phenotype mix moves it
    variability = bool(np.ptp(at_sample) > 1e-6 * max(float(np.mean(at_sample)), 1e-12))
    rows = []
    quantities = [(a, [names.index(a)]) for a in names]
    if len(summed) > 1:
        quantities.append((quantity, idx))
    for label, cols in quantities:
        v = pop[:, k, cols].sum(axis=1)
        pct = np.percentile(v, PERCENTILES)
        rows.append({"quantity": label, "typical": float(typical[k, cols].sum()),
                     **{f"p{p}": float(x) for p, x in zip(PERCENTILES, pct)}})
    expected = pd.DataFrame(rows)
    if not variability:
        expected[[f"p{p}" for p in PERCENTILES]] = np.nan   # no spread to report
    q = pop[:, :, idx].sum(axis=2)
    profile = np.vstack([np.percentile(q, PERCENTILES, axis=0), typical[:, idx].sum(axis=1)])

    applied, not_modelled = covariate_notes(model, age_y=age_y, sex=sex, phenotype=phenotype,
                                            cyp2d6_inhibitor=cyp2d6_inhibitor)
    res = TDMResult(model.drug, reg.text, sample_h, tau, phenotype, cyp2d6_inhibitor, age_y, n, seed, expected,
                    consensus, quantity, variability=variability, profile_h=rel, profile_ng_per_ml=profile,
                    warnings=dose_warnings(model, reg, float(times[-1]), np.asarray([weight_kg]), age_y) + not_modelled,
                    weight_kg=float(weight_kg), sex=str(sex), covariates_applied=applied)
    if measured_ng_per_ml is not None:
        res.measured_ng_per_ml = float(measured_ng_per_ml)
        res.measured_percentile = float(100.0 * np.mean(at_sample < measured_ng_per_ml)) if variability else None
        res.verdict = _verdict(res.measured_percentile or 0.0, measured_ng_per_ml, quantity, variability,
                               float(typical[k, idx].sum()))
        res.against_range = _against(consensus, measured_ng_per_ml)
    return res


__all__ = ["TDMResult", "tdm", "covariate_notes", "ELDERLY_NOTE", "STEADY_STATE_H"]
