"""Units written in text, parsed once at the boundary: time to hours, mass to milligrams.

Every quantity inside adpharm carries its unit in its name (``dose_mg``, ``time_h``); strings
such as ``"40 min"`` or ``"2 weeks"`` are turned into those numbers here and nowhere else.
"""
from __future__ import annotations

#: Hours per time unit, keyed by every spelling the parsers accept.
HOURS_PER = {
    "s": 1 / 3600, "sec": 1 / 3600, "second": 1 / 3600,
    "min": 1 / 60, "minute": 1 / 60, "m": 1 / 60,
    "h": 1.0, "hr": 1.0, "hour": 1.0,
    "d": 24.0, "day": 24.0,
    "wk": 168.0, "w": 168.0, "week": 168.0,
}

#: Hours in a day and in a week (the dosing calendar's units).
HOURS_PER_DAY = HOURS_PER["day"]
HOURS_PER_WEEK = HOURS_PER["week"]

#: The plural word of the time units the knowledge base writes (``"wk"`` -> ``"weeks"``).
UNIT_WORDS = {"min": "minutes", "h": "hours", "d": "days", "wk": "weeks"}

#: Milligrams per mass unit.
MG_PER = {"g": 1000.0, "mg": 1.0, "ug": 1e-3, "µg": 1e-3, "μg": 1e-3, "mcg": 1e-3}


def hours(value: float, unit: str) -> float:
    """``value`` in ``unit`` (any spelling in :data:`HOURS_PER`, plural allowed) as hours."""
    u = unit.lower()
    if u not in HOURS_PER and u.endswith("s"):
        u = u[:-1]
    return float(value) * HOURS_PER[u]


def ng_per_ml_to_nm(conc_ng_per_ml, mw_g_per_mol: float):
    """Mass concentration (ng/mL = µg/L) to molar concentration (nM): c / MW * 1000."""
    return conc_ng_per_ml / mw_g_per_mol * 1000.0
