"""`adpharm pk simulate|occupancy`: concentrations, NCA and receptor occupancy of a regimen."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from ..figures import figure_bytes
from ..io import atomic_open, atomic_write
from ..pharmacology.model import (CYP2D6_INHIBITOR_FACTOR, NO_INHIBITOR, PHENOTYPES, REFERENCE_AGE_Y,
                                  REFERENCE_PHENOTYPE, REFERENCE_SEX, REFERENCE_WEIGHT_KG)
from ..pharmacology.occupancy import occupancy as compute_occupancy
from ..pharmacology.tdm import DEFAULT_N as TDM_DEFAULT_N, DEFAULT_SEED as TDM_DEFAULT_SEED
from ..pharmacology.tdm_dose import DEFAULT_RESIDUAL_CV_PCT
from ..pharmacology.tdm_measured import UNITS
from ..pharmacology.simulate import PatientCovariates, iter_profiles, regimen_warnings, simulate as run_simulation
from ..errors import check_option
from .common import check_plot_path, emit_result, fail, handle_errors, warn, write_text

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Pharmacokinetics: simulate a regimen (simulate), the receptor occupancy it gives (occupancy), "
                       "and therapeutic drug monitoring (tdm).")

_DRUG = typer.Option(..., "--drug", help="A bundled drug (e.g. ketamine, imipramine).")
_REGIMEN = typer.Option(..., "--regimen", help='As written clinically, e.g. "0.5 mg/kg iv over 40 min" or "75 mg po daily titrate to 150 mg over 2 weeks".')
_WEIGHT = typer.Option(REFERENCE_WEIGHT_KG, "--weight", help="Body weight (kg); scales mg/kg doses and, allometrically, clearances and volumes.")
_HOURS = typer.Option(None, "--hours", help="Hours to simulate (default: 48 h after the last dose, or 7 days of an open-ended regimen).")
_STEP = typer.Option(None, "--step", help="Output step in hours.")
_N = typer.Option(1, "--n", help="Virtual subjects (1 = the typical subject, no variability).")
_SEED = typer.Option(None, "--seed", help="Seed for the virtual population (same seed, same numbers).")
_PHENO = typer.Option(REFERENCE_PHENOTYPE, "--phenotype", help="CYP2D6 phenotype: PM, IM, NM, UM, or mixed (drawn from published frequencies).")
_AGE = typer.Option(REFERENCE_AGE_Y, "--age", help="Age (years).")
_SEX = typer.Option(REFERENCE_SEX, "--sex", help="female or male.")
_FMT = typer.Option("text", "--format", help="text, json, csv (the tidy table subject,time_h,analyte,conc_ng_per_ml) "
                                             "or nonmem (simulate: dosing and observation records, ID TIME AMT RATE DV "
                                             "MDV EVID CMT and covariates).")
_OUT = typer.Option(None, "--out", help="Write the output to this file instead of stdout.")
_PLOT = typer.Option(None, "--plot", help="Write a plot (.svg, .png or .pdf).")


def _check(fmt: str, plot: Optional[Path], phenotype: str, sex: str, nonmem: bool = False) -> None:
    check_option("fmt", fmt, ("text", "json", "csv", "nonmem") if nonmem else ("text", "json", "csv"))
    check_option("phenotype", phenotype, (*PHENOTYPES, "mixed"))
    check_option("sex", sex, ("female", "male"))
    check_plot_path(plot)


def _stream_csv(kwargs: dict, out: Optional[Path]) -> None:
    """Write the tidy table chunk by chunk (a million subjects never sit in memory at once)."""
    def write(fh) -> None:
        first = True
        for chunk in iter_profiles(dict(kwargs)):
            chunk.to_csv(fh, index=False, header=first, float_format="%.6g")
            first = False
    if out is None:
        write(sys.stdout)
        return
    with atomic_open(out) as fh:
        write(fh)


def _run(drug, regimen, patient: PatientCovariates, hours, step, n, seed, keep):
    return run_simulation(drug, regimen, hours=hours, step_h=step, n=n, seed=seed, keep_profiles=keep,
                          covariates=patient)


@app.command("simulate")
@handle_errors
def simulate(drug: str = _DRUG, regimen: str = _REGIMEN, weight: float = _WEIGHT, hours: Optional[float] = _HOURS,
             step: Optional[float] = _STEP, n: int = _N, seed: Optional[int] = _SEED, phenotype: str = _PHENO,
             age: float = _AGE, sex: str = _SEX, fmt: str = _FMT, out: Optional[Path] = _OUT,
             plot: Optional[Path] = _PLOT) -> None:
    """Plasma concentrations of a drug and its metabolites, with the NCA summary (Cmax, Tmax, AUC, half-life)."""
    _check(fmt, plot, phenotype, sex, nonmem=True)
    patient = PatientCovariates(weight_kg=weight, age_y=age, sex=sex, phenotype=phenotype)
    if fmt == "nonmem":
        from ..pharmacology.nonmem import pk_dataset
        res = _run(drug, regimen, patient, hours, step, n, seed, keep=True)
        warn(res.warnings)
        write_text(pk_dataset(res).to_csv(index=False, float_format="%.6g"), out)
        if plot is not None:
            atomic_write(plot, figure_bytes(res.plot().figure, plot))
        return
    if fmt == "csv" and plot is None:
        # the streamed table is the whole output: solve each chunk once, never the population as well
        kwargs = dict(drug=drug, regimen=regimen, n=n, seed=seed, hours=hours, step_h=step, covariates=patient)
        warn(regimen_warnings(kwargs))
        _stream_csv(kwargs, out)
        return
    res = _run(drug, regimen, patient, hours, step, n, seed, keep=True if plot is not None else None)
    warn(res.warnings)
    if fmt == "csv":
        write_text(res.tidy().to_csv(index=False, float_format="%.6g"), out)
    else:
        emit_result(res, fmt, out)
    if plot is not None:
        atomic_write(plot, figure_bytes(res.plot().figure, plot))


@app.command("occupancy")
@handle_errors
def occupancy(drug: str = _DRUG, regimen: str = _REGIMEN, weight: float = _WEIGHT, hours: Optional[float] = _HOURS,
              step: Optional[float] = _STEP, n: int = _N, seed: Optional[int] = _SEED, phenotype: str = _PHENO,
              age: float = _AGE, sex: str = _SEX, fmt: str = _FMT, out: Optional[Path] = _OUT,
              plot: Optional[Path] = _PLOT) -> None:
    """Fraction of SERT, NET, DAT, NMDA, H1, M1 and alpha1 occupied, and of MAO-A inactivated, over time (peak, and
    mean over the last 24 h)."""
    _check(fmt, plot, phenotype, sex)
    if fmt == "csv":
        fail("--format csv: occupancy is written as text or json")
    patient = PatientCovariates(weight_kg=weight, age_y=age, sex=sex, phenotype=phenotype)
    res = compute_occupancy(_run(drug, regimen, patient, hours, step, n, seed, keep=True))
    warn(res.warnings)
    emit_result(res, fmt, out)
    if plot is not None:
        atomic_write(plot, figure_bytes(res.plot().figure, plot))


def _target_range(text: Optional[str]) -> Optional[tuple[float, float]]:
    if text is None:
        return None
    lo, sep, hi = text.partition("-")
    try:
        return float(lo), float(hi)
    except ValueError:
        fail(f"--target: {text!r} is not LOW-HIGH in ng/mL (e.g. 175-300)")


@app.command("tdm")
@handle_errors
def tdm(drug: str = _DRUG,
        regimen: str = typer.Option(..., "--regimen", help='The maintenance regimen, e.g. "150 mg po daily".'),
        measured: Optional[str] = typer.Option(None, "--measured", help="Measured levels: a number (the monitored "
                                               "quantity, e.g. imipramine + desipramine) or each analyte, e.g. "
                                               "imipramine=120,desipramine=95."),
        unit: str = typer.Option("ng/mL", "--unit", help="Unit of the measured levels and the expected table: ng/mL "
                                 "or nmol/L."),
        sample_h: Optional[float] = typer.Option(None, "--sample-h", help="Hours after the last dose the sample was "
                                                 "drawn, at steady state (default: the dosing interval, a trough)."),
        since_start_h: Optional[float] = typer.Option(None, "--since-start-h", help="Instead of --sample-h: hours "
                                                      "since the first dose of the regimen (a level drawn before "
                                                      "steady state)."),
        phenotype: str = typer.Option(REFERENCE_PHENOTYPE, "--phenotype", help="CYP2D6 phenotype: PM, IM, NM (default), UM, or "
                                      "mixed (unknown genotype)."),
        inhibitor: str = typer.Option(NO_INHIBITOR, "--cyp2d6-inhibitor", help="Co-medication with a CYP2D6 inhibitor: "
                                      "none, moderate (e.g. duloxetine) or strong (e.g. paroxetine, fluoxetine, "
                                      "bupropion)."),
        age: float = _AGE, sex: str = _SEX, weight: float = _WEIGHT,
        target: Optional[str] = typer.Option(None, "--target", help="Target range LOW-HIGH (ng/mL) of the dose "
                                             "proposal (default: the bundled therapeutic reference range)."),
        propose: Optional[bool] = typer.Option(None, "--propose-dose/--no-propose-dose", help="Propose a dose from the "
                                               "measured levels (default: when a target range exists)."),
        residual_cv: float = typer.Option(DEFAULT_RESIDUAL_CV_PCT, "--residual-cv", help="Residual error of a measured "
                                          "level (%, proportional) in the dose proposal: an assumption."),
        n: int = typer.Option(TDM_DEFAULT_N, "--n", help="Virtual patients for the expected range (and the prior of "
                              "the dose proposal)."),
        seed: int = typer.Option(TDM_DEFAULT_SEED, "--seed", help="Seed of the virtual population."),
        fmt: str = typer.Option("text", "--format", help="text or json."), out: Optional[Path] = _OUT,
        plot: Optional[Path] = _PLOT) -> None:
    """Expected concentration of a regimen, the therapeutic reference range, where measured levels fall (each
    analyte, their sum and ratio), and a dose proposal (research use only)."""
    from ..pharmacology.tdm import tdm as run_tdm
    check_option("fmt", fmt, ("text", "json"))
    check_option("unit", unit, UNITS)
    check_option("phenotype", phenotype, (*PHENOTYPES, "mixed"))
    check_option("inhibitor", inhibitor, tuple(CYP2D6_INHIBITOR_FACTOR))
    check_option("sex", sex, ("female", "male"))
    check_plot_path(plot)
    res = run_tdm(drug, regimen, measured=measured, unit=unit, sample_h=sample_h, since_start_h=since_start_h,
                  covariates=PatientCovariates(weight_kg=weight, age_y=age, sex=sex, phenotype=phenotype,
                                               cyp2d6_inhibitor=inhibitor),
                  n=n, seed=seed, target=_target_range(target), propose_dose=propose, residual_cv_pct=residual_cv)
    warn(res.warnings)
    emit_result(res, fmt, out)
    if plot is not None:
        atomic_write(plot, figure_bytes(res.plot().figure, plot))
