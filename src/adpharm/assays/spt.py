"""Sucrose preference test from bottle weights (start and end, water and sucrose, per day and
bottle side) or from ready-made preference ratios: intake, preference, leak and spill flags, side
bias, per-animal or per-cage preference, and an anhedonia flag.

References
----------
Willner P, Towell A, Sampson D, Sophokleous S, Muscat R (1987). Reduction of sucrose preference
by chronic unpredictable mild stress, and its restoration by a tricyclic antidepressant.
Psychopharmacology 93:358-364. doi:10.1007/BF00187257
Liu MY, Yin CY, Zhu LJ, et al. (2018). Sucrose preference test for measurement of stress-induced
anhedonia in mice. Nat Protoc 13:1686-1698. doi:10.1038/s41596-018-0011-z
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError, reject
from . import exclusions, reporting, stats as gstats
from .exclusions import Exclusion
from .figures import bar_and_dots
from .tables import find_column
from ..lazy import lazy_module
from ..display import NotebookDisplay

stats = lazy_module("scipy.stats")

ANHEDONIA_THRESHOLD = 0.65
MAX_INTAKE_G = 15.0  # per animal per session; more suggests a spill (Liu et al. 2018 report 2-8 g/day in mice)

_ALIASES = {
    "subject": ("animal", "mouse", "rat", "cage", "cage id", "animal_id", "id"),
    "group": ("group", "treatment"),
    "day": ("day", "period", "period [days]", "session"),
    "side": ("sucrose_side", "side", "sucrose bottle position", "position"),
    "ratio": ("preference", "sucrose preference ratio", "sucrose_preference", "ratio"),
    "water_start_g": ("water_start_g",), "water_end_g": ("water_end_g",),
    "sucrose_start_g": ("sucrose_start_g",), "sucrose_end_g": ("sucrose_end_g",),
    "animals": ("animals", "n_animals", "animals_per_cage"),
}
WEIGHTS = ("water_start_g", "water_end_g", "sucrose_start_g", "sucrose_end_g")


def _col(df: pd.DataFrame, role: str) -> str | None:
    return find_column(df, _ALIASES[role])


#: Below this many units (animals or cages) in a group, a test is flagged as having little power.
SMALL_N = 5


@dataclass
class SPTResult(NotebookDisplay):
    source: str
    kind: str
    sessions: pd.DataFrame
    subjects: pd.DataFrame
    side_bias: dict[str, Any]
    statistics: dict[str, Any] | None
    threshold: float
    flags: list[dict[str, Any]] = field(default_factory=list)
    #: what one row of ``subjects`` is: an ``"animal"``, or a ``"cage"`` of group-housed animals
    unit: str = "animal"
    #: the subjects left out, each ``{"id", "unit", "reason"}`` (:mod:`.exclusions`)
    exclusions: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "threshold": self.threshold, "unit_of_analysis": self.unit,
                "sessions": self.sessions.to_dict(orient="records"), "subjects": self.subjects.to_dict(orient="records"),
                "side_bias": self.side_bias, "statistics": self.statistics, "flags": self.flags,
                "exclusions": self.exclusions,
                "provenance": {"adpharm": __version__}}

    def summary(self) -> pd.DataFrame:
        return gstats.describe(self.subjects, "preference", "group")

    def text(self) -> str:
        """The group table and statistics, side bias, the unit of analysis, the anhedonic subjects, the flags
        and the exclusions."""
        sb = self.side_bias.get("mean_preference_by_side", {})
        n = int(self.subjects["anhedonic"].sum())
        housed = " (group-housed animals: one preference per cage)" if self.unit == "cage" else ""
        lines = (["preference by sucrose side: " + ", ".join(f"{k} {v:.3f}" for k, v in sb.items())] if sb else [])
        lines += [f"unit of analysis: {self.unit}{housed}",
                  f"anhedonic (preference < {self.threshold:g}): {n} of {len(self.subjects)} {self.unit}s"]
        lines += [f"flag: {fl['kind']}: {fl.get('subject', '')} {fl.get('day', '')} {fl.get('reason', '')}".rstrip()
                  for fl in self.flags]
        return reporting.result_text(self, lines)

    def plot(self, ax=None):
        """Bar-and-dot plot per group, every subject shown."""
        return bar_and_dots(self.subjects, "preference", "group", "sucrose preference", ax=ax, hline=self.threshold)


def analyse(df: pd.DataFrame, threshold: float = ANHEDONIA_THRESHOLD, max_intake_g: float = MAX_INTAKE_G,
            control: str | None = None, source: str = "data", compare: bool = True,
            exclude: Sequence[Exclusion] = (), strict_exclusions: bool = True) -> SPTResult:
    """Preference per session and per subject (animal, or cage for group-housed animals).

    ``compare=False`` leaves out the group tests (a file that is one part of a batch). ``exclude``
    (:func:`.exclusions.parse`) leaves subjects (animals or cages) out of every statistic and logs them with
    their reasons; an identifier that is not a subject of the table is an error unless ``strict_exclusions``
    is False.

    Examples
    --------
    >>> from adpharm import datasets
    >>> import pandas as pd
    >>> path = datasets.locate("behaviopy_sucrosepreference")
    >>> r = analyse(pd.read_csv(path)) if path else None     # doctest: +SKIP
    >>> len(r.subjects)                                      # doctest: +SKIP
    5
    """
    if not 0 < threshold < 1:
        raise AdpharmInputError(f"{threshold} must be between 0 and 1", field="threshold")
    subject, group = _col(df, "subject"), _col(df, "group")
    if subject is None or group is None:
        raise AdpharmInputError(f"{source}: missing column {'animal (or cage)' if subject is None else 'group'!r}")
    unit = "cage" if "cage" in str(subject).lower() else "animal"
    df, log = exclusions.apply(df, subject, exclude, unit, source, strict=strict_exclusions)
    day, side = _col(df, "day"), _col(df, "side")
    flags: list[dict[str, Any]] = []
    out = pd.DataFrame({"subject": df[subject].astype(str), "group": df[group].astype(str),
                        "day": df[day].astype(str) if day else "1",
                        "side": df[side].astype(str).str.lower() if side else "unknown"})
    weights = {w: _col(df, w) for w in WEIGHTS}
    if all(weights.values()):
        kind = "bottle weights"
        vals = {}
        for w, c in weights.items():
            v = pd.to_numeric(df[c], errors="coerce")
            reject(v.isna(), lambda i: f"{source}: column {c!r} row {i + 1}: {df[c].iloc[i]!r} is not a weight in g")
            vals[w] = v.to_numpy(float)
        per = pd.to_numeric(df[_col(df, "animals")], errors="coerce").fillna(1).to_numpy(float) if _col(df, "animals") else 1.0
        out["water_g"] = vals["water_start_g"] - vals["water_end_g"]
        out["sucrose_g"] = vals["sucrose_start_g"] - vals["sucrose_end_g"]
        out["total_per_animal_g"] = (out["water_g"] + out["sucrose_g"]) / per
        neg = (out["water_g"] < 0) | (out["sucrose_g"] < 0)
        high = out["total_per_animal_g"] > max_intake_g
        out["flag"] = np.where(neg, "negative intake (bottle gained weight: misread or refill)",
                               np.where(high, f"implausible intake > {max_intake_g:g} g per animal (leak or spill)", ""))
        with np.errstate(invalid="ignore", divide="ignore"):
            out["preference"] = out["sucrose_g"] / (out["sucrose_g"] + out["water_g"])
        flags += [{"kind": "session excluded", "row": int(i) + 1, "subject": out.loc[i, "subject"],
                   "day": out.loc[i, "day"], "reason": out.loc[i, "flag"]} for i in out.index[out["flag"] != ""]]
    elif _col(df, "ratio"):
        kind = "preference ratios"
        rc = _col(df, "ratio")
        r = pd.to_numeric(df[rc], errors="coerce")
        reject(r.isna() | (r < 0) | (r > 1),
               lambda i: f"{source}: column {rc!r} row {i + 1}: {str(df[rc].iloc[i])!r} is not a ratio between 0 and 1")
        out["preference"] = r.to_numpy(float)
        out["flag"] = ""
    else:
        raise AdpharmInputError(f"{source}: need bottle weights ({', '.join(WEIGHTS)}) or a preference ratio column")
    ok = out[out["flag"] == ""]
    subjects = ok.groupby(["subject", "group"], sort=False)["preference"].agg(["mean", "size"]).reset_index()
    subjects.columns = ["subject", "group", "preference", "sessions"]
    subjects["anhedonic"] = subjects["preference"] < threshold
    by_side = ok.groupby("side")["preference"].mean().to_dict()
    side_bias: dict[str, Any] = {"mean_preference_by_side": {k: float(v) for k, v in by_side.items()}}
    if {"left", "right"} <= set(by_side):
        paired = ok.pivot_table(index="subject", columns="side", values="preference", aggfunc="mean").dropna()
        side_bias["difference_left_minus_right"] = float(by_side["left"] - by_side["right"])
        if len(paired) >= 2:
            t = stats.ttest_rel(paired["left"], paired["right"])
            side_bias.update(paired_t=float(t.statistic), pval=float(t.pvalue), n_subjects=len(paired))
    if not side:
        side_bias["note"] = "no bottle-side column: side bias cannot be checked; alternate the bottle sides"
    st = None
    sizes = subjects.groupby("group").size()
    if compare and subjects["group"].nunique() >= 2 and sizes.min() >= 2:
        st = gstats.compare_groups(subjects, "preference", "group", control=control, unit=unit)
        if sizes.min() < SMALL_N:
            flags.append({"kind": "small n", "reason": f"{' vs '.join(str(int(v)) for v in sizes)} {unit}s per group: "
                                                       "the test has little power; read the values as descriptive"})
    elif compare and subjects["group"].nunique() >= 2:
        flags.append({"kind": "too few subjects", "reason": "a group has fewer than two subjects: no test run"})
    return SPTResult(source=source, kind=kind, sessions=out, subjects=subjects, side_bias=side_bias, statistics=st,
                     threshold=threshold, flags=flags, unit=unit, exclusions=log)
