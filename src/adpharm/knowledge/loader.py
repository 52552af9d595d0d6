"""Load and validate the knowledge base from human-reviewable YAML/CSV files.

Every file is validated against :mod:`adpharm.knowledge.schema`; cross references (reference
keys, classes, members, pathways, trial drugs) are checked after that. Any problem raises
:class:`~adpharm.errors.AdpharmInputError` naming the file and the field.
"""
from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import yaml

from ..io import load_yaml
from pydantic import BaseModel, ValidationError

from ..errors import AdpharmInputError
from .schema import (ContinuousRecord, Convergence, Drug, DrugClass, OccupancySpec, Pathway, PKModelSpec, Protocol,
                     Reference, SafetyFact, TDMRange, Trial, TrialArm)

DATA_DIR = Path(__file__).parent / "data"

#: Linde 2015 treatment labels mapped to adpharm class ids. rMAO-A (moclobemide-type reversible
#: MAO-A inhibitors) is deliberately not mapped to ``maoi``, whose members are irreversible.
LINDE_CLASS_MAP = {"TCA": "tca", "SSRI": "ssri", "SNRI": "snri"}


@dataclass
class KnowledgeBase:
    references: dict[str, Reference]
    drugs: dict[str, Drug]
    classes: dict[str, DrugClass]
    pathways: dict[str, Pathway]
    convergence: list[Convergence]
    protocols: dict[str, Protocol]
    trials: list[Trial]
    source_dir: Path = field(default=DATA_DIR)
    pk_models: dict[str, PKModelSpec] = field(default_factory=dict)
    occupancy: OccupancySpec | None = None
    tdm: dict[str, TDMRange] = field(default_factory=dict)
    continuous: list[ContinuousRecord] = field(default_factory=list)
    safety: list[SafetyFact] = field(default_factory=list)

    def safety_for(self, drug_or_class: str) -> list[SafetyFact]:
        """The safety facts of a drug (its own and its class's) or of a class (its own and its members'), in file
        order, each once.

        Examples
        --------
        >>> from adpharm.knowledge.loader import bundled
        >>> [f.id for f in bundled().safety_for("esketamine")][:2]
        ['boxed-suicidality', 'esketamine-contraindications']
        """
        if drug_or_class in self.drugs:
            names = {drug_or_class, self.drugs[drug_or_class].drug_class}
        elif drug_or_class in self.classes:
            names = {drug_or_class, *self.classes[drug_or_class].members}
        else:
            return []
        return [f for f in self.safety if names & set(f.applies_to)]


def _read_yaml(path: Path) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return load_yaml(fh)
    except FileNotFoundError:
        raise AdpharmInputError(f"{path}: file not found") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise AdpharmInputError(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)})") from None


def validate_model(model: type[BaseModel], data: Any, path: Path, prefix: str = "") -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in ((prefix,) if prefix else ()) + tuple(err["loc"]))
        msg = err["msg"].removeprefix("Value error, ")
        more = f" (+{len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
        raise AdpharmInputError(f"{path}: field {loc or '<root>'}: {msg}{more}") from None


def _mapping(data: Any, path: Path) -> dict:
    if not isinstance(data, dict):
        raise AdpharmInputError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def _linde_trials(path: Path) -> list[Trial]:
    """Class-level primary-care trials from metadat's dat.linde2015 (Linde et al. 2015)."""
    trials: list[Trial] = []
    with open(path, newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            arms = []
            for k in (1, 2, 3):
                label, n, resp = row.get(f"treatment{k}", ""), row.get(f"n{k}", ""), row.get(f"resp{k}", "")
                if not label or not n or not resp:
                    continue
                remi = row.get(f"remi{k}") or None
                kw = {"control": "placebo"} if label == "Placebo" else (
                    {"drug_class": LINDE_CLASS_MAP[label]} if label in LINDE_CLASS_MAP else None)
                if kw is None:
                    continue
                arms.append(TrialArm(arm=label, n=int(n), responders=int(resp),
                                     remitters=int(remi) if remi else None, **kw))
            if len(arms) >= 2:
                trials.append(Trial(id=f"linde2015_{row['id']}", refs=["linde2015"],
                                    design="parallel (primary care)", population="depressive disorders in primary care",
                                    timepoint="end of acute phase", window="acute-end",
                                    outcome="response (>=50 % reduction)",
                                    status="V", note=f"{row['author']} {row['year']}; trial {row['id']} of Linde 2015",
                                    arms=arms))
    return trials


def _cited_items(obj: Any, where: str) -> Iterable[tuple[str, BaseModel]]:
    """Yield every model with a ``refs`` field nested in ``obj`` (itself included), with a dotted location."""
    if isinstance(obj, BaseModel) and "refs" in type(obj).model_fields:
        yield where, obj
    if isinstance(obj, BaseModel):
        for name in type(obj).model_fields:
            yield from _cited_items(getattr(obj, name), f"{where}.{name}")
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield from _cited_items(v, f"{where}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _cited_items(v, f"{where}[{i}]")


def _optional_list(path: Path, model: type[BaseModel], what: str) -> list:
    """The validated items of an optional YAML list file (empty when the file is absent)."""
    if not path.exists():
        return []
    raw = _read_yaml(path)
    if not isinstance(raw, list):
        raise AdpharmInputError(f"{path}: expected a list of {what}")
    return [validate_model(model, r, path, f"[{i}]") for i, r in enumerate(raw)]


def load(data_dir: str | Path = DATA_DIR) -> KnowledgeBase:
    """Load, validate and cross-check the knowledge base in ``data_dir``."""
    d = Path(data_dir)
    refs_path = d / "references.yaml"
    references = {k: validate_model(Reference, v, refs_path, k) for k, v in _mapping(_read_yaml(refs_path), refs_path).items()}

    drugs: dict[str, Drug] = {}
    drug_files = sorted((d / "drugs").glob("*.yaml"))
    if not drug_files:
        raise AdpharmInputError(f"{d / 'drugs'}: no drug files found")
    for p in drug_files:
        drug = validate_model(Drug, _read_yaml(p), p)
        if drug.id != p.stem:
            raise AdpharmInputError(f"{p}: field id: {drug.id!r} does not match the file name {p.stem!r}")
        drugs[drug.id] = drug

    cls_path = d / "classes.yaml"
    classes = {k: validate_model(DrugClass, v, cls_path, k) for k, v in _mapping(_read_yaml(cls_path), cls_path).items()}

    pw_path = d / "pathways.yaml"
    pw_raw = _mapping(_read_yaml(pw_path), pw_path)
    convergence = [validate_model(Convergence, c, pw_path, f"convergence[{i}]") for i, c in enumerate(pw_raw.pop("convergence", []))]
    pathways = {k: validate_model(Pathway, v, pw_path, k) for k, v in pw_raw.items()}

    protocols: dict[str, Protocol] = {}
    for p in sorted((d / "protocols").glob("*.yaml")):
        proto = validate_model(Protocol, _read_yaml(p), p)
        protocols[proto.id] = proto

    tr_path = d / "trials.yaml"
    tr_raw = _read_yaml(tr_path)
    if not isinstance(tr_raw, list):
        raise AdpharmInputError(f"{tr_path}: expected a list of trials")
    trials = [validate_model(Trial, t, tr_path, f"[{i}]") for i, t in enumerate(tr_raw)]
    linde = d / "linde2015.csv"
    if linde.exists():
        trials += _linde_trials(linde)

    pk_models: dict[str, PKModelSpec] = {}
    pk_path = d / "pk_models.yaml"
    if pk_path.exists():
        pk_models = {k: validate_model(PKModelSpec, v, pk_path, k) for k, v in _mapping(_read_yaml(pk_path), pk_path).items()}
    occ_path = d / "occupancy.yaml"
    occupancy = validate_model(OccupancySpec, _read_yaml(occ_path), occ_path) if occ_path.exists() else None

    tdm_path = d / "tdm.yaml"
    tdm = {}
    if tdm_path.exists():
        tdm = {k: validate_model(TDMRange, v, tdm_path, k) for k, v in _mapping(_read_yaml(tdm_path), tdm_path).items()}
    continuous = _optional_list(d / "continuous.yaml", ContinuousRecord, "continuous-outcome records")
    safety = _optional_list(d / "safety.yaml", SafetyFact, "safety facts")
    kb = KnowledgeBase(references, drugs, classes, pathways, convergence, protocols, trials, d, pk_models, occupancy,
                       tdm, continuous, safety)
    _cross_check(kb)
    return kb


def _cross_check(kb: KnowledgeBase) -> None:
    d = kb.source_dir
    groups: list[tuple[Path, str, Any]] = []
    groups += [(d / "drugs" / f"{k}.yaml", k, v) for k, v in kb.drugs.items()]
    groups += [(d / "classes.yaml", k, v) for k, v in kb.classes.items()]
    groups += [(d / "pathways.yaml", k, v) for k, v in kb.pathways.items()]
    groups += [(d / "pathways.yaml", f"convergence[{i}]", c) for i, c in enumerate(kb.convergence)]
    groups += [(d / "protocols" / f"{k}.yaml", k, v) for k, v in kb.protocols.items()]
    groups += [(d / "trials.yaml", t.id, t) for t in kb.trials]
    groups += [(d / "continuous.yaml", f"[{i}]", r) for i, r in enumerate(kb.continuous)]
    groups += [(d / "pk_models.yaml", k, v) for k, v in kb.pk_models.items()]
    if kb.occupancy is not None:
        groups += [(d / "occupancy.yaml", "occupancy", kb.occupancy)]
    groups += [(d / "tdm.yaml", k, v) for k, v in kb.tdm.items()]
    groups += [(d / "safety.yaml", f.id, f) for f in kb.safety]
    seen_ids: set[str] = set()
    for i, f in enumerate(kb.safety):
        if f.id in seen_ids:
            raise AdpharmInputError(f"{d / 'safety.yaml'}: field [{i}].id: {f.id!r} is given twice")
        seen_ids.add(f.id)
        for name in f.applies_to:
            if name not in kb.drugs and name not in kb.classes:
                raise AdpharmInputError(f"{d / 'safety.yaml'}: field {f.id}.applies_to: {name!r} is neither a drug "
                                        "nor a class")
    for k, rng in kb.tdm.items():
        spec = kb.pk_models.get(k)
        if spec is None:
            raise AdpharmInputError(f"{d / 'tdm.yaml'}: field {k}: no PK parameter set for this drug")
        names = [a.name for a in spec.analytes]
        for a in rng.analytes:
            if a not in names:
                raise AdpharmInputError(f"{d / 'tdm.yaml'}: field {k}.analytes: {a!r} is not modelled "
                                        f"(analytes: {', '.join(names)})")
    for path, name, obj in groups:
        for where, cited in _cited_items(obj, name):
            for r in cited.refs:
                if r not in kb.references:
                    raise AdpharmInputError(f"{path}: field {where}.refs: unknown reference key {r!r}")
    for k, drug in kb.drugs.items():
        p = d / "drugs" / f"{k}.yaml"
        if drug.drug_class not in kb.classes:
            raise AdpharmInputError(f"{p}: field drug_class: unknown class {drug.drug_class!r}")
        for pw in drug.signalling_pathways:
            if pw not in kb.pathways:
                raise AdpharmInputError(f"{p}: field signalling_pathways: unknown pathway {pw!r}")
        for name, v in drug.pk:
            if v is not None and v.value is not None and not math.isfinite(v.value):
                raise AdpharmInputError(f"{p}: field pk.{name}.value: not a finite number")
    for k in kb.pk_models:
        if k not in kb.drugs:
            raise AdpharmInputError(f"{d / 'pk_models.yaml'}: field {k}: unknown drug {k!r}")
    for i, c in enumerate(kb.occupancy.calibrations if kb.occupancy else []):
        if c.drug not in kb.drugs:
            raise AdpharmInputError(f"{d / 'occupancy.yaml'}: field calibrations[{i}].drug: unknown drug {c.drug!r}")
    for k, c in kb.classes.items():
        for m in c.members:
            if m not in kb.drugs:
                raise AdpharmInputError(f"{d / 'classes.yaml'}: field {k}.members: unknown drug {m!r}")
            if kb.drugs[m].drug_class != k:
                raise AdpharmInputError(f"{d / 'classes.yaml'}: field {k}.members: {m!r} declares class {kb.drugs[m].drug_class!r}")
    arm_groups = [(d / "trials.yaml", t.id, t.arms) for t in kb.trials]
    arm_groups += [(d / "continuous.yaml", f"[{j}]", r.arms) for j, r in enumerate(kb.continuous)]
    for path, name, arms in arm_groups:
        for i, a in enumerate(arms):
            if a.drug and a.drug not in kb.drugs:
                raise AdpharmInputError(f"{path}: field {name}.arms[{i}].drug: unknown drug {a.drug!r}")
            if a.drug_class and a.drug_class not in kb.classes:
                raise AdpharmInputError(f"{path}: field {name}.arms[{i}].drug_class: unknown class {a.drug_class!r}")


_BUNDLED: KnowledgeBase | None = None


def or_bundled(kb: KnowledgeBase | None) -> KnowledgeBase:
    """``kb`` itself, or the bundled knowledge base when None (the default of every engine)."""
    return bundled() if kb is None else kb


def bundled() -> KnowledgeBase:
    """The bundled knowledge base, loaded and validated once per process."""
    global _BUNDLED
    if _BUNDLED is None:
        _BUNDLED = load(DATA_DIR)
    return _BUNDLED
