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
from ..evidence import anchors, bundled, registry
from ..evidence.continuous import CONTINUOUS_MEASURES, continuous_arms, pool_continuous
from ..evidence.indirect import bundled_indirect, population_class
from ..evidence.plots import forest
from ..figures import to_svg
from ..knowledge.schema import WINDOW_LABELS, WINDOWS

CONTROLS = {"placebo": "placebo", "ad_placebo": "oral antidepressant + placebo spray", "midazolam": "midazolam"}
OUTCOME_LABELS = {"responders": "Response", "remitters": "Remission"}
METHOD = "REML"


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


def _class_level_label(t, class_level: bool, name: str) -> str | None:
    """What kind of evidence a row rests on when it is not the drug's own trials (``name``: the class searched)."""
    from ..errors import UnknownNameError
    from ..knowledge import query
    pops = {population_class(x) for x in t["population"]} if len(t) else set()
    try:
        cls = query.drug_class(name)["name"]
    except UnknownNameError:   # a drug or a family: its own name
        cls = name
    if "primary care" in pops and t["study"].astype(str).str.startswith("linde2015").all():
        return f"{cls}: class-level arms of primary-care trials (Linde 2015), not this drug's own trials"
    return f"{cls}: class-level trials (no bundled trial names this drug)" if class_level else None


def _bias(t) -> list[dict[str, str]]:
    return [{"trial": str(r["label"]), "note": str(r["bias"])} for _, r in t.iterrows()
            if isinstance(r.get("bias"), str) and r.get("bias")]


@functools.lru_cache(maxsize=128)
def _pooled(name: str, class_level: bool, side: str, include_unverified: bool = False) -> list[dict[str, Any]]:
    out = []
    for outcome, label in OUTCOME_LABELS.items():
        for control, control_label in CONTROLS.items():
            for window in WINDOWS:
                pool = bundled.pool_binary(name, control, window, outcome, "RR", METHOD,
                                           include_unverified=include_unverified, study="label")
                if pool.pooled is not None:
                    out.append(_binary_row(pool, name, label, outcome, control, control_label, window, class_level,
                                           side))
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


def _binary_row(pool, name: str, label: str, outcome: str, control: str, control_label: str, window: str,
                class_level: bool, side: str) -> dict[str, Any]:
    """One pooled binary row (``pool``: :func:`~adpharm.evidence.bundled.pool_binary` of risk ratios): risk
    ratio for display (odds ratios exaggerate relative effects at these response rates), the odds ratio kept
    in JSON, and the certainty of the displayed estimate."""
    t, rr = pool.table, pool.pooled
    refs = [r for rs in t["refs"] for r in rs] + (["dersimonian1986"] if len(t) > 1 else [])
    verified = bool(t["verified"].all())
    orr = bundled.pool_ratio(t, "OR", METHOD, study="label")
    ai, n1, ci, n2 = (int(t[c].sum()) for c in ("ai", "n1i", "ci", "n2i"))
    row: dict[str, Any] = {"outcome": label, "kind": "binary", **_common(t, len(t), control_label, window, class_level),
                           "patients": n1 + n2, "not_pooled": [], "events": _cell(
        f"{ai}/{n1} ({100 * ai / n1:.1f} %) vs {ci}/{n2} ({100 * ci / n2:.1f} %)", refs, verified,
        "events summed over trials by adpharm")}
    evidence = _class_level_label(t, class_level, name)
    if evidence:
        row["evidence_level"] = evidence
    mism = [evidence] if evidence else []
    row["certainty"] = pool.certainty(mismatches=mism).to_dict()
    o = orr.exp
    row["odds_ratio"] = {"estimate": o["estimate"], "ci_lb": o["ci_lb"], "ci_ub": o["ci_ub"],
                         "method": "one trial, Wald interval" if orr.result is None else "random effects (REML)"}
    e = rr.exp
    if rr.result is None:
        row["estimate"] = _cell(f"RR {e['estimate']:.2f} (95 % CI {e['ci_lb']:.2f}-{e['ci_ub']:.2f}), one trial",
                                refs, verified, f"single-trial risk ratio, Wald interval; adpharm {__version__}")
        return row
    res = rr.result
    row["estimate"] = _cell(
        f"RR {e['estimate']:.2f} (95 % CI {e['ci_lb']:.2f}-{e['ci_ub']:.2f}); I² {res.I2:.0f} %, "
        f"τ² {res.tau2:.3g}", refs, verified,
        f"random-effects meta-analysis (REML) of {res.k} trials; adpharm {__version__}"
        + ("; some counts unverified" if not verified else ""))
    text = {s: f"{a}/{n} vs {c}/{m}" for s, a, n, c, m in zip(rr.es.study, t["ai"], t["n1i"], t["ci"], t["n2i"])}
    ax = forest(res, study_text=text, title=f"{label}: {name} vs {control_label}, {WINDOW_LABELS[window]} (risk ratio)")
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
    row["certainty"] = res.certainty().to_dict()
    if res.k == 1:
        row["estimate"] = _cell(f"{measure} {res.estimate:{fmt}} (95 % CI {res.ci_lb:{fmt}} to {res.ci_ub:{fmt}}), "
                                f"one trial; {favours}", refs, verified,
                                f"single trial, Wald interval; adpharm {__version__}")
        return row
    r = res.result
    row["estimate"] = _cell(
        f"{measure} {res.estimate:{fmt}} (95 % CI {res.ci_lb:{fmt}} to {res.ci_ub:{fmt}}); I² {r.I2:.0f} %, "
        f"τ² {r.tau2:.3g}; {favours}", refs, verified,
        f"random-effects meta-analysis (REML) of {res.k} trials; adpharm {__version__}"
        + ("; some values unverified" if not verified else ""))
    row["forest_svg"] = to_svg(res.plot().figure, salt=re.sub(r"\W", "", f"forest{side}{measure}{control}{window}"))
    return row


def indirect(pa: dict, pb: dict, include_unverified: bool = False) -> dict[str, Any] | None:
    """Bucher comparison of the two sides through placebo (response), each leg at its written endpoint
    rule; ``estimable: false`` with the reasons when the legs differ in time window or population class.
    None when both sides are searched under the same name."""
    (a, _), (b, _) = _subject(pa), _subject(pb)
    if a == b:
        return None
    r = bundled_indirect(a, b, via="placebo", method=METHOD, include_unverified=include_unverified)
    if not r.estimable:
        return {**r.to_dict(), "windows": {k: WINDOW_LABELS.get(w, "no trial") if w else "no trial"
                                           for k, w in r.windows.items()}}
    d = r.to_dict()
    refs = [x for side in (r.side_a, r.side_b) for rs in side.trials["refs"] for x in rs] + ["bucher1997", "dersimonian1986"]
    verified = bool(r.side_a.trials["verified"].all() and r.side_b.trials["verified"].all())
    e = d["exp"]
    wa, wb = (WINDOW_LABELS[w] for w in (r.windows["a"], r.windows["b"]))
    return {"estimable": True, "a": a, "b": b, "k_a": r.side_a.k, "k_b": r.side_b.k,
            "transitivity": r.transitivity, "windows": {"a": wa, "b": wb}, "certainty": d["certainty"],
            "estimate": _cell(f"OR {e['estimate']:.2f} (95 % CI {e['ci_lb']:.2f}-{e['ci_ub']:.2f}) for response, "
                              f"{a} vs {b} at {wa}", refs, verified,
                              f"adjusted indirect comparison through placebo (Bucher 1997), each leg pooled by "
                              f"REML; adpharm {__version__}")}


# ---------------------------------------------------------------- the registry, drug by drug
REGISTRY_OUTCOMES = {"response": "Response", "remission": "Remission", "dropout": "All-cause dropout (acceptability)"}


@functools.lru_cache(maxsize=8)
def _registry_fit(outcome: str):
    return registry.registry_network(outcome)


def placebo_risk(outcome: str) -> float:
    """The pooled risk of ``outcome`` in the registry's placebo arms (events over patients randomised)."""
    d = _registry_fit(outcome).data
    pl = d[d["treatment"] == "placebo"]
    return float(pl["xi"].sum() / pl["ni"].sum())


def registry_rows(p: dict) -> dict[str, Any]:
    """The GRISELDA network estimates against placebo for the side's drug, or each class member in the
    registry side by side (no class summary is computed from them), with certainty. Ratios are shown as
    risk ratios at the registry's pooled placebo risk (RR = OR / (1 - p0 + p0 OR), Zhang & Yu 1998);
    the odds ratios stay in JSON."""
    members = [p["id"]] if p["kind"] == "drug" else list(p["members"])
    drugs = set(registry.arms()["drug"])
    inside = [m for m in members if m in drugs]
    out: dict[str, Any] = {"registry": registry.KEY, "drugs": inside, "not_in_registry": [m for m in members if m not in drugs],
                           "rows": [], "class_summary": None}
    if not inside:
        out["note"] = (f"{p['name']} is not among the 21 drugs of the GRISELDA registry (Cipriani 2018): "
                       "its own bundled trials are shown below as what they are")
        return out
    if p["kind"] != "drug":
        out["class_summary"] = "not computed: the members' estimates are shown side by side"
    fits = {o: _registry_fit(o) for o in REGISTRY_OUTCOMES}
    estimates = {o: f.estimates() for o, f in fits.items()}
    for m in inside:
        for outcome, label in REGISTRY_OUTCOMES.items():
            fit = fits[outcome]
            est = estimates[outcome].get(m)
            if est is None:
                out["rows"].append({"drug": m, "outcome": label, "estimate": None,
                                    "note": f"no registry trial of {m} reports {outcome}"})
                continue
            p0 = placebo_risk(outcome)
            rr = {k: est[k] / (1 - p0 + p0 * est[k]) for k in ("OR", "OR_ci_lb", "OR_ci_ub")}
            out["rows"].append({
                "drug": m, "outcome": label, "k_direct": est["k_direct"], "certainty": est["certainty"],
                "odds_ratio": {"estimate": est["OR"], "ci_lb": est["OR_ci_lb"], "ci_ub": est["OR_ci_ub"]},
                "estimate": _cell(f"RR {rr['OR']:.2f} (95 % CI {rr['OR_ci_lb']:.2f}-{rr['OR_ci_ub']:.2f})",
                                  ["cipriani2018", "zhang1998"], True,
                                  f"random-effects network meta-analysis (REML) of {fit.network.to_dict()['k']} registry "
                                  f"trials, {est['k_direct']} of them {m} vs placebo; risk ratio at the registry's placebo "
                                  f"risk {100 * p0:.1f} %; adpharm {__version__}")})
    return out


# ---------------------------------------------------------------- published anchors
def anchor_rows(pa: dict, pb: dict) -> dict[str, Any] | None:
    """For a guide with ketamine or esketamine on a side: the Cochrane summary of findings for ketamine and the
    esketamine programme's primary results, with a banner saying how many ketamine trials are bundled
    against how many the review pooled."""
    ids = {m for p in (pa, pb) for m in ([p["id"]] if p["kind"] == "drug" else p["members"])}
    if not ids & {"ketamine", "esketamine"}:
        return None
    out: dict[str, Any] = {}
    if ids & {"ketamine", "esketamine"}:
        c = anchors.cochrane_ketamine()
        arms = bundled.trial_arms("responders")
        k = {ctl: len(bundled.comparison(arms, "ketamine", ctl, window="24h")) for ctl in ("placebo", "midazolam")}
        out["cochrane"] = {**c, "bundled_trials": k,
                           "banner": (f"The bundled ketamine trials are an illustrative subset, not a systematic review: "
                                      f"{k['placebo']} against placebo and {k['midazolam']} against midazolam for response "
                                      f"at 24 h, where the Cochrane review pooled {c['trials_in_review']['placebo']} and "
                                      f"{c['trials_in_review']['midazolam']}.")}
        out["esketamine_programme"] = anchors.esketamine_programme()
    return out


def headline(p: dict, rows: list[dict[str, Any]], reg: dict[str, Any]) -> dict[str, Any] | None:
    """The at-a-glance efficacy cell, by the written rule (:data:`~adpharm.evidence.bundled.ENDPOINT_RULES`):
    the side's licensed use and primary endpoint. A drug in the registry shows its network response estimate
    (end of the acute phase); a class its members' estimates; otherwise the bundled trials at the rule's
    window and comparator, named as one trial or as a pool of k trials."""
    rule = bundled.endpoint_rule(p["id"])
    if reg["drugs"]:
        resp = [r for r in reg["rows"] if r["outcome"] == "Response" and r.get("estimate")]
        text = "; ".join(f"{r['drug']}: {r['estimate']['value']} ({r['certainty']['rating']} certainty)" for r in resp)
        return _cell(f"response vs placebo, end of the acute phase (registry network): {text}",
                     ["cipriani2018", "zhang1998"] + rule["refs"], True, "rule: " + rule["why"])
    control_label = CONTROLS.get(rule["comparator"], rule["comparator"])
    for w in rule["windows"]:
        r = next((r for r in rows if r["outcome"] == "Response" and r["window"] == w
                  and r["comparator"] == control_label and r["k"] > 0), None)
        if r is None:
            continue
        what = "one trial" if r["k"] == 1 else f"pool of {r['k']} trials"
        value = (f"response vs {r['comparator']}, {r['window_label']}: {r['estimate']['value'].split(';')[0].split(', one trial')[0]} "
                 f"({what}: {r['trial_labels']}; {r['population']}; {r['certainty']['rating']} certainty)")
        return _cell(value, r["estimate"]["refs"] + rule["refs"], r["estimate"]["verified"], "rule: " + rule["why"])
    return _cell(f"no bundled trial at the rule's time point ({', '.join(WINDOW_LABELS[w] for w in rule['windows'])} "
                 f"vs {control_label})", rule["refs"], True, "rule: " + rule["why"])
