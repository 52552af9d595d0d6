"""Compile a validated :class:`KnowledgeBase` into an embedded SQLite database.

The query functions in :mod:`adpharm.knowledge.query` read from this database, so the same
tables serve the command line, the guide and (later) the web app. Tables carry reference keys
as JSON lists next to every value.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from .loader import KnowledgeBase

SCHEMA_SQL = """
CREATE TABLE reference (key TEXT PRIMARY KEY, authors TEXT, year INTEGER, title TEXT, journal TEXT,
                        kind TEXT, doi TEXT, pmid TEXT, identifier TEXT, url TEXT, checked INTEGER);
CREATE TABLE drug_class (id TEXT PRIMARY KEY, name TEXT, aliases TEXT, profile TEXT);
CREATE TABLE drug (id TEXT PRIMARY KEY, name TEXT, class_id TEXT REFERENCES drug_class(id),
                   synonyms TEXT, primary_mechanism TEXT, profile TEXT);
CREATE TABLE binding (drug_id TEXT REFERENCES drug(id), target TEXT, measure TEXT, value_nm REAL,
                      low_nm REAL, high_nm REAL, species TEXT, refs TEXT, fact TEXT, verified INTEGER,
                      PRIMARY KEY (drug_id, target));
CREATE TABLE pk_parameter (drug_id TEXT REFERENCES drug(id), parameter TEXT, value REAL, low REAL, high REAL,
                           unit TEXT, conditions TEXT, refs TEXT, fact TEXT, verified INTEGER,
                           PRIMARY KEY (drug_id, parameter));
CREATE TABLE adverse_effect (drug_id TEXT REFERENCES drug(id), name TEXT, category TEXT, frequency_pct REAL,
                             placebo_pct REAL, refs TEXT);
CREATE TABLE pathway (id TEXT PRIMARY KEY, name TEXT, graph TEXT);
CREATE TABLE protocol (id TEXT PRIMARY KEY, name TEXT, kind TEXT, body TEXT);
CREATE TABLE trial (id TEXT PRIMARY KEY, status TEXT, body TEXT);
CREATE TABLE trial_arm (trial_id TEXT REFERENCES trial(id), arm TEXT, drug_id TEXT, class_id TEXT,
                        control TEXT, n INTEGER, responders INTEGER, remitters INTEGER);
CREATE TABLE continuous (trial_id TEXT, window TEXT, status TEXT, body TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
"""


def _j(x) -> str:
    return json.dumps(x, sort_keys=True)


def build(kb: KnowledgeBase, path: str | Path = ":memory:") -> sqlite3.Connection:
    """Create the SQLite database for ``kb`` at ``path`` (in memory by default)."""
    con = sqlite3.connect(str(path), check_same_thread=False)
    con.row_factory = sqlite3.Row
    con.executescript(SCHEMA_SQL)
    con.executemany("INSERT INTO reference VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    [(k, r.authors, r.year, r.title, r.journal, r.kind, r.doi, r.pmid, r.identifier, r.url,
                      int(r.checked))
                     for k, r in kb.references.items()])
    con.executemany("INSERT INTO drug_class VALUES (?,?,?,?)",
                    [(k, c.name, _j(c.aliases), c.model_dump_json()) for k, c in kb.classes.items()])
    for k, d in kb.drugs.items():
        con.execute("INSERT INTO drug VALUES (?,?,?,?,?,?)",
                    (k, d.name, d.drug_class, _j(d.synonyms), d.primary_mechanism.value, d.model_dump_json()))
        con.executemany("INSERT INTO binding VALUES (?,?,?,?,?,?,?,?,?,?)",
                        [(k, t, b.measure, b.value, b.low, b.high, b.species, _j(b.refs), b.fact, int(b.verified))
                         for t, b in d.binding.items()])
        con.executemany("INSERT INTO pk_parameter VALUES (?,?,?,?,?,?,?,?,?,?)",
                        [(k, name, v.value, v.low, v.high, v.unit, v.conditions, _j(v.refs), v.fact, int(v.verified))
                         for name, v in d.pk if v is not None])
        con.executemany("INSERT INTO adverse_effect VALUES (?,?,?,?,?,?)",
                        [(k, a.name, a.category, a.frequency_pct, a.placebo_pct, _j(a.refs)) for a in d.adverse_effects])
    con.executemany("INSERT INTO pathway VALUES (?,?,?)",
                    [(k, p.name, p.model_dump_json()) for k, p in kb.pathways.items()])
    con.execute("INSERT INTO meta VALUES ('convergence', ?)",
                (_j([c.model_dump(by_alias=True) for c in kb.convergence]),))
    con.executemany("INSERT INTO protocol VALUES (?,?,?,?)",
                    [(k, p.name, p.kind, p.model_dump_json()) for k, p in kb.protocols.items()])
    for t in kb.trials:
        con.execute("INSERT INTO trial VALUES (?,?,?)", (t.id, t.status, t.model_dump_json()))
        con.executemany("INSERT INTO trial_arm VALUES (?,?,?,?,?,?,?,?)",
                        [(t.id, a.arm, a.drug, a.drug_class, a.control, a.n, a.responders, a.remitters) for a in t.arms])
    con.executemany("INSERT INTO continuous VALUES (?,?,?,?)",
                    [(r.trial, r.window, r.status, r.model_dump_json()) for r in kb.continuous])
    con.commit()
    return con
