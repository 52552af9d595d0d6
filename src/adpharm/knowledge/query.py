"""Query functions over the compiled knowledge base (SQLite).

>>> from adpharm.knowledge import query
>>> query.resolve("Tofranil")
('drug', 'imipramine')
>>> query.binding("imipramine")["SERT"]["value_nm"]
1.4
"""
from __future__ import annotations

import difflib
import json
import sqlite3
import statistics
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..errors import AdpharmInputError, UnknownNameError
from ..lazy import lazy_module
from . import loader, store
from ..units import HOURS_PER_WEEK, hours
from .schema import TARGETS, CitedValue

pd = lazy_module("pandas")

PK_LABELS = {
    "bioavailability_pct": "Oral/absolute bioavailability",
    "clearance_l_per_h": "Clearance",
    "volume_l": "Volume of distribution",
    "volume_l_per_kg": "Volume of distribution (per kg)",
    "half_life_h": "Elimination half-life",
    "tmax_h": "Tmax",
    "cmax_ng_per_ml": "Cmax",
    "protein_binding_pct": "Plasma protein binding",
}


@lru_cache(maxsize=4)
def database(data_dir: str | None = None) -> sqlite3.Connection:
    """The compiled database for ``data_dir`` (the bundled data by default), built once per process."""
    kb = loader.load(Path(data_dir)) if data_dir else loader.bundled()
    return store.build(kb)


def _db(con: sqlite3.Connection | None) -> sqlite3.Connection:
    return con if con is not None else database()


def names(con: sqlite3.Connection | None = None) -> dict[str, tuple[str, str]]:
    """Every accepted name (lower case) mapped to ``(kind, id)``."""
    con = _db(con)
    out: dict[str, tuple[str, str]] = {}
    for r in con.execute("SELECT id, name, aliases FROM drug_class"):
        for n in [r["id"], r["name"], *json.loads(r["aliases"])]:
            out[n.lower()] = ("class", r["id"])
    for r in con.execute("SELECT id, name, synonyms FROM drug"):
        for n in [r["id"], r["name"], *json.loads(r["synonyms"])]:
            out[n.lower()] = ("drug", r["id"])
    return out


def resolve(name: str, con: sqlite3.Connection | None = None) -> tuple[str, str]:
    """Resolve a drug or class name (any synonym, case-insensitive) to ``(kind, id)``.

    Raises :class:`UnknownNameError` with the closest known names when nothing matches.
    """
    table = names(con)
    key = name.strip().lower()
    if key in table:
        return table[key]
    close = difflib.get_close_matches(key, list(table), n=3, cutoff=0.6)
    ids = list(dict.fromkeys(table[c][1] for c in close))
    raise UnknownNameError(name, ids)


def list_drugs(drug_class: str | None = None, con: sqlite3.Connection | None = None) -> pd.DataFrame:
    """Drugs with class and primary mechanism, optionally filtered by class (any class alias)."""
    con = _db(con)
    sql = ("SELECT d.id AS drug, d.name, d.class_id AS class, c.name AS class_name, d.primary_mechanism "
           "FROM drug d JOIN drug_class c ON c.id = d.class_id")
    args: tuple = ()
    if drug_class:
        kind, cid = resolve(drug_class, con)
        if kind != "class":
            raise AdpharmInputError(f"{drug_class!r} is a drug, not a class", field="drug_class")
        sql += " WHERE d.class_id = ?"
        args = (cid,)
    return pd.read_sql_query(sql + " ORDER BY d.class_id, d.id", con, params=args)


def drug(drug_id: str, con: sqlite3.Connection | None = None) -> dict[str, Any]:
    """The full cited profile of one drug, as stored."""
    row = _db(con).execute("SELECT profile FROM drug WHERE id = ?", (drug_id,)).fetchone()
    if row is None:
        raise UnknownNameError(drug_id, [])
    return json.loads(row["profile"])


def drug_class(class_id: str, con: sqlite3.Connection | None = None) -> dict[str, Any]:
    row = _db(con).execute("SELECT profile FROM drug_class WHERE id = ?", (class_id,)).fetchone()
    if row is None:
        raise UnknownNameError(class_id, [])
    return json.loads(row["profile"])


def binding(drug_id: str, con: sqlite3.Connection | None = None) -> dict[str, dict[str, Any]]:
    """Binding constants of one drug keyed by target (``value_nm``, ``measure``, ``refs``...)."""
    rows = _db(con).execute("SELECT * FROM binding WHERE drug_id = ?", (drug_id,)).fetchall()
    return {r["target"]: {"value_nm": r["value_nm"], "low_nm": r["low_nm"], "high_nm": r["high_nm"],
                          "measure": r["measure"], "species": r["species"], "refs": json.loads(r["refs"]),
                          "fact": r["fact"], "verified": bool(r["verified"])} for r in rows}


def references(keys: list[str] | None = None, con: sqlite3.Connection | None = None) -> dict[str, dict[str, Any]]:
    con = _db(con)
    rows = con.execute("SELECT * FROM reference").fetchall()
    out = {r["key"]: {k: r[k] for k in r.keys() if k != "key"} for r in rows}
    for v in out.values():
        v["checked"] = bool(v["checked"])
    return out if keys is None else {k: out[k] for k in keys}


def citation(r: dict[str, Any]) -> str:
    """One-line citation of a reference record (as returned by :func:`references`)."""
    loc = "; ".join(x for x in (f"doi:{r['doi']}" if r.get("doi") else None,
                                  f"PMID {r['pmid']}" if r.get("pmid") else None, r.get("identifier"),
                                  r.get("url")) if x)
    return f"{r['authors']} ({r['year']}). {r['title']}. {r['journal']}. {loc}"


#: How each binding measure is named to a reader; ``KI`` is not an affinity.
MEASURE_LABELS = {"Ki": "Ki", "Kd": "Kd", "IC50": "IC50",
                  "KI": "KI: inactivation constant of an irreversible inhibitor, potency kinact/KI, not an affinity"}


def measure_label(measure: str) -> str:
    """The reader's name of a binding measure (``"Ki"``, or the explanation of an irreversible ``KI``;
    a class's ``"Ki/KI"`` keeps its parts)."""
    return "/".join(MEASURE_LABELS.get(m, m) for m in measure.split("/"))


def marks(v: dict[str, Any], references: dict[str, dict] | None = None) -> str:
    """The qualifiers a stored fact carries, as text for a listing: ``unverified`` (the source table
    marks the value as not checked against the primary paper), ``record not checked`` (with
    ``references``: every reference it cites is a record nobody here has checked), ``calibrated``
    (fitted to the facts its note names rather than read from a source) and the stated
    ``confidence``; empty when none apply. The guide shows the same marks as badges."""
    out = []
    if not v.get("verified", True):
        out.append("unverified")
    cited = [references[k] for k in v.get("refs", []) if references and k in references]
    if cited and not any(r.get("checked", True) for r in cited):
        out.append("record not checked")
    if v.get("basis") == "calibrated":
        out.append("calibrated")
    if v.get("confidence"):
        out.append(f"confidence {v['confidence']}")
    return f" ({', '.join(out)})" if out else ""


def collect_refs(obj: Any) -> list[str]:
    """Reference keys cited anywhere in nested data (``refs`` lists), in order of first appearance."""
    seen: dict[str, None] = {}

    def walk(o: Any) -> None:
        if isinstance(o, dict):
            for k, v in o.items():
                if k == "refs" and isinstance(v, list):
                    seen.update(dict.fromkeys(v))
                else:
                    walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)
    walk(obj)
    return list(seen)


def pathways(con: sqlite3.Connection | None = None) -> dict[str, dict[str, Any]]:
    con = _db(con)
    return {r["id"]: json.loads(r["graph"]) for r in con.execute("SELECT id, graph FROM pathway ORDER BY id")}


def convergence(con: sqlite3.Connection | None = None) -> list[dict[str, Any]]:
    row = _db(con).execute("SELECT value FROM meta WHERE key = 'convergence'").fetchone()
    return json.loads(row["value"])


def protocols(con: sqlite3.Connection | None = None) -> dict[str, dict[str, Any]]:
    con = _db(con)
    return {r["id"]: json.loads(r["body"]) for r in con.execute("SELECT id, body FROM protocol ORDER BY kind, id")}


def trials(con: sqlite3.Connection | None = None) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in _db(con).execute("SELECT body FROM trial ORDER BY id")]


def trial_name(t: dict[str, Any], refs: dict[str, dict[str, Any]] | None = None) -> str:
    """How a guide names a bundled trial or continuous record: its ``name`` where the knowledge base gives
    one (``TRANSFORM-2 (Popova 2019)``), ``Doogan 1994 (Linde 2015)`` for a trial of the Linde 2015 network,
    else the first author and year of its first reference with authors (``Lapidus 2014``). Never the
    knowledge base's internal id or a free-text note."""
    import re
    if t.get("name"):
        return t["name"]
    tid = t.get("id") or t.get("trial")
    if tid.startswith("linde2015_"):
        return f"{(t.get('note') or tid).split(';')[0]} (Linde 2015)"
    refs = refs if refs is not None else references()
    for key in t["refs"]:
        r = refs.get(key, {})
        authors = str(r.get("authors", "")).strip()
        if authors[:1].isalpha() and r.get("year") and not authors.startswith("ClinicalTrials"):
            return f"{re.split(r'[ ,]', authors)[0]} {r['year']}"
    return tid


def continuous_records(con: sqlite3.Connection | None = None) -> list[dict[str, Any]]:
    """Continuous-outcome records (one trial at one time point), in file order."""
    return [json.loads(r["body"]) for r in _db(con).execute("SELECT body FROM continuous ORDER BY rowid")]


# ---------------------------------------------------------------- class aggregation
def _agg_values(values: list[tuple[str, dict]]) -> dict[str, Any] | None:
    """Median of member values (a member's ``value``, else the midpoint of its range)."""
    pts = []
    for member, v in values:
        x = v.get("value")
        if x is None and v.get("low") is not None and v.get("high") is not None:
            x = (v["low"] + v["high"]) / 2
        if x is not None:
            pts.append((member, x, v))
    if not pts:
        return None
    xs = [p[1] for p in pts]
    refs = list(dict.fromkeys(r for _, _, v in pts for r in v["refs"]))
    return {"value": statistics.median(xs), "low": min(xs), "high": max(xs), "unit": pts[0][2]["unit"],
            "n_members": len(pts), "members": [p[0] for p in pts], "refs": refs,
            "verified": all(v.get("verified", True) for _, _, v in pts),
            "method": f"median of {len(pts)} member value(s); range {min(xs):.4g}-{max(xs):.4g}"}


def class_profile(class_id: str, con: sqlite3.Connection | None = None) -> dict[str, Any]:
    """A class profile aggregated from its members.

    Binding constants and PK parameters are the median over members that report them (with
    the range and member count); onset spans the members' onsets; adverse effects,
    interactions and contraindications are the union over members, each naming its member.
    """
    con = _db(con)
    cls = drug_class(class_id, con)
    members = [drug(m, con) for m in cls["members"]]
    prof: dict[str, Any] = {"id": class_id, "kind": "class", "name": cls["name"], "members": cls["members"],
                            "drug_class": class_id, "primary_mechanism": cls["primary_mechanism"]}
    prof["neurotransmitter_systems"] = list(dict.fromkeys(s for m in members for s in m["neurotransmitter_systems"]))
    prof["signalling_pathways"] = list(dict.fromkeys(s for m in members for s in m["signalling_pathways"]))
    prof["binding"] = {}
    for t in TARGETS:
        agg = _agg_values([(m["id"], {**m["binding"][t]}) for m in members if t in m.get("binding", {})])
        if agg:
            measures = {m["binding"][t]["measure"] for m in members if t in m.get("binding", {})}
            agg["measure"] = "/".join(sorted(measures))
            prof["binding"][t] = agg
    prof["pk"] = {}
    for p in PK_LABELS:
        agg = _agg_values([(m["id"], m["pk"][p]) for m in members if m["pk"].get(p)])
        if agg:
            prof["pk"][p] = agg
    onsets = [(m["id"], m["onset"]) for m in members if m.get("onset")]
    if onsets:
        unit = "h" if all(o["unit"] == "h" for _, o in onsets) else "wk"
        f = (lambda x, u: x) if unit == "h" else (lambda x, u: hours(x, u) / HOURS_PER_WEEK)
        lows = [f(o["low"] if o.get("low") is not None else o["value"], o["unit"]) for _, o in onsets]
        highs = [f(o["high"] if o.get("high") is not None else (o.get("value") or o["low"]), o["unit"]) for _, o in onsets]
        prof["onset"] = {"low": min(lows), "high": max(highs), "unit": unit,
                         "refs": list(dict.fromkeys(r for _, o in onsets for r in o["refs"])),
                         "verified": all(o.get("verified", True) for _, o in onsets),
                         "method": "span of member onsets: " + ", ".join(m for m, _ in onsets)}
    for key in ("adverse_effects", "interactions", "contraindications", "administration", "active_metabolites"):
        seen: dict[str, dict] = {}
        for m in members:
            for item in m.get(key, []):
                label = item.get("name") or item.get("agent") or item.get("value") or item.get("regimen")
                k = (label, item.get("effect"))
                entry = seen.setdefault(str(k), {**item, "members": []})
                entry["members"].append(m["id"])
                entry["refs"] = list(dict.fromkeys(entry["refs"] + item["refs"]))
        prof[key] = list(seen.values())
    prof["trd_efficacy"] = [dict(m["trd_efficacy"], member=m["id"]) for m in members if m.get("trd_efficacy")]
    for key in ("cyps", "cyp2d6_effect"):
        prof[key] = [dict(m[key], member=m["id"]) for m in members if m.get(key)]
    return prof


def profile(name: str, con: sqlite3.Connection | None = None) -> dict[str, Any]:
    """Profile of a drug or class by any accepted name; classes are aggregated from members."""
    kind, ident = resolve(name, con)
    if kind == "class":
        return class_profile(ident, con)
    d = drug(ident, con)
    d["kind"] = "drug"
    d["class_name"] = drug_class(d["drug_class"], con)["name"]
    return d


def format_value(v: dict[str, Any]) -> str:
    """Display a stored value dict (value/low/high/unit) as text."""
    keys = {k: v.get(k) for k in ("value", "low", "high", "unit", "refs")}
    if v.get("n_members"):
        s = f"{v['value']:.4g} {v['unit']}"
        return s if v["n_members"] == 1 else f"{s} (median; {v['low']:.4g}-{v['high']:.4g}, n={v['n_members']})"
    return CitedValue(**keys).display()
