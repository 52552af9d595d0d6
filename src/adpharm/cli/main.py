"""The ``adpharm`` command: one noun, then a verb where needed (see design.md)."""
from __future__ import annotations

import importlib
import sys

import typer

from .. import RESEARCH_NOTICE, __version__
from ..errors import shorten

#: every top-level name of the command line: a command (a function of a module of this package) or a group
#: (a module's ``app``), in the order ``adpharm --help`` lists them
COMMANDS: dict[str, tuple[str, str]] = {
    "drugs": ("knowledge", "drugs"), "drug": ("knowledge", "drug"), "compare": ("compare", "compare"),
    "pk": ("pk", "app"), "mechanism": ("mechanism", "app"), "meta": ("meta", "app"), "assay": ("assay", "app"),
    "transcriptomics": ("transcriptomics", "app"), "protocols": ("trial", "protocols"),
    "protocol": ("trial", "protocol"), "trial": ("trial", "app"), "serve": ("serve", "serve"),
    "datasets": ("datasets", "app"),
}


def build_app(only: str | None = None) -> typer.Typer:
    """The ``adpharm`` command with every command and group, or with only the one named ``only``.

    A run imports only the module of the command it runs (``adpharm drug ketamine`` does not import the
    assays, the meta-analysis or the transcriptomics engines), so that start-up costs what the command needs;
    help and an unknown name build everything, so that they list every command.
    """
    app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                      help=f"adpharm {__version__}: executable comparison of antidepressants. {RESEARCH_NOTICE}")
    for name, (module, attr) in COMMANDS.items():
        if only is not None and name != only:
            continue
        obj = getattr(importlib.import_module(f"{__package__}.{module}"), attr)
        if isinstance(obj, typer.Typer):
            app.add_typer(obj, name=name)
        else:
            app.command(name)(obj)
    app.callback()(_root)
    return app


def __getattr__(name: str):
    if name == "app":        # the whole command line, for introspection (tests, documentation)
        return build_app()
    raise AttributeError(name)


def _version(value: bool) -> None:
    if value:
        typer.echo(__version__)
        raise typer.Exit(0)


def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """adpharm's commands."""


def _is_click_error(exc: BaseException) -> bool:
    """Click's usage and command errors (typer ships its own copy of click, so match the interface)."""
    return hasattr(exc, "format_message") and hasattr(exc, "exit_code") and hasattr(exc, "show")


#: third-party packages whose numerical warnings are the library's business, not the user's
QUIET_MODULES = r"(numpy|scipy|pandas|statsmodels|lifelines|skimage|pydeseq2|anndata|sklearn|matplotlib|PIL)(\.|$)"


def run() -> None:
    """Entry point: usage errors are the one-line ``adpharm: error: ...`` (exit 2) the commands give,
    never click's multi-line usage box; a bare group prints its help.

    No traceback and no numerical warning reaches the terminal: a defect is one line naming the
    exception (exit 1; ``ADPHARM_DEBUG=1`` shows the traceback and the warnings)."""
    import os
    import warnings
    debug = bool(os.environ.get("ADPHARM_DEBUG"))
    if not debug:
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        warnings.filterwarnings("ignore", module=QUIET_MODULES)
    try:
        words = [a for a in sys.argv[1:] if not a.startswith("-")][:1]
        only = words[0] if words and words[0] in COMMANDS and "--help" not in sys.argv[1:2] else None
        code = build_app(only)(standalone_mode=False)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)
    except Exception as exc:
        if not _is_click_error(exc):
            if debug:
                raise
            detail = shorten(exc)[:300]
            typer.echo(f"adpharm: internal error: {type(exc).__name__}{': ' + detail if detail else ''} "
                       "(a defect in adpharm: please report it; ADPHARM_DEBUG=1 shows the traceback)", err=True)
            sys.exit(1)
        if type(exc).__name__ == "NoArgsIsHelpError":   # bare ``adpharm pk``: its help, as before
            typer.echo(exc.format_message())
            sys.exit(0)
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        msg = " ".join(exc.format_message().split())
        typer.echo(f"adpharm: error: {msg}{where}", err=True)
        sys.exit(2 if exc.exit_code in (1, 2) else exc.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    run()
