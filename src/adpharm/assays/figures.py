"""Figures shared by the assays (drawn through :mod:`adpharm.figures`)."""
from __future__ import annotations

import numpy as np
import pandas as pd


def bar_and_dots(df: pd.DataFrame, value: str, group: str, ylabel: str, ax=None, hline: float | None = None):
    """Group means (bars, with SEM) and every animal as a dot, as GraphPad Prism draws them."""
    from ..figures import pyplot, short_label
    plt = pyplot()
    ax = ax or plt.subplots(figsize=(4, 3.5))[1]
    rng = np.random.default_rng(0)  # fixed jitter: the same figure every run
    groups = list(dict.fromkeys(df[group]))
    for i, g in enumerate(groups):
        s = df.loc[df[group] == g, value]
        ax.bar(i, s.mean(), color="#ccd", yerr=s.std(ddof=1) / np.sqrt(len(s)) if len(s) > 1 else None, capsize=3)
        ax.plot(i + rng.uniform(-0.2, 0.2, len(s)), s, "o", color="k", ms=3)
    if hline is not None:
        ax.axhline(hline, color="#b33", ls="--", lw=0.8)
    ax.set_xticks(range(len(groups)), [short_label(g) for g in groups])
    ax.set_ylabel(ylabel)
    return ax
