"""`adpharm mechanism simulate|parameters`: the cascade from occupancy to the MADRS score."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..figures import figure_bytes
from ..io import atomic_write
from ..mechanism.population import CONTROL_KINDS, load_populations
from ..pharmacology.model import PHENOTYPES
from ..pharmacology.simulate import PatientCovariates
from ..errors import check_option
from .common import check_plot_path, emit_json, emit_result, fail, handle_errors, warn, write_text

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Mechanism: occupancy -> signalling cascades -> plasticity -> MADRS, with a placebo arm.")


@app.command("simulate")
@handle_errors
def simulate(drug: List[str] = typer.Option(..., "--drug", help="A bundled drug; repeat --drug/--regimen for a combination."),
             regimen: List[str] = typer.Option(..., "--regimen", help='One per --drug, e.g. "0.5 mg/kg iv over 40 min".'),
             days: float = typer.Option(..., "--days", help="Days to simulate."),
             n: int = typer.Option(1, "--n", help="Virtual patients (1 = one typical patient)."),
             seed: Optional[int] = typer.Option(None, "--seed", help="Seed (same seed, same numbers)."),
             weight: float = typer.Option(70.0, "--weight", help="Body weight (kg)."),
             phenotype: str = typer.Option("NM", "--phenotype", help="CYP2D6: PM, IM, NM, UM or mixed."),
             remission_threshold: float = typer.Option(10.0, "--remission-threshold", help="Remission: MADRS at or below this."),
             onset_threshold: float = typer.Option(2.0, "--onset-threshold", help="Onset: mean separation from placebo of at least this many MADRS points."),
             population: Optional[str] = typer.Option(None, "--population", help="Who the patients are (baseline, placebo response): mdd-outpatient (default), primary-care, trd, trd-adjunct, suicidal-inpatient, chronic-depression."),
             control: str = typer.Option("inert", "--control", help="The placebo arm: inert (saline, pill, spray) or active (e.g. midazolam)."),
             export_sbml: Optional[Path] = typer.Option(None, "--export-sbml", help="Write the full model with this regimen (first patient) as SBML."),
             fmt: str = typer.Option("text", "--format", help="text, json or csv (one row per output time)."),
             out: Optional[Path] = typer.Option(None, "--out", help="Write the output to this file."),
             plot: Optional[Path] = typer.Option(None, "--plot", help="Write the four-panel figure (.svg, .png, .pdf)."),
             chunk: Optional[int] = typer.Option(None, "--chunk", help="Simulate in chunks of this many patients and "
                                                 "stream summary statistics (memory of one chunk); automatic above "
                                                 "50,000 patients.")) -> None:
    """State trajectories and the MADRS trajectory of a regimen, with response, remission and onset versus placebo."""
    from ..mechanism.combination import with_combination
    from ..mechanism.simulate import simulate as run
    from ..mechanism.stream import DEFAULT_CHUNK, STREAM_ABOVE, simulate_streamed
    check_option("fmt", fmt, ("text", "json", "csv"))
    check_option("phenotype", phenotype, (*PHENOTYPES, "mixed"))
    check_option("control", control, CONTROL_KINDS)
    pop = load_populations().get(population)
    if len(drug) != len(regimen):
        fail(f"--drug given {len(drug)} times but --regimen {len(regimen)} times: give one regimen per drug")
    check_plot_path(plot)
    if export_sbml is not None and export_sbml.suffix.lower() not in (".xml", ".sbml"):
        fail(f"--export-sbml {export_sbml}: SBML files must end in .xml or .sbml")
    covariates = PatientCovariates(weight_kg=weight, phenotype=phenotype)
    if chunk is not None or n > STREAM_ABOVE:
        if fmt == "csv" or export_sbml is not None:
            fail(f"{'--format csv' if fmt == 'csv' else '--export-sbml'}: per-patient output is not kept in a streamed "
                 f"run (--chunk, or more than {STREAM_ABOVE:,} patients); use text or json")
        res = simulate_streamed(list(zip(drug, regimen)), days, n=n, seed=seed, chunk=chunk or DEFAULT_CHUNK,
                                covariates=covariates, remission_threshold=remission_threshold,
                                onset_threshold=onset_threshold, population=pop, control=control)
        warn(res.warnings)
        emit_result(res, fmt, out)
        if plot is not None:
            atomic_write(plot, figure_bytes(res.plot().figure, plot))
        return
    res = run(list(zip(drug, regimen)), days, n=n, seed=seed, covariates=covariates,
              remission_threshold=remission_threshold, onset_threshold=onset_threshold, population=pop, control=control)
    warn(res.warnings)
    for f in res.flags:
        typer.echo(f"adpharm: flag: {' + '.join(f['drugs'])}: {f['effect']} ({f['severity']}; {', '.join(f['refs'])}; "
                   f"{f['modelled']})", err=True)
    sbml_text = res.to_sbml(patient=0) if export_sbml is not None else None
    if fmt == "csv":
        write_text(res.tidy().to_csv(index=False, float_format="%.6g"), out)
    else:
        emit_result(with_combination(res), fmt, out)
    if sbml_text is not None:
        atomic_write(export_sbml, sbml_text)
    if plot is not None:
        atomic_write(plot, figure_bytes(res.plot()[0].figure, plot))


@app.command("parameters")
@handle_errors
def parameters(fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Every parameter of the cascade model with its value, basis and sources."""
    from ..mechanism.model import load
    check_option("fmt", fmt, ("text", "json"))
    m = load()
    rows = m.parameter_table()
    if fmt == "json":
        emit_json({"model": m.version, "parameters": rows})
        return
    for r in rows:
        typer.echo(f"{r['name']:40s} {r['value']:>10.4g}  {r['basis']:13s} {', '.join(r['refs'])}")


@app.command("sensitivity")
@handle_errors
def sensitivity(drug: str = typer.Option(..., "--drug", help="A bundled drug."),
                regimen: str = typer.Option(..., "--regimen", help='e.g. "0.5 mg/kg iv over 40 min".'),
                days: float = typer.Option(..., "--days", help="Days to simulate (long enough for the effect to fade)."),
                method: str = typer.Option("morris", "--method", help="morris (global screening) or local."),
                trajectories: int = typer.Option(20, "--trajectories", help="Morris paths."),
                levels: int = typer.Option(4, "--levels", help="Morris grid levels (even)."),
                span: float = typer.Option(2.0, "--span", help="Each parameter varies from value/span to value*span."),
                parameter: Optional[List[str]] = typer.Option(None, "--parameter", help="Vary only these (repeatable)."),
                seed: int = typer.Option(0, "--seed", help="Seed of the Morris design."),
                onset_threshold: float = typer.Option(2.0, "--onset-threshold", help="Separation from placebo (MADRS points) that marks onset."),
                fmt: str = typer.Option("text", "--format", help="text, json or csv."),
                out: Optional[Path] = typer.Option(None, "--out", help="Write the output to this file."),
                plot: Optional[Path] = typer.Option(None, "--plot", help="Write the figure (.svg, .png, .pdf).")) -> None:
    """Which parameters control onset time, duration and size of the effect (Morris or local)."""
    from ..mechanism.sensitivity import METHODS, sensitivity as run
    check_option("fmt", fmt, ("text", "json", "csv"))
    check_option("method", method, METHODS)
    check_plot_path(plot)
    res = run((drug, regimen), days, method=method, parameters=parameter or None, trajectories=trajectories,
              levels=levels, span=span, seed=seed, onset_threshold=onset_threshold)
    if fmt == "csv":
        write_text(res.summary().to_csv(index=False, float_format="%.6g"), out)
    else:
        emit_result(res, fmt, out)
    if plot is not None:
        import numpy as np
        atomic_write(plot, figure_bytes(np.ravel(res.plot())[0].figure, plot))


@app.command("preclinical")
@handle_errors
def preclinical(drug: str = typer.Option(..., "--drug", help="A bundled drug."),
                dose: float = typer.Option(..., "--dose-mg-per-kg", help="Dose per injection (mg/kg, i.p.)."),
                species: str = typer.Option("mouse", "--species", help="mouse (25 g) or rat (300 g)."),
                chronic_days: int = typer.Option(21, "--chronic-days", help="Daily doses of the chronic schedule."),
                test_delay: float = typer.Option(24.0, "--test-delay-h", help="Hours from the last dose to the test."),
                control_immobility: float = typer.Option(0.58, "--control-immobility", help="Vehicle FST immobility fraction."),
                spt_control: Optional[float] = typer.Option(None, "--spt-control", help="Sucrose preference of unstressed vehicle animals."),
                spt_stressed: Optional[float] = typer.Option(None, "--spt-stressed", help="Sucrose preference of stressed vehicle animals."),
                fmt: str = typer.Option("text", "--format", help="text, json or csv."),
                out: Optional[Path] = typer.Option(None, "--out", help="Write the output to this file."),
                plot: Optional[Path] = typer.Option(None, "--plot", help="Write the figure (.svg, .png, .pdf).")) -> None:
    """Virtual forced swim and sucrose preference in a rodent after acute versus chronic dosing."""
    from ..mechanism.preclinical import SPECIES_WEIGHT_KG, preclinical as run
    check_option("fmt", fmt, ("text", "json", "csv"))
    check_option("species", species, tuple(SPECIES_WEIGHT_KG))
    check_plot_path(plot)
    res = run(drug, dose, species=species, chronic_days=chronic_days, test_delay_h=test_delay,
              control_immobility=control_immobility, spt_control=spt_control, spt_stressed=spt_stressed)
    if fmt == "csv":
        write_text(res.summary().to_csv(index=False, float_format="%.6g"), out)
    else:
        emit_result(res, fmt, out)
    if plot is not None:
        atomic_write(plot, figure_bytes(res.plot().figure, plot))

