"""Assemble a :class:`Comparison` of two drugs or classes from the knowledge base.

Every cell of the comparison is a dict with ``value`` (text) and ``refs`` (reference keys), plus
``verified`` where the source table marks a value as unverified. Numbers that adpharm computes
(response percentages, risk ratios) cite the trial they were computed from and say so in
``note``. Later engines (pharmacology, mechanism, evidence) add sections to the same object.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import pandas as pd

from .. import RESEARCH_NOTICE, __version__
from ..errors import AdpharmInputError
from ..units import UNIT_WORDS
from ..knowledge import loader, query
from ..knowledge.query import PK_LABELS
from ..knowledge.schema import SAFETY_KIND_LABELS, TARGETS
from ..evidence import escalc
from . import efficacy as efficacy_mod
from .diagrams import pathway_diagram, workflow_diagram
from ..display import NotebookDisplay

TARGET_LABELS = {"SERT": "Serotonin transporter (SERT)", "NET": "Noradrenaline transporter (NET)",
                 "DAT": "Dopamine transporter (DAT)", "NMDA": "NMDA receptor", "H1": "Histamine H1",
                 "M1": "Muscarinic M1", "ALPHA1": "Alpha1-adrenergic", "5-HT2A": "5-HT2A", "5-HT2C": "5-HT2C",
                 "MAO-A": "MAO-A", "MAO-B": "MAO-B"}
CATEGORY_LABELS = {"common_acute": "Common / acute", "long_term": "Long-term", "serious": "Serious"}
PROTOCOL_ORDER = ["forced-swim-test", "sucrose-preference-test", "clinical-trial-design", "ketamine-trd-iv",
                  "imipramine-chronic", "western-blot", "slice-electrophysiology"]


def cell(value: str, refs: list[str], verified: bool = True, **extra: Any) -> dict[str, Any]:
    c = {"value": value, "refs": list(dict.fromkeys(refs)), "verified": bool(verified)}
    c.update({k: v for k, v in extra.items() if v is not None})
    return c


def _from(d: dict | None, text: str | None = None) -> dict | None:
    if not d:
        return None
    return cell(text if text is not None else (d.get("value") if isinstance(d.get("value"), str) else query.format_value(d)),
                d["refs"], d.get("verified", True), note=d.get("note") or d.get("method"), fact=d.get("fact"),
                conditions=d.get("conditions"))


def _join(items: list[dict], label) -> dict | None:
    if not items:
        return None
    return cell("; ".join(label(i) for i in items), [r for i in items for r in i["refs"]],
                all(i.get("verified", True) for i in items))


@dataclass
class Comparison(NotebookDisplay):
    """The comparison guide's content. ``sections`` is plain data (JSON-serialisable)."""

    a: dict[str, Any]
    b: dict[str, Any]
    sections: dict[str, Any]
    references: list[dict[str, Any]]
    provenance: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"title": f"{self.a['name']} vs {self.b['name']}", "notice": RESEARCH_NOTICE,
                "a": self.a, "b": self.b, **self.sections, "references": self.references,
                "provenance": self.provenance}

    def summary(self) -> pd.DataFrame:
        """The at-a-glance table as a DataFrame (values only)."""
        rows = self.sections["at_a_glance"]
        return pd.DataFrame({"attribute": [r["attribute"] for r in rows],
                             self.a["name"]: [r["a"]["value"] if r["a"] else "" for r in rows],
                             self.b["name"]: [r["b"]["value"] if r["b"] else "" for r in rows]})

    def plot(self, ax=None):
        """Bar chart of binding constants (-log10 Ki/Kd) at the targets both sides report (an irreversible
        inhibitor's KI is not an affinity and is left out)."""
        from ..figures import pyplot
        plt = pyplot()
        rows = [r for r in self.sections["binding"] if r["a"] and r["b"] and r["a"]["affinity"] and r["b"]["affinity"]]
        ax = ax or plt.subplots(figsize=(6, 3))[1]
        xs = range(len(rows))
        for off, side in ((-0.2, "a"), (0.2, "b")):
            ax.bar([x + off for x in xs], [-math.log10(r[side]["value_nm"] * 1e-9) for r in rows], width=0.4,
                   label=getattr(self, side)["name"])
        ax.set_xticks(list(xs), [r["target"] for r in rows])
        ax.set_ylabel("pK (-log10 M)")
        ax.legend()
        return ax


def _glance(p: dict, pathways: dict) -> list[tuple[str, dict | None]]:
    mech = p["primary_mechanism"]
    klass = p["class_name"] if p["kind"] == "drug" else p["name"]
    onset = p.get("onset")
    onset_cell = None
    if onset:
        # a single value, a range, or an open-ended lower bound (the profile carries absent keys as None)
        lo = onset["low"] if onset.get("low") is not None else onset.get("value")
        hi, u = onset.get("high"), onset["unit"]
        unit = UNIT_WORDS[u]
        if lo == 1 and hi in (None, 1) and onset.get("value") is not None:
            unit = unit[:-1]                      # "1 week", not "1 weeks"
        if hi is None:
            txt = f"{lo:.3g}+ {unit}" if onset.get("value") is None else f"{lo:.3g} {unit}"
        else:
            txt = f"{lo:.3g} {unit}" if hi == lo else f"{lo:.3g}-{hi:.3g} {unit}"
        if onset.get("conditions"):
            txt += f" ({onset['conditions']})"
        onset_cell = cell(txt, onset["refs"], onset.get("verified", True), note=onset.get("note") or onset.get("method"),
                          fact=onset.get("fact"))
    if p["kind"] == "drug":
        trd = _from(p.get("trd_efficacy"))
    else:
        trd = _join(p.get("trd_efficacy", []), lambda i: f"{i['member']}: {i['value']}")
    pw_edges = [e for k in p["signalling_pathways"] for e in pathways[k]["edges"]]
    pw_cell = cell("; ".join(pathways[k]["name"] for k in p["signalling_pathways"]),
                   [r for e in pw_edges for r in e["refs"]][:6]) if p["signalling_pathways"] else None
    admin = p.get("administration", [])
    admin_cell = _join(admin, lambda i: f"{i['route']}: {i['regimen']}")
    return [
        ("Class", cell(klass, mech["refs"], mech.get("verified", True))),
        ("Primary mechanism", _from(mech)),
        ("Neurotransmitter system", cell(", ".join(p["neurotransmitter_systems"]), mech["refs"], mech.get("verified", True))),
        ("Onset of antidepressant action", onset_cell),
        ("Efficacy in treatment-resistant depression", trd),
        ("Key signalling pathways", pw_cell),
        ("Administration", admin_cell),
    ]


def _binding_cell(b: dict | None) -> dict | None:
    if not b:
        return None
    txt = query.format_value({**b, "unit": "nM"})
    c = cell(f"{txt} ({query.measure_label(b['measure'])})", b["refs"], b.get("verified", True), fact=b.get("fact"),
             note=b.get("method") or b.get("note"), species=b.get("species"))
    c["value_nm"] = b["value"] if b.get("value") is not None else b["low"]
    c["affinity"] = "KI" not in b["measure"].split("/")
    return c


def _arm_matches(arm: dict, p: dict) -> bool:
    if p["kind"] == "drug":
        return arm.get("drug") == p["id"]
    return arm.get("drug") in p["members"] or arm.get("drug_class") == p["id"]


def _risk_ratio(r1: int, n1: int, r2: int, n2: int) -> tuple[float, float, float]:
    """Risk ratio with a 95 % Wald interval on the log scale (escalc's RR: 0.5 added to every cell if one is zero)."""
    es = escalc("RR", pd.DataFrame({"ai": [r1], "n1i": [n1], "ci": [r2], "n2i": [n2]}))
    y, se = float(es.yi[0]), math.sqrt(float(es.vi[0]))
    return math.exp(y), math.exp(y - 1.959964 * se), math.exp(y + 1.959964 * se)


def _efficacy_rows(p: dict, trials: list[dict]) -> list[dict]:
    rows = []
    class_level = False
    matched = [t for t in trials if any(_arm_matches(a, p) for a in t["arms"])]
    if not matched and p["kind"] == "drug":  # fall back to class-level trials, flagged as such
        cls = query.class_profile(p["drug_class"])
        matched = [t for t in trials if any(_arm_matches(a, cls) for a in t["arms"])]
        class_level = bool(matched)
        p = cls
    for t in matched:
        arm = next(a for a in t["arms"] if _arm_matches(a, p))
        comp = next((a for a in t["arms"] if a.get("control")), None) or next(
            (a for a in t["arms"] if a is not arm), None)
        if arm.get("responders") is None:
            continue
        verified = t["status"] != "M"
        row = {"trial": t["id"], "label": query.trial_name(t), "note": t.get("note"), "design": t["design"], "population": t["population"],
               "timepoint": t["timepoint"], "outcome": t["outcome"], "status": t["status"],
               "class_level": class_level, "arm": arm["arm"],
               "response": cell(f"{arm['responders']}/{arm['n']} ({100 * arm['responders'] / arm['n']:.1f} %)",
                                t["refs"], verified, note="percentage computed by adpharm from the published counts")}
        if comp is not None and comp.get("responders") is not None:
            row["comparator"] = comp["arm"]
            row["comparator_response"] = cell(
                f"{comp['responders']}/{comp['n']} ({100 * comp['responders'] / comp['n']:.1f} %)", t["refs"], verified,
                note="percentage computed by adpharm from the published counts")
            rr, lo, hi = _risk_ratio(arm["responders"], arm["n"], comp["responders"], comp["n"])
            row["risk_ratio"] = cell(f"{rr:.2f} (95 % CI {lo:.2f}-{hi:.2f})", t["refs"], verified,
                                     note="risk ratio with Wald 95 % CI on the log scale, computed by adpharm")
        rows.append(row)
    return rows


def _side_effects(p: dict) -> list[dict]:
    out = []
    for ae in p.get("adverse_effects", []):
        txt = ae["name"]
        if ae.get("frequency_pct") is not None:
            txt += f": {ae['frequency_pct']:g} %"
            if ae.get("placebo_pct") is not None:
                txt += f" vs {ae['placebo_pct']:g} % placebo"
        if ae.get("members"):
            txt += f" [{', '.join(ae['members'])}]"
        out.append({"category": ae["category"], **cell(txt, ae["refs"], ae.get("verified", True), note=ae.get("note"))})
    order = list(CATEGORY_LABELS)
    return sorted(out, key=lambda c: order.index(c["category"]))


def _interactions(p: dict) -> list[dict]:
    out = [{"severity": i["severity"], **cell(f"{i['agent']}: {i['effect']}", i["refs"], i.get("verified", True))}
           for i in p.get("interactions", [])]
    out += [{"severity": "contraindication", **cell(c["value"], c["refs"], c.get("verified", True))}
            for c in p.get("contraindications", [])]
    return out


#: PK parameters shown with the dose and route they were measured at, per drug (never a class median: a Cmax
#: depends on the dose, a Tmax on the route and formulation, an irreversible MAOI's half-life is not its duration)
PK_WITH_CONDITIONS = ("cmax_ng_per_ml", "tmax_h", "half_life_h")
#: the abbreviated values of ``schema.Route`` in words (intranasal and sublingual are words already)
_ROUTE_WORDS = {"po": "oral", "iv": "intravenous", "im": "intramuscular", "sc": "subcutaneous"}


def _conditions(d: dict, v: dict) -> str:
    """How a drug's PK value was measured: the source's conditions, or its routes and that the dose is not given."""
    if v.get("conditions"):
        return v["conditions"]
    routes = sorted({_ROUTE_WORDS.get(a["route"], a["route"]) for a in d.get("administration", [])})
    return f"{'/'.join(routes)}; dose not given in the source" if routes else "dose and route not given in the source"


def _pk_cell(p: dict, param: str, con) -> dict | None:
    """One side's cell of the PK table: a drug's value, with its dose and route for Cmax, Tmax and half-life; for a
    class, the median over members, except for those three, which list each member with its conditions. An
    irreversible MAOI's half-life is followed by what sets the duration of its effect, MAO-A recovery."""
    if param not in PK_WITH_CONDITIONS:
        return _from(p["pk"].get(param))
    members = [query.drug(m, con) for m in (p["members"] if p["kind"] != "drug" else [p["id"]])]
    items = [(d, d["pk"][param]) for d in members if d["pk"].get(param)]
    if not items:
        return None
    parts = [f"{query.format_value(v)} ({_conditions(d, v)})" for d, v in items]
    if p["kind"] != "drug":
        parts = [f"{d['id']}: {t}" for (d, _), t in zip(items, parts)]
    text = "; ".join(parts)
    refs = [r for _, v in items for r in v["refs"]]
    if param == "half_life_h" and any(d["drug_class"] == "maoi" for d, _ in items):
        spec = loader.bundled().occupancy.mao_resynthesis_half_life_h
        text += (f". Plasma half-life is not the duration of an irreversible MAOI's effect: MAO-A returns by "
                 f"resynthesis (the model's fast phase, half-life {spec.value:g} h); see Safety for the washouts")
        refs += list(spec.refs)
    return cell(text, refs, all(v.get("verified", True) for _, v in items))


def _safety(p: dict) -> list[dict]:
    """The safety facts of a side (``knowledge/data/safety.yaml``), one row per fact, ordered by kind; a class
    side names the members a drug-specific fact concerns. An irreversible MAOI side also states what the
    modelled MAO-A recovery is, beside the sourced washouts."""
    from ..knowledge.loader import bundled
    from ..pharmacology.inactivation import recovery_days, recovery_note
    kb = bundled()
    members = p["members"] if p["kind"] != "drug" else [p["id"]]
    rows = []
    for f in kb.safety_for(p["id"]):
        whole = p["id"] in f.applies_to or p.get("drug_class") in f.applies_to
        who = [m for m in members if m in f.applies_to]
        redundant = f.topic.lower() in SAFETY_KIND_LABELS[f.kind].lower() or f.text.lower().startswith(f.topic.lower())
        topic = "" if redundant else f"{f.topic}: "
        text = f"{topic}{f.text}" + (f" [{', '.join(who)}]" if p["kind"] != "drug" and not whole else "")
        rows.append({"kind": f.kind, **cell(text, f.refs, f.verified)})
    notes = [n for n in (recovery_note(m, kb) for m in members) if n]
    if notes:
        spec = kb.occupancy.mao_resynthesis_half_life_h
        rows.append({"kind": "washout", **cell(
            f"modelled MAO-A recovery: the fast phase of resynthesis only (half-life {spec.value:g} h), "
            f"90 % of activity about {recovery_days(spec.value):.1f} days after full inhibition; the washouts "
            "and tyramine recovery above are longer and are the ones to follow", spec.refs, spec.verified)})
    order = list(SAFETY_KIND_LABELS)
    return sorted(rows, key=lambda r: order.index(r["kind"]))


def _metabolism(p: dict) -> list[tuple[str, dict | None]]:
    if p["kind"] == "drug":
        cyps, d6 = _from(p.get("cyps")), _from(p.get("cyp2d6_effect"))
    else:
        cyps = _join(p.get("cyps", []), lambda i: f"{i['member']}: {i['value']}")
        d6 = _join(p.get("cyp2d6_effect", []), lambda i: f"{i['member']}: {i['value']}")
    mets = _join(p.get("active_metabolites", []), lambda i: i["name"] + (f" ({i['note']})" if i.get("note") else ""))
    return [("Active metabolites", mets), ("Main CYP enzymes", cyps), ("CYP2D6 phenotype effect", d6)]


@lru_cache(maxsize=1)
def _kb_hash() -> str:
    h = hashlib.sha256()
    for f in sorted(loader.DATA_DIR.rglob("*")):
        if f.is_file():
            h.update(f.relative_to(loader.DATA_DIR).as_posix().encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def compare(a: str, b: str, diagram_engine: str = "auto", simulate: bool = True,
            include_unverified: bool = False, background: bool = False) -> Comparison:
    """Build the comparison of two drugs or classes (any accepted name).

    ``simulate``: add the simulated course of both sides (mechanism model; a few seconds).
    ``background``: simulate in a forked worker process while the rest is built
    (:func:`.simulation.start_course`; the command line does, the result is the same).
    ``include_unverified``: pool trial values from memory (status M) too; they are flagged.

    Raises :class:`~adpharm.errors.UnknownNameError` naming the unknown side and close matches.

    Examples
    --------
    >>> g = compare("ketamine", "imipramine", simulate=False)    # doctest: +SKIP
    >>> g.to_dict()["title"]                                      # doctest: +SKIP
    'Ketamine (racemic) vs Imipramine'
    """
    con = query.database()
    pa, pb = query.profile(a, con), query.profile(b, con)
    if pa["id"] == pb["id"]:
        raise AdpharmInputError(f"compare: {a!r} and {b!r} are both {pa['name']}: name two different drugs or classes")
    pathways = query.pathways(con)
    head = {k: {"id": p["id"], "kind": p["kind"], "name": p["name"]} for k, p in (("a", pa), ("b", pb))}
    if simulate:
        from .simulation import start_course
        course_result = start_course(pa, pb, background)

    pooled = {"a": efficacy_mod.pooled(pa, "a", include_unverified),
              "b": efficacy_mod.pooled(pb, "b", include_unverified)}
    reg = {"a": efficacy_mod.registry_rows(pa), "b": efficacy_mod.registry_rows(pb)}
    ga, gb = _glance(pa, pathways), _glance(pb, pathways)
    at_a_glance = [{"attribute": name, "a": ca, "b": cb} for (name, ca), (_, cb) in zip(ga, gb)]
    at_a_glance.insert(5, {"attribute": "Efficacy at the primary endpoint",
                           "a": efficacy_mod.headline(pa, pooled["a"], reg["a"]),
                           "b": efficacy_mod.headline(pb, pooled["b"], reg["b"])})

    binding = []
    for t in TARGETS:
        ca, cb = _binding_cell(pa["binding"].get(t)), _binding_cell(pb["binding"].get(t))
        if ca or cb:
            binding.append({"target": t, "label": TARGET_LABELS[t], "a": ca, "b": cb})

    pk = []
    for param, label in PK_LABELS.items():
        ca, cb = _pk_cell(pa, param, con), _pk_cell(pb, param, con)
        if ca or cb:
            pk.append({"parameter": param, "label": label, "a": ca, "b": cb})
    steady_state = _steady_state(pa, "a") + _steady_state(pb, "b") if simulate else []
    ma, mb = _metabolism(pa), _metabolism(pb)
    metabolism = [{"attribute": n, "a": x, "b": y} for (n, x), (_, y) in zip(ma, mb) if x or y]

    used = set(pa["signalling_pathways"]) | set(pb["signalling_pathways"])
    diagrams = []
    for key, pw in pathways.items():
        d = pathway_diagram(pw, engine=diagram_engine)
        label = {n["id"]: n.get("label", n["id"]) for n in pw["nodes"]}
        diagrams.append({"id": key, "name": pw["name"], "engine": d.engine, "svg": d.svg,
                         "applies_to": [p["name"] for p in (pa, pb) if key in p["signalling_pathways"]],
                         "shown_because": "pathway of a compared drug" if key in used else "contrast",
                         "edges": [{"source": e["source"], "target": e["target"], "effect": e["effect"],
                                    "source_label": label.get(e["source"], e["source"]),
                                    "target_label": label.get(e["target"], e["target"]),
                                    **cell(e["timescale"], e["refs"], e.get("verified", True))} for e in pw["edges"]]})
    conv = [cell(c["note"], c["refs"], c.get("verified", True)) for c in query.convergence(con)]

    trials = query.trials(con)
    efficacy = {"onset": {"a": at_a_glance[3]["a"], "b": at_a_glance[3]["b"]},
                "trials": {"a": _efficacy_rows(pa, trials), "b": _efficacy_rows(pb, trials)},
                "pooled": pooled,
                "registry": reg,
                "anchors": efficacy_mod.anchor_rows(pa, pb),
                "indirect": efficacy_mod.indirect(pa, pb, include_unverified),
                "include_unverified": include_unverified,
                "source": "the GRISELDA registry of 522 trials (Cipriani 2018, network meta-analysis drug by drug) and "
                          "the bundled published trial arms (ketamine, esketamine, imipramine and phenelzine trials; "
                          "the class-level primary-care trials of Linde 2015), "
                          "each pooled within one time window; unverified values (from memory) are "
                          + ("included and flagged" if include_unverified else "left out")}

    protos = query.protocols(con)
    protocols = []
    for pid in PROTOCOL_ORDER + [k for k in protos if k not in PROTOCOL_ORDER]:
        if pid not in protos or not _protocol_concerns(protos[pid], pa, pb):
            continue
        pr = protos[pid]
        protocols.append({"id": pid, "name": pr["name"], "kind": pr["kind"], "purpose": pr["purpose"],
                          "refs": pr["refs"], "executes_with": pr.get("executes_with"), "measures": pr["measures"],
                          "steps": [{"step": s["step"], **cell(s["detail"], s["refs"], s.get("verified", True),
                                                                 note=s.get("note"))} for s in pr["steps"]]})
    wf = workflow_diagram(engine=diagram_engine)
    trial_protocols = _trial_protocols(pa, pb)

    sections = {"at_a_glance": at_a_glance, "binding": binding, "pharmacokinetics": pk,
                "steady_state": steady_state, "metabolism": metabolism,
                "pathways": diagrams, "convergence": conv, "efficacy": efficacy,
                "side_effects": {"a": _side_effects(pa), "b": _side_effects(pb)},
                "interactions": {"a": _interactions(pa), "b": _interactions(pb)},
                "safety": {"a": _safety(pa), "b": _safety(pb)},
                "protocols": protocols, "trial_protocols": trial_protocols,
                "workflow": {"engine": wf.engine, "svg": wf.svg}}
    if simulate:
        course = course_result()
        if course is not None:
            sections["simulation"] = course
    from ..evidence.bundled import class_families
    from ..trials.known_misses import warnings_for
    fams = class_families()
    scopes = {f"drug:{m}" for m in _members(pa, pb)} | {f"family:{fams.get(p.get('drug_class') or p['id'])}"
                                                          for p in (pa, pb)}
    sections["warnings"] = warnings_for(*sorted(scopes))
    allrefs = query.references(None, con)
    references = [{"number": i + 1, "key": k, **allrefs[k], "citation": query.citation(allrefs[k])}
                  for i, k in enumerate(query.collect_refs(sections))]
    provenance = {"adpharm_version": __version__, "knowledge_base_sha256": _kb_hash(),
                  "diagram_layout": sorted({d["engine"] for d in diagrams} | {wf.engine})}
    if "simulation" in sections:
        provenance["simulation"] = {k: sections["simulation"][k] for k in ("model", "n", "seed", "days")}
    return Comparison(a=head["a"], b=head["b"], sections=sections, references=references, provenance=provenance)


#: Virtual patients per drug for the guide's steady-state table (the CLI's `pk tdm` uses 1,000).
STEADY_STATE_N = 200


def _steady_state(p: dict, side: str) -> list[dict]:
    """Expected trough at the middle of the usual dose range against the consensus range, for the
    side's drug or each class member with a bundled range (simulated; `adpharm pk tdm`)."""
    from ..knowledge.loader import bundled
    from ..pharmacology.tdm import DEFAULT_SEED, tdm
    kb = bundled()
    members = p["members"] if p["kind"] != "drug" else [p["id"]]
    rows = []
    for d in members:
        rng = kb.tdm.get(d)
        if rng is None:
            continue
        mg = (rng.usual_daily_mg.low + rng.usual_daily_mg.high) / 2
        res = tdm(d, f"{mg:g} mg po daily", n=STEADY_STATE_N, seed=DEFAULT_SEED)
        row = res.expected.set_index("quantity").loc[res.quantity]
        expected = (f"{row['p16']:.0f}-{row['p84']:.0f}" if res.variability else "no sourced variability")
        consensus = (cell(f"{rng.low_ng_per_ml:g}-{rng.high_ng_per_ml:g} ng/mL ({rng.source_label})", rng.refs,
                          rng.verified)
                     if rng.has_range else cell(f"not compared: {rng.note}", rng.refs, rng.verified))
        where = rng.position(row["typical"])
        rows.append({"side": side, "drug": d, "regimen": res.regimen, "quantity": res.quantity,
                     "typical_ng_per_ml": round(float(row["typical"]), 1), "expected_ng_per_ml": expected,
                     "consensus": consensus, "typical_vs_range": where,
                     "usual_dose": cell(f"{rng.usual_daily_mg.low:g}-{rng.usual_daily_mg.high:g} mg/day",
                                        rng.usual_daily_mg.refs),
                     "gap": cell(rng.gap.note, rng.gap.refs) if rng.gap else None,
                     "provenance": f"simulation: {res.provenance()['model_version']}; seed {res.seed}; "
                                   f"{res.n} virtual CYP2D6 normal metabolisers; trough at steady state"})
    return rows


def _members(pa: dict, pb: dict) -> set[str]:
    return {m for p in (pa, pb) for m in (p["members"] if p["kind"] != "drug" else [p["id"]])}


def _protocol_concerns(protocol: dict, pa: dict, pb: dict) -> bool:
    """A protocol that runs one bundled trial protocol (``adpharm trial simulate NAME``) belongs in a guide only
    when that trial gives a drug of either side; every other protocol (assays, trial design) belongs in all."""
    import re

    from ..trials.protocol import bundled, load_protocol
    m = re.search(r"trial simulate (\S+)", protocol.get("executes_with") or "")
    if not m or m.group(1) not in bundled():
        return True
    tp = load_protocol(m.group(1))
    return bool({t.drug for a in tp.arms for t in a.treatments} & _members(pa, pb))


def _trial_protocols(pa: dict, pb: dict) -> list[dict]:
    """The bundled executable trial protocols that give either compared drug (or class member)."""
    from ..trials.protocol import bundled, load_protocol
    members = _members(pa, pb)
    out = []
    for name in bundled():
        tp = load_protocol(name)
        if not {t.drug for a in tp.arms for t in a.treatments} & members:
            continue
        arms = []
        for a in tp.arms:
            what = "; ".join(f"{t.drug} {t.regimen}" for t in a.treatments)
            if a.placebo:
                what = f"{a.placebo}" + (f" + {what}" if what else "")
            if a.escalation is not None:
                what += f"; non-responders at {a.escalation.visit or f'{a.escalation.at_h:g} h'} switch to {a.escalation.regimen}"
            arms.append({"id": a.id, "ratio": a.ratio, "what": what})
        ep = tp.primary
        dr = tp.dropout
        out.append({"id": tp.id, "name": tp.name, "purpose": tp.purpose, "design": tp.design, "refs": list(tp.refs),
                    "blinding": tp.blinding, "n_per_arm": tp.n_per_arm, "arms": arms,
                    "visits": [v.id for v in tp.visits],
                    "crossover": (f"sequences {', '.join('/'.join(s) for s in tp.crossover.sequences)}, periods "
                                  f"{tp.crossover.period_days:g} days apart" if tp.crossover else None),
                    "lead_in": (f"{tp.lead_in.days:g}-day {tp.lead_in.blind}-blind placebo lead-in"
                                + (f", excluding patients improved by {tp.lead_in.exclude_improvement_frac:.0%} or more"
                                   if tp.lead_in.exclude_improvement_frac else "") if tp.lead_in else None),
                    "dropout": ({"text": f"{dr.model}, {dr.rate.value:.1%} over {dr.over_days:g} days",
                                 "refs": list(dr.rate.refs)} if dr.rate is not None else None),
                    "primary": f"{ep.kind} at {ep.visit} ({ep.analysis or 'default'} analysis, alpha {ep.alpha:g})"
                               if ep.visit else f"{ep.kind} ({ep.analysis or 'default'} analysis)",
                    "not_simulated": tp.unsimulated_scales(),
                    "command": f"adpharm trial simulate {tp.id} --seed 1"})
    return out
