"""How results show themselves in a notebook: every results object renders as its summary table, with the
research-use notice, and gives that table as ``to_frame()`` (unless it has a tabular form of its own).

Examples
--------
>>> import pandas as pd
>>> class R(NotebookDisplay):
...     def summary(self):
...         return pd.DataFrame({"x": [1.0]})
>>> "<table" in R()._repr_html_() and R().to_frame().shape == (1, 1)
True
"""
from __future__ import annotations

import html

__all__ = ["NotebookDisplay"]


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
