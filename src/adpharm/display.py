"""The protocol every results object follows, and how results show themselves in a notebook.

Every results class (``...Result``, ``...Pool``) derives from :class:`NotebookDisplay` and offers
``summary()`` (a DataFrame), ``to_dict()`` (plain JSON-ready data with its provenance),
``to_frame()`` (its table), ``plot()`` (a matplotlib Axes), ``_repr_html_()`` (its summary table
with the research-use notice) and ``str()`` (the same as text, with the result's warnings: what
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

__all__ = ["NotebookDisplay", "Result"]


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

    def __str__(self) -> str:
        """The text a user reads: the result's summary and warnings."""


class NotebookDisplay:
    """Mixin for results classes that have ``summary()`` (a DataFrame)."""

    def to_frame(self):
        """The result as a table (its :meth:`summary`)."""
        return self.summary()

    def _repr_html_(self) -> str:
        from . import RESEARCH_NOTICE
        try:
            table = self.summary().to_html(float_format=lambda x: f"{x:.4g}", na_rep="n/a", border=0)
        except Exception as exc:   # a display must never raise in a notebook
            table = f"<p>(no summary table: {html.escape(str(exc))})</p>"
        return (f"<div class='adpharm-result'><p><strong>{html.escape(type(self).__name__)}</strong></p>{table}"
                f"<p><small>{html.escape(RESEARCH_NOTICE)}</small></p></div>")

    def __str__(self) -> str:
        """What ``print(result)`` shows: the class name, the summary table, each warning the result carries
        (its known misses travel with it) and the research-use notice. A results class with a text form of its
        own overrides this."""
        from . import RESEARCH_NOTICE
        try:
            table = self.summary().to_string(float_format=lambda x: f"{x:.4g}", na_rep="n/a")
        except Exception as exc:   # printing a result must never raise
            table = f"(no summary table: {exc})"
        warnings = getattr(self, "warnings", None)
        lines = [type(self).__name__, table]
        if isinstance(warnings, (list, tuple)):
            lines += [f"warning: {w}" for w in warnings]
        return "\n".join([*lines, RESEARCH_NOTICE])
