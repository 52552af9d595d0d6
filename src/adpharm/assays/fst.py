"""Forced swim test from scored tables: per-minute immobility (long format), pre-binned
immobility (e.g. "2 to 6" minutes) or percent time immobile per animal. The conventional score is
the mean immobility over the last four minutes of a six-minute test (minutes 3-6).

References
----------
Porsolt RD, Le Pichon M, Jalfre M (1977). Depression: a new animal model sensitive to
antidepressant treatments. Nature 266:730-732. doi:10.1038/266730a0
Can A, Dao DT, Arad M, et al. (2012). The mouse forced swim test. J Vis Exp 59:e3638.
doi:10.3791/3638
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError, reject
from . import exclusions, stats as gstats
from .exclusions import Exclusion
from .figures import bar_and_dots
from .tables import find_column
from ..display import NotebookDisplay

# accepted spellings of each role, lower-cased
COLUMNS = {
    "animal": ("animal", "identifier", "animal.id", "animal_id", "id", "mouse"),
    "group": ("group", "treatment"),
    "minute": ("minute", "interval [1 min]", "interval", "bin"),
    "bin": ("interval [minutes]", "bin", "interval"),
    "immobility": ("immobility", "immobility ratio", "immobility_ratio", "immobile_fraction"),
    "percent": ("pctimb", "percent_immobile", "immobility_pct", "pct_immobile"),
}


def _find(df: pd.DataFrame, role: str) -> str | None:
    return find_column(df, COLUMNS[role])


@dataclass
class FSTResult(NotebookDisplay):
    """Per-animal scores, per-group minute profile, group statistics and data-quality flags."""

    source: str
    kind: str
    scores: pd.DataFrame
    score_name: str
    profile: pd.DataFrame | None
    statistics: dict[str, Any]
    flags: list[dict[str, Any]] = field(default_factory=list)
    #: the animals left out, each ``{"id", "unit", "reason"}`` (:mod:`.exclusions`)
    exclusions: list[dict[str, str]] = field(default_factory=list)
    #: what one score is: an animal
    unit: str = "animal"

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "score": self.score_name, "unit_of_analysis": self.unit,
                "animals": self.scores.to_dict(orient="records"),
                "profile": None if self.profile is None else self.profile.reset_index().to_dict(orient="records"),
                "statistics": self.statistics, "flags": self.flags, "exclusions": self.exclusions,
                "provenance": {"adpharm": __version__}}

    def summary(self) -> pd.DataFrame:
        return gstats.describe(self.scores, "score", "group")

    def plot(self, ax=None):
        """Bar-and-dot plot per group, every subject shown."""
        return bar_and_dots(self.scores, "score", "group", self.score_name, ax=ax)

    def figures(self) -> dict[str, Any]:
        """Per-file figures for a batch: the minute time course of per-minute tables."""
        return {} if self.profile is None else {"minutes": self.plot_profile}

    def plot_profile(self, ax=None):
        """Mean immobility per minute, one line per group (per-minute tables only)."""
        from ..figures import pyplot
        plt = pyplot()
        if self.profile is None:
            raise ValueError("no per-minute profile in this table")
        ax = ax or plt.subplots(figsize=(4.5, 3))[1]
        for g in self.profile.columns:
            ax.plot(self.profile.index, self.profile[g], "o-", ms=3, label=str(g))
        ax.set_xlabel("minute")
        ax.set_ylabel("immobility (fraction)")
        ax.legend(fontsize=7)
        return ax


def analyse(df: pd.DataFrame, control: str | None = None, score_minutes: tuple[int, int] = (3, 6),
            source: str = "data", compare: bool = True,
            exclude: Sequence[Exclusion] = (), strict_exclusions: bool = True) -> FSTResult:
    """Score a forced-swim table and compare groups (see module docstring for the formats).

    ``compare=False`` scores the animals only (a file that is one part of a batch). ``exclude`` (see
    :func:`.exclusions.parse`) leaves animals out of every score and statistic and logs them with their
    reasons; data-quality flags are raised on the whole table and say whether their animals were excluded.
    An excluded identifier that is not an animal of the table is an error unless ``strict_exclusions`` is
    False (one file of several).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"animal": range(1, 9), "group": ["vehicle"] * 4 + ["drug"] * 4,
    ...                    "immobility": [0.62, 0.66, 0.70, 0.64, 0.41, 0.45, 0.39, 0.50]})
    >>> r = analyse(df, control="vehicle")
    >>> r.summary()["n"].to_dict()
    {'vehicle': 4, 'drug': 4}
    >>> from adpharm.assays.exclusions import parse
    >>> analyse(df, control="vehicle", exclude=parse("8", "pump failure")).summary()["n"].to_dict()
    {'vehicle': 4, 'drug': 3}
    """
    animal, group = _find(df, "animal"), _find(df, "group")
    if animal is None or group is None:
        raise AdpharmInputError(f"{source}: missing column {'animal' if animal is None else 'group'!r} "
                                f"(or one of {', '.join(COLUMNS['animal' if animal is None else 'group'])})")
    kept, log = exclusions.apply(df, animal, exclude, "animal", source, strict=strict_exclusions)
    scored = _score(kept, animal, group, score_minutes, source)
    flags = _score(df, animal, group, score_minutes, source).flags if log else scored.flags
    flags = exclusions.annotate_flags(flags, log) if exclude else flags
    scores = scored.scores.rename(columns={animal: "animal", group: "group", "_v": "score"})
    scores["animal"] = scores["animal"].astype(str)
    if not compare:
        return FSTResult(source, scored.kind, scores, scored.score_name, scored.profile, {}, flags, log)
    st = gstats.compare_groups(scores, "score", "group", control=control)
    if scored.minute_anova is not None:
        st["minute_by_group_anova"] = scored.minute_anova
    return FSTResult(source, scored.kind, scores, scored.score_name, scored.profile, st, flags, log)


@dataclass
class _Scored:
    kind: str
    scores: pd.DataFrame
    score_name: str
    profile: pd.DataFrame | None
    flags: list[dict[str, Any]]
    minute_anova: dict[str, Any] | None


def _score(df: pd.DataFrame, animal: str, group: str, score_minutes: tuple[int, int], source: str) -> _Scored:
    """Per-animal scores, the minute profile, flags and the minute x group ANOVA of one table."""
    imm, pct = _find(df, "immobility"), _find(df, "percent")
    minute = _find(df, "minute")
    flags: list[dict[str, Any]] = []
    profile = minute_anova = None
    if imm is not None and minute is not None and pd.to_numeric(df[minute], errors="coerce").notna().all():
        kind = "per-minute"
        d = df.assign(_m=pd.to_numeric(df[minute]), _v=pd.to_numeric(df[imm], errors="coerce"))
        _check_values(d, "_v", imm, source, 0, 1)
        lo, hi = score_minutes
        if not {lo, hi} <= set(d["_m"].astype(int)):
            raise AdpharmInputError(f"{source}: column {minute!r} does not cover minutes {lo}-{hi}")
        sel = d[(d["_m"] >= lo) & (d["_m"] <= hi)]
        scores = sel.groupby([animal, group], sort=False)["_v"].mean().reset_index()
        profile = d.pivot_table(index="_m", columns=group, values="_v", aggfunc="mean")
        profile.index.name = "minute"
        score_name = f"immobility, minutes {lo}-{hi} (fraction)"
        wide = d.pivot_table(index=animal, columns="_m", values="_v")
        flags += [{"kind": "identical minute profiles", "ids": x["ids"]} for x in
                  gstats.duplicated_values(wide.reset_index(), animal, list(wide.columns))]
        try:       # minute x group over the whole test: split-plot repeated-measures ANOVA
            long = pd.DataFrame({"animal": d[animal], "group": d[group].astype(str), "minute": d["_m"],
                                 "immobility": d["_v"]})
            minute_anova = gstats.mixed_anova(long, "immobility", "animal", "minute", "group")
        except AdpharmInputError as exc:
            minute_anova = {"not_done": str(exc)}
    elif imm is not None:
        kind = "binned"
        b = _find(df, "bin")
        d = df.assign(_v=pd.to_numeric(df[imm], errors="coerce"))
        _check_values(d, "_v", imm, source, 0, 1)
        bins = list(dict.fromkeys(d[b].astype(str))) if b else ["all"]
        want = f"{score_minutes[0] - 1} to {score_minutes[1]}"
        chosen = want if want in bins else bins[-1]
        sel = d[d[b].astype(str) == chosen] if b else d
        scores = sel[[animal, group, "_v"]].copy()
        score_name = f"immobility, {chosen} min (fraction)"
        for bn in bins:
            sub = d[d[b].astype(str) == bn] if b else d
            flags += [{"kind": "identical values in different animals", "bin": bn, "ids": x["ids"],
                       "value": x["values"]["_v"]} for x in gstats.duplicated_values(sub, animal, ["_v"])]
    elif pct is not None:
        kind = "percent immobile"
        d = df.assign(_v=pd.to_numeric(df[pct], errors="coerce"))
        _check_values(d, "_v", pct, source, 0, 100)
        scores = d[[animal, group, "_v"]].copy()
        score_name = "time immobile (%)"
        flags += [{"kind": "identical values in different animals", "ids": x["ids"], "value": x["values"]["_v"]}
                  for x in gstats.duplicated_values(d[d["_v"] > 0], animal, ["_v"])]  # 0 % is a floor, not a copy
    else:
        raise AdpharmInputError(f"{source}: no immobility column (one of {', '.join(COLUMNS['immobility'] + COLUMNS['percent'])})")
    return _Scored(kind, scores, score_name, profile, flags, minute_anova)


def _check_values(d: pd.DataFrame, col: str, name: str, source: str, lo: float, hi: float) -> None:
    reject(d[col].isna() | (d[col] < lo) | (d[col] > hi),
           lambda i: f"{source}: column {name!r} row {i + 1}: {str(d.iloc[i][name])!r} is not a number "
                     f"between {lo:g} and {hi:g}")
