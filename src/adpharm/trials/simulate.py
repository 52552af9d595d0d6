"""Simulate a trial protocol: screening, lead-in, randomisation, dosing, ratings, dropout.

Virtual patients come from the mechanism model (:mod:`adpharm.mechanism`): each has a screening
MADRS, a placebo responsiveness, a sensitivity to the plasticity state and rater errors at every
visit, drawn exactly as :func:`adpharm.mechanism.symptoms.draw_patients` draws them, and each
drug arm's patients get their own PK (covariates and random effects) and are solved through the
cascade at the protocol's visit times. The rated score at a visit ``t`` hours after randomisation is

    MADRS = B (1 - p (1 - exp(-(t + L) / tau))) (1 - D(t)) + rater error,

with ``B`` the screening score, ``L`` the length of the placebo lead-in (the placebo response runs
from the first contact) and ``D`` the drug effect of the patient's plasticity state (0 for placebo).

Design elements:

* **Lead-in**: candidates are rated at randomisation after ``L`` days of single-blind placebo;
  those improved by ``exclude_improvement_frac`` or more, or below the inclusion minimum, are not
  randomised. The trial baseline is the randomisation rating.
* **Randomisation**: permuted blocks (stratified by severity, sex or CYP2D6 phenotype when asked)
  or simple; arms receive ``n_per_arm x ratio`` patients.
* **Escalation**: non-responders at the escalation visit (or at an unscheduled assessment ``at_h``,
  judged on the patient's true state) continue on the escalation regimen. Both regimens are solved
  for every patient of the arm (same PK draws) and each patient follows the one the rule gives; this
  is exact because the two regimens dose identically before the decision.
* **Crossover**: each sequence takes its arms in order, periods ``period_days`` apart; the active
  period's drug starts at its period start and its effect carries over into later periods.
* **Dropout**: monotone, per visit interval, MCAR, MAR (on the last observed score) or MNAR (on the
  score at the visit missed); see :class:`adpharm.trials.protocol.Dropout`.

Every draw comes from children of one ``numpy.random.SeedSequence``, so a seed gives the same
trial byte for byte.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from ..knowledge.loader import or_bundled
from ..mechanism.drive import pk_component
from ..mechanism.model import CascadeModel, load
from ..mechanism.population import load_populations
from ..mechanism.simulate import Setup, model_version, solve
from ..mechanism.symptoms import (REMISSION_MADRS, Patients, draw_patients, drug_fraction, hamd17_from_madrs, is_response,
                                  nonspecific, population_values, rated_score, rating_sd_points, remitters)
from ..pharmacology.model import Covariates
from ..pharmacology.regimen import parse_regimen
from ..pharmacology.simulate import draw_covariates
from .known_misses import warnings_for
from .protocol import SIMULATED_SCALES, TrialProtocol, load_protocol
from ..display import NotebookDisplay, table_text

MAX_PATIENTS_PER_ARM = 20_000
#: states recorded per patient for the vital-sign and dissociation columns
_SIDE_STATES = {"SBP": "systolic_bp_change_mmhg", "DBP": "diastolic_bp_change_mmhg",
                "DISSOCIATION": "dissociation_frac"}


@dataclass
class TrialResult(NotebookDisplay):
    """One simulated trial: the long table of ratings and the subjects table."""

    protocol: TrialProtocol
    data: pd.DataFrame           # one row per observed rating
    subjects: pd.DataFrame       # one row per randomised subject
    seed: int | None
    n_per_arm: int
    screened: int
    model: CascadeModel
    remission_threshold: float = REMISSION_MADRS
    warnings: list[str] = field(default_factory=list)
    #: the fraction of a salient procedure's expectancy each arm keeps (0 when dosing is oral)
    expectancy_factor: dict[str, float] = field(default_factory=dict)
    _primary: object = field(default=None, repr=False, compare=False)

    @property
    def visits(self) -> list[str]:
        return [v.id for v in self.protocol.visits]

    def summary(self) -> pd.DataFrame:
        """Per arm (treatment) and visit: observed n, mean MADRS, mean change, response and remission rates."""
        d = self.data
        rows = []
        for arm in [a.id for a in self.protocol.arms]:
            for v in self.visits:
                s = d[(d["arm"] == arm) & (d["visit"] == v)]
                n = len(s)
                rows.append({"arm": arm, "visit": v, "n": n,
                             "madrs_mean": float(s["value"].mean()) if n else None,
                             "change_mean": float((s["value"] - s["baseline"]).mean()) if n else None,
                             "response_rate": float(is_response(s["value"], s["baseline"]).mean()) if n else None,
                             "remission_rate": float(remitters(s["value"], self.remission_threshold).mean()) if n else None})
        return pd.DataFrame(rows)

    def provenance(self) -> dict:
        p = self.protocol
        return {"protocol": p.id, "model": model_version(self.model), "adpharm": __version__, "seed": self.seed,
                "n_per_arm": self.n_per_arm, "screened": self.screened, "randomised": int(len(self.subjects)),
                "design": p.design, "randomisation": p.randomisation.model_dump(), "blinding": p.blinding,
                "lead_in": p.lead_in.model_dump() if p.lead_in else None,
                "dropout": p.dropout.model_dump(),
                "scales_not_simulated": p.unsimulated_scales(),
                "criteria_not_simulated": list(p.population.criteria),
                "population": self.population_text(),
                "placebo": {"expectancy_factor_by_arm": {k: round(v, 6) for k, v in self.expectancy_factor.items()},
                            "note": ("every arm has the population's non-specific response (expectancy of a salient "
                                     "procedure, therapeutic contact); an inert placebo beside a drug patients notice "
                                     "keeps less of the expectancy than an active placebo such as midazolam; the "
                                     "comparator's own pharmacological effects are not simulated")},
                "response": "MADRS <= 50 % of the (period) baseline", "remission": f"MADRS <= {self.remission_threshold:g}",
                "rates": "observed cases at each visit",
                "refs": list(p.refs), "research_use_only": True}

    def text(self) -> str:
        """The protocol, who was randomised and how it was simulated, the population, the estimand and primary
        result, the table by arm and visit, and the protocol's scales that are not simulated."""
        prov = self.provenance()
        p = self.protocol
        text = (f"{p.id}: {p.name}\n{len(self.subjects)} randomised of {self.screened} screened, seed {self.seed}; "
                f"simulated with {prov['model']}\n{self.population_text()}\n"
                + (p.estimand.text() + "\n" if p.estimand else "")
                + self.primary().text() + "\n"
                f"by visit (observed cases; response: {prov['response']}; remission: {prov['remission']}):\n"
                + table_text(self.summary(), ".3f") + "\n")
        nots = p.unsimulated_scales()
        if nots:
            text += "not simulated: " + "; ".join(f"{k} ({v})" for k, v in nots.items()) + "\n"
        return text

    def empty_visits(self, summary: pd.DataFrame | None = None) -> list[str]:
        """``arm/visit`` of every visit no patient of the arm reached."""
        s = self.summary() if summary is None else summary
        return [f"{r['arm']}/{r['visit']}" for _, r in s.iterrows() if r["n"] == 0]

    def population_text(self) -> str:
        """The simulated population and each arm's share of the procedure expectancy, in one line."""
        pop = load_populations().get(self.protocol.population.type)
        arms = ", ".join(f"{k} {100 * v:.0f} %" for k, v in self.expectancy_factor.items())
        expectancy = f"expectancy kept by arm: {arms}" if any(self.expectancy_factor.values()) else \
            "oral dosing: no procedure expectancy"
        return f"population: {pop.name} ({pop.label}); {expectancy}"

    def to_dict(self) -> dict:
        s = self.summary()
        arms = {}
        for arm, g in s.groupby("arm", sort=False):
            arms[arm] = {"n": int((self.subjects["arm"] == arm).sum()) if self.protocol.design == "parallel"
                         else int(self.data.loc[self.data["arm"] == arm, "subject"].nunique()),
                         "visits": {r["visit"]: {k: (None if r[k] is None or (isinstance(r[k], float) and math.isnan(r[k]))
                                                     else (int(r[k]) if k == "n" else round(float(r[k]), 6)))
                                                 for k in ("n", "madrs_mean", "change_mean", "response_rate",
                                                           "remission_rate")}
                                    for _, r in g.iterrows()}}
        empty = self.empty_visits(s)
        primary = self.primary()
        return {"protocol": self.protocol.id, "name": self.protocol.name, "design": self.protocol.design,
                "estimand": primary.estimand, "primary": primary.to_dict(),
                "arms": arms, "empty_visits": empty, "warnings": self.warnings, "provenance": self.provenance()}

    def primary(self):
        """The primary endpoint's analysis under the protocol's estimand (:func:`adpharm.trials.primary.primary_result`),
        computed once."""
        if self._primary is None:
            from .primary import primary_result
            self._primary = primary_result(self.protocol, self.data)
        return self._primary

    def plot(self, ax=None):
        """Mean MADRS by arm over the visits (observed cases), with the number observed."""
        from ..figures import pyplot
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
        s = self.summary()
        t = {v.id: v.time_h / 24.0 for v in self.protocol.visits}
        for arm, g in s.groupby("arm", sort=False):
            g = g.dropna(subset=["madrs_mean"])
            ax.plot([t[v] for v in g["visit"]], g["madrs_mean"], marker="o", label=arm)
        ax.set(xlabel="day after randomisation", ylabel="MADRS (mean, observed)",
               title=f"{self.protocol.id}: simulated, n/arm {self.n_per_arm}, seed {self.seed}")
        ax.legend(fontsize=8)
        ax.figure.suptitle(f"{model_version(self.model)}; research use only", fontsize=7)
        return ax


def _children(seed: int | None, n: int) -> list[np.random.Generator]:
    return [np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(n)]


def _covariates(n: int, pop, rng: np.random.Generator) -> Covariates:
    """Ages uniform over the inclusion range, sex 1:1 when mixed, CYP2D6 phenotypes as the PK engine draws them."""
    age = rng.uniform(pop.age_y[0], pop.age_y[1], n)
    sex = (np.where(rng.random(n) < 0.5, "female", "male").astype(object) if pop.sex == "mixed" else pop.sex)
    return draw_covariates(n, rng, pop.weight_kg, age, sex, pop.phenotype)


_COVARIATES = ("weight_kg", "age_y", "sex", "phenotype")


def _subset_cov(c: Covariates, idx: np.ndarray) -> Covariates:
    return Covariates(*(getattr(c, k)[idx] for k in _COVARIATES))


def _concat_cov(cs: list[Covariates]) -> Covariates:
    return Covariates(*(np.concatenate([getattr(c, k) for c in cs]) for k in _COVARIATES))


def _allocate(n_by_arm: dict[str, int], strata: np.ndarray, block: int, ratio: dict[str, int], method: str,
              rng: np.random.Generator) -> np.ndarray:
    """Arm of each subject (in screening order): permuted blocks within strata, or simple
    randomisation, filling every arm exactly to its size (the last blocks are truncated)."""
    n = strata.size
    out = np.empty(n, dtype=object)
    left = dict(n_by_arm)
    if method == "simple":
        arms = np.repeat(list(n_by_arm), list(n_by_arm.values()))
        return rng.permutation(arms)
    unit = np.repeat(list(ratio), list(ratio.values()))
    queues: dict = {}
    for i in range(n):
        q = queues.setdefault(strata[i], [])
        while True:
            if not q:
                q.extend(rng.permutation(np.tile(unit, block // unit.size)).tolist())
            arm = q.pop(0)
            if left[arm] > 0:
                break
        left[arm] -= 1
        out[i] = arm
    return out


def simulate_trial(protocol: TrialProtocol | str, n_per_arm: int | None = None, seed: int | None = None, *,
                   remission_threshold: float | None = None, model: CascadeModel | None = None,
                   kb=None) -> TrialResult:
    """Simulate one trial of a protocol.

    Parameters
    ----------
    protocol : a :class:`TrialProtocol`, a bundled protocol name or a protocol file.
    n_per_arm : patients per arm of ratio 1 (per sequence in a crossover); default the protocol's.
    seed : the seed; the same seed gives the same trial.
    remission_threshold : MADRS at or below which a patient is in remission; default the protocol's own
        remission endpoint (:meth:`TrialProtocol.remission_threshold`), else 10.

    Returns
    -------
    TrialResult

    Examples
    --------
    >>> r = simulate_trial("ssri-mdd-8wk", 20, seed=1)
    >>> sorted(r.summary()["arm"].unique())
    ['placebo', 'sertraline']
    """
    return simulate_trials(protocol, n_per_arm, [seed], remission_threshold=remission_threshold, model=model,
                           kb=kb)[0]


def simulate_trials(protocol: TrialProtocol | str, n_per_arm: int | None, seeds: list[int | None], *,
                    remission_threshold: float | None = None, model: CascadeModel | None = None,
                    kb=None) -> list[TrialResult]:
    """Simulate one trial per seed, solving the cascade for all of them at once.

    Each trial's draws come from its own seed, and the cascade is solved for each patient
    independently of the others in the batch, so a trial is the same whether it is simulated alone
    or with others (the basis of worker-independent power).
    """
    proto = protocol if isinstance(protocol, TrialProtocol) else load_protocol(protocol)
    n_per_arm = proto.n_per_arm if n_per_arm is None else n_per_arm
    if not isinstance(n_per_arm, (int, np.integer)) or not 1 <= n_per_arm <= MAX_PATIENTS_PER_ARM:
        raise AdpharmInputError(f"n-per-arm: {n_per_arm!r} must be a whole number from 1 to {MAX_PATIENTS_PER_ARM:,}")
    if remission_threshold is None:
        remission_threshold = proto.remission_threshold(REMISSION_MADRS)
    if not 0 <= remission_threshold <= 60:
        raise AdpharmInputError(f"remission threshold: {remission_threshold!r} must be between 0 and 60")
    ctx = _Context(proto, int(n_per_arm), model or load(), or_bundled(kb))
    draws = [_draw(ctx, s) for s in seeds]
    solved = _solve_groups(ctx, draws)
    return [_assemble(ctx, d, eff, side, remission_threshold) for d, (eff, side) in zip(draws, solved)]


class _Context:
    """What every replicate of a protocol shares: parameters, arms or sequences, the visit schedule."""

    def __init__(self, proto: TrialProtocol, n_per_arm: int, model: CascadeModel, kb):
        self.proto, self.n_per_arm, self.model, self.kb = proto, n_per_arm, model, kb
        pop = proto.population
        pops = load_populations()
        self.population = pops.get(pop.type)
        over = population_values(self.population, madrs_inclusion_min=pop.madrs_min,
                                 madrs_baseline_mean=pop.madrs_baseline_mean.value if pop.madrs_baseline_mean else None,
                                 madrs_baseline_sd=pop.madrs_baseline_sd.value if pop.madrs_baseline_sd else None)
        self.params = model.parameter_values(over)
        # expectancy: a salient procedure (infusion, spray) in the trial gives it to every arm, which all
        # receive the same procedure; an inert placebo beside a drug patients notice keeps less of it
        routes = {r for a in proto.arms for t in a.treatments for r in parse_regimen(t.regimen).routes}
        classes = [kb.drugs[t.drug].drug_class for a in proto.arms for t in a.treatments if t.drug in kb.drugs]
        self.expectancy_factor = {a.id: pops.arm_factor(routes, classes, a.control if a.is_control else None)
                                  for a in proto.arms}
        self.trial_logit_sd = float(np.asarray(self.params["placebo_trial_logit_sd"]))
        self.crossover = proto.design == "crossover"
        self.groups = [tuple(s) for s in proto.crossover.sequences] if self.crossover else [(a.id,) for a in proto.arms]
        self.ratio = {g: (1 if self.crossover else proto.arm(g[0]).ratio) for g in self.groups}
        self.n_by_group = {g: n_per_arm * r for g, r in self.ratio.items()}
        self.n_total = sum(self.n_by_group.values())
        self.labels = {g: "|".join(g) for g in self.groups}
        self.group_of = {v: k for k, v in self.labels.items()}
        n_periods = len(self.groups[0])
        self.n_periods = n_periods
        self.period_h = proto.crossover.period_days * 24.0 if self.crossover else 0.0
        self.schedule = [(k, v.id, k * self.period_h + v.time_h) for k in range(n_periods) for v in proto.visits]
        self.times = np.array([t for _, _, t in self.schedule])
        self.lead_h = proto.lead_in.days * 24.0 if proto.lead_in else 0.0
        self.side = {name: s for s, name in _SIDE_STATES.items() if s in proto.scales}
        self.warnings: set[str] = set()        # dose warnings of every regimen solved


@dataclass
class _Draws:
    seed: int | None
    patients: Patients
    cov: Covariates
    baseline0: np.ndarray
    alloc: np.ndarray
    strata: np.ndarray
    screened: int
    rng_drop: np.random.Generator
    etas: dict            # (group, drug) -> {eta name: array over the group's patients}


def _draw(ctx: _Context, seed: int | None) -> _Draws:
    """Screening, lead-in, randomisation and PK random effects of one trial (no solving)."""
    from ..pharmacology.simulate import draw_etas, model_for
    proto, params = ctx.proto, ctx.params
    rng_screen, rng_rand, rng_pk, rng_drop = _children(seed, 4)
    trial_logit = float(rng_screen.normal(0.0, ctx.trial_logit_sd))     # the trial's random effect
    pop = proto.population
    n_total = ctx.n_total
    n_ratings = ctx.times.size + 1    # + the randomisation rating after a lead-in
    kept_p, kept_c, screened, need = [], [], 0, n_total
    while need > 0:
        batch = max(2 * need, 16)
        cov = _covariates(batch, pop, rng_screen)
        pts = draw_patients(batch, n_ratings, params, rng_screen, trial_logit)
        screened += batch
        if proto.lead_in is not None:
            r0 = _rate(params, pts, np.zeros(batch), -ctx.lead_h, ctx.lead_h, 0.0, pts.rater_z[:, -1])
            ok = r0 >= pop.madrs_min
            if proto.lead_in.exclude_improvement_frac is not None:
                ok &= r0 > (1 - proto.lead_in.exclude_improvement_frac) * pts.baseline
        else:
            ok = np.ones(batch, dtype=bool)
        idx = np.flatnonzero(ok)[:need]
        if idx.size == need:                 # candidates after the last one needed are never screened
            screened -= batch - (idx[-1] + 1)
        if screened > 200 * n_total + 1000 and idx.size == 0:
            raise AdpharmInputError(f"protocol {proto.id}: lead-in excludes every candidate; loosen "
                                    "lead_in.exclude_improvement_frac or population.madrs_min")
        kept_p.append(pts.subset(idx))
        kept_c.append(_subset_cov(cov, idx))
        need -= idx.size
    patients = Patients.concat(kept_p)
    cov = _concat_cov(kept_c)
    if proto.lead_in is not None:
        baseline0 = _rate(params, patients, np.zeros(n_total), -ctx.lead_h, ctx.lead_h, 0.0, patients.rater_z[:, -1])
    else:
        baseline0 = patients.baseline.copy()
    strata = _strata(proto, baseline0, cov)
    block = proto.randomisation.block_size or 2 * sum(ctx.ratio.values())
    alloc = _allocate({ctx.labels[g]: n for g, n in ctx.n_by_group.items()}, strata, block,
                      {ctx.labels[g]: r for g, r in ctx.ratio.items()}, proto.randomisation.method, rng_rand)
    etas = {}
    pk_rngs = [np.random.default_rng(s) for s in
               np.random.SeedSequence(int(rng_pk.integers(2**63))).spawn(len(ctx.groups))]
    for g, rng in zip(ctx.groups, pk_rngs):
        n_g = int(np.sum(alloc == ctx.labels[g]))
        for arm_id in g:
            for t in proto.arm(arm_id).treatments:
                m = model_for(t.drug, ctx.kb)
                e = draw_etas(m, n_g, rng)
                etas[(g, t.drug)] = e or {k: np.zeros(n_g) for k in m.iiv_names()}
    return _Draws(seed, patients, cov, baseline0, alloc, strata, screened, rng_drop, etas)


def _solve_groups(ctx: _Context, draws: list[_Draws]) -> list[tuple[np.ndarray, dict]]:
    """Drug effect ``D`` and side-effect states (patients, schedule) of every trial, one solve per arm."""
    proto, times = ctx.proto, ctx.times
    out = [(np.zeros((ctx.n_total, times.size)), {n: np.zeros((ctx.n_total, times.size)) for n in ctx.side})
           for _ in draws]
    for g in ctx.groups:
        active = [(k, proto.arm(a)) for k, a in enumerate(g) if proto.arm(a).treatments]
        if not active:
            continue
        k_act, arm = active[0]
        idx = [np.flatnonzero(d.alloc == ctx.labels[g]) for d in draws]
        if sum(i.size for i in idx) == 0:
            continue
        rel = times - k_act * ctx.period_h
        out_times = np.unique(np.concatenate([[0.0], rel[rel >= 0]]))
        pts = Patients.concat([d.patients.subset(i) for d, i in zip(draws, idx)])
        cov = _concat_cov([_subset_cov(d.cov, i) for d, i in zip(draws, idx)])
        etas = {t.drug: {name: np.concatenate([d.etas[(g, t.drug)][name] for d in draws])
                         for name in draws[0].etas[(g, t.drug)]} for t in arm.treatments}
        if arm.escalation is not None:      # an unscheduled assessment is solved for too
            out_times = np.unique(np.concatenate([out_times, [arm.escalation.time_h(proto.visits)]]))
        setup = Setup(ctx.params, out_times, [], pts)
        res = _solve_arm(ctx, setup, arm.treatments, cov, etas)
        baseline0 = np.concatenate([d.baseline0[i] for d, i in zip(draws, idx)])
        if arm.escalation is not None:
            res_esc = _solve_arm(ctx, setup, arm.escalated(), cov, etas)
            v_h = arm.escalation.time_h(proto.visits)
            j = int(np.searchsorted(out_times, v_h))
            # the rating the decision rests on: the visit's own, or at an unscheduled assessment the
            # investigator's judgement of the patient's true state (no rater or visit-to-visit error)
            z = (pts.rater_z[:, _schedule_index(ctx.schedule, 0, arm.escalation.visit)]
                 if arm.escalation.visit is not None else np.zeros(len(baseline0)))
            rated = _rate(ctx.params, pts, drug_fraction(pts.sensitivity, res["plasticity"][:, j]), v_h,
                          v_h + ctx.lead_h, ctx.expectancy_factor[arm.id], z)
            escalate = ~is_response(rated, baseline0)
            for key in res:
                res[key] = np.where(escalate[:, None], res_esc[key], res[key])
        pos = np.searchsorted(out_times, np.clip(rel, 0, None))
        live = np.flatnonzero(rel >= 0)
        effect = drug_fraction(pts.sensitivity[:, None], res["plasticity"][:, pos])
        start = 0
        for (eff, side), i in zip(out, idx):
            rows = slice(start, start + i.size)
            eff[np.ix_(i, live)] = effect[rows][:, live]
            for name in side:
                side[name][np.ix_(i, live)] = res[name][rows][:, pos][:, live]
            start += i.size
    return out


def _assemble(ctx: _Context, dr: _Draws, effect: np.ndarray, side: dict, remission_threshold: float) -> TrialResult:
    """Ratings, dropout and the long table of one trial."""
    proto, params, times, schedule = ctx.proto, ctx.params, ctx.times, ctx.schedule
    patients, alloc = dr.patients, dr.alloc
    # each rating keeps the expectancy of the arm whose procedure came last: a crossover period's baseline
    # visit, rated before that period's dose, still carries the previous period's arm
    first_visit = {k: next(i for i, (kk, _, _) in enumerate(schedule) if kk == k) for k in range(ctx.n_periods)}
    source = [k - 1 if k > 0 and j == first_visit[k] else k for j, (k, _, _) in enumerate(schedule)]
    factor = np.array([[ctx.expectancy_factor[ctx.group_of[a][k]] for k in source] for a in alloc])
    rated = _rate(params, patients, effect, times[None, :], times[None, :] + ctx.lead_h, factor,
                  patients.rater_z[:, :times.size])
    # the baseline visit is the inclusion rating itself (or the randomisation rating after a lead-in)
    rated[:, 0] = patients.baseline if proto.lead_in is None else dr.baseline0
    period_base = np.column_stack([rated[:, first_visit[k]] for k, _, _ in schedule])
    observed = _dropout(proto, rated, dr.baseline0, times, dr.rng_drop)
    subject = np.array([f"S{i + 1:05d}" for i in range(ctx.n_total)])
    rows = []
    for j, (k, vid, t) in enumerate(schedule):
        ok = observed[:, j]
        arm_k = np.array([ctx.group_of[a][k] for a in alloc[ok]], dtype=object)
        block_df = pd.DataFrame({"subject": subject[ok], "arm": arm_k, "sequence": alloc[ok],
                                 "period": k + 1, "visit": vid, "time_h": t, "baseline": period_base[ok, j],
                                 "value": rated[ok, j]})
        if "HAMD17" in proto.scales:
            block_df["hamd17"] = hamd17_from_madrs(rated[ok, j])
        for s, name in _SIDE_STATES.items():
            if s in proto.scales:
                block_df[SIMULATED_SCALES[s]] = side[name][ok, j]
        rows.append(block_df)
    data = pd.concat(rows, ignore_index=True)
    data = data.sort_values(["subject", "period", "time_h"], kind="stable").reset_index(drop=True)
    if not ctx.crossover:
        data = data.drop(columns=["sequence"])
    if proto.randomisation.stratify_by:      # the randomisation strata, covariates of the primary MMRM
        data["stratum"] = data["subject"].map(dict(zip(subject, dr.strata)))
    last = np.where(observed.any(axis=1), observed.shape[1] - 1 - np.argmax(observed[:, ::-1], axis=1), -1)
    subjects = pd.DataFrame({"subject": subject, "arm": alloc, "stratum": dr.strata,
                             "screening_madrs": patients.baseline, "baseline": dr.baseline0,
                             "last_visit": [schedule[i][1] if i >= 0 else None for i in last],
                             "completed": observed[:, -1]})
    drugs = {f"drug:{t.drug}" for a in proto.arms for t in a.treatments}
    return TrialResult(protocol=proto, data=data, subjects=subjects, seed=dr.seed, n_per_arm=ctx.n_per_arm,
                       screened=dr.screened, model=ctx.model, remission_threshold=remission_threshold,
                       warnings=sorted(ctx.warnings) + warnings_for(proto.id, *drugs),
                       expectancy_factor=dict(ctx.expectancy_factor))


def _rate(params, pts: Patients, effect, t_procedure_h, t_contact_h, factor, z):
    """Rated MADRS (the symptom model of the mechanism): ``t_procedure_h`` hours after randomisation
    (the first dose; negative during a lead-in), ``t_contact_h`` after the first contact, with the
    arm's expectancy ``factor``. 2-D ``effect`` rates every patient at every visit."""
    col = (lambda a: a[:, None]) if np.ndim(effect) == 2 else (lambda a: a)
    n = nonspecific(col(pts.expectancy_max), col(pts.contact_max), factor, np.asarray(t_procedure_h) / 24.0,
                    np.asarray(t_contact_h) / 24.0, params, onset_z=col(pts.contact_onset_z))
    return rated_score(col(pts.baseline), n, effect, float(rating_sd_points(params)), z,
                       overlap=float(np.asarray(params["drug_placebo_overlap_frac"])))


def _schedule_index(schedule, period, visit) -> int:
    return next(i for i, (k, v, _) in enumerate(schedule) if k == period and v == visit)


def _strata(proto: TrialProtocol, baseline: np.ndarray, cov: Covariates) -> np.ndarray:
    keys = []
    for s in proto.randomisation.stratify_by:
        if s == "severity":
            keys.append(np.where(baseline >= proto.randomisation.severity_cut_madrs, "severe", "moderate"))
        elif s == "sex":
            keys.append(cov.sex.astype(str))
        else:
            keys.append(cov.phenotype.astype(str))
    if not keys:
        return np.full(baseline.size, "all", dtype=object)
    return np.array(["/".join(t) for t in zip(*keys)], dtype=object)


def _solve_arm(ctx: _Context, setup: Setup, treatments, cov: Covariates, etas: dict) -> dict:
    comps = [pk_component(t.drug, t.regimen, float(setup.times_h[-1]), cov, None, ctx.kb, etas=etas[t.drug])
             for t in treatments]
    ctx.warnings.update(w for c in comps for w in c.warnings)
    out = solve(ctx.model, Setup(setup.params, setup.times_h, comps, setup.patients),
                record=("plasticity", *ctx.side), record_mean=())
    return {k: out[k] for k in ("plasticity", *ctx.side)}


def _dropout(proto: TrialProtocol, rated: np.ndarray, baseline: np.ndarray, times: np.ndarray,
             rng: np.random.Generator) -> np.ndarray:
    """Observed mask ``(patients, visits)``: monotone dropout after the baseline visit."""
    dm = proto.dropout
    n, m = rated.shape
    observed = np.ones((n, m), dtype=bool)
    u = rng.random((n, m))
    if dm.model == "none":
        return observed
    rate = dm.rate.value
    slope = dm.slope.value if dm.slope is not None and dm.model in ("MAR", "MNAR") else 0.0
    base = np.maximum(baseline, 1e-9)
    for j in range(1, m):
        dt_days = (times[j] - times[j - 1]) / 24.0
        h = 1.0 - (1.0 - rate) ** (dt_days / dm.over_days)
        if h <= 0:
            observed[:, j] = observed[:, j - 1]
            continue
        x = (rated[:, j - 1] if dm.model == "MAR" else rated[:, j]) / base
        logit = math.log(h / (1 - h)) + slope * (x - 0.5)
        p = 1.0 / (1.0 + np.exp(-logit))
        observed[:, j] = observed[:, j - 1] & (u[:, j] >= p)
    return observed
