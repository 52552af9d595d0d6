"""The guide's efficacy section from the evidence engine: pooled response and remission per
comparison (random-effects meta-analysis of the bundled trials, with forest plots) and the
adjusted indirect comparison of the two sides through placebo, with its transitivity report."""
from __future__ import annotations

import copy
import functools
import re
from typing import Any

import numpy as np

from .. import __version__
from ..errors import AdpharmInputError
from ..evidence import bundled, escalc, rma
from ..evidence.indirect import bundled_indirect
from ..evidence.plots import forest
from ..figures import to_svg

CONTROLS = {"placebo": "placebo", "ad_placebo": "oral antidepressant + placebo spray", "midazolam": "midazolam"}
OUTCOME_LABELS = {"responders": "Response", "remitters": "Remission"}
METHOD = "DL"


def _cell(value: str, refs: list[str], verified: bool, note: str) -> dict[str, Any]:
    return {"value": value, "refs": list(dict.fromkeys(refs)), "verified": bool(verified), "note": note}


def _subject(p: dict) -> tuple[str, bool]:
    """The name the trials are searched under: the drug, else its class (flagged)."""
    arms = bundled.trial_arms("responders")
    if p["kind"] == "drug" and not bundled.members(arms, p["id"]).any():
        return p["drug_class"], True
    return p["id"], False


def pooled(p: dict, side: str) -> list[dict[str, Any]]:
    """Pooled odds ratios of ``p`` against each bundled control, for response and remission.

    The bundled trials do not change while a process runs, so each side's tables and forest plots are
    computed once per (drug or class, side) and copied out."""
    name, class_level = _subject(p)
    return copy.deepcopy(_pooled(name, class_level, side))


@functools.lru_cache(maxsize=128)
def _pooled(name: str, class_level: bool, side: str) -> list[dict[str, Any]]:
    out = []
    for outcome, label in OUTCOME_LABELS.items():
        arms = bundled.trial_arms(outcome)
        for control, control_label in CONTROLS.items():
            t = bundled.comparison(arms, name, control)
            if t.empty:
                continue
            refs = [r for rs in t["refs"] for r in rs] + (["dersimonian1986"] if len(t) > 1 else [])
            verified = bool(t["verified"].all())
            es = escalc("OR", t.assign(study=t["label"]))
            ai, n1, ci, n2 = (int(t[c].sum()) for c in ("ai", "n1i", "ci", "n2i"))
            row: dict[str, Any] = {"outcome": label, "comparator": control_label, "k": len(t), "class_level": class_level,
                                   "trials": list(t["study"]), "events": _cell(
                f"{ai}/{n1} ({100 * ai / n1:.1f} %) vs {ci}/{n2} ({100 * ci / n2:.1f} %)", refs, verified,
                "events summed over trials by adpharm")}
            if len(t) == 1:
                se = float(np.sqrt(es.vi[0]))
                lo, hi = np.exp(es.yi[0] - 1.959964 * se), np.exp(es.yi[0] + 1.959964 * se)
                row["estimate"] = _cell(f"OR {np.exp(es.yi[0]):.2f} (95 % CI {lo:.2f}-{hi:.2f}), one trial", refs,
                                        verified, f"single-trial odds ratio, Wald interval; adpharm {__version__}")
            else:
                res = rma(es, method=METHOD)
                e = res.to_dict()["exp"]
                row["estimate"] = _cell(
                    f"OR {e['estimate']:.2f} (95 % CI {e['ci_lb']:.2f}-{e['ci_ub']:.2f}); I² {res.I2:.0f} %, "
                    f"τ² {res.tau2:.3g}", refs, verified,
                    f"random-effects meta-analysis (DerSimonian-Laird) of {res.k} trials; adpharm {__version__}"
                    + ("; some counts unverified" if not verified else ""))
                text = {s: f"{a}/{n} vs {c}/{m}" for s, a, n, c, m in
                        zip(es.study, t["ai"], t["n1i"], t["ci"], t["n2i"])}
                ax = forest(res, study_text=text, title=f"{label}: {name} vs {control_label} (odds ratio)")
                row["forest_svg"] = to_svg(ax.figure, salt=re.sub(r"\W", "", f"forest{side}{outcome}{control}"))
            out.append(row)
    return out


def indirect(pa: dict, pb: dict) -> dict[str, Any] | None:
    """Bucher comparison of the two sides through placebo (response), or None when a leg is missing."""
    (a, _), (b, _) = _subject(pa), _subject(pb)
    if a == b:
        return None
    try:
        r = bundled_indirect(a, b, via="placebo", method=METHOD)
    except AdpharmInputError:
        return None
    d = r.to_dict()
    refs = [x for side in (r.side_a, r.side_b) for rs in side.trials["refs"] for x in rs] + ["bucher1997", "dersimonian1986"]
    verified = bool(r.side_a.trials["verified"].all() and r.side_b.trials["verified"].all())
    e = d["exp"]
    return {"a": a, "b": b, "k_a": r.side_a.k, "k_b": r.side_b.k, "transitivity": r.transitivity,
            "estimate": _cell(f"OR {e['estimate']:.2f} (95 % CI {e['ci_lb']:.2f}-{e['ci_ub']:.2f}) for response, "
                              f"{a} vs {b}", refs, verified,
                              f"adjusted indirect comparison through placebo (Bucher 1997), each leg pooled by "
                              f"DerSimonian-Laird; adpharm {__version__}")}
