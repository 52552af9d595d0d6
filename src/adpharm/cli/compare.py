"""`adpharm compare A B`: the comparison guide."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..io import atomic_write
from ..report.comparison import compare as build
from ..report.render import FORMATS, render, render_pdf
from ..errors import check_option
from .common import fail, handle_errors

SUFFIX_FORMAT = {".html": "html", ".htm": "html", ".md": "md", ".json": "json", ".pdf": "pdf"}


@handle_errors
def compare(a: str = typer.Argument(..., help="Drug or class, e.g. ketamine, esketamine, ssri, tca."),
            b: str = typer.Argument(..., help="Drug or class to compare with."),
            out: Optional[Path] = typer.Option(None, "--out", help="Write the guide to this file."),
            fmt: Optional[str] = typer.Option(None, "--format", help="html, md, pdf or json (default: from --out, else html)."),
            include_unverified: bool = typer.Option(False, "--include-unverified",
                                                    help="Pool trial values from memory (status M) too, flagged.")) -> None:
    """The comparison guide of two drugs or classes."""
    if fmt is None:
        fmt = SUFFIX_FORMAT.get(out.suffix.lower(), "html") if out else "html"
    check_option("fmt", fmt, FORMATS)
    if fmt == "pdf" and out is None:
        fail("--format pdf needs --out FILE")
    comparison = build(a, b, include_unverified=include_unverified, background=True)
    if fmt == "pdf":
        try:
            data: str | bytes = render_pdf(comparison)
        except RuntimeError as exc:
            fail(str(exc))
    else:
        data = render(comparison, fmt)
    if out is None:
        typer.echo(data, nl=False)
    else:
        try:
            atomic_write(out, data)
        except OSError as exc:
            fail(f"--out {out}: cannot write ({exc.strerror})")
