"""Trial protocols: the schema of a protocol file, and the bundled protocols.

A protocol is a YAML file that a trialist writes or takes from the bundled set
(``adpharm protocols``). It names the design (parallel or crossover), the arms with their
allocation ratio and dosing (regimens in the syntax of :mod:`adpharm.pharmacology.regimen`), an
optional dose-escalation rule, randomisation and blinding, a placebo lead-in that excludes
placebo responders, the inclusion criteria, the visits, the scales, the dropout model and the
endpoints. Numbers that describe the world (baseline severity, dropout rates) carry reference
keys; numbers that are design choices (visit times, block size, an assumed dropout slope) are
marked ``basis: design``.

A file that does not fit the schema is rejected with the file, the field and the reason.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import yaml

from ..io import load_yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..errors import AdpharmInputError
from ..knowledge.loader import validate_model
from ..units import hours

BUNDLED_DIR = Path(__file__).parent / "protocols"
#: scales the simulation can rate, and the column each becomes in the long output
SIMULATED_SCALES = {"MADRS": "madrs", "HAMD17": "hamd17", "SBP": "sbp_change_mmhg", "DBP": "dbp_change_mmhg",
                    "DISSOCIATION": "dissociation_frac"}
#: scales a protocol may name that the mechanism model cannot rate, with the reason reported
UNSIMULATED_SCALES = {
    "CADSS": "no sourced link from NMDA occupancy to CADSS points; dissociation is given as effect-site occupancy",
    "BPRS": "the cascade model has no psychotomimetic output",
    "CGI": "the model has no CGI output",
    "HR": "the model has no heart-rate output",
}
_VISIT = re.compile(r"^(?:(?P<base>baseline|screening)|(?P<n>\d+(?:\.\d+)?)\s*(?P<u>min|h|hours?|d|days?|w|weeks?)"
                    r"|(?P<u2>day|week)\s*(?P<n2>\d+(?:\.\d+)?))$", re.IGNORECASE)


def visit_hours(label: str) -> float | None:
    """Hours after randomisation that a visit label names (``"24h"``, ``"day7"``, ``"week6"``,
    ``"40min"``, ``"baseline"``), or None when the label does not say."""
    m = _VISIT.match(str(label).strip())
    if m is None:
        return None
    if m["base"]:
        return 0.0
    if m["n"] is not None:
        return hours(float(m["n"]), m["u"])
    return hours(float(m["n2"]), m["u2"])


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Sourced(_Strict):
    """A number about the world, with its sources, or a design choice (``basis: design``)."""

    value: float
    basis: Literal["measured", "derived", "design"] = "measured"
    refs: list[str] = []
    note: str | None = None

    @model_validator(mode="after")
    def _cited(self):
        if self.basis != "design" and not self.refs:
            raise ValueError(f"a {self.basis} value needs refs (or basis: design for a design choice)")
        return self


class Treatment(_Strict):
    drug: str
    regimen: str


class Escalation(_Strict):
    """Non-responders at ``visit`` (a rated visit) or at ``at_h`` (an unscheduled assessment that many hours
    after the first dose, e.g. the next dosing session, whose rating is not recorded) switch ``drug``
    (default the arm's only drug) to ``regimen``, whose doses before the decision must be the arm's."""

    visit: str | None = None
    at_h: float | None = Field(default=None, gt=0)
    rule: Literal["non_responder"] = "non_responder"
    regimen: str
    drug: str | None = None
    refs: list[str] = []
    note: str | None = None

    @model_validator(mode="after")
    def _one_time(self):
        if (self.visit is None) == (self.at_h is None):
            raise ValueError("escalation: give either visit (a rated visit) or at_h (hours after the first dose)")
        return self

    def decided_at(self) -> str:
        """Where the switch is decided, for messages and descriptions."""
        return f"visit {self.visit!r}" if self.visit is not None else f"{self.at_h:g} h (an unscheduled assessment)"

    def time_h(self, visits) -> float:
        """Hours after the first dose at which the switch is decided."""
        return self.at_h if self.at_h is not None else next(v.time_h for v in visits if v.id == self.visit)


class Arm(_Strict):
    id: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]*$")
    label: str | None = None
    treatments: list[Treatment] = []
    placebo: str | None = None
    #: a control arm's placebo: inert (saline, pill, spray) or active (noticeable effects, e.g. midazolam)
    control: Literal["inert", "active"] | None = None
    ratio: int = Field(default=1, ge=1, le=10)
    escalation: Escalation | None = None

    @model_validator(mode="after")
    def _check(self):
        if not self.treatments and self.placebo is None:
            raise ValueError("an arm needs treatments, or placebo: saline / midazolam / ... for a control arm")
        if self.control is not None and self.placebo is None:
            raise ValueError("control (inert or active) describes a placebo: give placebo too")
        if self.placebo is not None and self.control is None:
            self.control = "inert"
        if self.escalation is not None:
            if not self.treatments:
                raise ValueError("escalation needs a treatment in the arm")
            if self.escalation.drug is None and len(self.treatments) > 1:
                raise ValueError("escalation.drug: name which of the arm's drugs escalates")
            if self.escalation.drug not in (None, *[t.drug for t in self.treatments]):
                raise ValueError(f"escalation.drug {self.escalation.drug!r} is not one of the arm's drugs")
        return self

    def escalated(self) -> list[Treatment]:
        """The arm's treatments with the escalating drug on its escalation regimen."""
        drug = self.escalation.drug or self.treatments[0].drug
        return [Treatment(drug=t.drug, regimen=self.escalation.regimen) if t.drug == drug else t
                for t in self.treatments]

    @property
    def is_control(self) -> bool:
        """A placebo arm (alone or on top of background treatments)."""
        return self.placebo is not None


class Randomisation(_Strict):
    method: Literal["simple", "blocked"] = "blocked"
    block_size: int | None = Field(default=None, ge=2, le=100)
    stratify_by: list[Literal["severity", "sex", "cyp2d6"]] = []
    severity_cut_madrs: float = Field(default=30.0, ge=0, le=60)


class LeadIn(_Strict):
    days: float = Field(gt=0, le=90)
    blind: Literal["single", "double", "open"] = "single"
    treatment: Literal["placebo"] = "placebo"
    exclude_improvement_frac: float | None = Field(default=None, gt=0, lt=1)
    refs: list[str] = []
    note: str | None = None


class Population(_Strict):
    #: the virtual-patient population (``adpharm.mechanism.population``): baseline severity and placebo response
    type: str | None = None
    criteria: list[str] = []
    age_y: tuple[float, float] = (18.0, 65.0)
    madrs_min: float = Field(default=20.0, ge=0, le=60)
    madrs_baseline_mean: Sourced | None = None
    madrs_baseline_sd: Sourced | None = None
    weight_kg: float = Field(default=70.0, gt=0, le=300)
    sex: Literal["male", "female", "mixed"] = "mixed"
    phenotype: Literal["PM", "IM", "NM", "UM", "mixed"] = "mixed"
    refs: list[str] = []

    @field_validator("type")
    @classmethod
    def _type(cls, v):
        from ..mechanism.population import population_names
        if v is not None and v not in population_names():
            raise ValueError(f"unknown population {v!r} (known: {', '.join(population_names())})")
        return v

    @field_validator("age_y")
    @classmethod
    def _ages(cls, v):
        if not 0 <= v[0] < v[1] <= 110:
            raise ValueError(f"age range {list(v)} must be increasing ages between 0 and 110")
        return v


class Visit(_Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    time_h: float | None = Field(default=None, ge=0, le=24 * 365)

    @model_validator(mode="after")
    def _time(self):
        if self.time_h is None:
            t = visit_hours(self.id)
            if t is None:
                raise ValueError(f"visit {self.id!r}: give time_h (the label does not say when it is)")
            self.time_h = t
        return self


class Dropout(_Strict):
    """Monotone dropout. Each interval between visits has a probability of leaving
    ``1 - (1 - rate)^(interval / over_days)``, its odds multiplied by ``exp(slope * x)`` where ``x`` is
    the fraction of the baseline score still present: at the last observed visit (MAR) or at the
    visit the patient would now attend (MNAR, depends on the unobserved value)."""

    model: Literal["none", "MCAR", "MAR", "MNAR"] = "MAR"
    rate: Sourced | None = None
    over_days: float = Field(default=28.0, gt=0)
    slope: Sourced | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.model != "none" and self.rate is None:
            raise ValueError(f"dropout model {self.model} needs a rate (fraction leaving over over_days)")
        if self.rate is not None and not 0 <= self.rate.value < 1:
            raise ValueError(f"dropout rate {self.rate.value} must be in [0, 1)")
        if self.model in ("MAR", "MNAR") and self.slope is None:
            raise ValueError(f"dropout model {self.model} needs a slope (log odds per unit of remaining symptoms)")
        return self


class Endpoint(_Strict):
    kind: Literal["change", "response", "remission", "time_to_response", "relapse"]
    visit: str | None = None
    analysis: Literal["mmrm", "ancova", "crossover", "logistic", "logrank"] | None = None
    threshold: float | None = Field(default=None, ge=0, le=60)
    alpha: float = Field(default=0.05, gt=0, lt=1)


class Endpoints(_Strict):
    primary: Endpoint
    secondary: list[Endpoint] = []


STRATEGIES = ("treatment policy", "hypothetical", "composite", "while on treatment", "principal stratum")


class IntercurrentEvent(_Strict):
    """An event after randomisation that changes what the endpoint means, and the ICH E9(R1) strategy for it."""

    event: str
    strategy: Literal["treatment policy", "hypothetical", "composite", "while on treatment", "principal stratum"]
    note: str | None = None


class Estimand(_Strict):
    """The primary estimand in the five attributes of ICH E9(R1): population, treatment, variable (the
    endpoint at its visit), how intercurrent events are handled, and the population-level summary."""

    population: str
    treatment: str
    endpoint: Literal["change", "response", "remission", "time_to_response", "relapse"]
    visit: str | None = None
    intercurrent_events: list[IntercurrentEvent] = Field(min_length=1)
    summary: str

    def text(self) -> str:
        """The estimand as a protocol states it, one attribute per line."""
        events = "; ".join(f"{e.event}: {e.strategy}" + (f" ({e.note})" if e.note else "")
                           for e in self.intercurrent_events)
        return (f"estimand (ICH E9(R1)):\n  population: {self.population}\n  treatment: {self.treatment}\n"
                f"  variable: {self.endpoint}{f' at {self.visit}' if self.visit else ''}\n"
                f"  intercurrent events: {events}\n  summary: {self.summary}")


class Crossover(_Strict):
    """Sequences of arm ids, one per period; periods start ``period_days`` apart (washout included)."""

    sequences: list[list[str]] = Field(min_length=2)
    period_days: float = Field(gt=0, le=180)


class TrialProtocol(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    purpose: str = ""
    design: Literal["parallel", "crossover"] = "parallel"
    n_per_arm: int = Field(default=50, ge=1, le=100_000)
    refs: list[str] = []
    population: Population = Population()
    arms: list[Arm] = Field(min_length=2)
    randomisation: Randomisation = Randomisation()
    blinding: Literal["open", "single", "double", "triple", "quadruple"] = "double"
    lead_in: LeadIn | None = None
    crossover: Crossover | None = None
    visits: list[Visit] = Field(min_length=2)
    scales: list[str] = ["MADRS"]
    dropout: Dropout = Dropout(model="none")
    endpoints: Endpoints
    estimand: Estimand | None = None
    checks: list[dict] = []

    @field_validator("scales")
    @classmethod
    def _scales(cls, v):
        known = {**SIMULATED_SCALES, **UNSIMULATED_SCALES}
        for s in v:
            if s.upper() not in known:
                raise ValueError(f"scale {s!r} is not one of {', '.join(known)}")
        if "MADRS" not in [s.upper() for s in v]:
            raise ValueError("scales must include MADRS (the primary scale of the simulation)")
        return [s.upper() for s in v]

    @model_validator(mode="after")
    def _consistent(self):
        ids = [a.id for a in self.arms]
        if len(set(ids)) != len(ids):
            raise ValueError(f"arm ids repeat: {ids}")
        vids = [v.id for v in self.visits]
        if len(set(vids)) != len(vids):
            raise ValueError(f"visit ids repeat: {vids}")
        times = [v.time_h for v in self.visits]
        if times[0] != 0 or any(b <= a for a, b in zip(times, times[1:])):
            raise ValueError("visits must start with the baseline visit at 0 h and increase in time")
        for e in [self.endpoints.primary, *self.endpoints.secondary]:
            if e.visit is not None and e.visit not in vids:
                raise ValueError(f"endpoint {e.kind}: visit {e.visit!r} is not one of the visits {vids}")
            if e.kind in ("change", "response", "remission") and e.visit is None:
                raise ValueError(f"endpoint {e.kind} needs a visit")
            if e.visit == vids[0]:
                raise ValueError(f"endpoint {e.kind}: the baseline visit cannot be an endpoint")
        est, prim = self.estimand, self.endpoints.primary
        if est is not None and (est.endpoint, est.visit) != (prim.kind, prim.visit):
            raise ValueError(f"estimand: endpoint {est.endpoint!r} at visit {est.visit!r} is not the primary "
                             f"endpoint ({prim.kind} at {prim.visit!r})")
        for a in self.arms:
            if a.escalation is not None and a.escalation.visit is not None and a.escalation.visit not in vids[1:]:
                raise ValueError(f"arm {a.id}: escalation visit {a.escalation.visit!r} is not a post-baseline visit")
            if a.escalation is not None and a.escalation.at_h is not None and a.escalation.at_h >= self.visits[-1].time_h:
                raise ValueError(f"arm {a.id}: escalation at_h {a.escalation.at_h:g} is not before the last visit")
        if self.design == "crossover":
            if self.crossover is None:
                raise ValueError("a crossover design needs a crossover: {sequences, period_days} block")
            for s in self.crossover.sequences:
                bad = [x for x in s if x not in ids]
                if bad:
                    raise ValueError(f"crossover sequence {s} names unknown arms {bad}")
                if len(s) != len(self.crossover.sequences[0]):
                    raise ValueError("crossover sequences must all have the same number of periods")
                if sum(bool(self.arm(x).treatments) for x in s) > 1 or len(set(s)) != len(s):
                    raise ValueError(f"crossover sequence {s}: each arm once, and one active arm per sequence")
            if max(times) > self.crossover.period_days * 24:
                raise ValueError("crossover: every visit of a period must fall before the next period starts")
            if any(a.escalation for a in self.arms):
                raise ValueError("crossover designs do not support escalation")
        elif self.crossover is not None:
            raise ValueError("crossover block given for a parallel design")
        rnd = self.randomisation
        if rnd.method == "blocked" and rnd.block_size is not None and rnd.block_size % self.ratio_total:
            raise ValueError(f"randomisation.block_size {rnd.block_size} is not a multiple of the allocation "
                             f"ratio total {self.ratio_total}")
        return self

    @property
    def ratio_total(self) -> int:
        return sum(a.ratio for a in self.arms)

    def remission_threshold(self, default: float) -> float:
        """MADRS at or below which the protocol counts a patient in remission: the threshold of its first
        remission endpoint that states one (TRANSFORM's <= 12, for instance), else ``default``."""
        for e in [self.endpoints.primary, *self.endpoints.secondary]:
            if e.kind == "remission" and e.threshold is not None:
                return float(e.threshold)
        return float(default)

    def arm(self, arm_id: str) -> Arm:
        return next(a for a in self.arms if a.id == arm_id)

    @property
    def reference_arm(self) -> Arm:
        """The arm other arms are compared with: the first control arm, else the first arm."""
        return next((a for a in self.arms if a.is_control), self.arms[0])

    @property
    def primary(self) -> Endpoint:
        return self.endpoints.primary

    def unsimulated_scales(self) -> dict[str, str]:
        return {s: UNSIMULATED_SCALES[s] for s in self.scales if s in UNSIMULATED_SCALES}


def bundled() -> dict[str, Path]:
    """Bundled protocol names and their files."""
    return {p.stem: p for p in sorted(BUNDLED_DIR.glob("*.yaml"))}


def load_protocol(name_or_path: str | Path) -> TrialProtocol:
    """A bundled protocol by name, or a protocol file; errors name the file, the field and the reason."""
    s = str(name_or_path)
    files = bundled()
    if s in files:
        path = files[s]
    else:
        path = Path(s)
        if not path.suffix and not path.exists():
            raise AdpharmInputError(f"protocol {s!r}: not a bundled protocol ({', '.join(files)}) or a file")
        if not path.is_file():
            raise AdpharmInputError(f"{path}: protocol file not found")
    try:
        data = load_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise AdpharmInputError(f"{path}: not valid YAML{where}") from None
    except UnicodeDecodeError:
        raise AdpharmInputError(f"{path}: not a UTF-8 text file") from None
    if not isinstance(data, dict):
        raise AdpharmInputError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    proto = validate_model(TrialProtocol, data, path)
    _check_against_knowledge(proto, path)
    return proto


def _check_against_knowledge(proto: TrialProtocol, path: Path) -> None:
    """Drugs, regimens and reference keys that the protocol names must exist."""
    from ..knowledge.loader import bundled as bundled_kb
    from ..pharmacology.regimen import parse_regimen
    kb = bundled_kb()
    refs = set(proto.refs) | set(proto.population.refs)
    for src in (proto.population.madrs_baseline_mean, proto.population.madrs_baseline_sd, proto.dropout.rate,
                proto.dropout.slope):
        if src is not None:
            refs |= set(src.refs)
    if proto.lead_in is not None:
        refs |= set(proto.lead_in.refs)
    for i, a in enumerate(proto.arms):
        for j, t in enumerate(a.treatments):
            if t.drug not in kb.drugs:
                raise AdpharmInputError(f"{path}: field arms.{i}.treatments.{j}.drug: unknown drug {t.drug!r}")
            _regimen(parse_regimen, t.regimen, f"{path}: field arms.{i}.treatments.{j}.regimen")
        if a.escalation is not None:
            refs |= set(a.escalation.refs)
            esc = _regimen(parse_regimen, a.escalation.regimen, f"{path}: field arms.{i}.escalation.regimen")
            drug = a.escalation.drug or a.treatments[0].drug
            base = parse_regimen(next(t.regimen for t in a.treatments if t.drug == drug))
            v_h = a.escalation.time_h(proto.visits)
            horizon = proto.visits[-1].time_h
            before = [[e for e in r.events(horizon) if e.time_h < v_h] for r in (base, esc)]
            if before[0] != before[1]:
                raise AdpharmInputError(f"{path}: field arms.{i}.escalation: arm {a.id}: escalation.regimen must dose "
                                        f"as the arm's regimen before the escalation at {a.escalation.decided_at()} "
                                        "(the switch is decided there)")
    missing = sorted(refs - set(kb.references))
    if missing:
        raise AdpharmInputError(f"{path}: field refs: unknown reference keys {missing}")


def _regimen(parse, text: str, where: str):
    try:
        return parse(text)
    except AdpharmInputError as exc:
        raise AdpharmInputError(f"{where}: {exc}") from None
