"""Batch analysis from a manifest: one row per file (``file, animal, group, treatment, ...``),
giving one tidy results table, one statistics table and the figures.

Each file is analysed on its own (a bad file is reported with its reason and the others go on); a row
with a non-empty ``exclude`` column is not analysed and is listed with that reason;
the manifest's labels fill the columns a file lacks (the file's own columns win), and the group
statistics are computed once on the pooled per-animal (or per-lane) table.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd

from .. import __version__
from ..display import NotebookDisplay
from ..errors import AdpharmInputError
from ..io import atomic_write, csv_text, json_text, read_table
from . import reporting
from . import stats as gstats
from .figures import bar_and_dots


@dataclass
class Entry:
    """One file of a batch with the labels the manifest gives it."""

    path: Path
    row: int | None                # manifest row (1-based, data rows), None without a manifest
    labels: dict[str, Any]
    lane_labels: pd.DataFrame | None = None   # western: per-lane labels (columns lane, ...)
    folder: Path | None = None                # the manifest's folder, for other files it names

    def resolve(self, name: str) -> Path:
        """Another file this entry's manifest row names (e.g. a calibration), as the manifest sees it."""
        return _relative_to(self.folder, name)


def _relative_to(folder: Path | None, name: str) -> Path:
    f = Path(str(name).strip())
    return f if f.is_absolute() or folder is None else folder / f


def read_manifest(path: str | Path) -> list[Entry]:
    """Entries of a manifest CSV; ``file`` is required and resolved against the manifest's folder.

    Rows that name the same file with a ``lane`` column give per-lane labels (Western blots).
    """
    p = Path(path)
    df = read_table(p)
    cols = {c.lower(): c for c in df.columns}
    if "file" not in cols:
        raise AdpharmInputError(f"{p}: missing column 'file' (then any of animal, group, treatment, lane, ...)")
    fcol = cols["file"]
    blank = df[fcol].isna() | (df[fcol].astype(str).str.strip() == "")
    if blank.any():
        raise AdpharmInputError(f"{p}: column 'file' row {int(blank.to_numpy().nonzero()[0][0]) + 1} is empty")
    labels = [c for c in df.columns if c != fcol]
    lane = cols.get("lane")
    entries: list[Entry] = []
    for name, g in df.groupby(fcol, sort=False):
        row = int(g.index[0]) + 1
        f = _relative_to(p.parent, name)
        if lane is not None:
            lanes = pd.to_numeric(g[lane], errors="coerce")
            if lanes.isna().any():
                bad = g.index[lanes.isna().to_numpy()][0]
                raise AdpharmInputError(f"{p}: column {lane!r} row {int(bad) + 1}: {g.loc[bad, lane]!r} is not a lane number")
            lab = g[labels].rename(columns={lane: "lane"}).assign(lane=lanes.astype(int).to_numpy())
            entries.append(Entry(f, row, {}, lab, p.parent))
        else:
            if len(g) > 1:
                raise AdpharmInputError(f"{p}: file {name!r} is listed {len(g)} times (add a 'lane' column for per-lane labels)")
            entries.append(Entry(f, row, {c: g.iloc[0][c] for c in labels if pd.notna(g.iloc[0][c])}, None, p.parent))
    return entries


def with_labels(df: pd.DataFrame, labels: dict[str, Any]) -> pd.DataFrame:
    """``df`` with the manifest's labels in the columns it lacks (case-insensitive match)."""
    have = {c.lower() for c in df.columns}
    return df.assign(**{k: v for k, v in labels.items() if k.lower() not in have})


#: the assays' names in a methods paragraph
ASSAY_NAMES = {"fst": "forced swim test", "spt": "sucrose preference test", "western": "Western blot densitometry"}


@dataclass
class BatchResult(NotebookDisplay):
    """The pooled tidy table, the statistics on it, per-file results and the files that failed."""

    assay: str
    table: pd.DataFrame
    value: str
    ylabel: str
    statistics: dict[str, Any] | None
    results: dict[str, Any]
    errors: list[str] = field(default_factory=list)
    #: what was left out and why: manifest rows marked in an ``exclude`` column (unit ``file``) and the
    #: animals, cages or lanes each file's analysis excluded
    exclusions: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"assay": self.assay, "value": self.value, "table": self.table.to_dict(orient="records"),
                "statistics": self.statistics, "results": {k: r.to_dict() for k, r in self.results.items()},
                "errors": self.errors, "exclusions": self.exclusions, "provenance": {"adpharm": __version__}}

    def text(self) -> str:
        """Each file's kind and text, the files, lanes and rows left out, and the statistics pooled over the files."""
        from ..display import table_text
        from .exclusions import describe
        parts = [f"{k}: {getattr(r, 'kind', self.assay)}\n{r.text()}" for k, r in self.results.items()]
        lines = describe([x for x in self.exclusions if x["unit"] in ("file", "lane", "row")])
        if self.statistics is not None:
            lines += [f"pooled over {len(self.results)} files ({len(self.table)} rows):",
                      table_text(self.summary(), ".3f", index=True), *reporting.statistics_lines(self.statistics)]
        return "".join(parts) + "".join(f"{ln}\n" for ln in lines)

    def summary(self) -> pd.DataFrame:
        return gstats.describe(self.table.dropna(subset=[self.value]), self.value, "group") \
            if "group" in self.table else self.table.describe()

    def plot(self, ax=None):
        return bar_and_dots(self.table.dropna(subset=[self.value]), self.value, "group", self.ylabel, ax=ax)

    def write(self, out: Path) -> list[Path]:
        """results.csv, statistics.json, results.json, a Prism column table (prism.csv), a draft
        ARRIVE-style methods paragraph (methods.md) and the figures (SVG) into ``out``: the groups,
        and each file's own (``result.figures()``, e.g. ``blot_<file>.svg``)."""
        from ..figures import figure_bytes
        out.mkdir(parents=True, exist_ok=True)
        written = [atomic_write(out / "results.csv", csv_text(self.table)),
                   atomic_write(out / "statistics.json", json_text(self.statistics)),
                   atomic_write(out / "results.json", json_text(self.to_dict()))]
        if "group" in self.table and self.table[self.value].notna().any():
            written.append(atomic_write(out / "prism.csv", csv_text(reporting.prism_columns(self.table, self.value))))
        st = self.statistics
        if st is None and len(self.results) == 1:       # one file: its own statistics
            st = getattr(next(iter(self.results.values())), "statistics", None)
            st = st() if callable(st) else st
        written.append(atomic_write(out / "methods.md", reporting.methods_paragraph(
            ASSAY_NAMES.get(self.assay, self.assay), self.ylabel, st, self.exclusions) + "\n"))
        figures = {f"{name}_{Path(k).stem}.svg": (lambda draw=draw: draw().figure)
                   for k, r in self.results.items() for name, draw in getattr(r, "figures", dict)().items()}
        if "group" in self.table and self.table[self.value].notna().any():
            figures["groups.svg"] = lambda: self.plot().figure
        for name, make in figures.items():
            written.append(atomic_write(out / name, figure_bytes(make(), out / name)))
        return written


def _guarded(statistics: Callable[[pd.DataFrame], dict[str, Any] | None], table: pd.DataFrame) -> dict[str, Any] | None:
    """The pooled statistics, or the reason they could not be run."""
    try:
        return statistics(table)
    except AdpharmInputError as exc:
        return {"not_done": str(exc)}


def pooled_statistics(table: pd.DataFrame, value: str, control: str | None) -> dict[str, Any] | None:
    """Group tests on the pooled table, or the reason none could be run."""
    if "group" not in table:
        return {"not_done": "no 'group' column in the files or the manifest"}
    return _guarded(lambda t: gstats.compare_groups(t.dropna(subset=[value]), value, "group", control=control), table)


def pooled_fold_changes(table: pd.DataFrame, value: str, control: str) -> dict[str, Any] | None:
    """Fold-change tests against each blot's own control (:func:`..stats.fold_change_tests`), or the reason none
    could be run."""
    if "group" not in table:
        return {"not_done": "no 'group' column in the files or the manifest"}
    return _guarded(lambda t: gstats.fold_change_tests(t, value, "group", control), table)


def run(assay: str, entries: list[Entry], analyse_one: Callable[[Entry], Any],
        tidy: Callable[[Entry, Any], pd.DataFrame], value: str, ylabel: str, control: str | None,
        pooled: bool, statistics: Callable[[pd.DataFrame], dict[str, Any] | None] | None = None) -> BatchResult:
    """Analyse every entry; pool the tidy tables; group statistics on the pooled table when
    ``pooled`` (a manifest), otherwise each file keeps its own statistics. ``statistics`` replaces the
    default group tests on the pooled table (e.g. fold changes normalised to each blot's control)."""
    results, tables, errors, excluded = {}, [], [], []
    for e in entries:
        reason = str(e.labels.get("exclude", "")).strip()
        if reason:     # a manifest row marked for exclusion: not analysed, listed with its reason
            excluded.append({"id": str(e.labels.get("animal", e.path.name)), "unit": "file", "file": str(e.path),
                             "reason": reason})
            continue
        try:
            r = analyse_one(e)
            tables.append(tidy(e, r).assign(file=str(e.path)))
            results[str(e.path)] = r
            excluded += [{**x, "file": str(e.path)} for x in getattr(r, "exclusions", [])]
        except AdpharmInputError as exc:
            msg = str(exc)
            if str(e.path) not in msg:   # in a batch of 40 files, every error names its file
                msg = f"{e.path}: {msg}"
            errors.append(msg if e.row is None else f"manifest row {e.row}: {msg}")
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame()
    if "exclude" in table:   # per-lane labels (Western) marked for exclusion: out of the pooled table and tests
        marked = table["exclude"].fillna("").astype(str).str.strip() != ""
        excluded += [{"id": str(row.get("lane", i)), "unit": "lane" if "lane" in table else "row",
                      "file": str(row.get("file", "")), "reason": str(row["exclude"]).strip()}
                     for i, row in table[marked].iterrows()]
        table = table[~marked].drop(columns="exclude").reset_index(drop=True)
    st = _guarded(statistics or (lambda t: pooled_statistics(t, value, control)), table) if pooled and len(table) else None
    return BatchResult(assay=assay, table=table, value=value, ylabel=ylabel, statistics=st, results=results,
                       errors=errors, exclusions=excluded)
