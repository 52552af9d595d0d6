"""The virtual registry: every placebo-controlled trial of the GRISELDA registry with a drug the model has,
rebuilt from its own design, simulated with the virtual patients and analysed as it was analysed.

For each registry trial (:mod:`adpharm.evidence.registry`, Cipriani et al. 2018) with a placebo arm and at
least one arm of a modelled drug, :func:`protocol_for` builds a :class:`~adpharm.trials.protocol.TrialProtocol`:

* **arms**: each arm of a modelled drug with its own n randomised, and the placebo arm; a fixed-dose arm
  takes its dose (``"20 mg po daily"``), a flexible or range arm the drug's usual dosing (the low end of
  the range, titrated over 2 weeks to the middle of it: ``tdm.yaml``'s ``usual_daily_mg`` with its source,
  or the arm's own range where the registry gives one); arms of drugs the model does not have are left out
  of the simulation and named;
* **length**: the trial's weeks (8, the registry's median, where it is missing, said so), weekly visits;
* **baseline severity**: the trial's baseline mean, on the MADRS as given or from the HAM-D 17 by the
  equipercentile link of Leucht et al. 2018; other scales (HAM-D 21/24, unspecified) keep the population's
  default (31), said so per trial;
* **dropout**: the trial's own all-cause dropouts over its patients randomised (MAR), the registry's pooled
  rate where a trial does not report them;
* **analysis**: response (>= 50 % reduction of the MADRS) at the last visit, last observation carried
  forward, over the patients randomised (intention to treat, as the registry counts responders), dose arms
  of a drug combined; the log odds ratio against placebo with its Wald SE (0.5 added to every cell of a
  table with a zero) and a two-sided Wald test at 0.05, the same for the observed and the simulated trial.

The unit is one comparison per trial and modelled drug. Trials whose drugs the model does not have are
listed as not modelled, with the reason. The registry is split once and for all: a trial whose
``StudyID`` hashes (SHA-256) to an even first byte is in the calibration half, the others are held out.

Examples
--------
>>> from adpharm.trials.registry import designs, split_of
>>> split_of("CL3-20098-022") in ("calibration", "holdout")
True
>>> ds, not_modelled = designs("holdout")            # doctest: +SKIP
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from ..evidence import registry as griselda
from ..mechanism.symptoms import HAMD17_ANCHORS, MADRS_ANCHORS, responders
from ..display import NotebookDisplay, table_text
from ..lazy import lazy_module

stats = lazy_module("scipy.stats")

__all__ = ["Split", "SPLITS", "split_of", "RegistryDesign", "designs", "protocol_for", "simulate_design",
           "VirtualRegistry", "virtual_registry", "madrs_from_hamd17"]

Split = Literal["calibration", "holdout", "all"]
SPLITS: tuple[str, ...] = get_args(Split)
#: weeks assumed where the registry does not give a trial's length (the registry's median)
DEFAULT_WEEKS = 8
#: the mechanism population every registry trial is simulated in
POPULATION = "registry-mdd"


def split_of(study: str) -> str:
    """``calibration`` when the first byte of the SHA-256 of ``study`` is even, else ``holdout``."""
    return "calibration" if hashlib.sha256(str(study).encode()).digest()[0] % 2 == 0 else "holdout"


def madrs_from_hamd17(hamd17: float) -> float:
    """The MADRS total linked to a HAM-D 17 total (Leucht et al. 2018, equipercentile; linear between anchors)."""
    return float(np.interp(hamd17, HAMD17_ANCHORS, MADRS_ANCHORS))


def _modelled_drugs() -> set[str]:
    from ..knowledge.loader import bundled
    kb = bundled()
    return {d for d in set(griselda.arms()["drug"]) if d in kb.drugs and d in kb.pk_models}


def _n(x) -> int | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else int(round(float(x)))


@dataclass
class RegistryDesign:
    """One registry trial as the simulation rebuilds it."""

    study: str
    year: int | None
    published: bool
    era: str
    split: str
    weeks: int
    baseline_madrs: float | None
    arms: list[dict]              # simulated arms: id, drug (None for placebo), label, n, responders, regimen
    dropout_rate: float
    notes: list[str] = field(default_factory=list)
    left_out_arms: list[str] = field(default_factory=list)

    @property
    def comparisons(self) -> list[str]:
        return sorted({a["drug"] for a in self.arms if a["drug"]})


def _regimen(drug: str, low: float, high: float, kb) -> tuple[str, str]:
    """The regimen of an arm and how it was chosen."""
    if not math.isnan(low) and low == high:
        return f"{low:g} mg po daily", "fixed dose of the arm"
    if not math.isnan(low):
        mid = (low + high) / 2
        return (f"{low:g} mg po daily titrate to {mid:g} mg over 2 weeks",
                f"the arm's range {low:g}-{high:g} mg: from its low end to its middle over 2 weeks")
    u = kb.tdm[drug].usual_daily_mg
    mid = (u.low + u.high) / 2
    return (f"{u.low:g} mg po daily titrate to {mid:g} mg over 2 weeks",
            f"flexible dose: the usual {u.low:g}-{u.high:g} mg/day ({', '.join(u.refs)}), from its low end to its middle")


def designs(split: Split = "all", drugs: list[str] | None = None) -> tuple[list[RegistryDesign], list[dict]]:
    """The registry's placebo-controlled trials of modelled drugs, rebuilt, and the trials not modelled.

    ``split`` keeps one half (:func:`split_of`); ``drugs`` keeps trials with an arm of one of them. A filter
    that selects no trial is an error naming it.
    """
    from ..knowledge.loader import bundled
    if split not in SPLITS:
        raise AdpharmInputError(f"{split!r} is not one of {', '.join(SPLITS)}", field="split")
    kb = bundled()
    modelled = _modelled_drugs()
    if drugs is not None:
        unknown = sorted(set(drugs) - modelled)
        if unknown:
            raise AdpharmInputError(f"drug: {', '.join(map(repr, unknown))} is not a modelled registry drug "
                                    f"({', '.join(sorted(modelled))})")
    a = griselda.arms()
    tot = a.dropna(subset=["dropouts_total", "n_randomised"])
    pooled_dropout = float(tot["dropouts_total"].sum() / tot["n_randomised"].sum())
    out, not_modelled = [], []
    for study, g in a.groupby("study", sort=False):
        if split != "all" and split_of(study) != split:
            continue
        if not (g["drug"] == "placebo").any():
            continue
        present = sorted(set(g["drug"]) - {"placebo"})
        mine = [d for d in present if d in modelled]
        if drugs is not None and not set(mine) & set(drugs):
            continue
        first = g.iloc[0]
        if not mine:
            not_modelled.append({"study": study, "drugs": present,
                                 "reason": f"{', '.join(present)} not in the model"})
            continue
        notes = []
        weeks = _n(first["weeks"])
        if weeks is None:
            weeks = DEFAULT_WEEKS
            notes.append(f"length not in the registry: {DEFAULT_WEEKS} weeks assumed")
        scale, base = first["scale"], first["baseline_mean"]
        if base is not None and not pd.isna(base) and scale == "MADRS":
            baseline = float(base)
        elif base is not None and not pd.isna(base) and scale == "HAMD17":
            baseline = madrs_from_hamd17(float(base))
        else:
            baseline = None
            notes.append(f"baseline on {scale or 'no scale'}: the population's default severity")
        arms, left = [], [f"{r['label']} (not modelled)" for _, r in g.iterrows()
                          if r["drug"] not in modelled and r["drug"] != "placebo"]
        for i, (_, r) in enumerate(g.iterrows()):
            if r["drug"] != "placebo" and r["drug"] not in modelled:
                continue
            n = _n(r["n_randomised"])
            if n is None or n < 1:
                left.append(f"{r['label']} (no patients randomised given)")
                continue
            arm = {"id": f"a{i + 1}", "drug": None if r["drug"] == "placebo" else r["drug"], "label": r["label"],
                   "n": n, "responders": None if pd.isna(r["responders"]) else float(r["responders"])}
            if arm["drug"]:
                arm["regimen"], arm["dose_basis"] = _regimen(r["drug"], r["dose_mg_low"], r["dose_mg_high"], kb)
            arms.append(arm)
        if not any(x["drug"] is None for x in arms) or not any(x["drug"] for x in arms):
            not_modelled.append({"study": study, "drugs": present, "reason": "no placebo or drug arm with patients"})
            continue
        d_tot, n_tot = g["dropouts_total"], g["n_randomised"]
        if d_tot.notna().all() and n_tot.notna().all() and n_tot.sum() > 0:
            rate = float(d_tot.sum() / n_tot.sum())
        else:
            rate = pooled_dropout
            notes.append(f"dropouts not in the registry: the registry's pooled rate {100 * pooled_dropout:.1f} %")
        year = None if pd.isna(first["year"]) else int(first["year"])
        out.append(RegistryDesign(study, year, bool(first["published"]), griselda.era(year, first["published"]),
                                  split_of(study), weeks, baseline, arms, min(rate, 0.95), notes, left))
    if not out:
        what = [f"split {split!r}"] + ([f"drug {', '.join(drugs)}"] if drugs else [])
        raise AdpharmInputError(f"{' and '.join(what)}: selects no placebo-controlled registry trial of a modelled drug")
    return out, not_modelled


def protocol_for(d: RegistryDesign, n_per_arm: int | None = None):
    """The :class:`~adpharm.trials.protocol.TrialProtocol` of a registry trial (every arm at the size of the
    largest; :func:`simulate_design` keeps each arm's own n)."""
    from .protocol import TrialProtocol
    arms = []
    for a in d.arms:
        if a["drug"]:
            arms.append({"id": a["id"], "label": a["label"], "treatments": [{"drug": a["drug"], "regimen": a["regimen"]}]})
        else:
            arms.append({"id": a["id"], "label": a["label"], "placebo": "placebo tablets"})
    pop: dict[str, Any] = {"type": POPULATION, "madrs_min": 0.0}
    if d.baseline_madrs is not None:
        pop["madrs_baseline_mean"] = {"value": round(d.baseline_madrs, 3), "basis": "measured", "refs": ["cipriani2018"],
                                      "note": "the trial's baseline mean in the registry"}
    return TrialProtocol.model_validate({
        "id": "registry-" + "".join(ch if ch.isalnum() else "-" for ch in d.study.lower()).strip("-"),
        "name": f"Registry trial {d.study}", "design": "parallel",
        "n_per_arm": n_per_arm or max(a["n"] for a in d.arms), "refs": ["cipriani2018"], "population": pop,
        "arms": arms, "randomisation": {"method": "simple"}, "blinding": "double",
        "visits": [{"id": "baseline"}] + [{"id": f"week{w}"} for w in range(1, d.weeks + 1)],
        "scales": ["MADRS"],
        "dropout": {"model": "MAR", "rate": {"value": round(d.dropout_rate, 6), "basis": "measured", "refs": ["cipriani2018"],
                                             "note": "the trial's all-cause dropouts over its patients randomised"},
                    "over_days": 7 * d.weeks, "slope": {"value": 1.5, "basis": "design", "note": "as ssri-mdd-8wk"}},
        "endpoints": {"primary": {"kind": "response", "visit": f"week{d.weeks}"}}})


def seed_for(seed: int, study: str) -> int:
    """The seed of one trial: the run's seed and the study's id, so that a trial is the same in any chunk."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{study}".encode()).digest()[:8], "little") >> 1


def _locf_responders(res, arms: list[dict]) -> dict[str, tuple[int, int]]:
    """Responders (last observation carried forward, >= 50 % reduction) over each arm's own n randomised."""
    data = res.data.sort_values(["subject", "time_h"])
    last = data.groupby("subject").tail(1).set_index("subject")
    hit = responders(last["value"].to_numpy(float)[:, None], last["baseline"].to_numpy(float))[:, 0]
    resp = pd.Series(hit & (last["time_h"].to_numpy() > 0), index=last.index)
    subj = res.subjects
    out = {}
    for a in arms:
        keep = subj.loc[subj["arm"] == a["id"], "subject"].to_numpy()[:a["n"]]
        out[a["id"]] = (int(resp.reindex(keep).fillna(False).sum()), int(keep.size))
    return out


def simulate_design(d: RegistryDesign, seed: int) -> list[dict]:
    """One simulated replicate of a registry trial: per modelled drug, responders and n of its arms (dose arms
    combined) and of placebo, simulated beside observed."""
    from .simulate import simulate_trial
    res = simulate_trial(protocol_for(d), seed=seed_for(seed, d.study))
    counts = _locf_responders(res, d.arms)
    placebo = next(a for a in d.arms if a["drug"] is None)
    rows = []
    for drug in d.comparisons:
        mine = [a for a in d.arms if a["drug"] == drug]
        obs_ok = placebo["responders"] is not None and all(a["responders"] is not None for a in mine)
        rows.append({"study": d.study, "drug": drug, "year": d.year, "published": d.published, "era": d.era,
                     "split": d.split, "weeks": d.weeks,
                     "observed": {"placebo_responders": placebo["responders"], "placebo_n": placebo["n"],
                                  "drug_responders": sum(a["responders"] for a in mine) if obs_ok else None,
                                  "drug_n": sum(a["n"] for a in mine)} if obs_ok else None,
                     "simulated": {"placebo_responders": counts[placebo["id"]][0], "placebo_n": counts[placebo["id"]][1],
                                   "drug_responders": sum(counts[a["id"]][0] for a in mine),
                                   "drug_n": sum(counts[a["id"]][1] for a in mine)},
                     "regimens": [a["regimen"] for a in mine], "notes": list(d.notes),
                     "warnings": list(res.warnings)})
    return rows


def run_chunk(chunk: list[RegistryDesign], seed: int) -> list[dict]:
    """Simulate a chunk of registry trials (the unit of work on Dask)."""
    return [row for d in chunk for row in simulate_design(d, seed)]


# ---------------------------------------------------------------- analysis
def log_or(x1: float, n1: float, x2: float, n2: float) -> tuple[float, float, float]:
    """Log odds ratio of group 1 against group 2 and its SE, by metafor's ``escalc("OR")`` (0.5 added to every
    cell of a table with a zero), and the two-sided Wald p-value."""
    from ..evidence.effect_sizes import escalc
    es = escalc("OR", pd.DataFrame({"ai": [x1], "n1i": [n1], "ci": [x2], "n2i": [n2]}))
    y, se = float(es.yi[0]), math.sqrt(float(es.vi[0]))
    return y, se, float(2 * stats.norm.sf(abs(y / se)))


def _effects(counts: dict) -> dict:
    y, se, p = log_or(counts["drug_responders"], counts["drug_n"], counts["placebo_responders"], counts["placebo_n"])
    return {**counts, "placebo_response": counts["placebo_responders"] / counts["placebo_n"],
            "drug_response": counts["drug_responders"] / counts["drug_n"], "log_or": y, "se": se, "p": p,
            "significant": bool(p < 0.05)}


def _summary(rows: list[dict], side: str) -> dict:
    pr = sum(r[side]["placebo_responders"] for r in rows) / sum(r[side]["placebo_n"] for r in rows)
    y = np.array([r[side]["log_or"] for r in rows])
    by_era = {}
    for era in ("before 1991", "1991 on", "unpublished"):
        g = [r for r in rows if r["era"] == era]
        if g:
            by_era[era] = {"k": len(g), "placebo_response": sum(r[side]["placebo_responders"] for r in g)
                           / sum(r[side]["placebo_n"] for r in g)}
    return {"placebo_response": pr, "mean_log_or": float(y.mean()), "sd_log_or": float(y.std(ddof=1)) if y.size > 1 else None,
            "share_significant": float(np.mean([r[side]["significant"] for r in rows])), "by_era": by_era}


def _by_drug(rows: list[dict]) -> dict:
    from ..evidence.effect_sizes import EffectSizes, wald_interval
    from ..evidence.meta import rma
    out = {}
    for drug in sorted({r["drug"] for r in rows}):
        g = [r for r in rows if r["drug"] == drug]
        d = {"k": len(g)}
        for side in ("observed", "simulated"):
            y = np.array([r[side]["log_or"] for r in g])
            v = np.array([r[side]["se"] ** 2 for r in g])
            if len(g) >= 2:
                m = rma(EffectSizes(y, v, "OR", [r["study"] for r in g]), method="REML")
                d[side] = {"OR": math.exp(m.beta), "OR_ci_lb": math.exp(m.ci_lb), "OR_ci_ub": math.exp(m.ci_ub),
                           "tau2": m.tau2}
            else:
                lo, hi = wald_interval(y[0], math.sqrt(v[0]))
                d[side] = {"OR": math.exp(y[0]), "OR_ci_lb": math.exp(lo), "OR_ci_ub": math.exp(hi), "tau2": None}
        out[drug] = d
    return out


#: how each comparison is analysed, observed and simulated alike
ANALYSIS = ("response >= 50 % MADRS reduction at the last visit, LOCF, over the patients randomised; log OR with "
            "Wald SE and two-sided Wald test")


def summary_frame(s: dict) -> pd.DataFrame:
    """Observed against simulated placebo response, mean and SD of the log OR and share significant (the rows of
    :meth:`VirtualRegistry.summary_dict`)."""
    return pd.DataFrame([{"quantity": k, "observed": s[k]["observed"], "simulated": s[k]["simulated"]}
                         for k in ("placebo_response", "mean_log_or", "sd_log_or", "share_significant")]
                        ).set_index("quantity")


@dataclass
class VirtualRegistry(NotebookDisplay):
    """The simulated registry beside the observed one: per comparison and in summary."""

    split: str
    seed: int
    rows: list[dict]
    not_modelled: list[dict]
    no_observed: list[dict]
    model: str
    warnings: list[str] = field(default_factory=list)

    def summary_dict(self) -> dict:
        obs, sim = _summary(self.rows, "observed"), _summary(self.rows, "simulated")
        out = {k: {"observed": obs[k], "simulated": sim[k]}
               for k in ("placebo_response", "mean_log_or", "sd_log_or", "share_significant")}
        out["k"] = len(self.rows)
        out["by_era"] = {e: {"k": obs["by_era"][e]["k"], "placebo_response": {
            "observed": obs["by_era"][e]["placebo_response"], "simulated": sim["by_era"][e]["placebo_response"]}}
            for e in obs["by_era"]}
        out["by_drug"] = _by_drug(self.rows)
        return out

    def to_dict(self) -> dict:
        return {"summary": self.summary_dict(), "split": self.split,
                "trials": [{k: r[k] for k in ("study", "drug", "year", "era", "split", "weeks", "observed", "simulated",
                                              "regimens", "notes")} for r in self.rows],
                "no_observed_response": self.no_observed, "not_modelled": self.not_modelled,
                "warnings": list(self.warnings),
                "provenance": {"model": self.model, "adpharm": __version__, "seed": self.seed, "replicates": 1,
                               "registry": "cipriani2018 (GRISELDA, CC BY 4.0)", "population": POPULATION,
                               "analysis": ANALYSIS,
                               "split_rule": "SHA-256 of StudyID: even first byte = calibration"}}

    def text(self) -> str:
        """What was simulated and how it was analysed, observed against simulated in summary, the placebo
        response by era and each drug's random-effects odds ratio."""
        s = self.summary_dict()
        head = (f"Virtual registry, {self.split} half: {s['k']} comparisons (trial x modelled drug) of the GRISELDA "
                f"registry; {len(self.not_modelled)} placebo-controlled trials not modelled, {len(self.no_observed)} "
                f"comparisons without observed responders\nsimulated with {self.model}, seed {self.seed}; "
                f"{ANALYSIS}\n")
        body = table_text(summary_frame(s), ".3f", index=True) + "\n\nplacebo response by era (observed / simulated):\n"
        body += "".join(f"  {e}: {v['placebo_response']['observed']:.3f} / {v['placebo_response']['simulated']:.3f} "
                        f"({v['k']} trials)\n" for e, v in s["by_era"].items())
        body += "\nper drug, random-effects OR against placebo (observed / simulated):\n"
        body += "".join(f"  {k:<14} k {v['k']:>3}  {v['observed']['OR']:.2f} / {v['simulated']['OR']:.2f}\n"
                        for k, v in s["by_drug"].items())
        return head + body

    def summary(self) -> pd.DataFrame:
        return summary_frame(self.summary_dict())

    def to_frame(self) -> pd.DataFrame:
        """One row per comparison: observed and simulated response rates, log OR, SE and significance."""
        recs = []
        for r in self.rows:
            rec = {k: r[k] for k in ("study", "drug", "year", "era", "split", "weeks")}
            for side in ("observed", "simulated"):
                for k in ("placebo_responders", "placebo_n", "drug_responders", "drug_n", "placebo_response",
                          "drug_response", "log_or", "se", "p", "significant"):
                    rec[f"{side}_{k}"] = r[side][k]
            recs.append(rec)
        return pd.DataFrame(recs)

    def plot(self, ax=None):
        """Simulated against observed log odds ratio, one point per comparison."""
        from ..figures import pyplot
        plt = pyplot()
        ax = ax or plt.subplots(figsize=(5, 5), constrained_layout=True)[1]
        f = self.to_frame()
        ax.scatter(f["observed_log_or"], f["simulated_log_or"], s=12, alpha=0.6)
        lo, hi = float(min(f["observed_log_or"].min(), f["simulated_log_or"].min())), \
            float(max(f["observed_log_or"].max(), f["simulated_log_or"].max()))
        ax.plot([lo, hi], [lo, hi], color="grey", lw=0.8, ls="--")
        ax.set(xlabel="observed log OR (response vs placebo)", ylabel="simulated log OR",
               title=f"Virtual registry, {self.split} half: {len(f)} comparisons")
        ax.figure.suptitle(f"{self.model}; seed {self.seed}; research use only", fontsize=7)
        return ax


def virtual_registry(split: Split = "holdout", drugs: list[str] | None = None, seed: int = 1, *,
                     workers: int | None = 0, scheduler: str | None = None, progress=False,
                     chunk_size: int = 8) -> VirtualRegistry:
    """Simulate every placebo-controlled registry trial of a modelled drug in ``split``, one replicate each.

    Parameters
    ----------
    split : {"calibration", "holdout", "all"}
    drugs : keep trials with an arm of these drugs (default every modelled drug)
    seed : the run's seed; each trial's own seed comes from it and the trial's id (:func:`seed_for`)
    workers, scheduler : 0 runs in this process; otherwise a Dask LocalCluster of ``workers`` processes or an
        existing scheduler (the results do not depend on how the trials are split into chunks)
    progress : a progress bar on stderr, or a callback ``(done, total)``

    References
    ----------
    Cipriani A, et al. (2018) Lancet 391:1357-1366. doi:10.1016/S0140-6736(17)32802-7

    Examples
    --------
    >>> r = virtual_registry("holdout", drugs=["citalopram"], seed=1)      # doctest: +SKIP
    >>> r.summary().index.tolist()                                           # doctest: +SKIP
    ['placebo_response', 'mean_log_or', 'sd_log_or', 'share_significant']
    """
    from ..mechanism.model import load
    from ..mechanism.simulate import model_version
    from .power import Executor, Progress
    from .known_misses import warnings_for
    ds, not_modelled = designs(split, drugs)
    chunks = [ds[i:i + chunk_size] for i in range(0, len(ds), chunk_size)]
    bar = Progress(len(ds), progress, "virtual registry")
    with Executor(workers, scheduler) as ex:
        parts = ex.map(run_chunk, [(c, seed) for c in chunks], bar, size=lambda a: len(a[0]))
    rows = [r for part in parts for r in part]
    complete = [r for r in rows if r["observed"] is not None]
    for r in complete:
        r["observed"] = _effects(r["observed"])
        r["simulated"] = _effects(r["simulated"])
    no_obs = [{"study": r["study"], "drug": r["drug"], "reason": "responders not reported for every arm"}
              for r in rows if r["observed"] is None]
    if not complete:
        raise AdpharmInputError(f"split {split!r}: no selected trial reports responders in every arm")
    warns = sorted({w for r in rows for w in r["warnings"]}) + warnings_for("registry")
    return VirtualRegistry(split=split, seed=seed, rows=complete, not_modelled=not_modelled, no_observed=no_obs,
                           model=model_version(load()), warnings=warns)
