"""Simulate a drug under a regimen, for one patient or a virtual population.

:func:`simulate` is the entry point: it parses the regimen, builds the drug's compartment model
from the knowledge base, draws covariates and between-subject variability with a seed, solves
the linear system exactly (:mod:`.solver`) in chunks of subjects, and returns a
:class:`PKResult` with plasma concentrations and the non-compartmental summary.

Population draws: log-normal parameters ``P_i = P_typical * exp(eta_i)``, ``eta ~ N(0, Omega)``
with ``omega^2 = ln(1 + CV^2)`` and the published correlations; every random number comes from
``numpy.random.default_rng(seed)`` before any simulation, so the same seed gives the same
subjects whatever the chunk size.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from ..io import jsonable
from ..knowledge.loader import KnowledgeBase, or_bundled
from . import nca
from .inactivation import (MAX_SUBSTEP_H, InactivationWeights, activity_profile, inactivation_weights, onset_h,
                           recovery_note)
from .model import (NO_INHIBITOR, PHENOTYPE_ACTIVITY_SCORE, REFERENCE_AGE_Y, REFERENCE_PHENOTYPE, REFERENCE_SEX,
                    REFERENCE_WEIGHT_KG, CompartmentModel, Covariates)
from .regimen import Regimen, check_weight, parse_regimen
from .solver import propagate
from ..display import NotebookDisplay, table_text

MODEL_VERSION = f"adpharm.pharmacology {__version__} (linear compartments, exact matrix-exponential solution)"
#: CYP2D6 phenotype frequencies for ``phenotype="mixed"``: the middle of the ranges in the CPIC
#: TCA guideline Table 1 (UM 1-2 %, IM 2-11 %, PM 5-10 %; NM the rest) (Hicks 2017).
PHENOTYPE_FREQUENCIES = {"PM": 0.075, "IM": 0.065, "NM": 0.845, "UM": 0.015}
PERCENTILES = (5, 50, 95)
MAX_SUBJECTS = 10_000_000


def model_for(drug: str, kb: KnowledgeBase | None = None) -> CompartmentModel:
    """The compartment model of a bundled drug, or a clear error naming what is missing."""
    kb = or_bundled(kb)
    from ..knowledge.query import resolve
    kind, d = resolve(drug)
    if kind != "drug":
        raise AdpharmInputError(f"{drug!r} is a class; simulate one of its drugs", field="drug")
    spec = kb.pk_models.get(d)
    if spec is None:
        have = ", ".join(sorted(kb.pk_models))
        raise AdpharmInputError(f"{d!r} has no sourced PK parameter set (drugs with one: {have})", field="drug")
    return CompartmentModel(d, spec)


def _spread(v: np.ndarray) -> dict[str, float]:
    """One subject's value, or the 5th/50th/95th percentiles of a population (NaN where none is finite)."""
    if v.size == 1:
        return {"value": float(v[0])}
    ok = np.isfinite(v).any()
    return {f"p{p}": float(np.nanpercentile(v, p)) if ok else float("nan") for p in PERCENTILES}


@dataclass
class PKResult(NotebookDisplay):
    """Concentrations and NCA of one simulation. ``conc_ng_per_ml`` is ``(subject, time, analyte)``."""

    drug: str
    regimen: str
    times_h: np.ndarray
    analytes: list[str]
    conc_ng_per_ml: np.ndarray | None
    nca: pd.DataFrame
    covariates: pd.DataFrame
    seed: int | None
    warnings: list[str] = field(default_factory=list)
    sources: dict[str, list[str]] = field(default_factory=dict)
    #: active fraction ``(subject, time)`` of each enzyme the drug inactivates irreversibly (MAO-A)
    enzyme_activity: dict[str, np.ndarray] | None = None
    enzyme_sources: dict[str, dict] = field(default_factory=dict)
    #: per enzyme and subject: lowest activity, activity at the end, and hours to 50 % inhibition
    enzyme_summary: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: parameters resting on unverified, calibrated or low-confidence facts (:func:`flagged_parameters`)
    flagged: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.covariates)

    def enzyme_table(self) -> pd.DataFrame:
        """One row per inactivated enzyme and measure (``min_activity``, ``end_activity``,
        ``onset_h``: time to 50 % inhibition): the value, or the 5th/50th/95th percentiles."""
        rows = []
        for target, df in self.enzyme_summary.items():
            for m in ("min_activity", "end_activity", "onset_h"):
                rows.append({"enzyme": target, "measure": m, **_spread(df[m].to_numpy(float))})
        return pd.DataFrame(rows)

    def tidy(self) -> pd.DataFrame:
        """Long table ``subject, time_h, analyte, conc_ng_per_ml`` of the kept profiles."""
        if self.conc_ng_per_ml is None:
            raise AdpharmInputError("profiles were not kept; simulate with keep_profiles=True")
        s, t, a = self.conc_ng_per_ml.shape
        return pd.DataFrame({
            "subject": np.repeat(np.arange(1, s + 1), t * a),
            "time_h": np.tile(np.repeat(self.times_h, a), s),
            "analyte": np.tile(np.asarray(self.analytes, dtype=object), s * t),
            "conc_ng_per_ml": self.conc_ng_per_ml.reshape(-1),
        })

    def summary(self) -> pd.DataFrame:
        """One row per analyte and measure: the value (one subject) or the 5th/50th/95th percentiles."""
        rows = []
        measures = [c for c in self.nca.columns if c not in ("subject", "analyte", "half_life_adj_r2")]
        for a in self.analytes:
            sub = self.nca[self.nca["analyte"] == a]
            for m in measures:
                rows.append({"analyte": a, "measure": m, **_spread(sub[m].to_numpy(float))})
        return pd.DataFrame(rows)

    def title(self) -> str:
        """``drug: regimen (n subjects, seed s)``: the first line of the text of this run."""
        return f"{self.drug}: {self.regimen} ({self.n} subject{'s' if self.n > 1 else ''}, seed {self.seed})"

    def text(self) -> str:
        """The run's title, its NCA table, why a measure is not estimable, the parameters resting on weak facts
        and, for an irreversible inhibitor, the enzyme's inactivation and recovery."""
        summary = self.summary()
        text = self.title() + "\n" + table_text(summary, ".4g") + "\n"
        if summary.isna().to_numpy().any():
            text += ("n/a: not estimable from the simulated window (a half-life needs at least 3 points after the "
                     "peak spanning the half-life itself; simulate longer with `hours`)\n")
        if self.flagged:
            text += "flagged parameters: " + "; ".join(self.flagged) + "\n"
        if self.enzyme_summary:
            text += ("\nirreversible enzyme inactivation (activity as a fraction of baseline; onset_h: hours to 50 % "
                     "inhibition):\n" + table_text(self.enzyme_table(), ".4g") + "\n")
        return text

    def provenance(self) -> dict:
        return {"model_version": MODEL_VERSION, "seed": self.seed, "n_subjects": self.n, "drug": self.drug,
                "regimen": self.regimen, "parameter_sources": self.sources, "flagged_parameters": self.flagged,
                "note": "simulation; typical subject when n = 1 (no between-subject variability)"}

    def to_dict(self) -> dict:
        summ: dict[str, dict] = {}
        for row in self.summary().to_dict("records"):
            a, m = row.pop("analyte"), row.pop("measure")
            val = row["value"] if self.n == 1 else row
            summ.setdefault(a, {})[m] = jsonable(val)
        out = {"summary": summ, "warnings": self.warnings, "provenance": self.provenance()}
        if self.enzyme_summary:
            enz: dict[str, dict] = {}
            for row in self.enzyme_table().to_dict("records"):
                t, m = row.pop("enzyme"), row.pop("measure")
                enz.setdefault(t, {})[m] = jsonable(row["value"] if self.n == 1 else row)
            for t in enz:
                if self.enzyme_activity is not None and t in self.enzyme_activity:
                    a = self.enzyme_activity[t]
                    enz[t]["time_course"] = {"time_h": jsonable(self.times_h),
                                             "activity": jsonable(a[0] if self.n == 1 else np.median(a, axis=0))}
                enz[t]["model"] = self.enzyme_sources.get(t, {})
            out["enzyme_activity"] = enz
        return out

    def plot(self, ax=None, analytes: list[str] | None = None):
        """Concentration-time curves (median and 5-95 % band for a population), log scale."""
        from ..figures import pyplot
        plt = pyplot()
        if self.conc_ng_per_ml is None:
            raise AdpharmInputError("profiles were not kept; simulate with keep_profiles=True")
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        for i, a in enumerate(self.analytes):
            if analytes and a not in analytes:
                continue
            c = self.conc_ng_per_ml[:, :, i]
            if c.shape[0] == 1:
                ax.plot(self.times_h, c[0], label=a)
            else:
                lo, med, hi = np.percentile(c, PERCENTILES, axis=0)
                line, = ax.plot(self.times_h, med, label=f"{a} (median)")
                ax.fill_between(self.times_h, lo, hi, color=line.get_color(), alpha=0.2)
        ax.set_xlabel("time (h)")
        ax.set_ylabel("plasma concentration (ng/mL)")
        ax.set_title(f"{self.drug}: {self.regimen}")
        ax.legend(loc="upper left")
        if self.enzyme_activity:
            ax2 = ax.twinx()
            for target, a in self.enzyme_activity.items():
                ax2.plot(self.times_h, 100 * np.median(a, axis=0), color="k", ls="--", label=f"{target} activity")
            ax2.set_ylabel("enzyme activity (% of baseline)")
            ax2.set_ylim(0, 105)
            ax2.legend(loc="upper right")
        return ax


def default_hours(regimen: Regimen) -> float:
    """Simulate two days past the last dose of a finite regimen, or 7 days of an open-ended one."""
    last = regimen.phases[-1]
    if last.interval_h is None and last.week_days is None:
        ev = regimen.events(until_h=1e6)
        return ev[-1].time_h + 48.0
    if last.course_h is None:
        return 7 * 24.0
    ev = regimen.events(until_h=1e6)
    return ev[-1].time_h + 48.0


def default_step_h(hours: float) -> float:
    return 1 / 12 if hours <= 48 else (0.25 if hours <= 24 * 7 else 1.0)


def draw_covariates(n: int, rng: np.random.Generator, weight_kg=REFERENCE_WEIGHT_KG, age_y=REFERENCE_AGE_Y,
                    sex=REFERENCE_SEX, phenotype=REFERENCE_PHENOTYPE, cyp2d6_inhibitor: str = NO_INHIBITOR) -> Covariates:
    """Covariates of ``n`` subjects; ``phenotype="mixed"`` draws CYP2D6 phenotypes from
    :data:`PHENOTYPE_FREQUENCIES`; ``cyp2d6_inhibitor`` (none, moderate, strong) is co-medication."""
    if isinstance(phenotype, str) and phenotype == "mixed":
        names = list(PHENOTYPE_FREQUENCIES)
        phenotype = rng.choice(np.asarray(names, dtype=object), size=n, p=list(PHENOTYPE_FREQUENCIES.values()))
    elif isinstance(phenotype, str) and phenotype not in PHENOTYPE_ACTIVITY_SCORE:
        raise AdpharmInputError(f"{phenotype!r} is not one of PM, IM, NM, UM, mixed", field="phenotype")
    check_weight(weight_kg)
    return Covariates.of(n, weight_kg, age_y, sex, phenotype, cyp2d6_inhibitor)


@dataclass(frozen=True)
class PatientCovariates:
    """Who the virtual patients are, as a caller gives it: each covariate a scalar shared by all
    patients or an array with one value per patient (:func:`draw_covariates` draws them).

    Parameters
    ----------
    weight_kg : float or array
        Body weight; scales mg/kg doses and, allometrically, clearances and volumes.
    age_y : float or array
        Age in years.
    sex : {"female", "male"} or array
    phenotype : {"PM", "IM", "NM", "UM", "mixed"} or array
        CYP2D6 phenotype; ``"mixed"`` draws it from :data:`PHENOTYPE_FREQUENCIES`.
    cyp2d6_inhibitor : {"none", "moderate", "strong"}
        Co-medication that inhibits CYP2D6.

    Examples
    --------
    >>> cov = PatientCovariates(weight_kg=60.0, phenotype="PM")
    >>> c = cov.draw(3, np.random.default_rng(0))
    >>> c.weight_kg.tolist(), c.phenotype.tolist()
    ([60.0, 60.0, 60.0], ['PM', 'PM', 'PM'])
    """

    weight_kg: float | np.ndarray = REFERENCE_WEIGHT_KG
    age_y: float | np.ndarray = REFERENCE_AGE_Y
    sex: str | np.ndarray = REFERENCE_SEX
    phenotype: str | np.ndarray = REFERENCE_PHENOTYPE
    cyp2d6_inhibitor: str = NO_INHIBITOR

    def draw(self, n: int, rng: np.random.Generator) -> Covariates:
        """The covariates of ``n`` patients (phenotypes drawn with ``rng`` when ``"mixed"``)."""
        return draw_covariates(n, rng, self.weight_kg, self.age_y, self.sex, self.phenotype, self.cyp2d6_inhibitor)


def iiv_covariance(model: CompartmentModel) -> tuple[list[str], np.ndarray]:
    """The names of the parameters with between-subject variability and the covariance matrix of their
    log-normal random effects ``eta`` (variances ``log(1 + CV^2)``, with the sourced correlations)."""
    names = model.iiv_names()
    if not names:
        return [], np.zeros((0, 0))
    iiv = model.spec.iiv
    sd = np.sqrt(np.log1p((np.array([iiv.cv_pct[k] for k in names]) / 100.0) ** 2))
    corr = np.eye(len(names))
    for key, r in iiv.correlations.items():
        a, _, b = key.partition("~")
        if a not in names or b not in names or not -1 < r < 1:
            raise AdpharmInputError(f"pk_models.yaml: field {model.drug}.iiv.correlations: bad entry {key!r}: {r}")
        i, j = names.index(a), names.index(b)
        corr[i, j] = corr[j, i] = r
    return names, corr * np.outer(sd, sd)


def draw_etas(model: CompartmentModel, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Between-subject random effects ``eta`` (one array of length ``n`` per parameter)."""
    names, cov = iiv_covariance(model)
    if not names or n == 1:
        return {}
    z = rng.standard_normal((n, len(names))) @ np.linalg.cholesky(cov).T
    return {k: z[:, i] for i, k in enumerate(names)}


def dose_warnings(model: CompartmentModel, regimen: Regimen, until_h: float, weight_kg, age_y=None) -> list[str]:
    """Warnings for doses above the labelled maximum in the knowledge base (simulated anyway), and above a
    lower maximum for patients older than an age when ``age_y`` is."""
    lim = model.spec.dose_limit
    if lim is None:
        return []
    w = float(np.max(np.atleast_1d(weight_kg)))
    events = regimen.events(until_h)
    out = []
    src = ", ".join(lim.refs)
    doses = np.array([float(np.max(e.dose_mg(w))) for e in events])
    times = np.array([e.time_h for e in events])
    if lim.single_mg and doses.size and doses.max() > lim.single_mg:
        out.append(f"dose {doses.max():g} mg is above the labelled maximum single dose of {lim.single_mg:g} mg "
                   f"for {model.drug} [{src}]; simulated anyway")
    per_kg = [e.dose for e in events if e.dose_unit == "mg/kg"] or [e.dose_mg(w) / w for e in events]
    if lim.single_mg_per_kg and per_kg and max(per_kg) > lim.single_mg_per_kg:
        out.append(f"dose {max(per_kg):g} mg/kg is above {lim.single_mg_per_kg:g} mg/kg, the top of the labelled "
                   f"range for {model.drug} [{src}]; simulated anyway")
    daily = max(doses[(times >= t) & (times < t + 24 - 1e-9)].sum() for t in times) if doses.size else 0.0
    if lim.daily_mg and daily > lim.daily_mg:
        out.append(f"{daily:g} mg in 24 h is above the labelled maximum of {lim.daily_mg:g} mg/day for "
                   f"{model.drug} [{src}]; simulated anyway")
    old = lim.older
    if old is not None and age_y is not None and float(np.max(np.atleast_1d(age_y))) > old.older_than_y \
            and daily > old.daily_mg:
        why = f" ({old.note})" if old.note else ""
        out.append(f"{daily:g} mg in 24 h is above the labelled maximum of {old.daily_mg:g} mg/day for {model.drug} "
                   f"over age {old.older_than_y:g}{why} [{', '.join(old.refs)}]; simulated anyway")
    return out


#: the cited parameters of an analyte that outputs name with their sources and flags
ANALYTE_PARAMETERS = ("cl_l_per_h", "v1_l", "q_l_per_h", "v2_l", "q2_l_per_h", "v3_l", "fm", "fu", "brain_rel_to_parent")


def flagged_parameters(model: CompartmentModel) -> list[str]:
    """Parameters of the model that rest on a fact flagged unverified or of stated low confidence, as
    ``"analyte.parameter (flags)"`` (calibrated ones say so too): outputs name them beside the numbers."""
    named = [(f"{a.name}.{name}", getattr(a, name)) for a in model.analytes
             for name in ANALYTE_PARAMETERS]
    named += [(f"{a.name} {target} inactivation", spec) for a in model.analytes for target, spec in a.inactivation.items()]
    named += [(f"{route} {name}", getattr(path, name)) for route, rs in model.spec.routes.items()
              for path in rs.paths for name in ("f", "ka_per_h")]
    out = []
    for label, p in named:
        if p is not None and (not p.verified or p.confidence == "low"):
            flags = ([] if p.verified else ["unverified"]) + (["calibrated"] if p.basis == "calibrated" else []) + \
                (["confidence low"] if p.confidence == "low" else [])
            out.append(f"{label} ({', '.join(flags)})")
    return out


def _sources(model: CompartmentModel) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for a in model.analytes:
        refs: list[str] = []
        for name in ANALYTE_PARAMETERS:
            p = getattr(a, name)
            if p is not None:
                refs += [f"{r}" + (f" ({p.fact})" if p.fact else "") for r in p.refs]
        out[a.name] = sorted(set(refs))
    routes = []
    for rs in model.spec.routes.values():
        for path in rs.paths:
            for p in (path.f, path.ka_per_h, path.tlag_h):
                if p is not None:
                    routes += [f"{r}" + (f" ({p.fact})" if p.fact else "") for r in p.refs]
    out["absorption"] = sorted(set(routes))
    return out


def _setup(drug, regimen, hours, step_h, covariates: PatientCovariates, n, seed, kb):
    """Model, regimen, output times, dose events, covariates and random effects: every check made here."""
    kb = or_bundled(kb)
    model = model_for(drug, kb)
    reg = regimen if isinstance(regimen, Regimen) else parse_regimen(regimen)
    for r in reg.routes:
        model.check_route(r)
    if not isinstance(n, (int, np.integer)) or n < 1 or n > MAX_SUBJECTS:
        raise AdpharmInputError(f"{n} must be a whole number from 1 to {MAX_SUBJECTS:,}", field="n")
    hours = default_hours(reg) if hours is None else float(hours)
    if not math.isfinite(hours) or hours <= 0:
        raise AdpharmInputError(f"{hours:g} must be positive", field="hours")
    step_h = default_step_h(hours) if step_h is None else float(step_h)
    if step_h <= 0 or hours / step_h > 200_000:
        raise AdpharmInputError(f"step: {step_h:g} h is not a usable output step for {hours:g} h")
    times = np.round(np.arange(0.0, hours + step_h / 2, step_h), 9)
    events = reg.events(until_h=hours)
    if not events:
        raise AdpharmInputError(f"regimen {reg.text!r}: no dose falls within {hours:g} h")
    rng = np.random.default_rng(seed)
    cov = covariates.draw(n, rng)
    etas = draw_etas(model, n, rng)
    return model, reg, hours, times, events, cov, etas


def simulate(drug: str, regimen: str | Regimen, *, hours: float | None = None, step_h: float | None = None,
             covariates: PatientCovariates | None = None, n: int = 1, seed: int | None = None,
             chunk_size: int = 20_000, keep_profiles: bool | None = None, kb: KnowledgeBase | None = None) -> PKResult:
    """Simulate plasma concentrations of ``drug`` and its metabolites under ``regimen``.

    Parameters
    ----------
    drug : a bundled drug with a PK parameter set.
    regimen : a regimen string (see :mod:`.regimen`) or a parsed :class:`Regimen`.
    hours, step_h : simulated time and output step (defaults from the regimen).
    covariates : who the subjects are (:class:`PatientCovariates`: weight, age, sex, CYP2D6 phenotype or
        ``"mixed"``, CYP2D6 inhibitor co-medication); default the reference patient.
    n, seed : number of virtual subjects and the seed; ``n = 1`` is the typical subject.
    keep_profiles : keep every concentration profile (default: when n * times <= 5e7).

    Returns
    -------
    PKResult

    Examples
    --------
    >>> r = simulate("imipramine", "75 mg po daily", hours=72, n=20, seed=1)
    >>> r.analytes
    ['imipramine', 'desipramine']
    >>> r.summary().columns[:2].tolist()
    ['analyte', 'measure']
    """
    model, reg, hours, times, events, cov, etas = _setup(drug, regimen, hours, step_h,
                                                         covariates or PatientCovariates(), n, seed, kb)
    warnings = dose_warnings(model, reg, hours, cov.weight_kg, cov.age_y)
    keep = (n * times.size * len(model.analytes) <= 5e7) if keep_profiles is None else keep_profiles
    profiles = [] if keep else None
    tables = []
    last_dose = max(e.time_h for e in events)
    interval = reg.interval_h()
    weights = inactivation_weights(model, kb)
    enzymes = _EnzymeRun(model, weights, times) if weights else None
    if enzymes is not None:
        chunk_size = min(chunk_size, enzymes.chunk_size)
    for start in range(0, n, chunk_size):
        sl = slice(start, min(n, start + chunk_size))
        if enzymes is None:
            conc = solve_chunk(model, events, times, cov, etas, sl)
        else:
            conc = enzymes.run(solve_chunk(model, events, enzymes.fine_times, cov, etas, sl), keep)
        if profiles is not None:
            profiles.append(conc)
        tables.append(_nca_table(model, times, conc, last_dose, interval, start))
    table = pd.concat(tables, ignore_index=True)
    cov_df = pd.DataFrame({"subject": np.arange(1, n + 1), "weight_kg": cov.weight_kg, "age_y": cov.age_y,
                           "sex": cov.sex, "cyp2d6_phenotype": cov.phenotype})
    res = PKResult(drug=model.drug, regimen=reg.text, times_h=times, analytes=model.analyte_names,
                   conc_ng_per_ml=np.concatenate(profiles) if profiles is not None else None, nca=table,
                   covariates=cov_df, seed=seed, warnings=warnings, sources=_sources(model),
                   flagged=flagged_parameters(model))
    if enzymes is not None:
        enzymes.finish(res)
        note = recovery_note(model.drug, kb)
        if note:
            res.warnings.append(note)
    return res


class _EnzymeRun:
    """Irreversible enzyme inactivation alongside the PK: concentrations on a grid fine enough for
    the activity (:data:`~.inactivation.MAX_SUBSTEP_H`), activity kept at the output times."""

    def __init__(self, model: CompartmentModel, weights: dict[str, InactivationWeights], times: np.ndarray):
        self.weights = weights
        step = float(times[1] - times[0]) if times.size > 1 else MAX_SUBSTEP_H
        self.every = max(1, int(math.ceil(step / MAX_SUBSTEP_H - 1e-9)))
        self.fine_times = np.round(np.linspace(times[0], times[-1], (times.size - 1) * self.every + 1), 9)
        # bound the fine grid of a chunk to about 2e7 numbers
        self.chunk_size = max(1, int(2e7 // (self.fine_times.size * len(model.analytes))))
        self.activity: dict[str, list[np.ndarray]] = {t: [] for t in self.weights}
        self.summary: dict[str, list[np.ndarray]] = {t: [] for t in self.weights}

    def run(self, fine_conc: np.ndarray, keep: bool) -> np.ndarray:
        for t, w in self.weights.items():
            e = activity_profile(self.fine_times, fine_conc, w, w.k_syn_per_h)
            self.summary[t].append(np.column_stack([e.min(axis=1), e[:, -1], onset_h(self.fine_times, e)]))
            if keep:
                self.activity[t].append(e[:, ::self.every])
        return fine_conc[:, ::self.every, :]

    def finish(self, res: PKResult) -> None:
        res.enzyme_summary = {t: pd.DataFrame(np.concatenate(v), columns=["min_activity", "end_activity", "onset_h"])
                              for t, v in self.summary.items()}
        if all(self.activity.values()):
            res.enzyme_activity = {t: np.concatenate(v) for t, v in self.activity.items()}
        res.enzyme_sources = {t: {"model": "dE/dt = k_syn (1 - E) - k_inact(C) E; onset_h: first time with 50 % "
                                           "inhibition", "resynthesis": w.resynthesis,
                                  "inactivation": w.sources} for t, w in self.weights.items()}


def subject_system(model: CompartmentModel, events, cov: Covariates, etas: dict[str, np.ndarray]):
    """Individual parameters, system matrices, dose inputs and the autoinhibition update (None for a
    linear drug) for the subjects in ``cov``: ``(p, a, boluses, infusions, update)``."""
    p = model.typical(cov)
    model.apply_iiv(p, etas)
    boluses, infusions = model.inputs(events, cov.weight_kg)
    return p, model.matrix(p), boluses, infusions, model.autoinhibition(p)


def solve_chunk(model: CompartmentModel, events, times, cov: Covariates, etas, sl: slice) -> np.ndarray:
    """Concentrations ``(subjects, times, analytes)`` in ng/mL of the subjects ``sl`` of ``cov``/``etas``."""
    sub = cov.subset(sl)
    p, a, boluses, infusions, update = subject_system(model, events, sub, {k: v[sl] for k, v in etas.items()})
    return model.concentrations_ng_per_ml(propagate(a, times, boluses, infusions, update),
                                          model.central_volumes_l(p)[:, None, :])


def _nca_table(model, times, conc, last_dose, interval, offset) -> pd.DataFrame:
    frames = []
    first = 0.0
    for i, a in enumerate(model.analyte_names):
        m = nca.summarise(times, conc[:, :, i], last_dose, interval, first)
        df = pd.DataFrame(m)
        df.insert(0, "analyte", a)
        df.insert(0, "subject", np.arange(offset + 1, offset + conc.shape[0] + 1))
        frames.append(df)
    return pd.concat(frames, ignore_index=True)


def _setup_from(args: dict):
    """:func:`_setup` from the keyword arguments of :func:`simulate` given as a dict."""
    a = {"hours": None, "step_h": None, "covariates": None, "n": 1, "seed": None, "kb": None, **args}
    return a["n"], _setup(a["drug"], a["regimen"], a["hours"], a["step_h"], a["covariates"] or PatientCovariates(),
                          a["n"], a["seed"], or_bundled(a["kb"]))


def regimen_warnings(args: dict) -> list[str]:
    """The dose warnings :func:`simulate` would give for these arguments, without solving anything."""
    _, (model, reg, hours, _, _, cov, _) = _setup_from(args)
    return dose_warnings(model, reg, hours, cov.weight_kg, cov.age_y)


def iter_profiles(args: dict, chunk_size: int = 20_000) -> Iterator[pd.DataFrame]:
    """Stream the tidy table of a large population chunk by chunk (the same subjects as :func:`simulate`
    with the same arguments: drug, regimen, hours, step_h, covariates, n, seed)."""
    n, (model, reg, _, times, events, cov, etas) = _setup_from(args)
    for start in range(0, n, chunk_size):
        sl = slice(start, min(n, start + chunk_size))
        conc = solve_chunk(model, events, times, cov, etas, sl)
        s, t, k = conc.shape
        yield pd.DataFrame({
            "subject": np.repeat(np.arange(start + 1, start + s + 1), t * k),
            "time_h": np.tile(np.repeat(times, k), s),
            "analyte": np.tile(np.asarray(model.analyte_names, dtype=object), s * t),
            "conc_ng_per_ml": conc.reshape(-1),
        })
