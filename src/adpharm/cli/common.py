"""Shared command-line plumbing: one-line errors with exit code 2, output formats, atomic files."""
from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import typer

from .. import RESEARCH_NOTICE
from ..errors import AdpharmInputError
from ..io import atomic_write, json_text

EXIT_BAD_INPUT = 2


def fail(message: str) -> None:
    """Print a one-line error to stderr and exit with code 2."""
    typer.echo(f"adpharm: error: {message}".replace("\n", " "), err=True)
    raise typer.Exit(EXIT_BAD_INPUT)


def handle_errors(fn: Callable) -> Callable:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AdpharmInputError as exc:
            fail(str(exc))
    return wrapper


def check_choice(option: str, value: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        fail(f"{option}: {value!r} is not one of {', '.join(choices)}")
    return value


def check_plot_path(path, option: str = "--plot") -> None:
    """Fail early (before any work) unless a plot path ends in a format :func:`adpharm.figures.figure_bytes`
    writes (.svg, .png or .pdf)."""
    from ..figures import check_figure_path
    if path is not None:
        try:
            check_figure_path(path)
        except AdpharmInputError as exc:
            fail(f"{option} {exc}")


def save_plot(ax, path, option: str = "--plot") -> None:
    """Write the figure that ``ax`` belongs to, atomically; an unwritable path is a one-line error."""
    from ..figures import figure_bytes
    from ..io import atomic_write
    try:
        atomic_write(path, figure_bytes(ax.figure, path))
    except OSError as exc:
        fail(f"{option} {path}: cannot write ({exc.strerror})")


def table_text(df, fmt: str | None = None, index: bool = False, na_rep: str = "n/a") -> str:
    """A table for the terminal: floats formatted with ``fmt`` (e.g. ``".3f"``); a missing value reads
    ``na_rep``, never ``NaN``."""
    return df.to_string(index=index, float_format=None if fmt is None else (lambda x: format(x, fmt)), na_rep=na_rep)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json_text(obj))


def warn(messages: list[str]) -> None:
    """Print each simulation warning as ``adpharm: warning: ...`` on stderr."""
    for m in messages:
        typer.echo(f"adpharm: warning: {m}", err=True)


def write_text(text: str, out: Optional[Path]) -> None:
    """Text on stdout, or atomically to ``out``."""
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write(out, text)


def emit(d: dict, text: str, fmt: str, out: Optional[Path]) -> None:
    """JSON (with the research notice in its provenance) or text, on stdout or atomically to ``out``
    (the output of every result-printing command)."""
    if fmt == "json":
        d["provenance"]["notice"] = RESEARCH_NOTICE
        if out is None:
            emit_json(d)
        else:
            atomic_write(out, json_text(d))
    else:
        write_text(text + f"{RESEARCH_NOTICE}\n", out)
