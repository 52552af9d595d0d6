"""Figures: the one place adpharm sets up matplotlib and turns a figure into bytes or SVG text.

Every engine's ``.plot()``, the comparison guide, the web app and the command line draw through
:func:`pyplot` and save through :func:`figure_bytes` or :func:`to_svg`, so every figure uses the
non-interactive Agg backend and is reproducible: the same figure gives the same bytes (no creation
date in SVG or PDF), and SVG element ids are salted so several figures can share one HTML page.
matplotlib is imported only when a figure is drawn, so importing adpharm stays light. This module
sits at the bottom of the house: it imports nothing else from adpharm except the error type.
"""
from __future__ import annotations

import io
import os
import re
from pathlib import Path

from .errors import AdpharmInputError

#: file formats :func:`figure_bytes` writes, by suffix
FORMATS = ("svg", "png", "pdf")


#: Longest label a figure prints (tick labels, study names); longer ones end in an ellipsis.
MAX_FIGURE_LABEL = 40


def short_label(text: object, n: int = MAX_FIGURE_LABEL) -> str:
    """``text`` as a figure label: at most ``n`` characters, cut with an ellipsis."""
    s = " ".join(str(text).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def pyplot():
    """``matplotlib.pyplot`` with the non-interactive Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    return plt


def interval_plot(labels, estimates, lows, highs, *, xlabel: str, title: str = "", null: float | None = 0.0,
                  ax=None):
    """Point estimates with their intervals, one row per label (the top row first), and a line at
    ``null`` (none when ``None``); missing values are left out of the row."""
    plt = pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 0.35 * len(labels) + 1.4), constrained_layout=True)
    ys = list(range(len(labels)))[::-1]
    for y, e, lo, hi in zip(ys, estimates, lows, highs):
        if e is None:
            continue
        ax.plot([e], [y], "o", color="k", ms=4)
        if lo is not None and hi is not None:
            ax.plot([lo, hi], [y, y], color="k", lw=1.2)
    if null is not None:
        ax.axvline(null, color="grey", ls="--", lw=0.8)
    ax.set_yticks(ys, [short_label(x) for x in labels])
    ax.set(xlabel=xlabel, title=title)
    return ax


def close(fig) -> None:
    """Release a figure's memory."""
    pyplot().close(fig)


def _metadata(fmt: str) -> dict:
    # no dates, so the same figure gives the same bytes
    return {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}.get(fmt, {})


def check_figure_path(path: str | os.PathLike) -> str:
    """The format named by ``path``'s suffix; :class:`~adpharm.errors.AdpharmInputError` naming ``path``
    unless it is one of :data:`FORMATS`."""
    fmt = Path(path).suffix.lower().lstrip(".")
    if fmt not in FORMATS:
        raise AdpharmInputError(f"{path}: plot files must end in .svg, .png or .pdf")
    return fmt


def figure_bytes(fig, path: str | os.PathLike) -> bytes:
    """A figure encoded in the format named by ``path``'s suffix (svg, png or pdf), then closed."""
    fmt = check_figure_path(path)
    buf = io.BytesIO()
    import matplotlib
    with matplotlib.rc_context({"svg.hashsalt": "adpharm"}):
        fig.savefig(buf, format=fmt, bbox_inches="tight", dpi=150, metadata=_metadata(fmt))
    close(fig)
    return buf.getvalue()


def to_svg(fig, salt: str) -> str:
    """SVG markup of a figure for inlining in HTML, then close the figure.

    Text stays text (searchable, no glyph definitions), element ids are salted with ``salt`` so
    that several figures can share one page, and no date is written, so the same figure gives the
    same bytes. ``fig`` may be a figure or an axes.
    """
    import matplotlib
    fig = getattr(fig, "figure", fig)
    buf = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": salt}):
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata=_metadata("svg"))
    close(fig)
    text = buf.getvalue()
    text = re.sub(r"^.*?(<svg)", r"\1", text, count=1, flags=re.S)
    return re.sub(r"\s*<metadata>.*?</metadata>", "", text, count=1, flags=re.S)
