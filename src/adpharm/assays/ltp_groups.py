"""Slice experiments analysed as a group: a manifest names each recording's slice, animal, group and
role, every slice is analysed as :func:`adpharm.assays.ltp.analyse` does one, and the groups are
compared on the final-window change with slices nested in animals.

A manifest has one row per file::

    file,slice,animal,group,role
    2018_08_13_2007.abf,S1,A1,control,baseline
    2018_08_13_2009.abf,S1,A1,control,post
    2018_08_13_2006.abf,S1,A1,control,pp_pre

``role`` is ``baseline`` or ``post`` (in recording order), ``pp_pre``/``pp_post`` (paired pulse,
``pp`` = ``pp_pre``) or ``io_pre``/``io_post`` (input-output series, ``io`` = ``io_pre``). An optional
``channel`` column picks the ABF channel; a non-empty ``exclude`` column leaves the slice out with
that text as the logged reason.

Outputs: per slice, the baseline slope, the change over the final window, paired-pulse ratios and
stability flags; per group, the time course in bins (1 min by default) as mean ± SEM over slices,
aligned on induction (baseline bins before 0, post bins from the first post sweep), the averaged
normalisation and final-window traces, and the input-output curves; and the comparison of groups
(:func:`adpharm.assays.nested.nested_comparison`).

References
----------
Aarts E, Verhage M, Veenvliet JV, Dolan CV, van der Sluis S (2014). A solution to dependency:
using multilevel analysis to accommodate nested data. Nat Neurosci 17:491-496. doi:10.1038/nn.3648
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from ..display import NotebookDisplay
from ..errors import AdpharmInputError
from ..io import read_table
from . import ltp, reporting
from . import stats as gstats
from .ephys import Recording, read_recording
from .exclusions import Exclusion, describe as exclusions_describe
from .nested import nested_comparison

__all__ = ["ROLES", "SliceFiles", "read_manifest", "GroupLTPResult", "analyse_groups"]

#: manifest roles and the name each is filed under
ROLES = {"baseline": "baseline", "post": "post", "pp": "pp_pre", "pp_pre": "pp_pre", "pp_post": "pp_post",
         "io": "io_pre", "io_pre": "io_pre", "io_post": "io_post"}
_REQUIRED = ("file", "slice", "animal", "group", "role")


@dataclass
class SliceFiles:
    """One slice of a manifest: its animal and group, its files by role (in order) and channel."""

    slice: str
    animal: str
    group: str
    files: dict[str, list[Path]]
    channel: int = 0
    exclude_reason: str | None = None


def read_manifest(path: str | Path) -> list[SliceFiles]:
    """Slices of an LTP manifest (see the module text); files resolve against the manifest's folder.

    Every error names the manifest, the row and the field: a slice without an animal, an unknown role,
    a slice listed under two animals or groups, a slice without a baseline or post file.
    """
    p = Path(path)
    df = read_table(p)
    cols = {str(c).strip().lower(): c for c in df.columns}
    missing = [c for c in _REQUIRED if c not in cols]
    if missing:
        raise AdpharmInputError(f"{p}: missing column {missing[0]!r} (an LTP manifest has {', '.join(_REQUIRED)}"
                                "[, channel, exclude]: one row per file)")
    get = {c: df[cols[c]] for c in cols}
    slices: dict[str, SliceFiles] = {}
    for i in range(len(df)):
        row = i + 2                                         # the file's line number (header is line 1)
        val = {c: _text(get[c].iloc[i]) for c in cols}
        for c in _REQUIRED:
            if not val[c]:
                what = f"slice {val['slice']!r} has no {c}" if val["slice"] else f"empty {c!r}"
                tail = "; slices are nested in animals" if c == "animal" else ""
                raise AdpharmInputError(f"{p}: line {row}: {what} (column {c!r}){tail}")
        role = ROLES.get(val["role"].lower())
        if role is None:
            raise AdpharmInputError(f"{p}: line {row}: role {val['role']!r} is not one of "
                                    f"{', '.join(dict.fromkeys(ROLES.values()))}")
        channel = 0
        if val.get("channel"):
            try:
                channel = int(float(val["channel"]))
            except ValueError:
                raise AdpharmInputError(f"{p}: line {row}: channel {val['channel']!r} is not a channel number") from None
            if channel < 0 or channel != float(val["channel"]):
                raise AdpharmInputError(f"{p}: line {row}: channel {val['channel']!r} is not a channel number")
        s = slices.setdefault(val["slice"], SliceFiles(val["slice"], val["animal"], val["group"], {}, channel))
        for attr in ("animal", "group"):
            if getattr(s, attr) != val[attr]:
                raise AdpharmInputError(f"{p}: line {row}: slice {s.slice!r} is given {attr}s {getattr(s, attr)!r} "
                                        f"and {val[attr]!r}")
        if channel != s.channel:
            raise AdpharmInputError(f"{p}: line {row}: slice {s.slice!r} is given channels {s.channel} and {channel}")
        f = Path(val["file"])
        s.files.setdefault(role, []).append(f if f.is_absolute() else p.parent / f)
        if val.get("exclude"):
            s.exclude_reason = s.exclude_reason or val["exclude"]
    for s in slices.values():
        for role in ("baseline", "post"):
            if role not in s.files:
                raise AdpharmInputError(f"{p}: slice {s.slice!r} has no {role!r} file (column 'role')")
    if not slices:
        raise AdpharmInputError(f"{p}: no rows")
    return list(slices.values())


def _text(v: Any) -> str:
    return "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip()


@dataclass
class GroupLTPResult(NotebookDisplay):
    """Slices, group time courses, averaged traces, input-output curves and the group comparison."""

    slices: pd.DataFrame
    timecourse: pd.DataFrame
    slice_timecourse: pd.DataFrame
    traces: pd.DataFrame
    io: pd.DataFrame
    statistics: dict[str, Any]
    window_min: float
    bin_min: float
    control: str | None
    exclusions: list[dict[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    #: the fEPSP slope window, fractions of the way from the stimulus artefact to the trough
    fractions: tuple[float, float] = (0.2, 0.6)

    def summary(self) -> pd.DataFrame:
        """Per group: slices, animals, and mean ± SEM (over slices) of the final-window change and
        the paired-pulse ratios."""
        s = self.slices
        rows = []
        for g, d in s.groupby("group", sort=False):
            r = {"group": g, "slices": len(d), "animals": d["animal"].nunique()}
            for col, name in (("last_window_percent", f"last {self.window_min:g} min (%)"),
                              ("ppr_pre", "PPR pre"), ("ppr_post", "PPR post")):
                x = d[col].dropna().to_numpy(float) if col in d else np.array([])
                r[name] = float(x.mean()) if x.size else None
                r[f"{name} SEM"] = float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else None
            rows.append(r)
        return pd.DataFrame(rows).set_index("group")

    def text(self) -> str:
        """Every slice, the groups (mean and SEM over slices), the nested comparison and the exclusions."""
        from ..display import table_text
        sl = self.slices.rename(columns={"baseline_slope_mv_per_ms": "baseline slope (mV/ms)",
                                         "last_window_percent": f"last {self.window_min:g} min (%)",
                                         "stable_baseline": "stable", "ppr_pre": "PPR pre", "ppr_post": "PPR post"})
        f0, f1 = self.fractions
        return "\n".join([f"{len(sl)} slices from {sl['animal'].nunique()} animals (unit of analysis: animal; "
                          f"slope window {f0 * 100:g}-{f1 * 100:g} %):", table_text(sl, ".3f"),
                          f"groups (mean and SEM over slices; time course in {self.bin_min:g}-min bins in the JSON "
                          "and the plot):", table_text(self.summary(), ".3f", index=True),
                          *reporting.statistics_lines(self.statistics),
                          *exclusions_describe(self.exclusions)]) + "\n"

    def to_dict(self) -> dict[str, Any]:
        def records(df):
            return df.astype(object).where(df.notna(), None).to_dict(orient="records")
        return {"slices": records(self.slices), "groups": records(self.summary().reset_index()),
                "timecourse": records(self.timecourse), "slice_timecourse": records(self.slice_timecourse),
                "traces": records(self.traces), "io_curves": records(self.io), "statistics": self.statistics,
                "window_min": self.window_min, "bin_min": self.bin_min, "control": self.control,
                "exclusions": self.exclusions, "warnings": self.warnings, "errors": self.errors,
                "provenance": {"adpharm": __version__, "method": "fixed-window least-squares fEPSP slope per slice; "
                               "groups compared on the final window with slices nested in animals"}}

    def write(self, out: Path) -> list[Path]:
        """slices.csv, timecourse.csv (group bins), results.json, prism.csv (the final-window change per
        group, Prism column layout), methods.md (ARRIVE-style draft) and timecourse.svg into ``out``."""
        from ..figures import figure_bytes
        from ..io import atomic_write, csv_text, json_text
        out.mkdir(parents=True, exist_ok=True)
        n = {g: {"animals": int(d["animal"].nunique()), "slices": len(d)} for g, d in self.slices.groupby("group", sort=False)}
        text = reporting.methods_paragraph("field-EPSP slice electrophysiology (fEPSP slope normalised to the "
                                           "baseline)", f"the change over the last {self.window_min:g} min",
                                           self.statistics, self.exclusions, unit="animal", n=n)
        return [atomic_write(out / "slices.csv", csv_text(self.slices)),
                atomic_write(out / "timecourse.csv", csv_text(self.timecourse)),
                atomic_write(out / "results.json", json_text(self.to_dict())),
                atomic_write(out / "prism.csv", csv_text(reporting.prism_columns(self.slices, "last_window_percent"))),
                atomic_write(out / "methods.md", text + "\n"),
                atomic_write(out / "timecourse.svg", figure_bytes(self.plot().figure, out / "timecourse.svg"))]

    def plot(self, ax=None):
        """Group time courses (mean ± SEM of slices per bin) and, beside them, the averaged traces."""
        from ..figures import pyplot
        plt = pyplot()
        if ax is None:
            fig, (ax, ax2) = plt.subplots(1, 2, figsize=(9, 3.5), gridspec_kw={"width_ratios": [2, 1]})
        else:
            ax2 = None
        colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
        for k, (g, d) in enumerate(self.timecourse.groupby("group", sort=False)):
            c = colors[k % len(colors)]
            sem = d["sem"].fillna(0)
            ax.fill_between(d["bin_min"] + self.bin_min / 2, d["mean"] - sem, d["mean"] + sem, color=c, alpha=0.25, lw=0)
            n = self.slices[self.slices.group == g]
            ax.plot(d["bin_min"] + self.bin_min / 2, d["mean"], "o-", ms=2.5, lw=0.8, color=c,
                    label=f"{g} ({len(n)} slices, {n['animal'].nunique()} animals)")
            if ax2 is not None:
                for phase, ls in (("baseline", "--"), ("final", "-")):
                    t = self.traces[(self.traces.group == g) & (self.traces.phase == phase)]
                    ax2.plot(t["t_ms"], t["mv"], ls, color=c, lw=1)
        ax.axhline(100, color="grey", ls="--", lw=0.8)
        ax.axvline(0, color="grey", lw=0.5)
        ax.set_xlabel("time from induction (min; baseline before 0)")
        ax.set_ylabel("fEPSP slope (% of baseline)")
        ax.legend(fontsize=7)
        if ax2 is not None:
            resp = self.traces[self.traces["t_ms"] > 1.0]["mv"]   # scale to the response, not the artefact
            if len(resp):
                pad = 0.1 * (resp.max() - resp.min() or 1.0)
                ax2.set_ylim(resp.min() - pad, resp.max() + pad)
            ax2.set_xlabel("time from stimulus (ms)")
            ax2.set_ylabel("fEPSP (mV)")
            ax2.set_title("dashed: baseline; solid: final window", fontsize=7)
            ax.figure.tight_layout()
        return ax


def analyse_groups(slices: Sequence[SliceFiles], control: str | None = None, window_min: float = 10.0,
                   fractions=(0.2, 0.6), baseline_sweeps: int = 20, bin_min: float = 1.0,
                   exclude: Sequence[Exclusion] = (), channel: int | None = None) -> GroupLTPResult:
    """Analyse every slice of a manifest and compare the groups.

    Parameters
    ----------
    slices : sequence of SliceFiles
        From :func:`read_manifest`.
    control : str, optional
        The reference group (default: the first group in the manifest).
    window_min, fractions, baseline_sweeps
        As in :func:`adpharm.assays.ltp.analyse`, applied to every slice.
    bin_min : float
        Width of the time-course bins (minutes).
    exclude : sequence of Exclusion
        Slices to leave out, each with its reason (a slice the manifest marks is excluded as well).
    channel : int, optional
        ABF channel for every slice whose manifest row does not give one.

    A slice whose files cannot be analysed is reported in ``errors`` and the others go on.

    Examples
    --------
    >>> from adpharm.assays import ltp_groups                                   # doctest: +SKIP
    >>> r = ltp_groups.analyse_groups(ltp_groups.read_manifest("slices.csv"), control="vehicle")  # doctest: +SKIP
    >>> r.summary()                                                             # doctest: +SKIP
    """
    if bin_min <= 0:
        raise AdpharmInputError(f"{bin_min} must be positive", field="bin_min")
    if window_min <= 0:
        raise AdpharmInputError(f"{window_min} must be positive", field="window_min")
    names = [s.slice for s in slices]
    unknown = [e.id for e in exclude if e.id not in names]
    if unknown:
        raise AdpharmInputError(f"{unknown[0]!r} is not a slice in the manifest (slices: {', '.join(names)})",
                                field="exclude")
    by_id = {e.id: e.reason for e in exclude}
    log = []
    rows, courses, traces, ios, errors, warnings = [], [], [], [], [], []
    for s in slices:
        reason = by_id.get(s.slice) or s.exclude_reason
        if reason:
            log.append({"id": s.slice, "unit": "slice", "reason": reason})
            continue
        try:
            row, course, trace, io, notes = _one_slice(s, window_min, fractions, baseline_sweeps, bin_min,
                                                       s.channel if channel is None else channel)
        except AdpharmInputError as exc:
            errors.append(f"slice {s.slice}: {exc}")
            continue
        rows.append(row)
        courses.append(course)
        traces.append(trace)
        ios.append(io)
        warnings += [f"slice {s.slice}: {w}" for w in notes]
    if not rows:
        raise AdpharmInputError("no slice could be analysed: " + "; ".join(errors or ["every slice is excluded"]))
    table = pd.DataFrame(rows)
    groups = list(dict.fromkeys(table["group"]))
    if control is not None and control not in groups:
        raise AdpharmInputError(f"control group {control!r} is not among the analysed slices' groups "
                                f"({', '.join(groups)})")
    control = control if control is not None else groups[0]
    sc = pd.concat(courses, ignore_index=True)
    tc = _group_course(sc)
    tr = _group_traces(pd.concat(traces, ignore_index=True))
    io = _group_io(pd.concat(ios, ignore_index=True)) if any(len(i) for i in ios) else pd.DataFrame(
        columns=["group", "when", "step", "slope_mean", "slope_sem", "n"])
    if len(groups) < 2:
        st: dict[str, Any] = {"not_done": f"one group ({groups[0]!r}); a comparison needs two"}
    else:
        st = nested_comparison(table, "last_window_percent", "group", "animal", control=control)
    for g, d in table.groupby("group", sort=False):
        if d["animal"].nunique() < 3:
            warnings.append(f"group {g!r}: {d['animal'].nunique()} animal(s), {len(d)} slice(s); "
                            "the time course's SEM is over slices and says little at this n")
    return GroupLTPResult(slices=table, timecourse=tc, slice_timecourse=sc, traces=tr, io=io, statistics=st,
                          window_min=window_min, bin_min=bin_min, control=control, exclusions=log, warnings=warnings,
                          errors=errors, fractions=tuple(fractions))


def _one_slice(s: SliceFiles, window_min, fractions, baseline_sweeps, bin_min, channel):
    def read(paths: list[Path]) -> list[Recording]:
        return [read_recording(p, channel=channel) for p in paths]
    base, post = read(s.files["baseline"]), read(s.files["post"])
    r = ltp.analyse(base, post, window_min=window_min, fractions=fractions, baseline_sweeps=baseline_sweeps)
    row: dict[str, Any] = {"slice": s.slice, "animal": s.animal, "group": s.group,
                           "baseline_slope_mv_per_ms": r.baseline_slope, "last_window_percent": 100 + r.change_percent,
                           "stable_baseline": bool(r.stability["stable"])}
    for when in ("pre", "post"):
        pps = [ltp.paired_pulse(x, fractions)["slope_ratio"] for x in read(s.files.get(f"pp_{when}", []))]
        row[f"ppr_{when}"] = float(np.mean(pps)) if pps else None
    tc = r.timecourse
    aligned = np.where(tc["phase"] == "post", tc["post_min"], tc["time_min"])
    # a baseline sweep at exactly 0 belongs to the last baseline bin, not to the first post bin
    edge = np.where(tc["phase"] == "post", 0.0, 1e-9)
    course = (pd.DataFrame({"bin_min": np.floor((aligned - edge) / bin_min) * bin_min, "percent": tc["percent"]})
              .groupby("bin_min", as_index=False)["percent"].mean()
              .assign(slice=s.slice, animal=s.animal, group=s.group))
    recs = {x.path: x for x in (*base, *post)}
    post_tc = tc[tc.phase == "post"]
    final = post_tc[post_tc["time_min"] > post_tc["time_min"].max() - window_min]
    norm = tc[tc.phase == "baseline"].iloc[-min(baseline_sweeps, int((tc.phase == "baseline").sum())):]
    trace = pd.concat([_mean_trace(recs, norm).assign(phase="baseline"), _mean_trace(recs, final).assign(phase="final")])
    io = []
    for when in ("pre", "post"):
        for x in read(s.files.get(f"io_{when}", [])):
            io.append(ltp.io_curve(x, fractions).assign(when=when, step=lambda d: d["sweep"] + 1))
    io_df = pd.concat(io, ignore_index=True).assign(slice=s.slice, group=s.group) if io else pd.DataFrame()
    return row, course, trace.assign(slice=s.slice, group=s.group), io_df, r.warnings


#: averaged traces are laid on this grid (ms from the stimulus), at the coarsest slice's sampling
TRACE_SPAN_MS = (-2.0, 20.0)
TRACE_STEP_MS = 0.05


def _mean_trace(recs: dict[str, Recording], rows: pd.DataFrame) -> pd.DataFrame:
    """Mean of the listed sweeps, each minus its pre-stimulus baseline, on times relative to the stimulus."""
    t_ref, total = None, None
    for (path, stim), g in rows.groupby(["file", "stim_ms"], sort=False):
        rec = recs[path]
        t = rec.t_ms - stim
        summed = (rec.sweeps[g["sweep"].to_numpy()] - g["baseline_mv"].to_numpy()[:, None]).sum(axis=0)
        if t_ref is None:
            t_ref, total = t, np.zeros_like(t)
        same = t.shape == t_ref.shape and np.allclose(t, t_ref)
        total += summed if same else np.interp(t_ref, t, summed)
    keep = (t_ref >= TRACE_SPAN_MS[0]) & (t_ref <= TRACE_SPAN_MS[1])
    return pd.DataFrame({"t_ms": t_ref[keep], "mv": total[keep] / len(rows)})


def _mean_sem(df: pd.DataFrame, keys: list[str], value: str) -> pd.DataFrame:
    """``keys``, mean, n and SEM of ``value`` (:func:`.stats.describe`; no SEM from one slice): labels
    (group, pre/post) in their order of appearance, numbers (bin, step) ascending within them."""
    def appearance(c: pd.Series) -> pd.Series:
        return c.map({v: i for i, v in enumerate(dict.fromkeys(c))}) if c.dtype == object else c
    ordered = df.sort_values(keys, key=appearance, kind="stable")
    return gstats.describe(ordered, value, keys).reset_index()[[*keys, "mean", "n", "sem"]]


def _group_course(sc: pd.DataFrame) -> pd.DataFrame:
    return _mean_sem(sc, ["group", "bin_min"], "percent")


def _group_traces(tr: pd.DataFrame) -> pd.DataFrame:
    """Each group's mean trace per phase over its slices, on the coarsest grid the slices share."""
    out = []
    for (g, phase), d in tr.groupby(["group", "phase"], sort=False):
        per = [x for _, x in d.groupby("slice", sort=False)]
        step = max([TRACE_STEP_MS] + [float(np.median(np.diff(x["t_ms"]))) for x in per])
        lo = max(x["t_ms"].min() for x in per)
        hi = min(x["t_ms"].max() for x in per)
        grid = np.arange(np.ceil(lo / step) * step, hi + 1e-9, step)
        mv = np.mean([np.interp(grid, x["t_ms"], x["mv"]) for x in per], axis=0)
        out.append(pd.DataFrame({"group": g, "phase": phase, "t_ms": grid, "mv": mv, "slices": len(per)}))
    return pd.concat(out, ignore_index=True)


def _group_io(io: pd.DataFrame) -> pd.DataFrame:
    out = _mean_sem(io, ["group", "when", "step"], "slope_mv_per_ms")
    return out.rename(columns={"mean": "slope_mean", "sem": "slope_sem"})[
        ["group", "when", "step", "slope_mean", "slope_sem", "n"]]
