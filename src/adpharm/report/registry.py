"""The virtual registry's HTML report: observed beside simulated, with the figures a reviewer wants
(simulated against observed log OR, a funnel plot of each, placebo response by year)."""
from __future__ import annotations

import html

from .. import RESEARCH_NOTICE
from ..figures import pyplot, to_svg

__all__ = ["registry_html", "registry_figures"]


def registry_figures(res) -> dict[str, str]:
    """Inline SVG of the scatter, the two funnel plots and placebo response by year."""
    plt = pyplot()
    f = res.to_frame()
    out = {"scatter": to_svg(res.plot().figure, salt="regscatter")}
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.8), sharey=True, constrained_layout=True)
    for ax, side in zip(axes, ("observed", "simulated")):
        ax.scatter(f[f"{side}_log_or"], f[f"{side}_se"], s=10, alpha=0.6)
        ax.invert_yaxis()
        ax.axvline(float(f[f"{side}_log_or"].mean()), color="grey", lw=0.8, ls="--")
        ax.set(xlabel="log OR (response vs placebo)", title=f"{side} trials")
    axes[0].set_ylabel("standard error")
    out["funnel"] = to_svg(fig, salt="regfunnel")
    fig, ax = plt.subplots(figsize=(6.5, 3.6), constrained_layout=True)
    pub = f.dropna(subset=["year"]).drop_duplicates("study")
    for side, marker in (("observed", "o"), ("simulated", "x")):
        ax.scatter(pub["year"].astype(float), pub[f"{side}_placebo_response"], s=14, marker=marker, label=side, alpha=0.7)
    ax.set(xlabel="year published", ylabel="placebo response", title="Placebo response by year (published trials)")
    ax.legend(fontsize=8)
    out["placebo_by_year"] = to_svg(fig, salt="regplacebo")
    return out


def _table(rows: list[list], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def registry_html(res) -> str:
    """A self-contained page (inline CSS and SVG) of a :class:`~adpharm.trials.registry.VirtualRegistry`."""
    d = res.to_dict()
    s = d["summary"]
    figs = registry_figures(res)
    fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
    summary = _table([[k.replace("_", " "), fmt(s[k]["observed"]), fmt(s[k]["simulated"])]
                      for k in ("placebo_response", "mean_log_or", "sd_log_or", "share_significant")],
                     ["quantity", "observed", "simulated"])
    eras = _table([[e, v["k"], fmt(v["placebo_response"]["observed"]), fmt(v["placebo_response"]["simulated"])]
                   for e, v in s["by_era"].items()], ["era", "trials", "placebo response, observed", "simulated"])
    drugs = _table([[k, v["k"], f"{v['observed']['OR']:.2f} ({v['observed']['OR_ci_lb']:.2f}-{v['observed']['OR_ci_ub']:.2f})",
                     f"{v['simulated']['OR']:.2f} ({v['simulated']['OR_ci_lb']:.2f}-{v['simulated']['OR_ci_ub']:.2f})"]
                    for k, v in s["by_drug"].items()], ["drug", "comparisons", "observed OR (REML)", "simulated OR (REML)"])
    warns = "".join(f"<li>{html.escape(w)}</li>" for w in d["warnings"])
    nm = "".join(f"<li>{html.escape(x['study'])}: {html.escape(x['reason'])}</li>" for x in d["not_modelled"])
    p = d["provenance"]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Virtual registry ({html.escape(res.split)} half)</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}
.notice{{background:#fff4e5;padding:8px;border-left:4px solid #e69500}}.muted{{color:#666}}</style></head><body>
<p class="notice">{html.escape(RESEARCH_NOTICE)}</p>
<h1>Virtual registry: {html.escape(res.split)} half</h1>
<p>{s['k']} comparisons (trial x modelled drug) of the GRISELDA registry (Cipriani et al. 2018,
doi:10.1016/S0140-6736(17)32802-7; CC BY 4.0), each trial rebuilt from its own design and simulated once.
{html.escape(p['analysis'])}.</p>
<p class="muted">Simulated with {html.escape(p['model'])}, seed {p['seed']}; split: {html.escape(p['split_rule'])}.</p>
<h2>Observed beside simulated</h2>{summary}
<h3>Placebo response by era</h3>{eras}
<h3>Per drug (random-effects summary, REML)</h3>{drugs}
<h2>Figures</h2>
<figure>{figs['scatter']}<figcaption>Simulated against observed log odds ratio per comparison.</figcaption></figure>
<figure>{figs['funnel']}<figcaption>Funnel plots, observed and simulated.</figcaption></figure>
<figure>{figs['placebo_by_year']}<figcaption>Placebo response by year of publication.</figcaption></figure>
<h2>Warnings (known misses of the model)</h2><ul>{warns}</ul>
<h2>Not modelled ({len(d['not_modelled'])} placebo-controlled trials)</h2><ul>{nm}</ul>
</body></html>
"""
