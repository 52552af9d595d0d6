"""`adpharm protocols`, `adpharm protocol NAME` and `adpharm trial simulate|analyze|power`."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..figures import figure_bytes
from ..io import atomic_write, csv_text
from ..errors import check_option
from .common import check_plot_path, emit_json, emit_result, fail, handle_errors, warn, write_text

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Virtual clinical trials: simulate a protocol, analyse trial data (MMRM), power by simulation.")


@handle_errors
def protocols(fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """List the bundled trial protocols."""
    from ..trials.protocol import bundled, load_protocol
    check_option("fmt", fmt, ("text", "json"))
    rows = []
    for name in bundled():
        p = load_protocol(name)
        rows.append({"id": p.id, "name": p.name, "design": p.design,
                     "arms": [a.id for a in p.arms], "visits": [v.id for v in p.visits],
                     "primary": p.primary.model_dump(exclude_none=True), "refs": p.refs})
    if fmt == "json":
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']:<24} {r['design']:<9} {' vs '.join(r['arms']):<28} {r['name']}")


@handle_errors
def protocol(name: str = typer.Argument(..., help="A bundled protocol name or a protocol file."),
             fmt: str = typer.Option("yaml", "--format", help="yaml (the file) or json (validated).")) -> None:
    """Show one protocol: the YAML file as written, or its validated form as JSON."""
    from ..trials.protocol import bundled, load_protocol
    check_option("fmt", fmt, ("yaml", "json"))
    p = load_protocol(name)
    if fmt == "json":
        emit_json(p.model_dump(mode="json"))
        return
    path = bundled().get(name, Path(name))
    typer.echo(Path(path).read_text(encoding="utf-8"), nl=False)


@app.command("simulate")
@handle_errors
def simulate(protocol: str = typer.Argument(..., help="A bundled protocol (adpharm protocols) or a protocol file."),
             n_per_arm: Optional[int] = typer.Option(None, "--n-per-arm", help="Patients per arm (ratio 1) or per sequence."),
             seed: Optional[int] = typer.Option(None, "--seed", help="Seed (same seed, same trial)."),
             remission_threshold: Optional[float] = typer.Option(None, "--remission-threshold",
                                             help="Remission: MADRS at or below this (default: the protocol's "
                                                  "remission endpoint, else 10)."),
             fmt: str = typer.Option("text", "--format", help="text, json (rates by arm and visit), csv (long data) or "
                                     "nonmem (dosing and observation records)."),
             out: Optional[Path] = typer.Option(None, "--out", help="Write the output to this file."),
             plot: Optional[Path] = typer.Option(None, "--plot", help="Write the MADRS-by-visit figure (.svg, .png, .pdf).")) -> None:
    """Simulate one trial of a protocol with virtual patients from the mechanism model."""
    from ..trials.simulate import simulate_trial
    check_option("fmt", fmt, ("text", "json", "csv", "nonmem"))
    check_plot_path(plot)
    if fmt == "nonmem":
        from ..trials.export import check_exportable
        from ..trials.protocol import load_protocol
        check_exportable(load_protocol(protocol))
    res = simulate_trial(protocol, n_per_arm, seed, remission_threshold=remission_threshold)
    warn(res.warnings)
    for e in res.empty_visits():
        typer.echo(f"adpharm: note: no patients left at {e}", err=True)
    if fmt == "nonmem":
        from ..trials.export import trial_dataset
        write_text(csv_text(trial_dataset(res), float_format="%.6g"), out)
    elif fmt == "csv":
        write_text(csv_text(res.data, float_format="%.6g"), out)
    else:
        emit_result(res, fmt, out)
    if plot is not None:
        atomic_write(plot, figure_bytes(res.plot().figure, plot))


@app.command("analyze")
@handle_errors
def analyze(data: Path = typer.Argument(..., help="CSV with subject, arm, visit, baseline, value (period, time_h, stratum optional)."),
            reference: Optional[str] = typer.Option(None, "--reference", help="Comparator arm (default: placebo/control by name, else the first)."),
            visit: Optional[str] = typer.Option(None, "--visit", help="Visit of the responder and ANCOVA/LOCF analyses (default the last)."),
            protocol: Optional[str] = typer.Option(None, "--protocol", help="The protocol the data follow (a bundled "
                                                   "name or a file): its estimand and primary result come first, and "
                                                   "its remission threshold is the default."),
            remission_threshold: Optional[float] = typer.Option(None, "--remission-threshold",
                                                      help="Remission: score at or below this (default: the protocol's, "
                                                           "else 10)."),
            df_method: str = typer.Option("satterthwaite", "--df", help="satterthwaite or residual."),
            baseline_by_visit: bool = typer.Option(True, "--baseline-by-visit/--no-baseline-by-visit",
                                                   help="A baseline slope per visit (baseline:visit, the regulatory "
                                                        "default) or one common slope."),
            strata: bool = typer.Option(True, "--strata/--no-strata",
                                        help="With a stratum column (the randomisation strata), enter it in the "
                                             "MMRM as a covariate (the default) or leave it out."),
            level: float = typer.Option(0.95, "--level", help="Confidence level."),
            sensitivity: bool = typer.Option(False, "--sensitivity", help="Missing-data sensitivity of the primary "
                                             "change: reference-based multiple imputation (MAR, jump to reference, "
                                             "copy reference) and the delta-adjusted tipping point."),
            imputations: int = typer.Option(50, "--imputations", help="Imputations for --sensitivity."),
            seed: int = typer.Option(1, "--seed", help="Seed of the --sensitivity imputations."),
            fmt: str = typer.Option("text", "--format", help="text or json."),
            out: Optional[Path] = typer.Option(None, "--out", help="Write the output to this file."),
            plot: Optional[Path] = typer.Option(None, "--plot", help="Write the MMRM contrast figure (.svg, .png, .pdf).")) -> None:
    """MMRM (unstructured, REML), responders/remitters, Kaplan-Meier time to response, ANCOVA/LOCF."""
    from ..trials.analysis import read_trial_csv
    from ..trials.readout import readout
    check_option("fmt", fmt, ("text", "json"))
    check_option("df_method", df_method, ("satterthwaite", "residual"))
    check_plot_path(plot)
    d = read_trial_csv(data)
    proto = None
    if protocol is not None:
        from ..trials.protocol import load_protocol
        proto = load_protocol(protocol)
    res = readout(d, proto, source=str(data), reference=reference, visit=visit,
                  remission_threshold=remission_threshold, df_method=df_method, level=level,
                  baseline_by_visit=baseline_by_visit, strata=strata, sensitivity=sensitivity,
                  imputations=imputations, seed=seed)
    for n in res.notes:
        typer.echo(f"adpharm: note: {n}", err=True)
    emit_result(res, fmt, out)
    if plot is not None:
        atomic_write(plot, figure_bytes(res.plot().figure, plot))


@app.command("power")
@handle_errors
def power(protocol: str = typer.Argument(..., help="A bundled protocol or a protocol file."),
          reps: int = typer.Option(500, "--reps", help="Replicate trials per size (default 500; a --target-power "
                                   "search needs at least 200)."),
          null: bool = typer.Option(False, "--null", help="Give every arm the control's treatment: the rate is the "
                                    "primary analysis's type I error."),
          n_per_arm: Optional[int] = typer.Option(None, "--n-per-arm", help="Patients per arm (default the protocol's)."),
          target_power: Optional[float] = typer.Option(None, "--target-power", help="Search the patients per arm for this power."),
          seed: int = typer.Option(0, "--seed", help="Seed of the replicate seeds."),
          scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler."),
          workers: Optional[int] = typer.Option(None, "--workers", help="LocalCluster workers (0: in this process)."),
          progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
          fmt: str = typer.Option("text", "--format", help="text or json."),
          out: Optional[Path] = typer.Option(None, "--out", help="Write the output to this file."),
          plot: Optional[Path] = typer.Option(None, "--plot", help="Write the power figure (.svg, .png, .pdf).")) -> None:
    """Power of the protocol's primary endpoint by simulation, on Dask."""
    from ..trials.power import power as run
    check_option("fmt", fmt, ("text", "json"))
    check_plot_path(plot)
    if scheduler is not None and workers is not None:
        fail("--scheduler and --workers: give one (the scheduler's cluster has its own workers)")
    res = run(protocol, reps, n_per_arm=n_per_arm, target_power=target_power, seed=seed, workers=workers,
              scheduler=scheduler, progress=progress, null=null)
    warn(res.warnings)
    emit_result(res, fmt, out)
    if plot is not None:
        atomic_write(plot, figure_bytes(res.plot().figure, plot))


@app.command("registry")
@handle_errors
def registry(split: str = typer.Option("holdout", "--split", help="calibration, holdout or all (SHA-256 of StudyID: "
                                       "even first byte is calibration)."),
             drug: Optional[list[str]] = typer.Option(None, "--drug", help="Keep trials of this drug (repeatable)."),
             seed: int = typer.Option(1, "--seed", help="Seed of the run (each trial's seed comes from it and its id)."),
             scheduler: Optional[str] = typer.Option(None, "--scheduler", help="Address of a running Dask scheduler."),
             workers: Optional[int] = typer.Option(0, "--workers", help="LocalCluster workers (0: in this process)."),
             progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bar on stderr."),
             fmt: str = typer.Option("text", "--format", help="text, json, csv (one row per trial) or html (report)."),
             out: Optional[Path] = typer.Option(None, "--out", help="Write the output to this file.")) -> None:
    """The virtual registry: simulate every placebo-controlled GRISELDA trial of a modelled drug from its own
    design and set the simulated trials beside the observed ones."""
    import sys

    from ..trials.registry import SPLITS, virtual_registry
    check_option("fmt", fmt, ("text", "json", "csv", "html"))
    check_option("split", split, SPLITS)
    if scheduler is not None and workers not in (None, 0):
        fail("--scheduler and --workers: give one (the scheduler's cluster has its own workers)")
    res = virtual_registry(split, list(drug) if drug else None, seed, workers=None if scheduler else workers,
                           scheduler=scheduler, progress=progress and sys.stderr.isatty())
    warn(res.warnings)
    if fmt == "csv":
        write_text(csv_text(res.to_frame(), float_format="%.6g"), out)
        return
    if fmt == "html":
        from ..report.registry import registry_html
        html = registry_html(res)
        if out is None:
            typer.echo(html, nl=False)
        else:
            atomic_write(out, html)
        return
    emit_result(res, fmt, out)


app.command("protocols", help="List the bundled trial protocols (as `adpharm protocols`).")(protocols)
