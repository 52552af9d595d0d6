"""Exclusions with a logged reason (ARRIVE 2.0, item 3): the animals, cages, lanes or slices a scientist
leaves out of an analysis, each with the reason, so that every output can list what was left out and why.

An excluded unit leaves every statistic; it is never silently dropped, and an identifier that is not in
the data is an error rather than a no-op (a typo must not pass for an exclusion).

References
----------
Percie du Sert N, Hurst V, Ahluwalia A, et al. (2020). The ARRIVE guidelines 2.0: updated guidelines for
reporting animal research. PLoS Biol 18(7):e3000410. doi:10.1371/journal.pbio.3000410
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import pandas as pd

from ..errors import AdpharmInputError

__all__ = ["Exclusion", "parse", "apply", "annotate_flags", "by_reason", "describe"]


@dataclass(frozen=True)
class Exclusion:
    """One excluded unit (an animal, cage, lane or slice identifier) and why it was excluded."""

    id: str
    reason: str

    def to_dict(self, unit: str) -> dict[str, str]:
        return {"id": self.id, "unit": unit, "reason": self.reason}


def parse(ids: str | Iterable[Any] | None, reason: str | None) -> list[Exclusion]:
    """Exclusions from ``"56,75,76"`` (or a list of identifiers) and one reason for all of them.

    Examples
    --------
    >>> [e.id for e in parse("56, 75", "duplicated profile")]
    ['56', '75']
    >>> parse(None, None)
    []
    """
    if ids is None or (isinstance(ids, str) and not ids.strip()):
        if reason:
            raise AdpharmInputError("given without any identifier to exclude", field="reason")
        return []
    items = [s.strip() for s in ids.split(",")] if isinstance(ids, str) else [str(s).strip() for s in ids]
    if any(not s for s in items):
        raise AdpharmInputError(f"exclude: {ids!r} has an empty identifier")
    dup = sorted({s for s in items if items.count(s) > 1})
    if dup:
        raise AdpharmInputError(f"exclude: identifier {dup[0]!r} is given twice")
    if not reason or not str(reason).strip():
        raise AdpharmInputError("every exclusion needs a reason (ARRIVE item 3), e.g. 'duplicated profile'",
                                field="reason")
    return [Exclusion(s, str(reason).strip()) for s in items]


def apply(df: pd.DataFrame, column: str, exclusions: Sequence[Exclusion], unit: str, source: str,
          strict: bool = True) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """Rows of ``df`` whose ``column`` is not excluded, and the log of what was excluded.

    With ``strict``, an identifier that is not in ``column`` is an error naming the file and the unit.

    Examples
    --------
    >>> df = pd.DataFrame({"animal": [1, 2, 3], "score": [0.5, 0.6, 0.7]})
    >>> kept, log = apply(df, "animal", parse("2", "outlier by protocol"), "animal", "data.csv")
    >>> kept["animal"].tolist(), log
    ([1, 3], [{'id': '2', 'unit': 'animal', 'reason': 'outlier by protocol'}])
    """
    if not exclusions:
        return df, []
    ids = df[column].astype(str).str.strip()
    present = set(ids)
    missing = [e.id for e in exclusions if e.id not in present]
    if strict and missing:
        have = sorted(present, key=_natural)
        shown = ", ".join(have[:12]) + (", ..." if len(have) > 12 else "")
        article = "an" if unit[:1] in ("a", "e", "i", "o", "u") else "a"
        raise AdpharmInputError(f"{source}: exclude: {missing[0]!r} is not {article} {unit} in the table "
                                f"(column {column!r}: {shown})")
    hit = [e for e in exclusions if e.id in present]
    drop = ids.isin({e.id for e in hit})
    return df.loc[~drop], [e.to_dict(unit) for e in hit]


def annotate_flags(flags: list[dict[str, Any]], log: Sequence[dict[str, str]]) -> list[dict[str, Any]]:
    """Each data-quality flag with what was done about it: ``"excluded"``, ``"kept, not excluded"`` or which
    of its units were excluded.

    Flags are raised on the full table (so that a flag stays visible after its animals are excluded)."""
    gone = {e["id"] for e in log}
    out = []
    for f in flags:
        ids = [str(i) for i in f.get("ids", [])]
        out_ids = [i for i in ids if i in gone]
        action = ("excluded" if ids and len(out_ids) == len(ids) else
                  "kept, not excluded" if not out_ids else f"partly excluded: {', '.join(out_ids)}")
        out.append({**f, "action": action})
    return out


def by_reason(log: Sequence[dict[str, str]]) -> dict[tuple[str, str], list[str]]:
    """The excluded identifiers grouped by ``(unit, reason)``, in the log's order.

    Examples
    --------
    >>> by_reason([{"id": "3", "unit": "animal", "reason": "r"}, {"id": "9", "unit": "animal", "reason": "r"}])
    {('animal', 'r'): ['3', '9']}
    """
    out: dict[tuple[str, str], list[str]] = {}
    for e in log:
        out.setdefault((e["unit"], e["reason"]), []).append(str(e["id"]))
    return out


def describe(log: Sequence[dict[str, str]]) -> list[str]:
    """One line per reason: ``excluded 7 animals (56, 75, ...): duplicated profile``."""
    return [f"excluded {len(ids)} {unit}{'s' if len(ids) != 1 else ''} ({', '.join(ids)}): {reason}"
            for (unit, reason), ids in by_reason(log).items()]


def _natural(s: str):
    try:
        return (0, float(s), s)
    except ValueError:
        return (1, 0.0, s)
