"""Shared command-line plumbing: one-line errors with exit code 2, output formats, atomic files."""
from __future__ import annotations

import contextvars
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


def command_flags(fn: Callable) -> dict[str, str]:
    """A command's parameters, Python name to what its user types: the flag of an option
    (``{"min_total_count": "--min-count"}``), the upper-case name of an argument (``COUNTS``).

    Read from the command's signature, whose defaults are ``typer.Option``/``typer.Argument``."""
    import inspect
    flags: dict[str, str] = {}
    for name, p in inspect.signature(fn).parameters.items():
        decls = getattr(p.default, "param_decls", None)
        if decls is None:
            continue
        long = [d for d in decls if d.startswith("--")]
        if long:
            flags[name] = long[0].split("/")[0]
        elif isinstance(p.default, typer.models.OptionInfo):
            flags[name] = "--" + name.replace("_", "-")
        else:
            flags[name] = name.upper()
    return flags


#: the running command's flags (:func:`command_flags`), set by :func:`handle_errors` for :func:`warn`
_RUNNING_FLAGS: contextvars.ContextVar[dict[str, str]] = contextvars.ContextVar("adpharm_flags", default={})


def flag_text(text: str, flags: dict[str, str], quoted_only: bool = False) -> str:
    """``text`` with the parameters it names written as the command's flags: any parameter in backticks
    (```hours``` -> ``--hours``, the only form a result's text uses: ``quoted_only``), any parameter by its
    Python name with an underscore (``n_per_arm`` -> ``--n-per-arm``) and any parameter that leads a
    clause as an error's field does (``a.png: groups: ...`` -> ``a.png: --groups: ...``).

    Examples
    --------
    >>> flag_text("a.png: groups: 2 labels; give n_per_arm", {"groups": "--groups", "n_per_arm": "--n-per-arm"})
    'a.png: --groups: 2 labels; give --n-per-arm'
    >>> flag_text("simulate longer (`hours`); n_per_arm", {"hours": "--hours", "n_per_arm": "--n"}, quoted_only=True)
    'simulate longer (--hours); n_per_arm'
    """
    import re
    if not flags:
        return text
    names = "|".join(map(re.escape, sorted(flags, key=len, reverse=True)))
    text = re.sub(r"`(%s)`" % names, lambda m: flags[m.group(1)], text)
    if quoted_only:
        return text
    text = re.sub(r"(^|: )(%s)(?=: )" % names, lambda m: m.group(1) + flags[m.group(2)], text)
    named = sorted((n for n in flags if "_" in n), key=len, reverse=True)
    if not named:
        return text
    return re.sub(r"(?<![\w-])(%s)(?![\w-])" % "|".join(map(re.escape, named)), lambda m: flags[m.group(1)], text)


def flag_message(exc: AdpharmInputError, flags: dict[str, str]) -> str:
    """The command-line text of an engine error: its field, and any other parameter it names, as the
    command's flags.

    Examples
    --------
    >>> flag_message(AdpharmInputError("give n_per_arm or target_power", field="target_power"),
    ...              {"n_per_arm": "--n-per-arm", "target_power": "--target-power"})
    '--target-power: give --n-per-arm or --target-power'
    """
    detail = flag_text(exc.detail, flags)
    return detail if exc.field is None else f"{flags.get(exc.field, exc.field)}: {detail}"


def handle_errors(fn: Callable) -> Callable:
    """Turn an AdpharmInputError into the one-line ``adpharm: error: ...`` (exit 2), with the parameter
    it names shown as the command's flag; warnings printed meanwhile name flags too."""
    flags = command_flags(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        token = _RUNNING_FLAGS.set(flags)
        try:
            return fn(*args, **kwargs)
        except AdpharmInputError as exc:
            fail(flag_message(exc, flags))
        finally:
            _RUNNING_FLAGS.reset(token)
    return wrapper


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


def emit_json(obj: Any) -> None:
    sys.stdout.write(json_text(obj))


def print_notes(lines) -> None:
    """Print each note of a result as ``note: ...`` on stdout, the parameters it names written as the
    running command's flags (``include_unverified`` -> ``--include-unverified``)."""
    flags = _RUNNING_FLAGS.get()
    for line in lines:
        typer.echo(f"note: {flag_text(str(line), flags)}")


def error_line(message: str) -> None:
    """Print one ``adpharm: error: ...`` line without exiting (a batch reports every failed file), the
    parameters it names written as the running command's flags."""
    typer.echo(f"adpharm: error: {flag_text(str(message), _RUNNING_FLAGS.get())}".replace("\n", " "), err=True)


def warn(messages: list[str]) -> None:
    """Print each warning as ``adpharm: warning: ...`` on stderr (the one format of a warning), the
    parameters it names written as the running command's flags."""
    flags = _RUNNING_FLAGS.get()
    for m in messages:
        typer.echo(f"adpharm: warning: {flag_text(str(m), flags)}", err=True)


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
        write_text(flag_text(text, _RUNNING_FLAGS.get(), quoted_only=True) + f"{RESEARCH_NOTICE}\n", out)


def emit_beside(res: Any, fmt: str, d: Optional[dict] = None, text: Optional[str] = None) -> None:
    """A result as JSON with the research notice beside it (``"notice"``, the contract of the assay and
    transcriptomics commands; ``d`` instead of ``res.to_dict()``) or as its text (``text`` instead of
    ``res.text()``), on stdout. Only the form asked for is computed."""
    if fmt == "json":
        emit_json({**(res.to_dict() if d is None else d), "notice": RESEARCH_NOTICE})
    else:
        emit({}, res.text() if text is None else text, "text", None)


def emit_result(res: Any, fmt: str, out: Optional[Path]) -> None:
    """A result as JSON (:meth:`to_dict`) or as the text it gives (:meth:`text`, the parameters it names in
    backticks written as the command's flags): the command composes no text of its own, and only the form
    asked for is computed."""
    if fmt == "json":
        emit(res.to_dict(), "", fmt, out)
    else:
        emit({}, res.text(), fmt, out)
