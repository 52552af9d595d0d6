"""What a lab reads and takes into a paper: the statistics as text lines (the command line prints
them, the web page shows them), a GraphPad Prism column table and an ARRIVE-style methods paragraph,
all written from the same statistics the JSON reports.

The Prism table is Prism's "Column" layout (one column per group, one value per row, the group names
in the header), which Prism's t tests and one-way ANOVA read directly when pasted or imported.

The methods paragraph states, in the words of the ARRIVE 2.0 essential items, the experimental unit
and n per group (items 1-2), what was excluded and why (item 3), and the statistical method with its
effect size and interval (item 7), naming adpharm's version. It is a draft for the authors to edit,
not a finished text: it cannot know how animals were allocated or blinded (items 4-5).

References
----------
Percie du Sert N, Hurst V, Ahluwalia A, et al. (2020). The ARRIVE guidelines 2.0: updated guidelines
for reporting animal research. PLoS Biol 18(7):e3000410. doi:10.1371/journal.pbio.3000410
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from .exclusions import by_reason

__all__ = ["statistics_lines", "primary_lines", "prism_columns", "methods_paragraph"]


def prism_columns(table: pd.DataFrame, value: str, group: str = "group", order: Sequence[str] | None = None) -> pd.DataFrame:
    """``table[value]`` laid out as a Prism column table: one column per group, values top-aligned.

    Examples
    --------
    >>> t = pd.DataFrame({"group": ["veh", "veh", "ket"], "score": [0.7, 0.8, 0.5]})
    >>> prism_columns(t, "score").to_csv(index=False).splitlines()
    ['veh,ket', '0.7,0.5', '0.8,']
    """
    for c in (value, group):
        if c not in table.columns:
            raise AdpharmInputError(f"Prism table: missing column {c!r}")
    data = table[[group, value]].dropna()
    levels = list(order) if order is not None else list(dict.fromkeys(data[group].astype(str)))
    cols = {lv: data.loc[data[group].astype(str) == lv, value].reset_index(drop=True) for lv in levels}
    return pd.DataFrame(cols)


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or not np.isfinite(x) else f"{x:.{digits}g}"


def methods_paragraph(assay: str, measure: str, statistics: dict[str, Any] | None,
                      exclusions: Sequence[dict[str, str]] = (), unit: str | None = None,
                      n: dict[str, Any] | None = None) -> str:
    """A draft methods and results paragraph from an analysis' ``statistics`` (the dict the JSON holds).

    Parameters
    ----------
    assay : str
        What was done, e.g. "forced swim test".
    measure : str
        The outcome as it should read, e.g. "immobility (fraction of minutes 3-6)".
    statistics : dict
        With ``primary`` (see :func:`adpharm.assays.stats.compare_groups`), or ``not_done``.
    exclusions : sequence of dict
        ``{"id", "unit", "reason"}`` entries, as every assay's output lists them.
    unit, n : optional
        The experimental unit and n per group, stated when no primary test carries them (a test that
        could not be run).

    Examples
    --------
    >>> st = {"primary": {"test": "Welch's t test", "effect": "Hedges' g", "unit": "animal",
    ...       "n": {"veh": 10, "ket": 12}, "notes": [], "comparisons": [{"comparison": "ket vs veh",
    ...       "estimate": -0.9, "ci_low": -1.8, "ci_high": -0.05, "pval": 0.04}]}}
    >>> print(methods_paragraph("forced swim test", "immobility", st))  # doctest: +ELLIPSIS
    Forced swim test. The experimental unit was the animal (n = veh 10, ket 12). No animals were excluded. ...
    """
    st = statistics or {}
    p = st.get("primary")
    parts = [assay[:1].upper() + assay[1:] + "."]
    unit = p["unit"] if p else unit
    n = p["n"] if p else n
    if unit and n:
        nested = any(isinstance(v, dict) for v in n.values())
        counts = ("; " if nested else ", ").join(f"{k}{':' if nested else ''} {_count(v)}" for k, v in n.items())
        parts.append(f"The experimental unit was the {unit} (n = {counts}).")
    groups = by_reason(exclusions)
    if groups:
        parts.append(" ".join(f"{len(ids)} {u}{'s' if len(ids) != 1 else ''} ({', '.join(ids)}) "
                              f"{'were' if len(ids) != 1 else 'was'} excluded before analysis: {r}."
                              for (u, r), ids in groups.items()))
    else:
        parts.append(f"No {(unit or 'unit').split(' ')[0]}s were excluded.")
    if not p:
        parts.append(f"No group test was run ({st.get('not_done', 'no groups')}).")
    else:
        parts.append(f"{measure[:1].upper() + measure[1:]} was compared between groups by {_article(p['test'])}"
                     f"{p['test']}, with {p['effect']} as the effect size.")
        for c in p["comparisons"]:
            ci = f" (95 % CI {_fmt(c['ci_low'])} to {_fmt(c['ci_high'])})" if c.get("ci_low") is not None else ""
            parts.append(f"{c['comparison']}: {p['effect']} {_fmt(c['estimate'])}{ci}, p = {_fmt(c['pval'])}.")
        for note in p.get("notes", []):
            parts.append(note[:1].upper() + note[1:].rstrip(".") + ".")
    rm = st.get("minute_by_group_anova")
    if rm and "effects" in rm:
        inter = next((e for e in rm["effects"] if ":" in e["effect"]), None)
        if inter is not None:
            pv = inter.get("pval_gg", inter["pval"])
            parts.append(f"The time course was analysed by {rm['method'].split(',')[0]}; the {inter['effect']} interaction gave "
                         f"F({inter['df']:g}, {inter['df_error']:g}) = {inter['F']:.2f}, p = {_fmt(pv)}"
                         f"{' (Greenhouse-Geisser corrected)' if 'pval_gg' in inter else ''}.")
    ds = st.get("design")
    if ds and "anova" in ds:
        a = ds["anova"]
        terms = ", ".join(e["effect"] for e in a["effects"])
        parts.append(f"The design was analysed by {a['method']} with the terms {terms}.")
    parts.append(f"Analyses were run with adpharm {__version__} (research use only).")
    return " ".join(parts)


def _count(v: Any) -> str:
    """``12`` or, for nested units, ``3 animals, 6 slices``."""
    if not isinstance(v, dict):
        return str(v)
    return ", ".join(f"{c} {k[:-1] if c == 1 and k.endswith('s') else k}" for k, c in v.items())


def _article(test: str) -> str:
    """"a " or "an " before a test's name; none before an eponym ("Welch's t test")."""
    if "'s " in test.split(" (")[0]:
        return ""
    return "an " if test[:1].lower() in "aeiou" else "a "


def result_text(result: Any, details: Sequence[str] = ()) -> str:
    """The text of one assay result (what ``adpharm assay`` prints for a file): its summary table, its
    statistics (:func:`statistics_lines`), the lines of its own (``details``) and what was excluded.

    Examples
    --------
    >>> class R:
    ...     def summary(self):
    ...         return pd.DataFrame({"n": [3]}, index=pd.Index(["veh"], name="group"))
    >>> result_text(R(), ["unit of analysis: animal"]).splitlines()
    ['       n', 'group   ', 'veh    3', 'unit of analysis: animal']
    """
    from ..display import table_text
    from .exclusions import describe
    return "\n".join([table_text(result.summary(), ".3f", index=True),
                      *statistics_lines(getattr(result, "statistics", None)), *details,
                      *describe(getattr(result, "exclusions", None) or [])]) + "\n"


def statistics_lines(st: dict[str, Any] | Callable[[], dict[str, Any] | None] | None) -> list[str]:
    """The statistics of an assay as the lines a reader sees (the CLI text and the web page).

    ``st`` is the dict an analysis reports (or a callable returning it): the declared primary test
    with its comparisons, the unadjusted or omnibus test beside it, the minute x group ANOVA, the
    design ANOVA tables, the nested-model ICC and sensitivity test, and every note.

    Examples
    --------
    >>> st = {"primary": {"test": "Welch's t test", "effect": "Hedges' g", "unit": "cage", "n": {"veh": 3, "ket": 3},
    ...       "notes": [], "comparisons": [{"comparison": "ket vs veh", "estimate": 1.2, "ci_low": 0.1,
    ...       "ci_high": 2.3, "pval": 0.04}]}}
    >>> statistics_lines(st)
    ["primary test: Welch's t test (unit: cage; n veh 3, ket 3)", "  ket vs veh: Hedges' g 1.2 (95 % CI 0.1 to 2.3), p = 0.04"]
    """
    st = st() if callable(st) else st
    out: list[str] = []
    if not st:
        return out
    if "not_done" in st:
        out.append(f"statistics: not done ({st['not_done']})")
    elif st.get("primary"):
        out += primary_lines(st["primary"])
    if st.get("welch_t") and st.get("design"):
        out.append(f"unadjusted {st['comparison']}: Welch t = {st['welch_t']['t']:.3f}, p = {st['welch_t']['pval']:.3g}")
    elif st.get("anova") and st.get("dunnett") is not None:
        out.append(f"one-way ANOVA F = {st['anova']['F']:.3f}, p = {st['anova']['pval']:.3g}")
    rm = st.get("minute_by_group_anova")
    if rm and "effects" in rm:
        out.append(f"{rm['method']} ({rm['subjects']} animals, minutes {rm['levels'][0]}-{rm['levels'][-1]}):")
        for e in rm["effects"]:
            gg = f", GG epsilon {e['gg_epsilon']:.2f}, p(GG) = {e['pval_gg']:.3g}" if "pval_gg" in e else ""
            out.append(f"  {e['effect']}: F({e['df']:g}, {e['df_error']:g}) = {e['F']:.3f}, p = {e['pval']:.3g}{gg}")
    elif rm and "not_done" in rm:
        out.append(f"minute x group ANOVA: not done ({rm['not_done']})")
    ds = st.get("design")
    if ds and "not_done" in ds:
        out.append(f"design analysis: not done ({ds['not_done']})")
    elif ds:
        for key in ("anova", "raw_scale_anova"):
            a = ds[key]
            out.append(f"{a['method']}{' (raw score)' if key == 'raw_scale_anova' else ''}, n {a['n']}, "
                       f"residual df {a['residual_df']:g}:")
            for e in a["effects"]:
                out.append(f"  {e['effect']}: " + (f"F({e['df']:g}, {a['residual_df']:g}) = {e['F']:.3f}, "
                                                   f"p = {e['pval']:.3g}" if e["F"] is not None else "not estimable"))
    if st.get("icc") is not None:
        out.append(f"between-animal share of variance (ICC) {st['icc']:.2f}")
    sens = st.get("animal_means")
    if sens:
        for c in sens["primary"]["comparisons"]:
            pv = "" if c["pval"] is None else f", p = {c['pval']:.3g}"
            out.append(f"sensitivity, {sens['test']}: {c['comparison']}{pv}")
    for note in st.get("notes", []):
        out.append(f"note: {note}")
    return out


def primary_lines(p: dict[str, Any]) -> list[str]:
    """The declared primary test: test, unit and n per group, then each comparison's effect with CI and p."""
    out: list[str] = []
    n = ", ".join(f"{g} {k}" for g, k in p["n"].items())
    out.append(f"primary test: {p['test']} (unit: {p['unit']}; n {n})")
    for c in p["comparisons"]:
        est = "not estimable" if c["estimate"] is None else f"{p['effect']} {c['estimate']:.3g}"
        ci = f" (95 % CI {c['ci_low']:.3g} to {c['ci_high']:.3g})" if c.get("ci_low") is not None else ""
        pv = "" if c["pval"] is None else f", p = {c['pval']:.3g}"
        out.append(f"  {c['comparison']}: {est}{ci}{pv}")
    for note in p.get("notes", []):
        out.append(f"note: {note}")
    return out
