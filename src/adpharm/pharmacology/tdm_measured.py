"""What a TDM laboratory measured: parent and metabolite levels (or their sum) in ng/mL or nmol/L.

A laboratory reports each analyte of a drug separately (imipramine and desipramine), often in nmol/L,
and the consensus range of many tricyclics is for their sum. :func:`parse_measured` reads what was
measured, checks every name against the drug's model and converts to ng/mL by the molar masses
(PubChem). :func:`ratio_ranges` gives the metabolite-to-parent ratio that the model expects in each
CYP2D6 phenotype, the standard check for poor or ultrarapid metabolism, inhibitors and
non-adherence [1]_.

References
----------
.. [1] Hiemke C, Bergemann N, Clement HW, et al. (2018). Consensus guidelines for therapeutic drug
   monitoring in neuropsychopharmacology: update 2017. Pharmacopsychiatry 51:9-62.
   doi:10.1055/s-0043-116492
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal, Mapping, get_args

import numpy as np

from ..errors import AdpharmInputError

#: Units a measured level may be given in.
Unit = Literal["ng/mL", "nmol/L"]
UNITS = get_args(Unit)
#: The key of a measured sum of the monitored analytes.
SUM = "sum"


@dataclass(frozen=True)
class Measured:
    """Measured levels as given: ``values`` maps an analyte (or :data:`SUM`) to its level in ``unit``.

    Examples
    --------
    >>> m = Measured({"imipramine": 120.0, "desipramine": 95.0}, "ng/mL")
    >>> m.analytes
    ['imipramine', 'desipramine']
    """

    values: dict[str, float]
    unit: str = "ng/mL"

    @property
    def analytes(self) -> list[str]:
        """The analytes measured separately (empty when only the sum was given)."""
        return [k for k in self.values if k != SUM]

    @property
    def is_sum(self) -> bool:
        return SUM in self.values


def to_ng_per_ml(value: float, unit: str, mw_g_per_mol: float) -> float:
    """A level in ``unit`` converted to ng/mL (1 nmol/L = MW/1000 ng/mL).

    >>> round(to_ng_per_ml(1000.0, "nmol/L", 280.41), 2)
    280.41
    """
    return value if unit == "ng/mL" else value * mw_g_per_mol / 1000.0


def from_ng_per_ml(value, unit: str, mw_g_per_mol: float):
    """A level in ng/mL converted to ``unit``."""
    return value if unit == "ng/mL" else value * 1000.0 / mw_g_per_mol


def check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise AdpharmInputError(f"{unit!r} is neither ng/mL nor nmol/L", field="unit")
    return unit


def _number(text: str, what: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise AdpharmInputError(f"measured: {what} {text!r} is not a number") from None
    if not math.isfinite(v) or v < 0:
        raise AdpharmInputError(f"measured: {what} {text} is not a concentration (need 0 or more)")
    return v


def parse_measured(measured: float | str | Mapping[str, float], analytes: list[str], drug: str,
                   unit: str = "ng/mL") -> Measured:
    """Read a measured level: a number (the monitored quantity, e.g. the sum the range is for), a
    mapping ``{analyte: level}``, or the text ``"imipramine=120,desipramine=95"``.

    Raises :class:`AdpharmInputError` naming the value on an analyte the drug does not have, a repeated
    analyte, a level that is not a concentration, or a unit other than ng/mL or nmol/L.

    Examples
    --------
    >>> parse_measured("imipramine=120,desipramine=95", ["imipramine", "desipramine"], "imipramine").values
    {'imipramine': 120.0, 'desipramine': 95.0}
    >>> parse_measured(215, ["imipramine", "desipramine"], "imipramine").is_sum
    True
    """
    check_unit(unit)
    if isinstance(measured, (int, float)) and not isinstance(measured, bool):
        return Measured({SUM: _number(repr(float(measured)), "level")}, unit)
    if isinstance(measured, str) and "=" not in measured:
        return Measured({SUM: _number(measured.strip(), "level")}, unit)
    if isinstance(measured, str):
        pairs = []
        for part in measured.split(","):
            name, eq, value = part.partition("=")
            if not eq or not name.strip():
                raise AdpharmInputError(f"{part.strip()!r} is not ANALYTE=LEVEL "
                                        "(e.g. imipramine=120,desipramine=95)", field="measured")
            pairs.append((name.strip(), value.strip()))
    else:
        pairs = [(str(k), str(v)) for k, v in dict(measured).items()]
    values: dict[str, float] = {}
    for name, value in pairs:
        if name not in analytes:
            raise AdpharmInputError(f"{name!r} is not an analyte of {drug} (its analytes: "
                                    f"{', '.join(analytes)})", field="measured")
        if name in values:
            raise AdpharmInputError(f"{name!r} is given twice", field="measured")
        values[name] = _number(value, name)
    return Measured(values, unit)


def ratio_ranges(metabolite_ng_per_ml: dict[str, np.ndarray], parent_ng_per_ml: dict[str, np.ndarray]) -> dict:
    """The metabolite-to-parent ratio the model expects, per phenotype: ``{phenotype: (p5, p16, p50, p84,
    p95)}`` from each phenotype's virtual population (levels in ng/mL at the sampling time)."""
    out = {}
    for ph, met in metabolite_ng_per_ml.items():
        par = parent_ng_per_ml[ph]
        ok = par > 0
        r = met[ok] / par[ok]
        out[ph] = tuple(float(x) for x in np.percentile(r, (5, 16, 50, 84, 95))) if r.size else None
    return out


__all__ = ["Measured", "Unit", "UNITS", "SUM", "parse_measured", "to_ng_per_ml", "from_ng_per_ml", "check_unit",
           "ratio_ranges"]
