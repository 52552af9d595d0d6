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
from . import design, exclusions, reporting, stats as gstats
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
    # design columns: a factor crossed with treatment, and a block entered additively
    "strain": ("strain", "line", "genotype"),
    "batch": ("batch", "cohort", "block"),
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

    def text(self) -> str:
        """The group table and statistics, the score and its unit, the data-quality flags and the exclusions."""
        flags = [f"flag: {fl['kind']}: animals {', '.join(fl['ids'])}"
                 + (f" ({fl['action']})" if "action" in fl else
                    " (kept; leave them out with `exclude` ID,... `reason` '...')") for fl in self.flags]
        return reporting.result_text(self, [f"score: {self.score_name} (unit of analysis: {self.unit})", *flags])

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
    scores.insert(3, "immobile_fraction", scores["score"] / (100.0 if scored.kind == "percent immobile" else 1.0))
    covariates = _covariates(kept, animal, source)
    if covariates is not None:
        scores = scores.join(covariates, on="animal")
    if not compare:
        return FSTResult(source=source, kind=scored.kind, scores=scores, score_name=scored.score_name,
                         profile=scored.profile, statistics={}, flags=flags, exclusions=log)
    st = statistics(scores, control)
    return FSTResult(source=source, kind=scored.kind, scores=scores, score_name=scored.score_name,
                     profile=scored.profile, statistics=st, flags=flags, exclusions=log)


def _covariates(df: pd.DataFrame, animal: str, source: str) -> pd.DataFrame | None:
    """Strain and batch per animal (None when the table has neither); one value per animal."""
    cols = [c for c in (_find(df, "strain"), _find(df, "batch")) if c is not None]
    if not cols:
        return None
    d = df[[animal, *cols]].assign(**{animal: df[animal].astype(str)})
    for c in cols:
        several = d.groupby(animal)[c].nunique()
        if (several > 1).any():
            raise AdpharmInputError(f"{source}: animal {several.index[several > 1][0]!r} has more than one {c!r}")
    return d.groupby(animal)[cols].first()


def statistics(scores: pd.DataFrame, control: str | None = None) -> dict[str, Any]:
    """The tests of a scored table (one file's, or a batch's pooled per-animal table).

    Group tests and the declared primary test (:func:`.stats.compare_groups`); the minute x group
    split-plot ANOVA with Greenhouse-Geisser when every animal has ``minute_*`` columns; and, when the
    table has strain or batch columns, the design analysis (:func:`design_statistics`), which becomes
    the primary test. A part that cannot be run says why under ``not_done``.

    Examples
    --------
    >>> s = pd.DataFrame({"animal": list("abcdef"), "group": ["veh"] * 3 + ["drug"] * 3,
    ...                   "score": [0.6, 0.7, 0.65, 0.4, 0.5, 0.45]})
    >>> statistics(s, "veh")["primary"]["test"]
    "Welch's t test"
    """
    st = gstats.compare_groups(scores, "score", "group", control=control)
    minutes = [c for c in scores.columns if str(c).startswith("minute_")]
    if len(minutes) >= 2:
        long = scores.melt(id_vars=["animal", "group"], value_vars=minutes, var_name="minute", value_name="immobility")
        long["minute"] = pd.to_numeric(long["minute"].str.removeprefix("minute_"))
        try:       # minute x group over the whole test: split-plot repeated-measures ANOVA
            st["minute_by_group_anova"] = gstats.mixed_anova(long.assign(group=long["group"].astype(str)),
                                                             "immobility", "animal", "minute", "group")
        except AdpharmInputError as exc:
            st["minute_by_group_anova"] = {"not_done": str(exc)}
    strain, batch = _find(scores, "strain"), _find(scores, "batch")
    if (strain or batch) and "immobile_fraction" in scores:
        try:
            st["design"] = design_statistics(scores, control or str(scores["group"].iloc[0]), strain, batch)
            st["primary"] = _primary_from_design(st["design"], scores)
        except AdpharmInputError as exc:
            st["design"] = {"not_done": str(exc)}
    return st


def design_statistics(scores: pd.DataFrame, control: str, strain: str | None, batch: str | None) -> dict[str, Any]:
    """Treatment tested with the design's strain (crossed) and batch (block) columns.

    The primary analysis is the fractional logit of the ``immobile_fraction`` column:
    Type II deviance F tests of treatment, strain, their interaction and batch
    (:func:`.design.design_anova`) and the treatment odds ratio adjusted for strain and batch
    (:func:`.design.adjusted_effect`). The same linear model on the raw score is reported beside it, as
    a raw-scale two-way ANOVA would give.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(3)
    >>> s = pd.DataFrame({"group": np.tile(["SHAM", "OVX"], 40), "STRAIN": np.repeat(list("ABCD"), 20),
    ...                   "BATCH": np.tile(np.repeat(["1", "2"], 10), 4)})
    >>> s["score"] = np.clip(rng.normal(30, 10, 80) + (s["group"] == "OVX") * 8, 0, 100)
    >>> s["immobile_fraction"] = s["score"] / 100
    >>> r = design_statistics(s, "SHAM", "STRAIN", "BATCH")
    >>> [e["effect"] for e in r["anova"]["effects"]]
    ['BATCH', 'group', 'STRAIN', 'group:STRAIN']
    """
    factors = ["group"] + ([strain] if strain else [])
    blocks = [batch] if batch else []
    return {"unit": "animal", "outcome": "immobile fraction",
            "anova": design.design_anova(scores, "immobile_fraction", factors, blocks, "quasibinomial"),
            "treatment_effect": design.adjusted_effect(scores, "immobile_fraction", "group", control,
                                                       factors[1:] + blocks, "quasibinomial"),
            "raw_scale_anova": design.design_anova(scores, "score", factors, blocks, "gaussian")}


def _primary_from_design(ds: dict[str, Any], scores: pd.DataFrame) -> dict[str, Any]:
    """The declared primary test: the adjusted treatment odds ratio of each group against control."""
    adj = " and ".join(ds["treatment_effect"][0]["adjusted_for"]) or "nothing"
    inter = next((e for e in ds["anova"]["effects"] if e["effect"].startswith("group:")), None)
    notes = []
    if inter is not None and inter["pval"] is not None and inter["pval"] < 0.05:
        notes.append(f"the treatment effect differs between levels of {inter['effect'].split(':')[1]} "
                     f"(interaction p = {inter['pval']:.3g}): the adjusted odds ratio is an average over them")
    return {"test": f"fractional logit (quasi-binomial GLM) of the immobile fraction, adjusted for {adj}",
            "effect": "odds ratio of immobility", "unit": ds["unit"],
            "n": {str(k): int(v) for k, v in scores.groupby("group", sort=False).size().items()},
            "comparisons": [{"comparison": f"{e['level']} vs {e['vs']}", "estimate": e["odds_ratio"],
                             "ci_low": e["or_ci_low"], "ci_high": e["or_ci_high"], "pval": e["pval"]}
                            for e in ds["treatment_effect"]], "notes": notes}


@dataclass
class _Scored:
    kind: str
    scores: pd.DataFrame
    score_name: str
    profile: pd.DataFrame | None
    flags: list[dict[str, Any]]


def _score(df: pd.DataFrame, animal: str, group: str, score_minutes: tuple[int, int], source: str) -> _Scored:
    """Per-animal scores, the minute profile, flags and the minute x group ANOVA of one table."""
    imm, pct = _find(df, "immobility"), _find(df, "percent")
    minute = _find(df, "minute")
    flags: list[dict[str, Any]] = []
    profile = None
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
        if (d.groupby([animal, "_m"]).size() == 1).all():   # each animal's minutes, for the minute x group ANOVA
            scores = scores.join(wide.rename(columns=lambda m: f"minute_{m:g}"), on=animal)
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
    return _Scored(kind, scores, score_name, profile, flags)


def _check_values(d: pd.DataFrame, col: str, name: str, source: str, lo: float, hi: float) -> None:
    reject(d[col].isna() | (d[col] < lo) | (d[col] > hi),
           lambda i: f"{source}: column {name!r} row {i + 1}: {str(d.iloc[i][name])!r} is not a number "
                     f"between {lo:g} and {hi:g}")
