"""Differential expression per contrast (and per region) with PyDESeq2.

PyDESeq2 is a Python re-implementation of DESeq2 (Muzellec et al. 2023): median-of-ratios size
factors, negative-binomial GLMs with shrunken dispersions, Wald tests, Cook's-distance outlier
handling and independent filtering of low-mean genes before Benjamini–Hochberg. It lives in the
``transcriptomics`` extra and is imported only here, when a fit is asked for.

References
----------
Love MI, Huber W, Anders S (2014). Moderated estimation of fold change and dispersion for RNA-seq
data with DESeq2. Genome Biology 15:550. doi:10.1186/s13059-014-0550-8

Muzellec B, Teleńczuk M, Cabeli V, Andreux M (2023). PyDESeq2: a python package for bulk RNA-seq
differential expression analysis. Bioinformatics 39(9):btad547. doi:10.1093/bioinformatics/btad547
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from .readers import DETable, SampleSheet
from ..display import NotebookDisplay, table_text

#: DESeq2 vignette's pre-filter: keep genes with at least this many reads over all samples.
MIN_TOTAL_COUNT = 10


def _deseq():
    try:
        from pydeseq2.dds import DeseqDataSet
        from pydeseq2.default_inference import DefaultInference
        from pydeseq2.ds import DeseqStats
    except ImportError:  # pragma: no cover - exercised only without the extra
        raise AdpharmInputError("differential expression needs PyDESeq2: pip install 'adpharm[transcriptomics]'") from None
    return DeseqDataSet, DeseqStats, DefaultInference


def design_factors(design: str) -> list[str]:
    """Column names used by a design formula such as ``~ batch + group``."""
    d = design.strip()
    if not d.startswith("~"):
        raise AdpharmInputError(f"{design!r} must be a formula starting with '~' (e.g. '~ group')", field="design")
    names = re.findall(r"[A-Za-z_][A-Za-z0-9_.]*", d[1:])
    names = [n for n in names if n not in ("C", "I", "np")]
    if not names:
        raise AdpharmInputError(f"{design!r} names no column", field="design")
    return list(dict.fromkeys(names))


@dataclass
class DEResult(NotebookDisplay):
    """Differential expression of one contrast, per stratum (e.g. region) when ``by`` was given."""

    table: pd.DataFrame          # tidy: one row per gene (and stratum)
    contrast: tuple[str, str, str]
    design: str
    alpha: float
    by: str | None = None
    groups: dict = field(default_factory=dict)   # stratum -> {group: n}
    meta: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        keys = [self.by] if self.by else []
        rows = []
        for key, t in (self.table.groupby(keys) if keys else [((), self.table)]):
            sig = t["padj"] < self.alpha
            row = dict(zip(keys, key if isinstance(key, tuple) else (key,)))
            row.update(tested=int(t["pvalue"].notna().sum()), filtered=int(t["padj"].isna().sum()),
                       significant=int(sig.sum()), up=int((sig & (t["log2FoldChange"] > 0)).sum()),
                       down=int((sig & (t["log2FoldChange"] < 0)).sum()))
            rows.append(row)
        return pd.DataFrame(rows)

    def de_table(self, stratum: str | None = None) -> DETable:
        t = self.table if stratum is None else self.table[self.table[self.by] == stratum]
        cols = [c for c in ("baseMean", "log2FoldChange", "lfcSE", "stat", "pvalue", "padj") if c in t]
        return DETable(table=t.set_index("gene")[cols], source=f"adpharm de {','.join(self.contrast)}",
                       contrast=self.contrast)

    def top_genes(self, n: int = 10) -> pd.DataFrame:
        """The ``n`` genes with the smallest adjusted p (with their stratum): base mean, log2 fold change, padj."""
        return self.table.nsmallest(n, "padj")[["gene", *([self.by] if self.by else []), "baseMean",
                                                "log2FoldChange", "padj"]]

    def to_dict(self) -> dict:
        return {"contrast": dict(zip(("factor", "numerator", "reference"), self.contrast)),
                "design": self.design, "alpha": self.alpha, "by": self.by,
                "samples_per_group": self.groups, "summary": self.summary().to_dict(orient="records"),
                "provenance": self.meta, "top_genes": self.top_genes().to_dict(orient="records")}

    def text(self) -> str:
        """The contrast, design and engine, the counts of significant genes and the top genes."""
        factor, num, ref = self.contrast
        return (f"{num} vs {ref} ({factor}), design {self.design}, {self.meta.get('engine', '')}\n"
                f"{table_text(self.summary(), '.3g')}\ntop genes:\n{table_text(self.top_genes(), '.3g')}\n")

    def plot(self, kind: str = "volcano"):
        """Volcano (−log10 p against log2 fold change) or MA plot, one panel per stratum."""
        from ..figures import pyplot
        plt = pyplot()
        strata = sorted(self.table[self.by].unique()) if self.by else [None]
        fig, axes = plt.subplots(1, len(strata), figsize=(4.2 * len(strata), 3.8), squeeze=False)
        for ax, s in zip(axes[0], strata):
            t = self.table if s is None else self.table[self.table[self.by] == s]
            sig = (t["padj"] < self.alpha).to_numpy()
            if kind == "ma":
                x, y = np.log10(t["baseMean"].clip(lower=1e-1)), t["log2FoldChange"]
                ax.set_xlabel("log10 mean of normalised counts")
                ax.set_ylabel("log2 fold change")
                ax.axhline(0, color="0.5", lw=0.8)
            else:
                x, y = t["log2FoldChange"], -np.log10(t["pvalue"].clip(lower=1e-300))
                ax.set_xlabel("log2 fold change")
                ax.set_ylabel("−log10 p")
            ax.scatter(x[~sig], y[~sig], s=3, color="0.7", rasterized=True)
            ax.scatter(x[sig], y[sig], s=5, color="#c0392b", label=f"padj < {self.alpha:g} ({sig.sum()})")
            f, num, ref = self.contrast
            ax.set_title(f"{num} vs {ref}" + (f" — {s}" if s is not None else ""), fontsize=10)
            ax.legend(loc="best", fontsize=8, frameon=False)
        fig.suptitle(f"PyDESeq2 {self.design}; adpharm {__version__}", fontsize=8)
        fig.tight_layout()
        return axes[0][0]


def differential_expression(counts: pd.DataFrame, samples: SampleSheet, design: str, contrast: tuple[str, str, str],
                            by: str | None = None, alpha: float = 0.05, min_total_count: int = MIN_TOTAL_COUNT,
                            shrink: bool = False, n_cpus: int = 1, subset: dict[str, str] | None = None) -> DEResult:
    """Fit ``design`` with PyDESeq2 and test ``contrast`` = (factor, numerator, reference).

    Parameters
    ----------
    counts : genes × samples raw counts (as from :func:`~.readers.read_counts`).
    samples : the sheet aligned to ``counts``' columns.
    design : a formula over sheet columns, e.g. ``"~ group"`` or ``"~ batch + group"``.
    contrast : DESeq2's ``contrast=c(factor, numerator, reference)``.
    by : fit each value of this sheet column separately (e.g. ``region``).
    alpha : the FDR used for independent filtering and for the counts in :meth:`DEResult.summary`.
    min_total_count : keep genes with at least this many reads over the fitted samples.
    shrink : add ``log2FoldChange_shrunk`` (PyDESeq2's apeGLM-style prior, Zhu et al. 2019).
    subset : keep only samples whose sheet columns equal these values (e.g. ``{"sample_type": "TRAP"}``).
    """
    if not 0 < alpha < 1:
        raise AdpharmInputError(f"{alpha} must be between 0 and 1", field="alpha")
    if min_total_count < 0:
        raise AdpharmInputError(f"{min_total_count} must not be negative", field="min_total_count")
    factors = design_factors(design)
    factor, num, ref = contrast
    if factor not in factors:
        raise AdpharmInputError(f"factor {factor!r} is not in the design {design!r}", field="contrast")
    samples = samples.subset(subset)
    sheet = samples.table
    keep = pd.Series(True, index=sheet.index)
    for f in factors + ([by] if by else []):
        samples.column(f)  # raises naming the sheet and column
    levels = set(samples.column(factor)[keep])
    for g in (num, ref):
        if g not in levels:
            raise AdpharmInputError(f"{factor} has no level {g!r} (levels: {', '.join(sorted(levels))})",
                                    field="contrast")
    DeseqDataSet, DeseqStats, DefaultInference = _deseq()
    strata = sorted(samples.column(by)[keep].unique()) if by else [None]
    tables, groups = [], {}
    for s in strata:
        k = keep & ((samples.column(by) == s) if by else True)
        meta = sheet.loc[k, factors].astype(str).apply(lambda c: c.str.strip())
        present = set(meta[factor])
        label = f"{by} = {s}: " if by else ""
        for g in (num, ref):
            if (meta[factor] == g).sum() < 2:
                raise AdpharmInputError(f"{samples.source}: {label}group {g!r} has fewer than 2 samples")
        # The reference level first, so the design's coefficient is numerator vs reference.
        order = [ref] + sorted(present - {ref})
        meta[factor] = pd.Categorical(meta[factor], categories=order)
        c = counts.loc[:, k[k].index]
        c = c[c.sum(axis=1) >= max(min_total_count, 1)]
        if len(c) < 10:
            raise AdpharmInputError(f"{label}fewer than 10 genes pass min_total_count {min_total_count}",
                                    field="counts")
        inference = DefaultInference(n_cpus=n_cpus)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dds = DeseqDataSet(counts=c.T, metadata=meta, design=design, inference=inference, quiet=True)
            dds.deseq2()
            ds = DeseqStats(dds, contrast=[factor, num, ref], alpha=alpha, inference=inference, quiet=True)
            ds.summary()
            res = ds.results_df.copy()
            if shrink:
                coeff = next((col for col in ds.LFC.columns if col.startswith(f"{factor}[") and num in col), None)
                if coeff is None:  # pragma: no cover - the reference is first by construction
                    raise AdpharmInputError(f"no coefficient for {num} vs {ref}", field="shrink")
                ds.lfc_shrink(coeff=coeff)
                res["log2FoldChange_shrunk"] = ds.results_df["log2FoldChange"]
        res.index.name = "gene"
        res = res.reset_index()
        if by:
            res.insert(0, by, s)
        tables.append(res)
        groups[str(s) if by else "all"] = {g: int((meta[factor] == g).sum()) for g in order}
    table = pd.concat(tables, ignore_index=True)
    table["contrast_factor"], table["contrast_numerator"], table["contrast_reference"] = factor, num, ref
    import pydeseq2
    meta = {"engine": f"PyDESeq2 {pydeseq2.__version__}", "adpharm": __version__,
            "filter": f"total count >= {max(min_total_count, 1)}", "independent_filtering": True,
            "cooks_outliers": "refit (>= 7 replicates) or flagged, as DESeq2", "subset": subset or {}}
    return DEResult(table=table, contrast=contrast, design=design, alpha=alpha, by=by, groups=groups, meta=meta)
