"""The JSON bodies the API accepts, with their limits (pydantic): every field is checked before any work."""
from __future__ import annotations

from typing import Literal, Optional

from pydantic import BaseModel, Field

from ..evidence.effect_sizes import Measure
from ..evidence.meta import Method
from ..pharmacology.model import NO_INHIBITOR, REFERENCE_AGE_Y, REFERENCE_PHENOTYPE, REFERENCE_WEIGHT_KG
from ..pharmacology.tdm import DEFAULT_N as TDM_DEFAULT_N, DEFAULT_SEED as TDM_DEFAULT_SEED
from ..pharmacology.tdm_measured import Unit
from . import services

Name = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9 ._+()/-]+$")


class RegimenIn(BaseModel):
    drug: str = Name
    regimen: str = Field(min_length=1, max_length=200)
    seed: int = Field(1, ge=0, le=2**32 - 1)
    weight_kg: float = Field(REFERENCE_WEIGHT_KG, ge=20, le=250)


class SimulateIn(RegimenIn):
    days: float = Field(28, gt=0, le=services.LIMITS["days"])
    n: int = Field(50, ge=1, le=services.LIMITS["n"])


class PKIn(RegimenIn):
    hours: Optional[float] = Field(None, gt=0, le=24 * services.LIMITS["days"])
    n: int = Field(1, ge=1, le=services.LIMITS["n"])


class TDMIn(BaseModel):
    drug: str = Name
    regimen: str = Field(min_length=1, max_length=200)
    measured_ng_per_ml: Optional[float] = Field(None, ge=0, le=1e6)
    #: a number (the monitored quantity) or each analyte, "imipramine=120,desipramine=95"
    measured: Optional[str] = Field(None, min_length=1, max_length=200)
    unit: Unit = "ng/mL"
    sample_h: Optional[float] = Field(None, ge=0, le=24 * 7)
    since_start_h: Optional[float] = Field(None, gt=0, le=24 * 365)
    phenotype: Literal["PM", "IM", "NM", "UM", "mixed"] = REFERENCE_PHENOTYPE
    cyp2d6_inhibitor: Literal["none", "moderate", "strong"] = NO_INHIBITOR
    age_y: float = Field(REFERENCE_AGE_Y, ge=0, le=120)
    weight_kg: float = Field(REFERENCE_WEIGHT_KG, ge=20, le=250)
    n: int = Field(TDM_DEFAULT_N, ge=1, le=5000)
    seed: int = Field(TDM_DEFAULT_SEED, ge=0, le=2**32 - 1)


class MechanismIn(PKIn):
    days: float = Field(28, gt=0, le=services.LIMITS["days"])


class TrialIn(BaseModel):
    protocol: str = Name
    n_per_arm: int = Field(40, ge=2, le=services.LIMITS["n_per_arm"])
    seed: int = Field(1, ge=0, le=2**32 - 1)


class PowerIn(TrialIn):
    reps: int = Field(100, ge=2, le=services.LIMITS["reps"])


class MetaIn(BaseModel):
    data: list[dict[str, str | float | int | None]] = Field(min_length=1, max_length=500)
    measure: Measure
    method: Method = "REML"
    knha: bool = False
