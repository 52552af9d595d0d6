"""`adpharm assay ltp`: field-EPSP potentiation or depression from slice recordings."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from .. import RESEARCH_NOTICE
from ..assays import fst, ltp, spt
from ..assays.ephys import read_recording
from ..errors import AdpharmInputError
from ..io import atomic_write, figure_bytes, read_table
from .common import check_choice, emit_json, fail, handle_errors

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Lab assays: forced swim test tables (fst) and slice electrophysiology (ltp).")


@app.command("ltp")
@handle_errors
def ltp_cmd(baseline: List[Path] = typer.Option(..., "--baseline", help="Baseline recording(s), ABF or CSV, in order."),
            post: List[Path] = typer.Option(..., "--post", help="Post-induction recording(s), in order."),
            window_min: float = typer.Option(10.0, "--window-min", help="Final window for the change (minutes)."),
            slope_window: str = typer.Option("20-60", "--slope-window", help="Falling-phase fractions for the slope, e.g. 20-60 or 10-90."),
            baseline_sweeps: int = typer.Option(20, "--baseline-sweeps", help="Normalise to the last N baseline sweeps."),
            pp: List[Path] = typer.Option([], "--pp", help="Paired-pulse recording(s) (ratio pulse 2 / pulse 1)."),
            io_file: Optional[Path] = typer.Option(None, "--io", help="Input-output series recording."),
            plot: Optional[Path] = typer.Option(None, "--plot", help="Write the time course (.svg, .png or .pdf)."),
            fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Normalised fEPSP slope time course and the change over the final window (LTP or LTD)."""
    check_choice("--format", fmt, ("text", "json"))
    if plot is not None and plot.suffix.lower() not in (".svg", ".png", ".pdf"):
        fail(f"--plot {plot}: plot files must end in .svg, .png or .pdf")
    if baseline_sweeps < 1:
        fail(f"--baseline-sweeps: {baseline_sweeps} must be at least 1")
    fractions = ltp.parse_window(slope_window)
    res = ltp.analyse([read_recording(p) for p in baseline], [read_recording(p) for p in post], window_min=window_min,
                      fractions=fractions, baseline_sweeps=baseline_sweeps)
    if pp:
        res.paired_pulse_ratio = {str(p): ltp.paired_pulse(read_recording(p), fractions) for p in pp}
    out = res.to_dict()
    if io_file is not None:
        out["io_curve"] = ltp.io_curve(read_recording(io_file), fractions).to_dict(orient="records")
    out["notice"] = RESEARCH_NOTICE
    if plot is not None:
        try:
            atomic_write(plot, figure_bytes(res.plot().figure, plot))
        except OSError as exc:
            fail(f"--plot {plot}: cannot write ({exc.strerror})")
    if fmt == "json":
        emit_json(out)
        return
    typer.echo(f"baseline slope {res.baseline_slope:.3f} mV/ms (last {baseline_sweeps} sweeps; window "
               f"{res.windows.slope[0]:.2f}-{res.windows.slope[1]:.2f} ms after the stimulus)")
    typer.echo(f"change over the last {window_min:g} min: {res.change_percent:+.1f} %")
    typer.echo(res.summary().to_string(float_format=lambda x: f"{x:.1f}"))
    for p, r in (res.paired_pulse_ratio or {}).items():
        typer.echo(f"paired-pulse ratio {p}: slope {r['slope_ratio']:.2f}, amplitude {r['amplitude_ratio']:.2f}")
    for w in res.warnings:
        typer.echo(f"warning: {w}", err=True)


def _batch(files: List[Path], analyse, fmt: str, describe) -> None:
    """Analyse each file; a bad file is reported (one line each) and the rest still run; exit 2 if any failed."""
    check_choice("--format", fmt, ("text", "json"))
    results, errors = {}, []
    for f in files:
        try:
            results[str(f)] = analyse(read_table(f), str(f))
        except AdpharmInputError as exc:
            errors.append(str(exc))
    if fmt == "json":
        emit_json({"results": {k: r.to_dict() for k, r in results.items()}, "errors": errors, "notice": RESEARCH_NOTICE})
    else:
        for k, r in results.items():
            typer.echo(f"{k}: {r.kind}")
            typer.echo(r.summary().to_string(float_format=lambda x: f"{x:.3f}"))
            st = r.statistics or {}
            if "welch_t" in st:
                typer.echo(f"{st['comparison']}: Welch t = {st['welch_t']['t']:.3f}, p = {st['welch_t']['pval']:.3g}; "
                           f"Hedges g = {st['hedges_g']['g']:.2f}")
            elif "anova" in st:
                typer.echo(f"one-way ANOVA F = {st['anova']['F']:.3f}, p = {st['anova']['pval']:.3g}")
            describe(r)
    for e in errors:
        typer.echo(f"adpharm: error: {e}", err=True)
    if errors:
        raise typer.Exit(2)


@app.command("fst")
def fst_cmd(files: List[Path] = typer.Argument(..., help="Scored forced-swim tables (CSV): per-minute, binned or percent immobile."),
            control: Optional[str] = typer.Option(None, "--control", help="Control group (e.g. vehicle) for the tests."),
            fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Forced swim test scores and group statistics; a bad file is reported and the rest are analysed."""
    def describe(r):
        typer.echo(f"score: {r.score_name}")
        for fl in r.flags:
            typer.echo(f"flag: {fl['kind']}: animals {', '.join(fl['ids'])}")
    _batch(files, lambda df, src: fst.analyse(df, control=control, source=src), fmt, describe)


@app.command("spt")
def spt_cmd(files: List[Path] = typer.Argument(..., help="Bottle-weight or preference-ratio tables (CSV)."),
            threshold: float = typer.Option(spt.ANHEDONIA_THRESHOLD, "--threshold", help="Anhedonia below this preference."),
            max_intake_g: float = typer.Option(spt.MAX_INTAKE_G, "--max-intake-g", help="Flag sessions above this intake per animal."),
            control: Optional[str] = typer.Option(None, "--control", help="Control group for the tests."),
            fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Sucrose preference: intake, preference, leak flags, side bias, anhedonia; batch as for fst."""
    def describe(r):
        sb = r.side_bias.get("mean_preference_by_side", {})
        if sb:
            typer.echo("preference by sucrose side: " + ", ".join(f"{k} {v:.3f}" for k, v in sb.items()))
        n = int(r.subjects["anhedonic"].sum())
        typer.echo(f"anhedonic (preference < {r.threshold:g}): {n} of {len(r.subjects)}")
        for fl in r.flags:
            typer.echo(f"flag: {fl['kind']}: {fl.get('subject', '')} {fl.get('day', '')} {fl.get('reason', '')}".rstrip())
    _batch(files, lambda df, src: spt.analyse(df, threshold, max_intake_g, control, source=src), fmt, describe)
