"""`adpharm datasets list|fetch|path`: the registered real data files (issue 34)."""
from __future__ import annotations

from typing import List, Optional

import typer

from .. import datasets as ds
from ..errors import check_option
from .common import emit_json, handle_errors

app = typer.Typer(no_args_is_help=True, help="The real data files adpharm's tests and tutorials use: list, fetch, path.")


def _row(d: ds.Dataset) -> dict:
    try:
        where = ds.locate(d.name)
        status = "here" if where else ("downloadable" if d.url else "absent (no download address)")
    except ds.DatasetError:
        where, status = None, "corrupted copy (hash mismatch)"
    return {**d.to_dict(), "path": None if where is None else str(where), "status": status}


@app.command("list")
@handle_errors
def list_(folder: Optional[str] = typer.Option(None, "--folder", help="Only one folder (ephys, evidence, fst, spt, "
                                                                      "transcriptomics, western)."),
          fmt: str = typer.Option("table", "--format", help="table or json.")) -> None:
    """Every dataset with its licence, hash, origin and whether a verified copy is here."""
    check_option("fmt", fmt, ("table", "json"))
    folders = sorted({d.folder for d in ds.registry().values()})
    if folder is not None:
        check_option("folder", folder, tuple(folders))
    rows = [_row(ds.get(n)) for n in ds.names(folder)]
    if fmt == "json":
        emit_json({"datasets": rows, "search_paths": [{"label": lab, "path": str(p)} for lab, p in ds.search_paths()]})
        return
    for r in rows:
        typer.echo(f"{r['name']:<58} {r['licence']:<18} {r['status']}")
    typer.echo(f"{len(rows)} datasets; looked in: " + "; ".join(f"{lab} {p}" for lab, p in ds.search_paths()))


@app.command("fetch")
@handle_errors
def fetch(names: Optional[List[str]] = typer.Argument(None, help="Dataset names (see `adpharm datasets list`)."),
          all_: bool = typer.Option(False, "--all", help="Every dataset that has a download address."),
          fmt: str = typer.Option("text", "--format", help="text or json.")) -> None:
    """Make datasets available here: a verified local copy, or a download from the origin into the cache."""
    check_option("fmt", fmt, ("text", "json"))
    wanted = list(names or [])
    if all_:
        wanted += [n for n, d in ds.registry().items() if d.url and n not in wanted]
    if not wanted:
        raise ds.DatasetError("datasets fetch: name at least one dataset, or --all")
    for n in wanted:
        ds.get(n)   # every name checked before anything downloads
    paths = {n: str(ds.fetch(n)) for n in wanted}
    if fmt == "json":
        emit_json({"fetched": paths})
    else:
        for n, p in paths.items():
            typer.echo(f"{n}\t{p}")


@app.command("path")
@handle_errors
def path(name: str = typer.Argument(..., help="Dataset name.")) -> None:
    """The verified local path of one dataset (exit 2 when no copy is here; nothing is downloaded)."""
    typer.echo(str(ds.fetch(name, download=False)))
