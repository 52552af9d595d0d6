"""What the pages and the API do, as plain functions over the engines (no HTTP here).

Every function takes checked values and returns JSON-ready dicts that carry their provenance
(reference keys, or model version and seed); bad input raises AdpharmInputError.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import RESEARCH_NOTICE, __version__
from ..errors import AdpharmInputError
from ..io import jsonable
from ..pharmacology.simulate import PERCENTILES

#: Bounds on what one web request may ask for (the CLI allows more; a browser should stay quick).
LIMITS = {"n": 200, "days": 120, "reps": 2000, "n_per_arm": 500}

SIDES = ("ketamine", "esketamine", "imipramine", "ssri", "snri", "tca", "maoi", "nmda")


def records(df: pd.DataFrame) -> list[dict]:
    return jsonable(df.to_dict(orient="records"))


def svg(ax_or_fig, salt: str) -> str:
    """A matplotlib figure as inline SVG (:func:`adpharm.figures.to_svg`: ids salted so that
    several figures can share a page), closed after."""
    from ..figures import to_svg
    return to_svg(ax_or_fig, salt)


# --------------------------------------------------------------------------- knowledge

def drugs(drug_class: str | None = None, q: str | None = None) -> list[dict]:
    from ..knowledge import query
    df = query.list_drugs(drug_class or None)
    if q:
        ql = q.strip().lower()
        keep = df.apply(lambda r: any(ql in str(v).lower() for v in r.values), axis=1)
        df = df[keep]
    return records(df)


def drug_profile(name: str) -> dict:
    from ..knowledge import query
    prof = query.profile(name)
    refs = query.references()
    used = sorted(query.collect_refs(prof))
    return {"profile": prof, "references": {k: {**refs[k], "citation": query.citation(refs[k])} for k in used}}


def drug_page_helpers(references: dict[str, dict]) -> dict:
    """What the drug page shows beside each value: the marks of ``adpharm drug NAME`` (unverified,
    record not checked, calibrated, confidence), from the page's ``references`` (those its values
    cite), and the reader's name of a binding measure."""
    from ..knowledge import query
    return {"marks": lambda v: query.marks(v, references).strip(" ()"), "measure_label": query.measure_label}


def side_names() -> list[dict]:
    """Drugs and classes that the compare page offers."""
    from ..knowledge import query
    df = query.list_drugs()
    classes = sorted(set(df["class"]))
    return [{"id": d, "label": n, "kind": "drug"} for d, n in zip(df["drug"], df["name"])] + \
           [{"id": c, "label": f"{c} (class)", "kind": "class"} for c in classes]


# --------------------------------------------------------------------------- compare (cached)

class GuideCache:
    """Built comparisons, rendered formats cached per (a, b, format); at most ``size`` pairs."""

    def __init__(self, size: int = 16, build=None):
        """``build(a, b)`` makes a comparison (default :func:`adpharm.report.comparison.compare` in this
        process; the app passes one that runs it in its worker pool)."""
        self.size = size
        self.build = build
        self._items: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple, threading.Lock] = {}

    def comparison(self, a: str, b: str):
        from ..report.comparison import compare
        key = (a.strip().lower(), b.strip().lower())
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]["comparison"]
            lock = self._building.setdefault(key, threading.Lock())
        with lock:                      # one build per pair, however many clients ask at once
            with self._lock:
                if key in self._items:
                    return self._items[key]["comparison"]
            try:
                c = (self.build or compare)(a, b)
            finally:                    # a failed name must not leave a lock behind per request
                with self._lock:
                    self._building.pop(key, None)
            with self._lock:
                self._items[key] = {"comparison": c}
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return c

    def rendered(self, a: str, b: str, fmt: str) -> str | bytes:
        from ..report.render import render, render_pdf
        c = self.comparison(a, b)
        key = (a.strip().lower(), b.strip().lower())
        with self._lock:
            hit = self._items.get(key, {}).get(fmt)
        if hit is not None:
            return hit
        if fmt == "pdf":
            try:
                out: str | bytes = render_pdf(c)
            except RuntimeError as exc:
                raise AdpharmInputError(str(exc)) from None
        else:
            out = render(c, fmt)
        with self._lock:
            if key in self._items:
                self._items[key][fmt] = out
        return out


# --------------------------------------------------------------------------- simulate

def _band(x: np.ndarray) -> dict:
    """Median and 5-95 % band over subjects (axis 0), or the single subject's values."""
    if x.shape[0] == 1:
        return {"median": x[0].tolist()}
    lo, med, hi = np.percentile(x, PERCENTILES, axis=0)
    return {"p5": lo.tolist(), "median": med.tolist(), "p95": hi.tolist()}


def _stride(n: int, most: int = 600) -> slice:
    return slice(None, None, max(1, int(np.ceil(n / most))))


def simulate(drug: str, regimen: str, days: float, n: int, seed: int, weight_kg: float) -> dict:
    """Concentrations, receptor occupancy and the MADRS course of one regimen, with provenance."""
    from ..mechanism.simulate import model_version
    from ..mechanism.simulate import simulate as mech
    from ..pharmacology.occupancy import occupancy
    from ..pharmacology.simulate import PatientCovariates
    from ..pharmacology.simulate import simulate as pk_sim
    pk_hours = min(days * 24.0, 24.0 * 14)
    pk = pk_sim(drug, regimen, hours=pk_hours, n=n, seed=seed, covariates=PatientCovariates(weight_kg=weight_kg),
                keep_profiles=True)
    occ = occupancy(pk)
    m = mech((drug, regimen), days, n=n, seed=seed, covariates=PatientCovariates(weight_kg=weight_kg))
    s = _stride(len(pk.times_h))
    conc = {a: _band(pk.conc_ng_per_ml[:, s, i]) for i, a in enumerate(pk.analytes)}
    occupancy_series = {t: _band(100 * occ.fraction[:, s, j]) for j, t in enumerate(occ.targets)}
    ms = _stride(len(m.times_h))
    return jsonable({
        "drug": pk.drug, "regimen": pk.regimen, "n": n, "seed": seed,
        "pk": {"time_h": pk.times_h[s].tolist(), "conc_ng_per_ml": conc, "summary": pk.to_dict()["summary"]},
        "occupancy": {"time_h": pk.times_h[s].tolist(), "percent": occupancy_series,
                      "summary": records(occ.summary()), "not_available": occ.missing},
        "madrs": {"day": (m.times_h[ms] / 24.0).tolist(), "drug": _band(m.madrs[:, ms]),
                  "placebo": _band(m.madrs_placebo[:, ms]), "onset_day": m.onset_day(),
                  "summary": records(m.summary())},
        "warnings": list(dict.fromkeys(pk.warnings + m.warnings)),
        "provenance": {"pk": pk.provenance(), "occupancy": occ.to_dict()["provenance"]["occupancy"],
                       "mechanism": {"model": model_version(m.model), "seed": seed, "n": n},
                       "adpharm": __version__, "notice": RESEARCH_NOTICE},
    })


def pk(drug: str, regimen: str, hours: float | None, n: int, seed: int, weight_kg: float) -> dict:
    """`adpharm pk occupancy` as JSON: NCA summary, occupancy summary, warnings and provenance."""
    from ..pharmacology.occupancy import occupancy
    from ..pharmacology.simulate import PatientCovariates
    from ..pharmacology.simulate import simulate as pk_sim
    res = pk_sim(drug, regimen, hours=hours, n=n, seed=seed, covariates=PatientCovariates(weight_kg=weight_kg),
                 keep_profiles=True)
    return jsonable(occupancy(res).to_dict())


def tdm_drugs() -> list[str]:
    """Drugs with a bundled consensus therapeutic range (knowledge/data/tdm.yaml)."""
    from ..knowledge.loader import bundled
    return sorted(bundled().tdm)


def tdm(drug: str, regimen: str, measured: float | str | None, sample_h: float | None, phenotype: str,
        cyp2d6_inhibitor: str, age_y: float, weight_kg: float, n: int, seed: int, unit: str = "ng/mL",
        since_start_h: float | None = None) -> dict:
    """`adpharm pk tdm` as JSON: expected steady-state range, consensus range, the measured level's place,
    with the figure as inline SVG."""
    from ..pharmacology.simulate import PatientCovariates
    from ..pharmacology.tdm import tdm as run_tdm
    res = run_tdm(drug, regimen, measured=measured, unit=unit, sample_h=sample_h, since_start_h=since_start_h,
                  covariates=PatientCovariates(weight_kg=weight_kg, age_y=age_y, phenotype=phenotype,
                                               cyp2d6_inhibitor=cyp2d6_inhibitor),
                  n=n, seed=seed)
    out = res.to_dict()
    out["text"] = res.text()
    out["svg"] = svg(res.plot(), f"tdm-{seed}")
    out["provenance"]["notice"] = RESEARCH_NOTICE
    return jsonable(out)


def mechanism(drug: str, regimen: str, days: float, n: int, seed: int, weight_kg: float) -> dict:
    """`adpharm mechanism simulate` as JSON: state and MADRS trajectories, onset, rates, provenance."""
    from ..mechanism.simulate import simulate as mech
    from ..pharmacology.simulate import PatientCovariates
    return jsonable(mech((drug, regimen), days, n=n, seed=seed, covariates=PatientCovariates(weight_kg=weight_kg))
                    .to_dict())


# --------------------------------------------------------------------------- trials

def protocols() -> list[dict]:
    from ..trials.protocol import bundled, load_protocol
    out = []
    for name in sorted(bundled()):
        p = load_protocol(name)
        out.append({"id": p.id, "name": p.name, "design": p.design, "n_per_arm": p.n_per_arm,
                    "arms": [a.id for a in p.arms], "refs": list(p.refs)})
    return out


def _protocol(name: str):
    from ..trials.protocol import bundled, load_protocol
    if name not in bundled():
        raise AdpharmInputError(f"protocol: {name!r} is not a bundled protocol ({', '.join(sorted(bundled()))})")
    return load_protocol(name)


def trial(protocol: str, n_per_arm: int, seed: int) -> dict:
    from ..trials.simulate import simulate_trial
    res = simulate_trial(_protocol(protocol), n_per_arm, seed)
    s = res.summary()
    t = {v.id: v.time_h / 24.0 for v in res.protocol.visits}
    series = {arm: {"day": [t[v] for v in g["visit"]], "madrs_mean": g["madrs_mean"].tolist(), "n": g["n"].tolist()}
              for arm, g in s.groupby("arm", sort=False)}
    return jsonable({**res.to_dict(), "summary": records(s), "series": series})


def power_job(protocol: str, n_per_arm: int, reps: int, seed: int):
    """A job body: power by simulation in this process, reporting progress after each chunk."""
    from ..trials.power import power
    proto = _protocol(protocol)

    def work(job):
        res = power(proto, reps, n_per_arm=n_per_arm, seed=seed, workers=0, progress=job.progress)
        return jsonable(res.to_dict())
    return work


# --------------------------------------------------------------------------- evidence

def meta(data: pd.DataFrame, measure: str, method: str, knha: bool, source: str) -> dict:
    from ..evidence import escalc, rma
    from ..evidence.plots import forest
    es = escalc(measure, data, source=source)
    res = rma(es, method=method, test="knha" if knha else "z")
    return jsonable({**res.to_dict(), "forest_svg": svg(forest(res), "forest"), "notice": RESEARCH_NOTICE})


@lru_cache(maxsize=1)
def bundled_treatments() -> tuple[str, ...]:
    """Treatment names in the bundled Linde 2015 primary-care network (read once: bundled data)."""
    from ..evidence.bundled import linde2015
    arms, _ = linde2015()
    return tuple(sorted(arms["treatment"].unique()))


def bundled_meta(a: str, b: str, outcome: str, method: str) -> dict:
    from ..evidence.bundled import OUTCOMES, linde2015_pairwise
    if outcome not in OUTCOMES:
        raise AdpharmInputError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    names = bundled_treatments()
    for t in (a, b):
        if t not in names:
            raise AdpharmInputError(f"treatment: {t!r} is not in the bundled network ({', '.join(names)})")
    if a == b:
        raise AdpharmInputError("treatment: choose two different treatments")
    data = linde2015_pairwise(a, b, outcome)
    if data.empty:
        raise AdpharmInputError(f"no trial in the bundled network compares {a} with {b}")
    out = meta(data, "RR", method, False, f"linde2015 {a} vs {b}")
    out["data_source"] = "Linde et al. 2015 (bundled network data, adpharm.evidence.bundled)"
    return out


def network_linde(outcome: str, reference: str | None) -> dict:
    """`adpharm meta network --bundled linde2015` as JSON."""
    from ..evidence import network
    from ..evidence.bundled import OUTCOMES, linde2015
    if outcome not in OUTCOMES:
        raise AdpharmInputError(f"outcome: {outcome!r} is not one of {', '.join(OUTCOMES)}")
    df, notes = linde2015(outcome)
    if reference is not None and reference not in set(df["treatment"]):
        raise AdpharmInputError(f"reference: {reference!r} is not a treatment of the network "
                                f"({', '.join(sorted(set(df['treatment'])))})")
    res = network(df, reference=reference, source="bundled linde2015")
    return jsonable({**res.to_dict(), "notes": notes, "notice": RESEARCH_NOTICE})


def indirect(a: str, b: str, via: str, outcome: str, measure: str, method: str) -> dict:
    """`adpharm meta indirect A B --via C` on the bundled trials (Bucher)."""
    from ..evidence.indirect import bundled_indirect
    return jsonable({**bundled_indirect(a, b, via, outcome, measure, method).to_dict(), "notice": RESEARCH_NOTICE})


# --------------------------------------------------------------------------- assays

def assay(kind: str, path: Path, options: dict) -> dict:
    """One uploaded lab file through its engine; the result dict and an SVG figure."""
    if kind == "fst":
        from ..assays import fst
        from ..io import read_table
        res = fst.analyse(read_table(path), control=options.get("control") or None, source=path.name)
    elif kind == "spt":
        from ..assays import spt
        from ..io import read_table
        res = spt.analyse(read_table(path), control=options.get("control") or None, source=path.name)
    elif kind == "western":
        from ..assays import western
        img = western.read_image(path)
        lanes = int(options["lanes"]) if options.get("lanes") else None
        crop = western.parse_box(options["crop"], "crop") if options.get("crop", "").strip() else None
        res = western.analyse(img, crop=crop, lanes=lanes)
    else:
        raise AdpharmInputError(f"assay: {kind!r} is not one of fst, spt, western (ltp takes two recordings)")
    return jsonable({"kind": kind, "result": res.to_dict(), "summary": labelled_records(res.summary()),
                   "lines": assay_lines(res), "figure_svg": svg(res.plot(), kind), "notice": RESEARCH_NOTICE})


def labelled_records(df: pd.DataFrame) -> list[dict]:
    """Rows of a summary table with its row labels (group, window) as the first column."""
    if not isinstance(df.index, pd.RangeIndex) or df.index.name is not None:
        df = df.reset_index()
    return records(df)


def assay_lines(res) -> list[str]:
    """What the command line prints about an assay result: its statistics, flags, warnings and exclusions."""
    from ..assays import exclusions, reporting
    lines = reporting.statistics_lines(getattr(res, "statistics", None))
    lines += [_flag_line(f) for f in getattr(res, "flags", [])]
    lines += [f"warning: {w}" for w in getattr(res, "warnings", [])]
    return lines + exclusions.describe(getattr(res, "exclusions", []))


def _flag_line(f: dict) -> str:
    what = [f"animals {', '.join(map(str, f['ids']))}"] if f.get("ids") else []
    what += [str(f[k]) for k in ("subject", "day", "reason") if f.get(k)]
    return f"flag: {f.get('kind', '')}: {' '.join(what)}" + (f" ({f['action']})" if f.get("action") else "")


def ltp_pair(baseline: Path, post: Path) -> dict:
    from ..assays import ltp
    from ..assays.ephys import read_recording
    res = ltp.analyse([read_recording(baseline)], [read_recording(post)])
    return jsonable({"kind": "ltp", "result": res.to_dict(), "summary": labelled_records(res.summary()),
                   "lines": [f"change over the last {res.window_min:g} min: {res.change_percent:+.1f} %"] + assay_lines(res),
                   "figure_svg": svg(res.plot(), "ltp"), "notice": RESEARCH_NOTICE})


# --------------------------------------------------------------------------- transcriptomics

def signatures(a: Path, b: Path, a_contrast: str | None, b_contrast: str | None) -> dict:
    """RRHO2 of two DE tables and, when their contrasts are linked, the naive and honest reversal."""
    from ..transcriptomics.readers import read_de
    from ..transcriptomics.reversal import reversal
    from ..transcriptomics.rrho import rrho
    da, db = read_de(a, a_contrast or None), read_de(b, b_contrast or None)
    r = rrho(da.ranking(), db.ranking(), names=("disease", "drug"))
    out = {"rrho": r.to_dict(), "rrho_svg": svg(r.plot(), "rrho")}
    out["rrho"].pop("quadrant_genes", None)
    try:
        rev = reversal(da, db)
        out["reversal"] = rev.to_dict()
        out["reversal_svg"] = svg(rev.plot(), "reversal")
    except AdpharmInputError as exc:
        out["reversal"] = {"not_run": str(exc)}
    out["notice"] = RESEARCH_NOTICE
    return jsonable(out)
