"""The guide's efficacy section from the evidence engine: pooled response and remission per
comparison (random-effects meta-analysis of the bundled trials, with forest plots) and the
adjusted indirect comparison of the two sides through placebo, with its transitivity report."""
from __future__ import annotations

import copy
import functools
import re
from typing import Any

import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from ..evidence import bundled
from ..evidence.continuous import CONTINUOUS_MEASURES, continuous_arms, pool_continuous
from ..evidence.indirect import bundled_indirect
from ..evidence.plots import forest
from ..figures import to_svg
from ..knowledge.schema import WINDOW_LABELS, WINDOWS

CONTROLS = {"placebo": "placebo", "ad_placebo": "oral antidepressant + placebo spray", "midazolam": "midazolam"}
OUTCOME_LABELS = {"responders": "Response", "remitters": "Remission"}
METHOD = "DL"


def _cell(value: str, refs: list[str], verified: bool, note: str) -> dict[str, Any]:
    return {"value": value, "refs": list(dict.fromkeys(refs)), "verified": bool(verified), "note": note}


def _subject(p: dict) -> tuple[str, bool]:
    """The name the trials are searched under: the drug, else its class (flagged)."""
    arms = pd.concat([bundled.trial_arms("responders"), continuous_arms()])
    if p["kind"] == "drug" and not bundled.members(arms, p["id"]).any():
        return p["drug_class"], True
    return p["id"], False


def pooled(p: dict, side: str, include_unverified: bool = False) -> list[dict[str, Any]]:
    """Pooled effects of ``p`` against each bundled control, per outcome and time window: odds ratios
    for response and remission, mean differences (one scale) and standardised mean differences.

    The bundled trials do not change while a process runs, so each side's tables and forest plots are
    computed once per (drug or class, side) and copied out."""
    name, class_level = _subject(p)
    return copy.deepcopy(_pooled(name, class_level, side, include_unverified))


def _names(values) -> str:
    return "; ".join(dict.fromkeys(str(v) for v in values))


def _bias(t) -> list[dict[str, str]]:
    return [{"trial": str(r["label"]), "note": str(r["bias"])} for _, r in t.iterrows()
            if isinstance(r.get("bias"), str) and r.get("bias")]


@functools.lru_cache(maxsize=128)
def _pooled(name: str, class_level: bool, side: str, include_unverified: bool = False) -> list[dict[str, Any]]:
    out = []
    for outcome, label in OUTCOME_LABELS.items():
        arms = bundled.trial_arms(outcome, include_unverified=include_unverified)
        for control, control_label in CONTROLS.items():
            for window in WINDOWS:
                t = bundled.comparison(arms, name, control, window=window)
                if not t.empty:
                    out.append(_binary_row(t, name, label, outcome, control, control_label, window, class_level, side))
    for control, control_label in CONTROLS.items():
        for window in WINDOWS:
            for measure in CONTINUOUS_MEASURES:
                res = pool_continuous(name, control, window, measure, method=METHOD,
                                      include_unverified=include_unverified)
                if res.k == 0 and not (measure == "MD" and res.table.excluded):
                    continue
                out.append(_continuous_row(res, name, control, control_label, window, class_level, side))
    return out


def _common(t, k: int, control_label: str, window: str, class_level: bool) -> dict[str, Any]:
    return {"comparator": control_label, "k": k, "class_level": class_level, "window": window,
            "window_label": WINDOW_LABELS[window], "trials": list(t["study"]) if len(t) else [],
            "trial_labels": _names(t["label"]) if len(t) else "", "timepoints": _names(t["timepoint"]) if len(t) else "",
            "population": _names(t["population"]) if len(t) else "", "bias": _bias(t) if len(t) else []}


def _binary_row(t, name: str, label: str, outcome: str, control: str, control_label: str, window: str,
                class_level: bool, side: str) -> dict[str, Any]:
    refs = [r for rs in t["refs"] for r in rs] + (["dersimonian1986"] if len(t) > 1 else [])
    verified = bool(t["verified"].all())
    pooled = bundled.pool_odds_ratio(t, METHOD, study="label")
    es = pooled.es
    ai, n1, ci, n2 = (int(t[c].sum()) for c in ("ai", "n1i", "ci", "n2i"))
    row: dict[str, Any] = {"outcome": label, "kind": "binary", **_common(t, len(t), control_label, window, class_level),
                           "patients": n1 + n2, "not_pooled": [], "events": _cell(
        f"{ai}/{n1} ({100 * ai / n1:.1f} %) vs {ci}/{n2} ({100 * ci / n2:.1f} %)", refs, verified,
        "events summed over trials by adpharm")}
    res, e = pooled.result, pooled.exp
    if res is None:
        row["estimate"] = _cell(f"OR {e['estimate']:.2f} (95 % CI {e['ci_lb']:.2f}-{e['ci_ub']:.2f}), one trial",
                                refs, verified, f"single-trial odds ratio, Wald interval; adpharm {__version__}")
        return row
    row["estimate"] = _cell(
        f"OR {e['estimate']:.2f} (95 % CI {e['ci_lb']:.2f}-{e['ci_ub']:.2f}); I² {res.I2:.0f} %, "
        f"τ² {res.tau2:.3g}", refs, verified,
        f"random-effects meta-analysis (DerSimonian-Laird) of {res.k} trials; adpharm {__version__}"
        + ("; some counts unverified" if not verified else ""))
    text = {s: f"{a}/{n} vs {c}/{m}" for s, a, n, c, m in zip(es.study, t["ai"], t["n1i"], t["ci"], t["n2i"])}
    ax = forest(res, study_text=text, title=f"{label}: {name} vs {control_label}, {WINDOW_LABELS[window]} (odds ratio)")
    row["forest_svg"] = to_svg(ax.figure, salt=re.sub(r"\W", "", f"forest{side}{outcome}{control}{window}"))
    return row


def _continuous_row(res, name: str, control: str, control_label: str, window: str, class_level: bool,
                    side: str) -> dict[str, Any]:
    rows = res.table.rows
    used = rows[rows["study"].isin(res.studies)] if len(rows) else rows
    measure = res.measure
    label = ("Standardised mean difference (Hedges' g)" if measure == "SMD" else
             f"Mean difference ({res.scale})" if res.scale else "Mean difference")
    refs = [r for rs in used["refs"] for r in rs] if len(used) else []
    refs += (["dersimonian1986"] if res.k > 1 else []) + (
        ["elbourne2002"] if len(used) and used["md_method"].str.contains("crossover").any() else [])
    refs += ["cochrane_handbook_ch10"] if any("10.5.2" in n for n in res.notes) else []
    verified = bool(used["verified"].all()) if len(used) else True
    row: dict[str, Any] = {"outcome": label, "kind": measure, **_common(used, res.k, control_label, window, class_level),
                           "patients": int(used["n1"].sum() + used["n2"].sum()) if len(used) else 0,
                           "not_pooled": list(res.notes),
                           "methods": [{"trial": str(r["label"]), "method": str(r["md_method"])}
                                       for _, r in used.iterrows()]}
    row["events"] = _cell(f"{int(used['n1'].sum())} vs {int(used['n2'].sum())} patients" if len(used) else "—",
                          refs or ["dersimonian1986"], verified, "patients analysed, summed over trials by adpharm")
    if res.k == 0:
        row["estimate"] = _cell("not estimable: no trial gives the data a method needs (see below)",
                                refs or ["elbourne2002"], verified, "each trial is named with its reason")
        return row
    fmt = ".1f" if measure == "MD" else ".2f"
    favours = f"negative favours {name}"
    if res.k == 1:
        row["estimate"] = _cell(f"{measure} {res.estimate:{fmt}} (95 % CI {res.ci_lb:{fmt}} to {res.ci_ub:{fmt}}), "
                                f"one trial; {favours}", refs, verified,
                                f"single trial, Wald interval; adpharm {__version__}")
        return row
    r = res.result
    row["estimate"] = _cell(
        f"{measure} {res.estimate:{fmt}} (95 % CI {res.ci_lb:{fmt}} to {res.ci_ub:{fmt}}); I² {r.I2:.0f} %, "
        f"τ² {r.tau2:.3g}; {favours}", refs, verified,
        f"random-effects meta-analysis (DerSimonian-Laird) of {res.k} trials; adpharm {__version__}"
        + ("; some values unverified" if not verified else ""))
    row["forest_svg"] = to_svg(res.plot().figure, salt=re.sub(r"\W", "", f"forest{side}{measure}{control}{window}"))
    return row


def indirect(pa: dict, pb: dict, include_unverified: bool = False) -> dict[str, Any] | None:
    """Bucher comparison of the two sides through placebo (response), or None when a leg is missing."""
    (a, _), (b, _) = _subject(pa), _subject(pb)
    if a == b:
        return None
    try:
        r = bundled_indirect(a, b, via="placebo", method=METHOD, include_unverified=include_unverified)
    except AdpharmInputError:
        return None
    d = r.to_dict()
    refs = [x for side in (r.side_a, r.side_b) for rs in side.trials["refs"] for x in rs] + ["bucher1997", "dersimonian1986"]
    verified = bool(r.side_a.trials["verified"].all() and r.side_b.trials["verified"].all())
    e = d["exp"]
    wa, wb = (WINDOW_LABELS[w] for w in (r.windows["a"], r.windows["b"]))
    return {"a": a, "b": b, "k_a": r.side_a.k, "k_b": r.side_b.k, "transitivity": r.transitivity,
            "windows": {"a": wa, "b": wb},
            "estimate": _cell(f"OR {e['estimate']:.2f} (95 % CI {e['ci_lb']:.2f}-{e['ci_ub']:.2f}) for response, "
                              f"{a} at {wa} vs {b} at {wb}", refs, verified,
                              f"adjusted indirect comparison through placebo (Bucher 1997), each leg pooled by "
                              f"DerSimonian-Laird; adpharm {__version__}")}


def headline(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One cell for the at-a-glance table: the pooled response and mean difference of the comparison
    with the most trials (placebo first), each with its time point, trials and interval."""
    def best(kind_ok):
        cands = [r for r in rows if kind_ok(r) and r["k"] > 0]
        return max(cands, key=lambda r: (r["comparator"] == "placebo", r["k"], r["patients"]), default=None)
    parts, refs, verified = [], [], True
    for r in (best(lambda r: r["outcome"] == "Response"), best(lambda r: r["kind"] == "MD")):
        if r is None:
            continue
        parts.append(f"{r['outcome'][0].lower() + r['outcome'][1:]} vs {r['comparator']}, {r['window_label']}: "
                     f"{r['estimate']['value'].split(';')[0]} ({r['k']} trial{'s' if r['k'] > 1 else ''}: "
                     f"{r['trial_labels'] if r['kind'] != 'binary' else ', '.join(r['trials'])})")
        refs += r["estimate"]["refs"]
        verified = verified and r["estimate"]["verified"]
    if not parts:
        return None
    return _cell("; ".join(parts), refs, verified, "pooled by adpharm from the bundled trials (see Comparative efficacy)")
