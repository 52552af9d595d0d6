"""The protocol every results object follows, and how results show themselves in a notebook.

Every results class (``...Result``, ``...Pool``) derives from :class:`NotebookDisplay` and offers
``summary()`` (a DataFrame), ``to_dict()`` (plain JSON-ready data with its provenance),
``to_frame()`` (its table), ``plot()`` (a matplotlib Axes), ``text()`` (the text a user reads: what the
command line prints, which composes no text of its own), ``_repr_html_()`` (its summary table with its
warnings and the research-use notice) and ``str()`` (its text, its warnings and the notice: what
``print(result)`` shows); :class:`Result` states it, and ``tests/test_public_api.py`` checks every class.

Examples
--------
>>> import pandas as pd
>>> class R(NotebookDisplay):
...     def summary(self):
...         return pd.DataFrame({"x": [1.0]})
>>> "<table" in R()._repr_html_() and R().to_frame().shape == (1, 1)
True
>>> print(str(R()).splitlines()[0])
R
"""
from __future__ import annotations

import html
from typing import Any, Protocol, runtime_checkable

__all__ = ["NotebookDisplay", "Result", "provenance", "quote_parameters", "table_text"]


def provenance(**fields: Any) -> dict[str, Any]:
    """A result's provenance record: the adpharm version and the research-use notice, then ``fields`` (what
    made the result: its input, model, method, source).

    Examples
    --------
    >>> list(provenance(input="data.csv"))
    ['adpharm', 'notice', 'input']
    """
    from . import RESEARCH_NOTICE, __version__
    return {"adpharm": __version__, "notice": RESEARCH_NOTICE, **fields}


def quote_parameters(text: str, names) -> str:
    """``text`` with each parameter in ``names`` written in backticks (```include_unverified```): how a result's
    text names a parameter, which the command line shows as its flag.

    Examples
    --------
    >>> quote_parameters("values unverified; include_unverified uses them", ["include_unverified"])
    'values unverified; `include_unverified` uses them'
    """
    import re
    for name in names:
        text = re.sub(rf"(?<![\w`]){re.escape(name)}(?![\w`])", f"`{name}`", text)
    return text


def table_text(df, fmt: str | None = None, index: bool = False, na_rep: str = "n/a") -> str:
    """A table as text: floats formatted with ``fmt`` (e.g. ``".3f"``); a missing value reads ``na_rep``,
    never ``NaN``.

    Examples
    --------
    >>> import pandas as pd
    >>> print(table_text(pd.DataFrame({"x": [1.0, float("nan")]}), ".2f"))
       x
    1.00
     n/a
    """
    return df.to_string(index=index, float_format=None if fmt is None else (lambda x: format(x, fmt)), na_rep=na_rep)


@runtime_checkable
class Result(Protocol):
    """What every results object offers (a structural type: ``isinstance(r, Result)``)."""

    def summary(self) -> Any:
        """The result as a table (a pandas DataFrame)."""

    def to_dict(self) -> dict:
        """The result as JSON-ready data, with its provenance."""

    def to_frame(self) -> Any:
        """The result's table (its summary unless it has a tabular form of its own)."""

    def plot(self, *args: Any, **kwargs: Any) -> Any:
        """The result's figure (a matplotlib Axes)."""

    def text(self) -> str:
        """The text a user reads (what the command line prints): header, tables and notes, no warnings."""

    def __str__(self) -> str:
        """The result's text, its warnings and the research-use notice (what ``print(result)`` shows)."""


class NotebookDisplay:
    """Mixin for results classes that have ``summary()`` (a DataFrame)."""

    def to_frame(self):
        """The result as a table (its :meth:`summary`)."""
        return self.summary()

    def text(self) -> str:
        """The text a user reads: what ``adpharm`` prints for this result and what ``print(result)`` begins
        with. By default the class name and the summary table; a results class with a header or sections of
        its own overrides this. Ends with a newline; the warnings and the research-use notice are not part of
        it (the command line prints warnings on stderr, :meth:`__str__` after the text)."""
        try:
            table = table_text(self.summary(), ".4g", index=True)
        except Exception as exc:   # printing a result must never raise
            table = f"(no summary table: {exc})"
        return f"{type(self).__name__}\n{table}\n"

    def _warnings(self) -> list[str]:
        warnings = getattr(self, "warnings", None)
        return [str(w) for w in warnings] if isinstance(warnings, (list, tuple)) else []

    def _repr_html_(self) -> str:
        from . import RESEARCH_NOTICE
        try:
            table = self.summary().to_html(float_format=lambda x: f"{x:.4g}", na_rep="n/a", border=0)
        except Exception as exc:   # a display must never raise in a notebook
            table = f"<p>(no summary table: {html.escape(str(exc))})</p>"
        warnings = "".join(f"<p>warning: {html.escape(w)}</p>" for w in self._warnings())
        return (f"<div class='adpharm-result'><p><strong>{html.escape(type(self).__name__)}</strong></p>{table}"
                f"{warnings}<p><small>{html.escape(RESEARCH_NOTICE)}</small></p></div>")

    def __str__(self) -> str:
        """What ``print(result)`` shows: the result's :meth:`text`, each warning the result carries (its known
        misses travel with it) and the research-use notice."""
        from . import RESEARCH_NOTICE
        try:
            body = self.text().rstrip("\n")
        except Exception as exc:   # printing a result must never raise
            body = f"{type(self).__name__}\n(no text: {exc})"
        return "\n".join([body, *(f"warning: {w}" for w in self._warnings()), RESEARCH_NOTICE])
