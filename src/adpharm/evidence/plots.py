"""Forest plots (study columns, subgroup rows), funnel plots and network graphs (matplotlib).

Figures are drawn through :mod:`adpharm.figures` (Agg backend, reproducible SVG). The functions take
result objects by what they hold (``data``, ``weights``, ``groups`` ...) and never import the result
modules, so fitting code and its results depend on plotting only lazily, through ``.plot()``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from ..figures import pyplot, short_label
from .effect_sizes import RATIO_MEASURES
from ..lazy import lazy_module

stats = lazy_module("scipy.stats")

_XLABEL = {"OR": "Odds ratio", "RR": "Risk ratio", "RD": "Risk difference", "SMD": "Standardised mean difference",
           "MD": "Mean difference"}


def _log_axis(ax, lo: float, hi: float) -> None:
    """Log scale with plain-number ticks (0.25, 0.5, 1, 2, ...) as forest plots print them."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator
    ax.set_xscale("log")
    ticks = [t for t in (0.01, 0.03, 0.1, 0.25, 0.5, 1, 2, 4, 10, 30, 100) if lo <= t <= hi]
    ax.xaxis.set_major_locator(FixedLocator(ticks or [1]))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))


def _rows(res, label: str | None = None, studies: bool = True) -> list[dict[str, Any]]:
    es = res.data
    crit = stats.norm.ppf(0.5 + res.level / 2)
    se = np.sqrt(es.vi)
    rows = [{"kind": "study", "label": s, "y": y, "lb": y - crit * e, "ub": y + crit * e, "w": w}
            for s, y, e, w in zip(es.study, es.yi, se, res.weights)] if studies else []
    model = "Common effect" if res.method == "FE" else f"Random effects ({res.method})"
    rows.append({"kind": "pooled", "label": f"{label + ': ' if label else ''}{model}, k = {res.k}", "y": res.beta,
                 "lb": res.ci_lb, "ub": res.ci_ub})
    rows.append({"kind": "note", "label": f"I² = {res.I2:.0f} %, τ² = {res.tau2:.3g}, Q = {res.Q:.2f} (p = {res.QEp:.2g})"})
    return rows


def forest(res, ax=None, study_text: dict[str, str] | None = None,
           title: str | None = None):
    """Forest plot with columns for the study label, optional study text (e.g. events/total),
    estimate with interval and weight; a :class:`SubgroupResult` gets one block per subgroup, the
    overall estimate and the test for subgroup differences."""
    plt = pyplot()
    from matplotlib.transforms import blended_transform_factory

    if hasattr(res, "groups"):          # a subgroup analysis (moderators.SubgroupResult)
        rows: list[dict[str, Any]] = []
        for g, r in res.groups.items():
            rows.append({"kind": "header", "label": g})
            rows += _rows(r, g)
        rows += _rows(res.overall, "Overall", studies=False)
        rows.append({"kind": "note", "label": f"Test for subgroup differences: Q = {res.Qb:.2f}, "
                                              f"df = {res.Qb_df}, p = {res.Qbp:.2g}"})
        measure, level = res.overall.measure, res.overall.level
    else:
        rows, measure, level = _rows(res), res.measure, res.level
    ratio = measure in RATIO_MEASURES
    f = np.exp if ratio else (lambda x: x)
    n = len(rows)
    if ax is None:
        fig, ax = plt.subplots(figsize=(9.5, 0.26 * n + 1.3))
        fig.subplots_adjust(left=0.40, right=0.66, top=1 - 0.45 / (0.26 * n + 1.3), bottom=0.55 / (0.26 * n + 1.3))
    fig = ax.figure
    tr = blended_transform_factory(fig.transFigure, ax.transData)
    x_label, x_text = ax.get_position().x0 - 0.01, ax.get_position().x0 - 0.01
    x_est, x_w = ax.get_position().x1 + 0.01, ax.get_position().x1 + 0.22
    if study_text:
        x_label = x_text - 0.12
    ys = np.arange(n, 0, -1, dtype=float)
    finite = [r for r in rows if r["kind"] in ("study", "pooled")]
    lo = min(f(r["lb"]) for r in finite)
    hi = max(f(r["ub"]) for r in finite)
    for y, r in zip(ys, rows):
        if r["kind"] in ("header", "note"):
            ax.text(0.01, y, r["label"], transform=tr, ha="left", va="center",
                    fontsize=8 if r["kind"] == "header" else 6.5,
                    fontweight="bold" if r["kind"] == "header" else "normal",
                    color="k" if r["kind"] == "header" else "#444")
            continue
        bold = "bold" if r["kind"] == "pooled" else "normal"
        ax.text(x_label, y, short_label(r["label"], 60), transform=tr, ha="right", va="center", fontsize=7.5,
                fontweight=bold)
        ax.text(x_est, y, f"{f(r['y']):.2f} [{f(r['lb']):.2f}, {f(r['ub']):.2f}]", transform=tr, ha="left",
                va="center", fontsize=7.5, fontweight=bold)
        if r["kind"] == "study":
            ax.text(x_w, y, f"{r['w']:.1f} %", transform=tr, ha="right", va="center", fontsize=7.5)
            if study_text and r["label"] in study_text:
                ax.text(x_text, y, study_text[r["label"]], transform=tr, ha="right", va="center", fontsize=7.5)
            ax.plot([f(r["lb"]), f(r["ub"])], [y, y], color="k", lw=0.8)
            ax.plot([f(r["y"])], [y], "s", color="k", ms=2.5 + 0.08 * r["w"])
        else:
            ax.fill([f(r["lb"]), f(r["y"]), f(r["ub"]), f(r["y"])], [y, y + 0.3, y, y - 0.3], color="#335", lw=0)
    ax.axvline(f(0.0), color="grey", lw=0.8, ls="--")
    if ratio:
        _log_axis(ax, lo / 1.2, hi * 1.2)
    ax.set_xlim(lo / 1.2 if ratio else lo - 0.1 * (hi - lo), hi * 1.2 if ratio else hi + 0.1 * (hi - lo))
    ax.set_ylim(0.4, n + 0.6)
    ax.set_yticks([])
    for s in ("top", "right", "left"):
        ax.spines[s].set_visible(False)
    ax.set_xlabel(f"{_XLABEL.get(measure, measure)} ({100 * level:.0f} % CI)", fontsize=8)
    ax.tick_params(labelsize=7.5)
    head = n + 0.9
    ax.text(x_est, head, "Estimate [CI]", transform=tr, fontsize=7.5, fontweight="bold", va="center")
    ax.text(x_w, head, "Weight", transform=tr, fontsize=7.5, fontweight="bold", va="center", ha="right")
    ax.text(x_label, head, "Study", transform=tr, fontsize=7.5, fontweight="bold", va="center", ha="right")
    if title:
        fig.suptitle(title, fontsize=9, x=0.01, ha="left")
    return ax


def funnel(res, ax=None, egger=None):
    """Funnel plot: estimates against their standard errors with the pseudo-confidence region."""
    plt = pyplot()
    ax = ax or plt.subplots(figsize=(5, 4))[1]
    es = res.data
    se = np.sqrt(es.vi)
    top = float(se.max()) * 1.1
    crit = stats.norm.ppf(0.5 + res.level / 2)
    s = np.linspace(0, top, 50)
    ax.fill_betweenx(s, res.beta - crit * s, res.beta + crit * s, color="#eee")
    ax.plot(res.beta - crit * s, s, color="grey", lw=0.8)
    ax.plot(res.beta + crit * s, s, color="grey", lw=0.8)
    ax.axvline(res.beta, color="k", lw=0.8)
    ax.plot(es.yi, se, "o", color="k", ms=4)
    if egger is not None:
        ax.plot(egger.limit_estimate + egger.slope * s, s, color="#b33", ls=":", lw=1,
                label=f"Egger regression ({egger.model}), p = {egger.pval:.2g}")
        ax.legend(fontsize=7)
    ax.set_ylim(top, 0)
    ax.set_xlabel(f"{_XLABEL.get(res.measure, res.measure)}{' (log scale)' if res.measure in RATIO_MEASURES else ''}")
    ax.set_ylabel("Standard error")
    return ax


def network_graph(res, ax=None):
    """Network graph on a circle: edge width proportional to the number of studies, node size to arms."""
    plt = pyplot()
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    t = res.treatments
    ang = np.pi / 2 - 2 * np.pi * np.arange(len(t)) / len(t)
    pos = {x: (np.cos(a), np.sin(a)) for x, a in zip(t, ang)}
    arms = {x: sum(x in s.treatments for s in res.studies) for x in t}
    edges = res.edges()
    kmax = max(int(edges["k"].max()), 1)
    for _, e in edges.iterrows():
        (x1, y1), (x2, y2) = pos[e.treat1], pos[e.treat2]
        ax.plot([x1, x2], [y1, y2], color="#4a6", lw=0.8 + 7 * e.k / kmax, alpha=0.8, zorder=1)
        ax.text((x1 + x2) / 2, (y1 + y2) / 2, str(e.k), fontsize=7, ha="center", va="center",
                bbox={"boxstyle": "round,pad=0.1", "fc": "white", "ec": "none"}, zorder=3)
    for x, (px, py) in pos.items():
        ax.scatter([px], [py], s=40 + 150 * arms[x] / max(arms.values()), color="#235", zorder=2)
        ax.text(px * 1.25, py * 1.25, x, ha="center", va="center", fontsize=8)
    ax.set_xlim(-1.5, 1.5)
    ax.set_ylim(-1.4, 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"{len(res.studies)} studies, {len(t)} treatments (edge labels: number of studies)", fontsize=8)
    return ax
