"""The ``adpharm`` command: one noun, then a verb where needed (see design.md)."""
from __future__ import annotations

import sys

import typer

from .. import RESEARCH_NOTICE, __version__
from . import assay, compare, knowledge, mechanism, meta, pk, serve, transcriptomics, trial

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help=f"adpharm {__version__}: executable comparison of antidepressants. {RESEARCH_NOTICE}")
app.command("drugs")(knowledge.drugs)
app.command("drug")(knowledge.drug)
app.command("compare")(compare.compare)
app.add_typer(pk.app, name="pk")
app.add_typer(mechanism.app, name="mechanism")
app.add_typer(meta.app, name="meta")
app.add_typer(assay.app, name="assay")
app.add_typer(transcriptomics.app, name="transcriptomics")
app.command("protocols")(trial.protocols)
app.command("protocol")(trial.protocol)
app.add_typer(trial.app, name="trial")
app.command("serve")(serve.serve)


@app.callback()
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        typer.echo(__version__)
        raise typer.Exit(0)


def run() -> None:
    try:
        app(standalone_mode=True)
    except KeyboardInterrupt:  # pragma: no cover
        sys.exit(130)


if __name__ == "__main__":  # pragma: no cover
    run()
