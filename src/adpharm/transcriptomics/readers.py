"""Readers for transcriptomic inputs: count matrices, sample sheets, DE tables, GMT files, gene lists.

Every reader checks what it reads and raises :class:`~adpharm.errors.AdpharmInputError` with a
one-line message naming the file, and the gene, sample or column at fault.
"""
from __future__ import annotations

import gzip
import io
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError

#: HTSeq-count summary rows; GEO files carry them with or without the ``__`` prefix.
HTSEQ_SUMMARY = ("no_feature", "ambiguous", "too_low_aQual", "not_aligned", "alignment_not_unique")

#: Column aliases of DE tables (DESeq2, edgeR, limma, GEO2R), matched after stripping spaces.
DE_ALIASES = {
    "gene": ("gene", "gene_id", "id", "symbol", "geneid", "gene_symbol", "ensembl", "unnamed: 0", ""),
    "log2FoldChange": ("log2foldchange", "logfc", "log2fc", "lfc", "log2_fold_change"),
    "lfcSE": ("lfcse", "se", "lfc_se"),
    "pvalue": ("pvalue", "p.value", "pval", "p", "p_value"),
    "padj": ("padj", "adj.p.val", "fdr", "qvalue", "q_value", "p_adj"),
    "baseMean": ("basemean",),
    "stat": ("stat", "t", "wald"),
}


def _open_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise AdpharmInputError(f"{path}: not a readable gzip file ({exc})") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise AdpharmInputError(f"{path}: not UTF-8 text") from None


def _sep(path: Path, text: str) -> str:
    name = path.name.lower().removesuffix(".gz")
    if name.endswith((".tsv", ".tab", ".txt")):
        return "\t"
    first = text.split("\n", 1)[0]
    return "\t" if first.count("\t") > first.count(",") else ","


def _frame(path: Path, **kw) -> pd.DataFrame:
    if not path.is_file():
        raise AdpharmInputError(f"{path}: no such file")
    text = _open_text(path)
    if not text.strip():
        raise AdpharmInputError(f"{path}: the file is empty")
    try:
        df = pd.read_csv(io.StringIO(text), sep=_sep(path, text), **kw)
    except (pd.errors.ParserError, ValueError) as exc:
        raise AdpharmInputError(f"{path}: not a readable table ({str(exc).splitlines()[0]})") from None
    df.columns = [str(c).strip() for c in df.columns]
    # A trailing separator on every line leaves an empty, unnamed last column.
    empty = [c for c in df.columns if c.lower().startswith("unnamed") and df[c].isna().all()]
    return df.drop(columns=empty)


# --------------------------------------------------------------------------- counts

def check_counts(counts: pd.DataFrame, source: str) -> pd.DataFrame:
    """Integer, non-negative, complete counts with unique gene and sample names, as int64."""
    if counts.shape[0] == 0 or counts.shape[1] == 0:
        raise AdpharmInputError(f"{source}: no genes or no samples")
    dup = counts.index[counts.index.duplicated()]
    if len(dup):
        raise AdpharmInputError(f"{source}: gene {dup[0]!r} occurs more than once")
    dup = counts.columns[counts.columns.duplicated()]
    if len(dup):
        raise AdpharmInputError(f"{source}: sample {dup[0]!r} occurs more than once")
    for sample in counts.columns:
        col = pd.to_numeric(counts[sample], errors="coerce")
        bad = col.isna()
        if bad.any():
            gene = counts.index[np.flatnonzero(bad.to_numpy())[0]]
            raise AdpharmInputError(f"{source}: sample {sample!r}, gene {gene!r}: "
                                    f"count {counts.at[gene, sample]!r} is missing or not a number")
        v = col.to_numpy(dtype=float)
        for mask, what in ((v < 0, "is negative"), (v != np.round(v), "is not an integer")):
            if mask.any():
                i = int(np.flatnonzero(mask)[0])
                raise AdpharmInputError(f"{source}: sample {sample!r}, gene {counts.index[i]!r}: "
                                        f"count {v[i]:g} {what}; raw read counts are required")
        counts[sample] = v.astype(np.int64)
    return counts


def _count_file(name: str, text: str, source: str) -> pd.Series:
    """One HTSeq-style two-column count file (gene, tab, count), summary rows dropped."""
    rows = [line.split("\t") for line in text.splitlines() if line.strip()]
    bad = [i for i, r in enumerate(rows) if len(r) != 2]
    if bad:
        raise AdpharmInputError(f"{source}: {name}: line {bad[0] + 1} is not 'gene<TAB>count'")
    genes = [r[0].strip() for r in rows]
    keep = [not (g.startswith("__") or g in HTSEQ_SUMMARY) for g in genes]
    s = pd.Series([r[1].strip() for r, k in zip(rows, keep) if k],
                  index=[g for g, k in zip(genes, keep) if k], name=name)
    return s


def read_counts(path: str | Path) -> pd.DataFrame:
    """A genes × samples count matrix from CSV/TSV (optionally gzip) or a GEO RAW tar.

    A table's first column holds gene identifiers; the other columns are samples. A tar holds one
    two-column count file per sample (HTSeq-count style, gzip or plain), named by the member's
    file name; HTSeq's summary rows (``__no_feature`` … or without the prefix, as GEO often has
    them) are dropped before library sizes are computed.
    """
    p = Path(path)
    if not p.is_file():
        raise AdpharmInputError(f"{p}: no such file")
    if tarfile.is_tarfile(p):
        cols = []
        try:
            with tarfile.open(p) as tar:
                for m in tar.getmembers():
                    if not m.isfile():
                        continue
                    raw = tar.extractfile(m).read()
                    if raw[:2] == b"\x1f\x8b":
                        raw = gzip.decompress(raw)
                    cols.append(_count_file(Path(m.name).name, raw.decode("utf-8-sig"), str(p)))
        except (tarfile.TarError, OSError, EOFError, UnicodeDecodeError) as exc:
            raise AdpharmInputError(f"{p}: not a readable tar of count files ({exc})") from None
        if not cols:
            raise AdpharmInputError(f"{p}: the tar holds no count files")
        for c in cols:
            if c.index.has_duplicates:
                raise AdpharmInputError(f"{p}: {c.name}: gene {c.index[c.index.duplicated()][0]!r} occurs more than once")
        counts = pd.concat(cols, axis=1)
        if counts.isna().any().any():
            sample = counts.columns[counts.isna().any().to_numpy()][0]
            gene = counts.index[counts[sample].isna().to_numpy()][0]
            raise AdpharmInputError(f"{p}: {sample}: gene {gene!r} is missing (the count files list different genes)")
    else:
        df = _frame(p, dtype=str, keep_default_na=False, na_values=[""])
        if df.shape[1] < 2:
            raise AdpharmInputError(f"{p}: a count table needs a gene column and at least one sample column")
        counts = df.set_index(df.columns[0])
        counts.index = counts.index.astype(str).str.strip()
        counts.index.name = "gene"
        keep = ~counts.index.str.startswith("__") & ~counts.index.isin(HTSEQ_SUMMARY)
        counts = counts.loc[keep]
    counts.index.name = "gene"
    return check_counts(counts, str(p))


# --------------------------------------------------------------------------- sample sheet

@dataclass
class SampleSheet:
    """A sample sheet aligned to the columns of a count matrix (rows in the counts' order)."""

    table: pd.DataFrame
    key: str
    source: str

    def column(self, name: str) -> pd.Series:
        if name not in self.table.columns:
            raise AdpharmInputError(f"{self.source}: no column {name!r} (columns: {', '.join(self.table.columns)})")
        return self.table[name].astype(str).str.strip()

    def levels(self, name: str) -> list[str]:
        return sorted(self.column(name).unique())

    def subset(self, conditions: dict[str, str] | None) -> "SampleSheet":
        """The samples whose columns equal ``conditions`` (e.g. ``{"sample_type": "Input"}``); an
        empty selection is an error naming the sheet, the column and the values it has."""
        keep = pd.Series(True, index=self.table.index)
        for col, val in (conditions or {}).items():
            keep &= self.column(col) == str(val).strip()
            if not keep.any():
                raise AdpharmInputError(f"{self.source}: subset: no sample has {col} = {val!r} "
                                        f"(values: {', '.join(self.levels(col))})")
        return SampleSheet(self.table.loc[keep], self.key, self.source)

    def crossed_with(self, factor: str, groups: list[str]) -> dict[str, list[str]]:
        """Sheet columns whose levels vary within every one of ``groups`` of ``factor`` (sample type,
        region, sex): pooling those samples mixes material a contrast should not mix.

        Columns naming each sample (a level per sample) are not counted, and a column that splits the
        samples exactly as an earlier one does (a description of the sample type) is not repeated.
        """
        f = self.column(factor)
        rows = f.isin(groups)
        out, seen = {}, []
        for col in self.table.columns:
            if col == factor:
                continue
            v = self.column(col)[rows]
            if v.nunique() < 2 or v.nunique() > rows.sum() / 2:
                continue
            split = tuple(pd.factorize(v)[0])
            if split in seen:
                continue
            if all(v[f[rows] == g].nunique() > 1 for g in groups):
                out[col] = sorted(v.unique())
                seen.append(split)
        return out


def read_samples(path: str | Path, samples: list[str] | None = None) -> SampleSheet:
    """Read a sample sheet; when ``samples`` (the count columns) are given, align it to them.

    The column naming the samples is found, not assumed: the first column whose values include
    every count column (``sample``, a GSM accession, or a count-file name such as GEO's
    ``count_file``). A count column that no row names is an error naming that sample.
    """
    p = Path(path)
    df = _frame(p, dtype=str, keep_default_na=False)
    if len(df) == 0:
        raise AdpharmInputError(f"{p}: no data rows")
    if samples is None:
        return SampleSheet(df, df.columns[0], str(p))
    want = [str(s) for s in samples]
    best, best_hits = None, -1
    order = sorted(df.columns, key=lambda c: (c.lower() != "sample", list(df.columns).index(c)))
    for c in order:
        values = set(df[c].astype(str).str.strip())
        hits = sum(s in values for s in want)
        if hits > best_hits:
            best, best_hits = c, hits
    if best_hits <= 0:
        raise AdpharmInputError(f"{p}: no column names the count samples (e.g. {want[0]!r})")
    keys = df[best].astype(str).str.strip()
    missing = [s for s in want if s not in set(keys)]
    if missing:
        raise AdpharmInputError(f"{p}: sample {missing[0]!r} of the counts is missing from the sheet (column {best!r})")
    if keys[keys.isin(want)].duplicated().any():
        raise AdpharmInputError(f"{p}: sample {keys[keys.isin(want) & keys.duplicated()].iloc[0]!r} occurs more than once")
    table = df.assign(**{best: keys}).set_index(best).loc[want]
    table.index.name = "sample"
    return SampleSheet(table, best, str(p))


# --------------------------------------------------------------------------- DE tables

@dataclass
class DETable:
    """A differential-expression table in one shape, whoever wrote it.

    ``table`` is indexed by gene with columns ``log2FoldChange`` and ``pvalue`` and, where the
    source has them, ``lfcSE``, ``padj``, ``baseMean`` and ``stat``. ``contrast`` is
    ``(factor, numerator, reference)`` when the table says which groups it compares.
    """

    table: pd.DataFrame
    source: str
    contrast: tuple[str, str, str] | None = None
    meta: dict = field(default_factory=dict)

    def signature(self, alpha: float = 0.05, direction: str = "both") -> list[str]:
        """Genes at adjusted p < ``alpha`` (``up``, ``down`` or ``both``)."""
        t = self.table
        q = t["padj"] if "padj" in t else t["pvalue"]
        hit = q < alpha
        if direction == "up":
            hit &= t["log2FoldChange"] > 0
        elif direction == "down":
            hit &= t["log2FoldChange"] < 0
        return list(t.index[hit.fillna(False).to_numpy()])

    def ranking(self) -> pd.Series:
        """RRHO's ranking metric: −log10(p) × sign(log2 fold change), genes with a p-value only."""
        t = self.table.dropna(subset=["pvalue", "log2FoldChange"])
        p = t["pvalue"].clip(lower=1e-300)
        return (-np.log10(p) * np.sign(t["log2FoldChange"])).rename("metric")


def parse_contrast(text: str, field: str = "contrast") -> tuple[str, str, str]:
    """``factor,numerator,reference`` → a tuple (DESeq2's ``contrast=c(...)`` order)."""
    parts = [s.strip() for s in str(text).split(",")]
    if len(parts) != 3 or not all(parts):
        raise AdpharmInputError(f"{text!r} must be FACTOR,NUMERATOR,REFERENCE (e.g. group,stress,control)", field=field)
    if parts[1] == parts[2]:
        raise AdpharmInputError(f"{text!r} compares {parts[1]!r} with itself", field=field)
    return parts[0], parts[1], parts[2]


def read_de(path: str | Path, contrast: str | None = None) -> DETable:
    """Read a DE table (DESeq2, edgeR, limma, GEO2R or adpharm's own), whatever its column names.

    adpharm's ``transcriptomics de`` output carries ``contrast_factor``, ``contrast_numerator``
    and ``contrast_reference`` columns; for other tables pass ``contrast`` as
    ``factor,numerator,reference`` so that a shared reference can be detected.
    """
    p = Path(path)
    df = _frame(p)
    if len(df) == 0:
        raise AdpharmInputError(f"{p}: no data rows")
    lower = {c.lower(): c for c in df.columns}
    found = {}
    for name, aliases in DE_ALIASES.items():
        for a in aliases:
            if a in lower and lower[a] not in found.values():
                found[name] = lower[a]
                break
    if "gene" not in found:
        found["gene"] = df.columns[0]
    for need in ("log2FoldChange", "pvalue"):
        if need not in found:
            raise AdpharmInputError(f"{p}: no {need} column (looked for {', '.join(DE_ALIASES[need][:4])})")
    out = pd.DataFrame({k: df[v] for k, v in found.items()})
    out["gene"] = out["gene"].astype(str).str.strip()
    for c in out.columns.drop("gene"):
        out[c] = pd.to_numeric(out[c].replace({"NA": np.nan}), errors="coerce")
        raw = df[found[c]]
        bad = out[c].isna() & raw.notna() & ~raw.astype(str).str.strip().isin(["NA", "", "nan", "NaN"])
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise AdpharmInputError(f"{p}: row {i + 2}, column {found[c]!r}: {raw.iloc[i]!r} is not a number")
    pv = out["pvalue"].dropna()
    if ((pv < 0) | (pv > 1)).any():
        raise AdpharmInputError(f"{p}: column {found['pvalue']!r}: p-values must lie in [0, 1]")
    if out["gene"].duplicated().any():
        raise AdpharmInputError(f"{p}: gene {out['gene'][out['gene'].duplicated()].iloc[0]!r} occurs more than once")
    cols = {"contrast_factor", "contrast_numerator", "contrast_reference"}
    spec = None
    if cols <= set(df.columns):
        vals = df[sorted(cols)].drop_duplicates()
        if len(vals) == 1:
            spec = (str(df["contrast_factor"].iloc[0]), str(df["contrast_numerator"].iloc[0]),
                    str(df["contrast_reference"].iloc[0]))
    if contrast is not None:
        spec = parse_contrast(contrast, f"{p}: contrast")
    return DETable(table=out.set_index("gene"), source=str(p), contrast=spec)


# --------------------------------------------------------------------------- gene sets

def read_gmt(path: str | Path) -> dict[str, list[str]]:
    """Gene sets from a GMT file: ``name<TAB>description<TAB>gene…`` per line.

    Survives what real files do: CRLF endings, no final newline, lines padded with empty fields,
    quoted names, and names that occur twice (the second becomes ``name#2``). Empty sets are kept
    out; genes are de-duplicated within a set in their first order.
    """
    p = Path(path)
    if not p.is_file():
        raise AdpharmInputError(f"{p}: no such file")
    text = _open_text(p)
    sets: dict[str, list[str]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2:
            raise AdpharmInputError(f"{p}: line {n} is not 'name<TAB>description<TAB>genes…'")
        name = fields[0].strip().strip('"').strip()
        genes = list(dict.fromkeys(g.strip().strip('"') for g in fields[2:] if g.strip().strip('"')))
        if not name or not genes:
            continue
        key, k = name, 2
        while key in sets:
            key, k = f"{name}#{k}", k + 1
        sets[key] = genes
    if not sets:
        raise AdpharmInputError(f"{p}: no gene sets")
    return sets


def read_gene_lists(path: str | Path) -> dict[str, list[str]]:
    """Named gene lists: one column per list with ragged empty cells, or one gene per line."""
    p = Path(path)
    df = _frame(p, dtype=str, keep_default_na=False, header=None)
    if df.shape[1] == 1:
        genes = [g.strip() for g in df.iloc[:, 0] if g.strip()]
        return {p.stem: list(dict.fromkeys(genes))}
    lists = {}
    for c in df.columns:
        col = [g.strip() for g in df[c] if isinstance(g, str) and g.strip()]
        if col:
            lists[col[0]] = list(dict.fromkeys(col[1:]))
    return lists


def map_orthologs(de: DETable, table: str | Path) -> DETable:
    """Rename a DE table's genes through a two-column ortholog table (source id, target id).

    Genes without an ortholog are dropped; one-to-many and many-to-one mappings are dropped too,
    since a fold change cannot be split or merged honestly. ``meta`` records what was dropped.
    """
    t = _frame(Path(table), dtype=str, keep_default_na=False)
    if t.shape[1] < 2:
        raise AdpharmInputError(f"{table}: an ortholog table needs two columns (source id, target id)")
    src, dst = t.iloc[:, 0].str.strip(), t.iloc[:, 1].str.strip()
    pairs = pd.DataFrame({"src": src, "dst": dst})
    pairs = pairs[(pairs.src != "") & (pairs.dst != "")].drop_duplicates()
    one = pairs[~pairs.src.duplicated(keep=False) & ~pairs.dst.duplicated(keep=False)]
    mapping = dict(zip(one.src, one.dst))
    keep = de.table.index.isin(list(mapping))
    out = de.table.loc[keep].rename(index=mapping)
    meta = dict(de.meta, orthologs={"table": str(table), "mapped": int(keep.sum()),
                                    "dropped": int((~keep).sum()),
                                    "ambiguous_pairs_dropped": int(len(pairs) - len(one))})
    return DETable(table=out, source=de.source, contrast=de.contrast, meta=meta)
