"""Dosing regimens written as people write them, parsed into dosing events.

Accepted forms (design.md), case-insensitive, phases joined by ``;`` or ``then`` run one after
the other::

    0.5 mg/kg iv over 40 min
    0.5 mg/kg iv over 40 min 3x/week for 2 weeks
    56 mg intranasal twice weekly for 4 weeks
    75 mg po daily titrate to 150 mg over 2 weeks
    20 mg po daily
    10 mg iv bolus
    25 mg sublingual every 12 h for 3 days; 50 mg po daily

A regimen without a frequency is one dose; a repeating regimen without ``for ...`` repeats until
the end of the simulation. Times start at 0 h; ``n x/week`` spreads the doses over the week
(3x/week: days 0, 2, 4; twice weekly: days 0, 3) on the regimen's own weekly calendar, counted from its
first dose, so that a phase starting mid-week keeps the days (``56 mg intranasal 2x/week for 3 days; 84 mg
intranasal 2x/week for 25 days`` doses on days 0, 3, 7, 10, ... as TRANSFORM-2's days 1, 4, 8, 11),
``bid``/``tid`` split the day evenly.
A titration rises linearly, dose by dose, from the starting to the target dose over the stated
time and stays there. Anything the parser does not understand is an error naming the part.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from ..errors import AdpharmInputError
from ..units import HOURS_PER_DAY, HOURS_PER_WEEK, MG_PER, hours

ROUTES = ("iv", "po", "intranasal", "sublingual", "im", "sc")
_ROUTE_WORDS = {
    "iv": "iv", "i.v.": "iv", "intravenous": "iv", "intravenously": "iv", "infusion": "iv",
    "po": "po", "p.o.": "po", "oral": "po", "orally": "po", "by mouth": "po",
    "intranasal": "intranasal", "intranasally": "intranasal", "nasal": "intranasal", "in": "intranasal",
    "sublingual": "sublingual", "sublingually": "sublingual", "sl": "sublingual",
    "im": "im", "intramuscular": "im", "intramuscularly": "im",
    "sc": "sc", "subcutaneous": "sc", "subcutaneously": "sc",
}
#: Routes people write that adpharm has no absorption model for: named in the error.
_UNSUPPORTED_ROUTES = ("rectal", "rectally", "transdermal", "topical", "inhaled", "buccal", "intrathecal", "epidural")
_NUM = r"(-?\d+(?:\.\d+)?)"
_MASS = r"(g|mg|mcg|ug|µg|μg)"
_TIME_UNIT = r"(s|sec|seconds?|min|minutes?|m|h|hrs?|hours?|d|days?|wk|w|weeks?)"
_FILLER = {"and", "with", "per", "dose", "doses", "given", "then", "of", ",", "a", "the", "each", "once"}


@dataclass(frozen=True)
class DoseEvent:
    """One administration: ``dose`` in ``dose_unit`` (``mg`` or ``mg/kg``) at ``time_h``.

    ``duration_h`` > 0 is a zero-order infusion; 0 is a bolus (or an extravascular dose whose
    absorption the PK model describes).
    """

    time_h: float
    dose: float
    dose_unit: str
    route: str
    duration_h: float = 0.0

    def dose_mg(self, weight_kg):
        """Dose in mg for a body weight (scalar or array); mg/kg doses scale with weight."""
        return self.dose * weight_kg if self.dose_unit == "mg/kg" else self.dose + 0 * np.asarray(weight_kg, float)


@dataclass
class Phase:
    """One parsed phase of a regimen (one ``;``-separated part)."""

    text: str
    dose: float
    dose_unit: str
    route: str
    duration_h: float = 0.0
    interval_h: float | None = None
    week_days: tuple[float, ...] | None = None
    course_h: float | None = None
    titrate_to: float | None = None
    titrate_over_h: float | None = None


@dataclass
class Regimen:
    """A parsed regimen: its phases and, for a simulation horizon, its dosing events."""

    text: str
    phases: list[Phase] = field(default_factory=list)

    @property
    def routes(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.route for p in self.phases))

    @property
    def per_kg(self) -> bool:
        return any(p.dose_unit == "mg/kg" for p in self.phases)

    def events(self, until_h: float) -> list[DoseEvent]:
        """Dosing events from 0 h up to (not including) ``until_h``, in time order."""
        out: list[DoseEvent] = []
        t0 = 0.0
        for i, ph in enumerate(self.phases):
            end = until_h if ph.course_h is None else min(until_h, t0 + ph.course_h)
            if ph.course_h is None and i < len(self.phases) - 1:
                raise AdpharmInputError(f"regimen {self.text!r}: phase {ph.text!r} repeats with no 'for ...' "
                                        "duration, so the next phase never starts")
            for t in _dose_times(ph, t0, end):
                out.append(DoseEvent(round(t, 9), _titrated(ph, t - t0), ph.dose_unit, ph.route, ph.duration_h))
            t0 = t0 + (ph.course_h if ph.course_h is not None else (ph.interval_h or 0.0))
        return out

    def interval_h(self) -> float | None:
        """The dosing interval of the last phase when it repeats at a constant interval, else None."""
        last = self.phases[-1]
        return last.interval_h if last.week_days is None else None


def _dose_times(ph: Phase, t0: float, end: float) -> list[float]:
    if ph.interval_h is None and ph.week_days is None:
        return [t0] if t0 < end else []
    if ph.week_days is not None:      # the regimen's weekly dosing days, counted from its first dose
        weeks = range(int(t0 // HOURS_PER_WEEK), int(end // HOURS_PER_WEEK) + 2)
        times = [w * HOURS_PER_WEEK + d * HOURS_PER_DAY for w in weeks for d in ph.week_days]
        return [t for t in times if t0 - 1e-9 <= t < end - 1e-9]
    n = int(math.ceil((end - t0) / ph.interval_h - 1e-9))
    return [t0 + k * ph.interval_h for k in range(max(n, 0))]


def _titrated(ph: Phase, dt_h: float) -> float:
    if ph.titrate_to is None:
        return ph.dose
    frac = min(dt_h / ph.titrate_over_h, 1.0)
    return ph.dose + (ph.titrate_to - ph.dose) * frac


def _mg(value: float, unit: str) -> float:
    return value * MG_PER[unit]


def _take(pattern: str, s: str) -> tuple[re.Match | None, str]:
    m = re.search(pattern, s)
    if m is None:
        return None, s
    return m, s[: m.start()] + " " + s[m.end():]


def _parse_phase(text: str, whole: str) -> Phase:
    s = " " + text.strip().lower().replace("µ", "u").replace("μ", "u") + " "
    s = re.sub(r"\s+", " ", s)
    where = f"regimen {whole!r}"

    m, s = _take(rf"titrat\w*\s+(?:up\s+)?to\s+{_NUM}\s*{_MASS}(\s*/\s*kg)?\s+over\s+{_NUM}\s*{_TIME_UNIT}\b", s)
    titr = None
    if m:
        if float(m.group(1)) <= 0:
            raise AdpharmInputError(f"{where}: titration target {m.group(1)} {m.group(2)} must be positive")
        titr = (_mg(float(m.group(1)), m.group(2)), bool(m.group(3)), hours(float(m.group(4)), m.group(5)))
        if titr[2] <= 0:
            raise AdpharmInputError(f"{where}: titration time {m.group(4)} {m.group(5)} must be positive")

    m, s = _take(rf"(?<![\w.]){_NUM}\s*{_MASS}(\s*/\s*kg)?(?![\w/])", s)
    if m is None:
        bad = re.search(rf"{_NUM}\s*([a-z/]+)", s)
        part = f"; {bad.group(0)!r} is not a dose in g, mg, mcg or mg/kg" if bad else ""
        raise AdpharmInputError(f"{where}: no dose found in {text.strip()!r}{part}")
    dose, unit, per_kg = float(m.group(1)), m.group(2), bool(m.group(3))
    if dose < 0:
        raise AdpharmInputError(f"{where}: dose {m.group(0).strip()!r} is negative")
    if dose == 0:
        raise AdpharmInputError(f"{where}: dose {m.group(0).strip()!r} is zero")
    dose_mg = _mg(dose, unit)
    if titr is not None and titr[1] != per_kg:
        raise AdpharmInputError(f"{where}: titration target and starting dose mix mg and mg/kg")

    m, s = _take(rf"\bover\s+{_NUM}\s*{_TIME_UNIT}\b", s)
    duration_h = 0.0
    over = m.group(0).strip() if m else ""
    if m:
        duration_h = hours(float(m.group(1)), m.group(2))
        if duration_h <= 0:
            raise AdpharmInputError(f"{where}: infusion time {m.group(0).strip()!r} must be positive")

    m, s = _take(rf"\bfor\s+{_NUM}\s*{_TIME_UNIT}\b", s)
    course_h = None
    if m:
        course_h = hours(float(m.group(1)), m.group(2))
        if course_h <= 0:
            raise AdpharmInputError(f"{where}: course {m.group(0).strip()!r} must be positive")

    interval_h, week_days = _frequency(s, where)
    s = _FREQ_STRIP.sub(" ", s)

    bolus = bool(re.search(r"\bbolus\b", s))
    s = re.sub(r"\bbolus\b", " ", s)
    route = None
    for word in sorted(_ROUTE_WORDS, key=len, reverse=True):
        pat = rf"(?<![\w.]){re.escape(word)}(?![\w])"
        if re.search(pat, s):
            if route is not None and _ROUTE_WORDS[word] != route:
                raise AdpharmInputError(f"{where}: two routes given ({route} and {_ROUTE_WORDS[word]})")
            route = _ROUTE_WORDS[word]
            s = re.sub(pat, " ", s)
    if bolus:
        route = route or "iv"
        if route != "iv":
            raise AdpharmInputError(f"{where}: a bolus is given iv, not {route}")
    for word in _UNSUPPORTED_ROUTES:
        if re.search(rf"\b{word}\b", s):
            raise AdpharmInputError(f"{where}: unknown route {word!r} (known: {', '.join(ROUTES)})")
    left = [w for w in re.findall(r"[^\s]+", s) if w not in _FILLER]
    if left:
        if route is None:
            raise AdpharmInputError(f"{where}: unknown route {left[0]!r} (known: {', '.join(ROUTES)})")
        raise AdpharmInputError(f"{where}: cannot read {' '.join(left)!r}")
    if route is None:
        raise AdpharmInputError(f"{where}: no route given (one of {', '.join(ROUTES)})")
    if duration_h > 0 and route != "iv":
        raise AdpharmInputError(f"{where}: {over!r} is an infusion, which needs route iv, not {route}")
    if interval_h is not None and duration_h > interval_h:
        raise AdpharmInputError(f"{where}: infusion of {duration_h:g} h is longer than the dosing interval of {interval_h:g} h")
    if titr is not None and interval_h is None and week_days is None:
        raise AdpharmInputError(f"{where}: a titration needs a repeating dose (e.g. 'daily')")
    return Phase(text.strip(), dose_mg, "mg/kg" if per_kg else "mg", route, duration_h, interval_h, week_days,
                 course_h, titr[0] if titr else None, titr[2] if titr else None)


_WORD_COUNT = {"once": 1, "twice": 2, "three times": 3, "thrice": 3, "four times": 4}
_FREQ_PATTERNS = [
    (r"\b(\d+)\s*x\s*/?\s*(?:per\s+|a\s+)?(week|wk|day|d)\b", "nx"),
    (r"\b(\d+)\s+times\s+(?:a|per)\s+(week|day)\b", "nx"),
    (r"\b(once|twice|three times|thrice|four times)\s+(?:a\s+|per\s+)?(daily|day|weekly|week)\b", "word"),
    (rf"\bevery\s+{_NUM}\s*{_TIME_UNIT}\b", "every"),
    (r"\bevery\s+(day|week|other day)\b", "every1"),
    (r"\bq\s*(\d+)\s*h\b", "qh"),
    (r"\b(qd|od|daily|bid|tid|qid|weekly|nightly|qhs)\b", "abbr"),
]
_FREQ_STRIP = re.compile("|".join(p for p, _ in _FREQ_PATTERNS))
_ABBR = {"qd": HOURS_PER_DAY, "od": HOURS_PER_DAY, "daily": HOURS_PER_DAY, "nightly": HOURS_PER_DAY,
         "qhs": HOURS_PER_DAY, "bid": HOURS_PER_DAY / 2, "tid": HOURS_PER_DAY / 3, "qid": HOURS_PER_DAY / 4,
         "weekly": HOURS_PER_WEEK}


def _per(n: int, unit: str, where: str) -> tuple[float | None, tuple[float, ...] | None]:
    if n <= 0:
        raise AdpharmInputError(f"{where}: frequency {n}x must be positive")
    if unit in ("day", "d", "daily"):
        return 24.0 / n, None
    if n > 7:
        raise AdpharmInputError(f"{where}: {n}x/week is more than daily; write it per day")
    return (168.0, None) if n == 1 else (None, tuple(float(math.floor(i * 7 / n)) for i in range(n)))


def _frequency(s: str, where: str) -> tuple[float | None, tuple[float, ...] | None]:
    found = []
    for pat, kind in _FREQ_PATTERNS:
        for m in re.finditer(pat, s):
            found.append((m, kind))
    # a match inside a longer one ("weekly" in "twice weekly") is part of it, not a second frequency
    found = [(m, k) for m, k in found
             if not any(o is not m and o.start() <= m.start() and m.end() <= o.end() and (o.end() - o.start()) > (m.end() - m.start())
                        for o, _ in found)]
    if not found:
        return None, None
    if len(found) > 1:
        raise AdpharmInputError(f"{where}: more than one frequency ({', '.join(repr(m.group(0).strip()) for m, _ in found)})")
    m, kind = found[0]
    if kind == "nx":
        return _per(int(m.group(1)), m.group(2), where)
    if kind == "word":
        return _per(_WORD_COUNT[m.group(1)], m.group(2), where)
    if kind == "every":
        h = hours(float(m.group(1)), m.group(2))
        if h <= 0:
            raise AdpharmInputError(f"{where}: interval {m.group(0).strip()!r} must be positive")
        return h, None
    if kind == "every1":
        return (2 * HOURS_PER_DAY if m.group(1) == "other day" else hours(1, m.group(1))), None
    if kind == "qh":
        h = float(m.group(1))
        if h <= 0:
            raise AdpharmInputError(f"{where}: interval {m.group(0).strip()!r} must be positive")
        return h, None
    return _ABBR[m.group(1)], None


def parse_regimen(text: str) -> Regimen:
    """Parse a regimen string into a :class:`Regimen`; bad parts raise :class:`AdpharmInputError`.

    Examples
    --------
    >>> r = parse_regimen("0.5 mg/kg iv over 40 min 3x/week for 2 weeks")
    >>> [e.time_h for e in r.events(until_h=24 * 28)]
    [0.0, 48.0, 96.0, 168.0, 216.0, 264.0]
    """
    if not isinstance(text, str) or not text.strip():
        raise AdpharmInputError("regimen: empty regimen")
    parts = [p for p in re.split(r";|\bthen\b", text) if p.strip()]
    return Regimen(text, [_parse_phase(p, text) for p in parts])


def check_weight(weight_kg) -> None:
    """Reject a body weight that is not positive or not plausible for an adult or child (0-350 kg)."""
    w = np.atleast_1d(np.asarray(weight_kg, dtype=float))
    bad = ~np.isfinite(w) | (w <= 0) | (w > 350)
    if bad.any():
        raise AdpharmInputError(f"weight: {w[bad][0]:g} kg is not a body weight (must be above 0 and at most 350 kg)")


__all__ = ["DoseEvent", "Phase", "Regimen", "ROUTES", "parse_regimen", "check_weight"]
