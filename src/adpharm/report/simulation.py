"""The guide's simulated course: both sides through the mechanism model, same virtual patients.

Each side is simulated with the regimen its knowledge-base entry gives in regimen syntax (the
``simulate`` field of an administration; for a class, the first member that has one) for
:data:`DAYS` days, with its placebo arm, for :data:`N` virtual patients and seed :data:`SEED`.
The section reports the model version, seed and n beside every number, and says that the
trajectories are simulated.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Callable

import numpy as np

N = 1000
SEED = 20240
DAYS = 42
DAYS_SHOWN = (1, 3, 7, 14, 21, 28, 42)
#: the trials the clinical mapping was calibrated on (validation/mechanism/calibrate.py)
CALIBRATION_REFS = ("correia_melo2020", "su2023", "murrough2013ajp", "daly2018", "linde2015", "popova2019", "ionescu2021",
                    "kocsis1988")
#: the population each drug class is simulated in: the one it is used for (ketamine and esketamine in
#: treatment-resistant depression); every other class in the default population of populations.yaml
#: (outpatients with a major depressive episode)
POPULATION_BY_CLASS = {"nmda_antagonist": "trd"}


def population_for(drug: str) -> str | None:
    """The population a drug is simulated in (None: the default population)."""
    from ..knowledge.loader import bundled
    d = bundled().drugs.get(drug)
    return POPULATION_BY_CLASS.get(d.drug_class) if d else None


@dataclass(frozen=True)
class Course:
    """What the knowledge base gives for simulating one side: the drug and its regimen, what both arms
    receive beside it (an adjunctive treatment's oral antidepressant) and the population."""

    drug: str
    regimen: str
    refs: tuple[str, ...]
    background: tuple[tuple[str, str], ...]
    population: str | None


def regimen_for(p: dict) -> Course | None:
    """The :class:`Course` the knowledge base gives for simulating this side, or None."""
    for a in p.get("administration", []):
        if a.get("simulate"):
            drug = p["id"] if p["kind"] == "drug" else a["members"][0]
            background = tuple(tuple(x.strip() for x in w.split(":", 1)) for w in a.get("simulate_with", []))
            return Course(drug, a["simulate"], tuple(a["refs"]), background,
                          a.get("simulate_population") or population_for(drug))
    return None


def _curves(results: dict[str, Any]) -> dict[str, Any]:
    """What the course figure draws, as plain arrays (cheap to return from a worker process)."""
    from ..mechanism.simulate import model_version
    lines = []
    for name, res in results.items():
        lo, hi = np.percentile(res.madrs, [25, 75], axis=0)
        lines.append({"name": name, "regimen": res.regimens[0][1], "day": res.times_h / 24.0,
                      "mean": res.madrs.mean(axis=0), "lo": lo, "hi": hi,
                      "placebo": res.madrs_placebo.mean(axis=0), "separation": res.separation()})
    res0 = next(iter(results.values()))
    return {"lines": lines, "threshold": res0.onset_threshold,
            "title": f"Simulated, not observed: {model_version(res0.model)}, n = {res0.n} per arm, seed {res0.seed}. "
                     "Research use only."}


def _figure(curves: dict[str, Any]) -> str:
    from ..figures import pyplot, to_svg
    fig, axes = pyplot().subplots(1, 2, figsize=(10, 3.6), constrained_layout=True)
    colours = ("#1f77b4", "#d62728")
    for line, colour in zip(curves["lines"], colours):
        d, name = line["day"], line["name"]
        axes[0].plot(d, line["mean"], color=colour, label=f"{name}: {line['regimen']}")
        axes[0].fill_between(d, line["lo"], line["hi"], color=colour, alpha=0.12)
        axes[0].plot(d, line["placebo"], color=colour, ls=":", label=f"{name}: placebo arm")
        axes[1].plot(d, line["separation"], color=colour, label=name)
    axes[1].axhline(curves["threshold"], color="grey", lw=0.8, ls="--", label="onset threshold")
    axes[0].set(xlabel="day", ylabel="MADRS (mean, IQR)", title="Simulated MADRS")
    axes[1].set(xlabel="day", ylabel="placebo minus drug (MADRS points)", title="Separation from placebo")
    for ax in axes:
        ax.legend(fontsize=7)
    fig.suptitle(curves["title"], fontsize=8)
    return to_svg(fig, salt="course")


@lru_cache(maxsize=16)
def _simulate(course: Course):
    from ..mechanism.simulate import simulate
    return simulate((course.drug, course.regimen), DAYS, n=N, seed=SEED, population=course.population,
                    background=list(course.background))


def start_course(pa: dict, pb: dict, background: bool = False) -> Callable[[], dict[str, Any] | None]:
    """Start :func:`simulated_course` and return a function that gives its result.

    With ``background`` it runs in a forked worker process while the caller builds the rest of the guide
    (the simulation is half of the command-line guide's time); the result is the same as in the caller's
    process (same seed, same figure bytes). It falls back to running in the caller where forking is not
    available: a platform without ``fork``, a single CPU, or a daemonic process (a web worker) that may
    not have children.
    """
    import multiprocessing as mp
    import os
    if not (background and "fork" in mp.get_all_start_methods() and (os.cpu_count() or 1) > 1
            and not mp.current_process().daemon):
        return lambda: simulated_course(pa, pb)
    from concurrent.futures import ProcessPoolExecutor
    pool = ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("fork"))
    future = pool.submit(simulated_course, pa, pb, False)

    def result() -> dict[str, Any] | None:
        try:
            out = future.result()
        finally:
            pool.shutdown()
        if out is not None:               # the figure is drawn here, while the worker was simulating
            out["svg"] = _figure(out.pop("curves"))
        return out
    return result


def simulated_course(pa: dict, pb: dict, draw: bool = True) -> dict[str, Any] | None:
    """Simulate both sides; None when neither side has a regimen to simulate. Without ``draw`` the figure
    is left to the caller: ``svg`` is None and ``curves`` holds what it draws."""
    from ..mechanism.simulate import early_onset, is_monoaminergic, model_version
    sides = {"a": regimen_for(pa), "b": regimen_for(pb)}
    if not any(sides.values()):
        return None
    results, rows, refs, missing = {}, [], [], []
    names = {"a": pa["name"], "b": pb["name"]}
    for side, reg in sides.items():
        if reg is None:
            missing.append(names[side])
            continue
        res = _simulate(reg)
        results[names[side]] = res
        refs += list(reg.refs)
        s = res.summary().set_index("day")
        pop = res.population
        rows.append({"side": side, "name": names[side], "drug": reg.drug, "regimen": reg.regimen, "refs": list(reg.refs),
                     "background": [f"{d}: {r}" for d, r in reg.background],
                     "population": pop.name, "population_label": pop.label,
                     "placebo_arm": res.expectancy.get("note"),
                     "onset_day": res.onset_day(), "onset_h": res.onset_h(),
                     "early_onset": early_onset(res.summary()) if is_monoaminergic(reg.drug) else None,
                     "days": [{"day": day, "madrs": round(float(s.loc[day, "madrs_mean"]), 1),
                               "placebo": round(float(s.loc[day, "madrs_placebo_mean"]), 1),
                               "separation": round(float(s.loc[day, "separation"]), 1),
                               "response_pct": round(100 * float(s.loc[day, "response_rate"]), 1),
                               "placebo_response_pct": round(100 * float(s.loc[day, "placebo_response_rate"]), 1)}
                              for day in DAYS_SHOWN if day in s.index],
                     "side_effects": {k: v for k, v in res.side_effects().items() if isinstance(v, float)},
                     "warnings": res.warnings})
    res0 = next(iter(results.values()))
    curves = _curves(results)
    out = {"rows": rows, "missing": missing, "svg": _figure(curves) if draw else None,
            "refs": list(dict.fromkeys(refs + list(CALIBRATION_REFS))),
            "model": model_version(res0.model), "n": N, "seed": SEED, "days": DAYS,
            "note": ("Simulated by the mechanism model, not observed. Each drug is simulated in the population it is "
                     "used for (ketamine and esketamine: treatment-resistant depression; the others: outpatients "
                     "with a major depressive episode), with a placebo arm whose response depends on that "
                     "population and on the procedure (expectancy, therapeutic contact). The clinical mapping was "
                     "calibrated on Correia-Melo 2020, Su 2023 and Murrough 2013 (ketamine and midazolam), the "
                     "TRANSFORM-2 difference at day 28 (esketamine), the SSRI and placebo arms of Linde 2015 and the "
                     "placebo arms of Daly 2018, TRANSFORM-1, ASPIRE II and Kocsis 1988. Drug and placebo improvement "
                     "overlap, so the drug adds less where the placebo arm improves more; onset and its "
                     "difference between drugs emerge from the cascade's time constants. Known miss: esketamine "
                     "separates from placebo about three times more than in ASPIRE I and II (suicidal inpatients).")}
    if not draw:
        out["curves"] = curves
    return out
