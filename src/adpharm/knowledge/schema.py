"""Schema of the knowledge base (pydantic). Every number carries reference keys.

The YAML files under ``knowledge/data`` are validated against these models at load time;
a file that does not fit is rejected with the file and the field named.
"""
from __future__ import annotations

from typing import Literal

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
    measure: Literal["Ki", "Kd", "IC50"]
    species: str | None = None

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


class DrugClass(_Strict):
    name: str
    aliases: list[str] = []
    members: list[str] = Field(min_length=1)
    primary_mechanism: CitedText


class Reference(_Strict):
    authors: str
    year: int = Field(ge=1900, le=2100)
    title: str
    journal: str
    doi: str | None = None
    pmid: str | None = None
    url: str | None = None
    checked: bool = True

    @model_validator(mode="after")
    def _locator(self):
        if not (self.doi or self.pmid or self.url):
            raise ValueError("needs a doi, pmid or url")
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


class TrialArm(_Strict):
    arm: str
    drug: str | None = None
    drug_class: str | None = None
    control: str | None = None
    dose: str | None = None
    n: int = Field(gt=0)
    responders: int | None = Field(default=None, ge=0)
    remitters: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _check(self):
        if sum(x is not None for x in (self.drug, self.drug_class, self.control)) != 1:
            raise ValueError("an arm names exactly one of drug, drug_class or control")
        for f in ("responders", "remitters"):
            v = getattr(self, f)
            if v is not None and v > self.n:
                raise ValueError(f"{f} ({v}) exceeds n ({self.n})")
        return self


class Trial(_Strict):
    id: str
    refs: list[str] = Field(min_length=1)
    design: str
    population: str
    timepoint: str
    outcome: str
    status: Literal["V", "D", "M", "V/D"]
    note: str | None = None
    arms: list[TrialArm] = Field(min_length=1)

    @property
    def verified(self) -> bool:
        return self.status != "M"
