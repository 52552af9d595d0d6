"""`adpharm mechanism simulate|parameters`: the cascade from occupancy to the MADRS score."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from ..io import atomic_write, figure_bytes
from ..pharmacology.model import PHENOTYPES
from .common import check_choice, emit_json, fail, handle_errors
from .pk import _emit, _warn, _write_text

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
             remission: float = typer.Option(10.0, "--remission-threshold", help="Remission: MADRS at or below this."),
             onset: float = typer.Option(2.0, "--onset-threshold", help="Onset: mean separation from placebo of at least this many MADRS points."),
             export_sbml: Optional[Path] = typer.Option(None, "--export-sbml", help="Write the full model with this regimen (first patient) as SBML."),
             fmt: str = typer.Option("text", "--format", help="text, json or csv (one row per output time)."),
             out: Optional[Path] = typer.Option(None, "--out", help="Write the output to this file."),
             plot: Optional[Path] = typer.Option(None, "--plot", help="Write the four-panel figure (.svg, .png, .pdf).")) -> None:
    """State trajectories and the MADRS trajectory of a regimen, with response, remission and onset versus placebo."""
    from ..mechanism.simulate import simulate as run
    check_choice("--format", fmt, ("text", "json", "csv"))
    check_choice("--phenotype", phenotype, (*PHENOTYPES, "mixed"))
    if len(drug) != len(regimen):
        fail(f"--drug given {len(drug)} times but --regimen {len(regimen)} times: give one regimen per drug")
    if plot is not None and plot.suffix.lower() not in (".svg", ".png", ".pdf"):
        fail(f"--plot {plot}: plot files must end in .svg, .png or .pdf")
    if export_sbml is not None and export_sbml.suffix.lower() not in (".xml", ".sbml"):
        fail(f"--export-sbml {export_sbml}: SBML files must end in .xml or .sbml")
    res = run(list(zip(drug, regimen)), days, n=n, seed=seed, weight_kg=weight, phenotype=phenotype,
              remission_threshold=remission, onset_threshold=onset)
    _warn(res.warnings)
    for f in res.flags:
        typer.echo(f"adpharm: flag: {' + '.join(f['drugs'])}: {f['effect']} ({f['severity']}; {', '.join(f['refs'])})", err=True)
    sbml_text = res.to_sbml(patient=0) if export_sbml is not None else None
    if fmt == "csv":
        _write_text(res.tidy().to_csv(index=False, float_format="%.6g"), out)
    else:
        s = res.summary()
        d = res.to_dict()
        head = (f"{res.label}: {d['regimen']} ({res.n} patient{'s' if res.n > 1 else ''}, seed {res.seed}; "
                f"onset day {res.onset_day()})\n")
        _emit(d, head + s.to_string(index=False, float_format=lambda x: f"{x:.3f}") + "\n", fmt, out)
    if sbml_text is not None:
        atomic_write(export_sbml, sbml_text)
    if plot is not None:
        atomic_write(plot, figure_bytes(res.plot()[0].figure, plot))


@app.command("parameters")
@handle_errors
def parameters(fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Every parameter of the cascade model with its value, basis and sources."""
    from ..mechanism.model import load
    check_choice("--format", fmt, ("text", "json"))
    m = load()
    rows = m.parameter_table()
    if fmt == "json":
        emit_json({"model": m.version, "parameters": rows})
        return
    for r in rows:
        typer.echo(f"{r['name']:40s} {r['value']:>10.4g}  {r['basis']:13s} {', '.join(r['refs'])}")
