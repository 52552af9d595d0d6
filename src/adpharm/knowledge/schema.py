"""Schema of the knowledge base (pydantic). Every number carries reference keys.

The YAML files under ``knowledge/data`` are validated against these models at load time;
a file that does not fit is rejected with the file and the field named.
"""
from __future__ import annotations

import math
from typing import Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TARGETS = ("SERT", "NET", "DAT", "NMDA", "H1", "M1", "ALPHA1", "5-HT2A", "5-HT2C", "MAO-A", "MAO-B")
Target = Literal["SERT", "NET", "DAT", "NMDA", "H1", "M1", "ALPHA1", "5-HT2A", "5-HT2C", "MAO-A", "MAO-B"]
Route = Literal["iv", "im", "po", "intranasal", "sublingual", "sc"]
Confidence = Literal["high", "medium", "low"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Cited(_Strict):
    """A fact with its sources. ``fact`` is the calibration fact ID(s) in ../shared/reference."""

    refs: list[str] = Field(min_length=1)
    fact: str | None = None
    verified: bool = True
    confidence: Confidence | None = None
    #: "calibrated": fitted to the facts named in ``note`` rather than read from a source
    basis: Literal["calibrated"] | None = None
    note: str | None = None


class CitedText(Cited):
    value: str = Field(min_length=1)


class CitedValue(Cited):
    """A number or a range (``low``/``high``) with its unit."""

    value: float | None = None
    low: float | None = None
    high: float | None = None
    unit: str
    conditions: str | None = None

    @model_validator(mode="after")
    def _has_number(self):
        if self.value is None and self.low is None and self.high is None:
            raise ValueError("needs a value, or a low/high range")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"low ({self.low}) is above high ({self.high})")
        for name in ("value", "low", "high"):
            v = getattr(self, name)
            if v is not None and not math.isfinite(v):
                raise ValueError(f"{name} is not a finite number ({v}): the guide could not show it")
            if v is not None and v < 0:
                raise ValueError(f"{name} is negative ({v})")
        return self

    def display(self) -> str:
        """Human-readable value with unit, e.g. ``"1.4 nM"`` or ``"2-6 wk"``."""
        def fmt(x: float) -> str:
            return f"{x:.4g}"
        if self.value is not None:
            s = fmt(self.value)
            if self.low is not None and self.high is not None:
                s += f" ({fmt(self.low)}-{fmt(self.high)})"
        elif self.low is not None and self.high is not None:
            s = f"{fmt(self.low)}-{fmt(self.high)}"
        elif self.low is not None:
            s = f">= {fmt(self.low)}"
        else:
            s = f"<= {fmt(self.high)}"
        return f"{s} {self.unit}".strip()


class Binding(CitedValue):
    """A binding constant in nM. ``measure`` ``KI`` is the inactivation constant of an irreversible
    (mechanism-based) inhibitor: the concentration of half-maximal inactivation rate, not an
    affinity; such an inhibitor's potency is ``kinact/KI``, and it gives no reversible occupancy."""

    measure: Literal["Ki", "Kd", "IC50", "KI"]
    species: str | None = None

    @property
    def reversible(self) -> bool:
        """True for an equilibrium constant (Ki, Kd, IC50) that gives a reversible occupancy."""
        return self.measure != "KI"

    @field_validator("unit")
    @classmethod
    def _nm(cls, v: str) -> str:
        if v != "nM":
            raise ValueError(f"binding constants are stored in nM, got {v!r}")
        return v


class PK(_Strict):
    """Pharmacokinetic parameters; the unit is in each field's name."""

    bioavailability_pct: CitedValue | None = None
    clearance_l_per_h: CitedValue | None = None
    volume_l: CitedValue | None = None
    volume_l_per_kg: CitedValue | None = None
    half_life_h: CitedValue | None = None
    tmax_h: CitedValue | None = None
    cmax_ng_per_ml: CitedValue | None = None
    protein_binding_pct: CitedValue | None = None


class Administration(Cited):
    route: Route
    regimen: str
    #: the same regimen in adpharm's regimen syntax, for the guide's simulated course
    simulate: str | None = None
    #: what the guide's simulated course gives both arms beside it, as ``drug: regimen`` (an adjunctive
    #: treatment's oral antidepressant), and the population it is simulated in (default: by drug class)
    simulate_with: list[str] = []
    simulate_population: str | None = None


class Metabolite(Cited):
    name: str
    note: str | None = None


class AdverseEffect(Cited):
    name: str
    category: Literal["common_acute", "long_term", "serious"]
    frequency_pct: float | None = Field(default=None, ge=0, le=100)
    placebo_pct: float | None = Field(default=None, ge=0, le=100)


class Interaction(Cited):
    agent: str
    effect: str
    severity: Literal["contraindicated", "major", "moderate", "minor"]


class Drug(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    name: str
    synonyms: list[str] = []
    drug_class: str
    primary_mechanism: CitedText
    neurotransmitter_systems: list[str] = Field(min_length=1)
    signalling_pathways: list[str] = Field(min_length=1)
    administration: list[Administration] = []
    onset: CitedValue | None = None
    binding: dict[Target, Binding] = {}
    pk: PK = PK()
    active_metabolites: list[Metabolite] = []
    cyps: CitedText | None = None
    cyp2d6_effect: CitedText | None = None
    adverse_effects: list[AdverseEffect] = []
    interactions: list[Interaction] = []
    contraindications: list[CitedText] = []
    trd_efficacy: CitedText | None = None

    @field_validator("onset")
    @classmethod
    def _onset_unit(cls, v):
        if v is not None and v.unit not in ("h", "d", "wk"):
            raise ValueError(f"onset unit must be h, d or wk, got {v.unit!r}")
        return v


#: The kinds of safety fact (issue 36): each fact is filed as exactly one of them.
SafetyKind = Literal["boxed_warning", "toxicity", "warning", "contraindication", "interaction", "washout", "monitoring"]
SAFETY_KINDS = get_args(SafetyKind)
#: How each kind is headed in the guide, in the order it is shown.
SAFETY_KIND_LABELS = {"boxed_warning": "Boxed warning", "contraindication": "Contraindications",
                      "toxicity": "Overdose toxicity", "warning": "Warnings", "monitoring": "Monitoring and access",
                      "interaction": "Interactions", "washout": "Switching and washout"}


class SafetyFact(Cited):
    """One safety fact of a class or drug, cited: the boxed suicidality warning, overdose toxicity, QT, hyponatraemia,
    washouts, contraindications, monitoring, interactions. ``applies_to`` names classes or drugs."""

    id: str = Field(pattern=r"^[a-z0-9_-]+$")
    topic: str = Field(min_length=1)
    kind: SafetyKind
    applies_to: list[str] = Field(min_length=1)
    text: str = Field(min_length=1)


#: Families of classes: the evidence engine pools a family's member classes as one side
FAMILIES = ("glutamatergic", "monoaminergic")


class DrugClass(_Strict):
    name: str
    aliases: list[str] = []
    family: Literal["glutamatergic", "monoaminergic"]
    members: list[str] = Field(min_length=1)
    primary_mechanism: CitedText


#: The kinds of primary document a reference may be (issue 36): a paper (with DOI or PMID), an official label or
#: assessment (with its application, authorisation or set id), a guideline, a database or data repository of
#: record, a laboratory's own published reference range (named as that laboratory's), a book (with its ISBN or
#: publisher) or a software's documentation.
REFERENCE_KINDS = ("paper", "label", "guideline", "database", "laboratory", "book", "software")


class Reference(_Strict):
    authors: str
    year: int = Field(ge=1900, le=2100)
    title: str
    journal: str
    kind: Literal["paper", "label", "guideline", "database", "laboratory", "book", "software"] = "paper"
    doi: str | None = None
    pmid: str | None = None
    #: an official identifier where a document has no DOI or PMID: a label's application or authorisation
    #: number or DailyMed set id, a book's ISBN, a trial registry id
    identifier: str | None = None
    url: str | None = None
    seen_at: str | None = None  # a copy (mirror, aggregator) where the text was read; never shown as the source
    checked: bool = True
    note: str | None = None  # what the record says that the knowledge base uses

    @model_validator(mode="after")
    def _locator(self):
        if not (self.doi or self.pmid or self.identifier or self.url or self.seen_at):
            raise ValueError("needs a doi, pmid, identifier, url or (known only through a copy) seen_at")
        return self



class PathwayNode(_Strict):
    id: str
    label: str
    kind: Literal["drug", "receptor", "transmitter", "kinase", "process", "outcome"]


class PathwayEdge(Cited):
    source: str
    target: str
    effect: Literal["activates", "inhibits"]
    timescale: str


class Pathway(_Strict):
    name: str
    nodes: list[PathwayNode] = Field(min_length=2)
    edges: list[PathwayEdge] = Field(min_length=1)

    @model_validator(mode="after")
    def _edges_known(self):
        ids = {n.id for n in self.nodes}
        for i, e in enumerate(self.edges):
            for end in (e.source, e.target):
                if end not in ids:
                    raise ValueError(f"edges[{i}] names unknown node {end!r}")
        return self


class Convergence(Cited):
    node: str
    with_: str = Field(alias="with")
    note: str


class ProtocolStep(Cited):
    step: str
    detail: str


class Protocol(_Strict):
    id: str
    name: str
    kind: Literal["preclinical", "clinical"]
    purpose: str
    refs: list[str] = Field(min_length=1)
    steps: list[ProtocolStep] = Field(min_length=1)
    measures: list[str] = []
    executes_with: str | None = None


class Arm(_Strict):
    """A trial arm: what it received (exactly one of a drug, a class or a control) and its size."""

    arm: str
    drug: str | None = None
    drug_class: str | None = None
    control: str | None = None
    dose: str | None = None
    n: int = Field(gt=0)

    @model_validator(mode="after")
    def _one_side(self):
        if sum(x is not None for x in (self.drug, self.drug_class, self.control)) != 1:
            raise ValueError("an arm names exactly one of drug, drug_class or control")
        return self


class TrialArm(Arm):
    responders: int | None = Field(default=None, ge=0)
    remitters: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self):
        for f in ("responders", "remitters"):
            v = getattr(self, f)
            if v is not None and v > self.n:
                raise ValueError(f"{f} ({v}) exceeds n ({self.n})")
        return self


#: Time windows in which outcomes are pooled; outcomes from different windows are never pooled together.
WINDOWS = ("2-4h", "24h", "day2-3", "day7", "week4", "week6-8", "acute-end")
Window = Literal["2-4h", "24h", "day2-3", "day7", "week4", "week6-8", "acute-end"]
WINDOW_LABELS = {"2-4h": "2-4 h", "24h": "24 h (day 1)", "day2-3": "day 2-3 (48-72 h)", "day7": "day 7-8",
                 "week4": "week 4 (day 25-28)", "week6-8": "week 6-8", "acute-end": "end of the acute phase (4-12 weeks)"}


class Trial(_Strict):
    id: str
    #: how a guide names the trial (e.g. "TRANSFORM-2 (Popova 2019)"); default: first author and year
    name: str | None = None
    refs: list[str] = Field(min_length=1)
    design: str
    population: str
    timepoint: str
    window: Window
    outcome: str
    status: Literal["V", "D", "M", "V/D"]
    note: str | None = None
    #: a short risk-of-bias note for the reader (blinding, carry-over, sponsor where sourced)
    bias: str | None = None
    arms: list[TrialArm] = Field(min_length=1)

    @property
    def verified(self) -> bool:
        return self.status != "M"


# --- continuous outcomes (knowledge/data/continuous.yaml) ----------------------------------------

class ContinuousArm(Arm):
    """One arm at one time point: its size and, where reported, its mean (change or score) with SD or SE."""

    mean: float | None = Field(default=None, allow_inf_nan=False)
    sd: float | None = Field(default=None, ge=0, allow_inf_nan=False)
    se: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    #: this arm's numbers when they differ in status from the record's (e.g. M arm means beside a V LSMD)
    status: Literal["V", "D", "M", "V/D"] | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.sd is not None and self.se is not None:
            raise ValueError("give sd or se, not both")
        if (self.sd is not None or self.se is not None) and self.mean is None:
            raise ValueError("an sd or se needs its mean")
        return self


class ContinuousContrast(_Strict):
    """A between-arm difference as the trial reported it (arm minus ``vs``), with its SE or CI."""

    arm: str
    vs: str
    estimate: float = Field(allow_inf_nan=False)
    se: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    ci: tuple[float, float] | None = None
    #: "LSMD": least-squares mean difference of an MMRM/ANCOVA; "paired": within-patient difference of a crossover
    analysis: Literal["LSMD", "paired"]

    @model_validator(mode="after")
    def _check(self):
        if self.ci is not None and not (self.ci[0] < self.estimate < self.ci[1]):
            raise ValueError(f"the estimate {self.estimate} is not inside its CI {list(self.ci)}")
        return self


class ContinuousRecord(_Strict):
    """A trial's continuous depression outcome at one time point."""

    trial: str
    #: how a guide names the trial; default: first author and year of its first reference
    name: str | None = None
    refs: list[str] = Field(min_length=1)
    design: str
    population: str
    timepoint: str
    window: Window
    scale: str
    #: what the arm means are: change from baseline, or the score at the time point
    measure: Literal["change", "score"]
    status: Literal["V", "D", "M", "V/D"]
    note: str | None = None
    bias: str | None = None
    #: within-patient correlation of a crossover trial's two periods, when the trial reports one
    correlation: float | None = Field(default=None, gt=-1, lt=1)
    arms: list[ContinuousArm] = Field(min_length=2)
    contrasts: list[ContinuousContrast] = []

    @model_validator(mode="after")
    def _check(self):
        names = [a.arm for a in self.arms]
        if len(set(names)) != len(names):
            raise ValueError("arm names repeat")
        for c in self.contrasts:
            for side in (c.arm, c.vs):
                if side not in names:
                    raise ValueError(f"contrast names arm {side!r}, which is not one of {names}")
        return self

    @property
    def verified(self) -> bool:
        return self.status != "M"

    @property
    def crossover(self) -> bool:
        return "crossover" in self.design.lower()


# --- PK parameter sets (knowledge/data/pk_models.yaml) -------------------------------------------

class Param(Cited):
    """One model parameter: a finite, non-negative number with its sources (unit in the field name)."""

    value: float = Field(ge=0, allow_inf_nan=False)


class Inactivation(Cited):
    """Irreversible (mechanism-based) inactivation of an enzyme by an analyte.

    The inactivation rate is ``kinact C_u / (KI + C_u)`` (per hour, ``C_u`` unbound plasma nM);
    ``efficiency_per_nm_per_h`` is ``kinact / KI``, the second-order constant that sets the rate at
    concentrations well below ``KI``. Without ``ki_nm`` the rate is ``efficiency * C_u`` (linear).
    """

    efficiency_per_nm_per_h: float = Field(gt=0, allow_inf_nan=False)
    ki_nm: float | None = Field(default=None, gt=0, allow_inf_nan=False)


class PKAnalyte(_Strict):
    """One measured analyte (the parent or a metabolite) of a linear compartment model.

    Disposition parameters are per 70 kg. A metabolite names its ``parent`` and ``fm``, the fraction
    of the parent's clearance (normal CYP2D6 function) that forms it; ``formed_by_cyp2d6`` says that
    this formation pathway is CYP2D6's, so that it scales with the CYP2D6 activity score.
    ``cyp2d6_ki_nmol_per_l`` marks an analyte that inhibits CYP2D6 at its own plasma levels (a
    substrate that saturates, or a competitive inhibitor): the apparent constant, as total plasma
    concentration, at which it alone halves CYP2D6 activity.
    ``brain_rel_to_parent`` is a metabolite's brain-to-plasma ratio relative to its parent's (below 1 for
    a metabolite that crosses the blood-brain barrier less); it scales the metabolite's unbound brain
    concentration at every target.
    """

    name: str
    mw_g_per_mol: Param
    cl_l_per_h: Param
    v1_l: Param
    q_l_per_h: Param | None = None
    v2_l: Param | None = None
    q2_l_per_h: Param | None = None
    v3_l: Param | None = None
    fu: Param
    cyp2d6_fraction: Param | None = None
    cyp2d6_ki_nmol_per_l: Param | None = None
    parent: str | None = None
    fm: Param | None = None
    formed_by_cyp2d6: bool = False
    first_pass_fm: Param | None = None
    brain_rel_to_parent: Param | None = None
    binding: dict[Target, Binding] = {}
    inactivation: dict[Target, Inactivation] = {}

    @model_validator(mode="after")
    def _shape(self):
        if (self.q_l_per_h is None) != (self.v2_l is None):
            raise ValueError("q_l_per_h and v2_l come together (2-compartment)")
        if (self.q2_l_per_h is None) != (self.v3_l is None):
            raise ValueError("q2_l_per_h and v3_l come together (3-compartment)")
        if self.v3_l is not None and self.v2_l is None:
            raise ValueError("a third compartment needs a second (v2_l)")
        if (self.parent is None) != (self.fm is None):
            raise ValueError("a metabolite gives both parent and fm")
        if self.brain_rel_to_parent is not None and (self.parent is None or not 0 < self.brain_rel_to_parent.value <= 1):
            raise ValueError("brain_rel_to_parent is for a metabolite, a ratio in (0, 1]")
        for name in ("fu", "cyp2d6_fraction", "fm", "first_pass_fm"):
            p = getattr(self, name)
            if p is not None and p.value > 1:
                raise ValueError(f"{name} is a fraction, got {p.value}")
        if self.cl_l_per_h.value <= 0 or self.v1_l.value <= 0:
            raise ValueError("cl_l_per_h and v1_l must be positive")
        if self.cyp2d6_ki_nmol_per_l is not None and self.cyp2d6_ki_nmol_per_l.value <= 0:
            raise ValueError("cyp2d6_ki_nmol_per_l must be positive")
        return self


class AbsorptionPath(_Strict):
    """One way a dose enters the body: ``fraction`` of the dose, of which ``f`` reaches the circulation.

    ``fa`` is the fraction absorbed from the gut (default 1); the rest of ``fa`` that does not reach
    the circulation (``fa - f``) is extracted on first pass, where metabolites may be formed.
    """

    fraction: Param | None = None
    f: Param
    fa: Param | None = None
    ka_per_h: Param | None = None
    tlag_h: Param | None = None

    @model_validator(mode="after")
    def _fractions(self):
        fa = self.fa.value if self.fa else 1.0
        if self.f.value > fa or fa > 1:
            raise ValueError(f"need f ({self.f.value}) <= fa ({fa}) <= 1")
        return self


class RouteSpec(_Strict):
    """Absorption for one route. Spray devices: each ``device_mg`` is one administration,
    ``device_interval_h`` apart; after the first, the first path's fraction is multiplied by
    ``later_device_factor`` and the second path takes the rest."""

    paths: list[AbsorptionPath] = Field(min_length=1)
    device_mg: Param | None = None
    device_interval_h: Param | None = None
    later_device_factor: Param | None = None


class CovariateEffect(Cited):
    """A multiplicative covariate effect on one parameter of one analyte."""

    analyte: str
    parameter: Literal["cl_l_per_h", "v1_l"]
    covariate: Literal["age_y", "sex"]
    at_least: float | None = None
    level: Literal["female", "male"] | None = None
    factor: float = Field(gt=0)

    def applies(self, age_y, sex):
        """Whether the effect applies to patients of ``age_y`` and ``sex`` (scalars or arrays)."""
        return (age_y >= self.at_least) if self.covariate == "age_y" else (sex == self.level)


class IIV(Cited):
    """Between-subject variability as coefficients of variation (%) of log-normal parameters,
    keyed ``analyte.parameter`` (``ka`` for the first absorption path), with correlations keyed
    ``a.p~b.q``."""

    cv_pct: dict[str, float]
    correlations: dict[str, float] = {}


class OlderDoseLimit(Cited):
    """A lower labelled maximum daily dose above an age (e.g. citalopram 20 mg/day over 60, QT risk)."""

    older_than_y: float = Field(gt=0, le=120)
    daily_mg: float = Field(gt=0)


class DoseLimit(Cited):
    """The labelled maximum, above which a regimen is simulated with a warning."""

    daily_mg: float | None = Field(default=None, gt=0)
    single_mg: float | None = Field(default=None, gt=0)
    single_mg_per_kg: float | None = Field(default=None, gt=0)
    older: OlderDoseLimit | None = None


class PKModelSpec(_Strict):
    """A drug's PK parameter set: analytes, absorption by route, variability, covariates, limits."""

    analytes: list[PKAnalyte] = Field(min_length=1)
    routes: dict[Route, RouteSpec]
    iiv: IIV | None = None
    covariates: list[CovariateEffect] = []
    dose_limit: DoseLimit | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _links(self):
        names = [a.name for a in self.analytes]
        if len(set(names)) != len(names):
            raise ValueError("analyte names repeat")
        if self.analytes[0].parent is not None:
            raise ValueError("the first analyte is the parent drug and has no parent")
        for a in self.analytes[1:]:
            if a.parent is None or a.parent not in names[: names.index(a.name)]:
                raise ValueError(f"analyte {a.name!r}: parent must be an earlier analyte")
        for c in self.covariates:
            if c.analyte not in names:
                raise ValueError(f"covariate effect on unknown analyte {c.analyte!r}")
        for a in self.analytes:
            # metabolites formed by other enzymes share the part of the parent's clearance CYP2D6 does not own
            other = sum(m.fm.value for m in self.analytes if m.parent == a.name and not m.formed_by_cyp2d6)
            own = a.cyp2d6_fraction.value if a.cyp2d6_fraction else 0.0
            if other > 1 - own + 1e-9:
                raise ValueError(f"analyte {a.name!r}: metabolites formed outside CYP2D6 take fm {other:g}, more "
                                 f"than the {1 - own:g} of its clearance that is not CYP2D6's")
        return self


# --- therapeutic drug monitoring (knowledge/data/tdm.yaml) ---------------------------------------

class DoseRange(Cited):
    """The usual daily dose range (mg/day) for depression."""

    low: float = Field(gt=0)
    high: float = Field(gt=0)


class ModelGap(Cited):
    """Why the typical adult at the usual dose falls outside the consensus range (``direction``)."""

    direction: Literal["below", "above"]


class TDMRange(Cited):
    """A consensus therapeutic reference range: trough serum/plasma concentration at steady state of
    the ``analytes`` summed (one analyte, or parent + active metabolite)."""

    analytes: list[str] = Field(min_length=1)
    low_ng_per_ml: float | None = Field(default=None, gt=0)
    high_ng_per_ml: float | None = Field(default=None, gt=0)
    alert_ng_per_ml: float | None = Field(default=None, gt=0)  # above this, the laboratory warns of toxicity
    #: who published the range and alert as read here (a laboratory or a paper): the AGNP consensus (Hiemke 2018)
    #: is named as the source only where its own table was read, otherwise as what the publisher cites
    range_source: str | None = None
    usual_daily_mg: DoseRange
    gap: ModelGap | None = None

    @model_validator(mode="after")
    def _order(self):
        if (self.low_ng_per_ml is None) != (self.high_ng_per_ml is None):
            raise ValueError("low_ng_per_ml and high_ng_per_ml come together")
        if self.low_ng_per_ml is not None and self.low_ng_per_ml >= self.high_ng_per_ml:
            raise ValueError("low_ng_per_ml must be below high_ng_per_ml")
        if self.usual_daily_mg.low > self.usual_daily_mg.high:
            raise ValueError("usual_daily_mg: low above high")
        return self

    @property
    def has_range(self) -> bool:
        return self.low_ng_per_ml is not None

    @property
    def source_label(self) -> str:
        """Whose range this is, as a reader should see it: ``"Mayo Clinic Laboratories (citing the AGNP
        consensus, Hiemke 2018)"``."""
        who = self.range_source or "source not named"
        return f"{who} (citing the AGNP consensus, Hiemke 2018)" if "hiemke2018" in self.refs else who

    def position(self, value_ng_per_ml: float) -> str | None:
        """Where a level lies against the consensus range: ``"below"``, ``"inside"`` (bounds included)
        or ``"above"``; None when the drug has no range. The laboratory alert is separate (:attr:`alert_ng_per_ml`)."""
        if not self.has_range:
            return None
        if value_ng_per_ml < self.low_ng_per_ml:
            return "below"
        return "above" if value_ng_per_ml > self.high_ng_per_ml else "inside"


class OccupancyCalibration(Cited):
    """An in vivo EC50 (total plasma) from PET that fixes the brain-to-plasma factor of a target family."""

    drug: str
    target: Target
    ec50_ng_per_ml: float = Field(gt=0)
    applies_to: list[Target] = Field(min_length=1)


class OccupancySpec(_Strict):
    hill: Param
    calibrations: list[OccupancyCalibration] = []
    mao_resynthesis_half_life_h: Param | None = None
