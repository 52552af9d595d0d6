"""`adpharm drugs` and `adpharm drug NAME`."""
from __future__ import annotations

from typing import Optional

import typer

from ..knowledge import query
from ..errors import check_option
from .common import emit_json, handle_errors


@handle_errors
def drugs(drug_class: Optional[str] = typer.Option(None, "--class", help="Filter by class (tca, ssri, snri, maoi, nmda)."),
          fmt: str = typer.Option("table", "--format", help="table, json or csv.")) -> None:
    """List drugs with class and primary mechanism."""
    check_option("fmt", fmt, ("table", "json", "csv"))
    df = query.list_drugs(drug_class)
    if fmt == "json":
        emit_json(df.to_dict(orient="records"))
    elif fmt == "csv":
        typer.echo(df.to_csv(index=False), nl=False)
    else:
        for r in df.itertuples():
            mech = r.primary_mechanism if len(r.primary_mechanism) < 90 else r.primary_mechanism[:87] + "..."
            typer.echo(f"{r.drug:<16} {r._3:<16} {mech}")


@handle_errors
def drug(name: str = typer.Argument(..., help="Drug name or synonym."),
         fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Full cited profile of one drug."""
    check_option("fmt", fmt, ("text", "json"))
    prof = query.profile(name)
    refs = query.references()
    used = sorted(query.collect_refs(prof))
    if fmt == "json":
        emit_json({"profile": prof, "references": {k: refs[k] for k in used}})
        return
    typer.echo(f"{prof['name']} ({prof.get('class_name', 'class')})")
    mech = prof["primary_mechanism"]
    typer.echo(f"  mechanism: {mech['value']}{query.marks(mech, refs)} [{', '.join(mech['refs'])}]")
    for t, b in prof.get("binding", {}).items():
        typer.echo(f"  {t:<7} {query.format_value({**b, 'unit': 'nM'})} ({query.measure_label(b['measure'])})"
                   f"{query.marks(b, refs)} [{', '.join(b['refs'])}]")
    for p, v in ((k, v) for k, v in prof.get("pk", {}).items() if v):
        typer.echo(f"  {p:<22} {query.format_value(v)}{query.marks(v, refs)} [{', '.join(v['refs'])}]")
    if prof.get("onset"):
        o = prof["onset"]
        typer.echo(f"  {'onset':<22} {query.format_value(o)}{query.marks(o, refs)} [{', '.join(o['refs'])}]")
    for ae in prof.get("adverse_effects", []):
        typer.echo(f"  {ae['category']:<13} {ae['name']}{query.marks(ae, refs)} [{', '.join(ae['refs'])}]")
    typer.echo("references:")
    for k in used:
        r = refs[k]
        typer.echo(f"  {k}: {query.citation(r)}{'' if r.get('checked', True) else ' (record not checked)'}")
