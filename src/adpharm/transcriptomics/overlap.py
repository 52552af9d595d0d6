"""Overlap of gene lists and gene-set enrichment, both against an explicit universe.

A hypergeometric test is only as honest as its universe: the genes that could have appeared in
both lists (tested in both experiments). Genes outside the universe are dropped from the lists
and counted, never silently kept.

References
----------
Rivals I, Personnaz L, Taing L, Potier MC (2007). Enrichment or depletion of a GO category within
a class of genes: which test? Bioinformatics 23(4):401-407. doi:10.1093/bioinformatics/btl633
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from ..lazy import lazy_module
from ..display import NotebookDisplay, table_text

stats = lazy_module("scipy.stats")


def bh_adjust_log10(log10p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjustment (R's ``p.adjust(p, "BH")``) on log10 p-values, NaN kept.

    Working in logs keeps p-values far below 1e-300 (RRHO maps) finite and ordered.
    """
    lp = np.asarray(log10p, dtype=float)
    out = np.full(lp.shape, np.nan)
    ok = ~np.isnan(lp)
    q = lp[ok]
    m = q.size
    if m == 0:
        return out
    order = np.argsort(q)[::-1]                                   # largest p first
    adj = np.minimum.accumulate(q[order] + np.log10(m / np.arange(m, 0, -1)))
    res = np.empty(m)
    res[order] = np.minimum(adj, 0.0)
    out[ok] = res
    return out


def bh_adjust(p: np.ndarray) -> np.ndarray:
    """Benjamini–Hochberg adjusted p-values (R's ``p.adjust(p, "BH")``), NaN kept as NaN."""
    with np.errstate(divide="ignore"):
        return 10 ** bh_adjust_log10(np.log10(np.asarray(p, dtype=float)))


def _hyper(k: int, n_a: int, n_b: int, universe: int) -> dict:
    expected = n_a * n_b / universe if universe else np.nan
    table = np.array([[k, n_a - k], [n_b - k, universe - n_a - n_b + k]])
    odds = stats.contingency.odds_ratio(table, kind="sample").statistic if table.min() >= 0 else np.nan
    return {"overlap": int(k), "size_a": int(n_a), "size_b": int(n_b), "universe": int(universe),
            "expected": float(expected), "fold_enrichment": float(k / expected) if expected else np.nan,
            "odds_ratio": float(odds),
            "jaccard": float(k / (n_a + n_b - k)) if n_a + n_b - k else np.nan,
            "p_enrichment": float(stats.hypergeom.sf(k - 1, universe, n_a, n_b)),
            "p_depletion": float(stats.hypergeom.cdf(k, universe, n_a, n_b))}


@dataclass
class OverlapResult(NotebookDisplay):
    """Pairwise overlaps of named gene lists within one universe."""

    table: pd.DataFrame
    universe_size: int
    dropped: dict = field(default_factory=dict)
    shared_genes: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        return {"universe": self.universe_size, "dropped_outside_universe": self.dropped,
                "overlaps": self.table.to_dict(orient="records"),
                "shared_genes": self.shared_genes, "provenance": {"adpharm": __version__, "test": "hypergeometric"}}

    def text(self) -> str:
        """The universe and every pairwise overlap."""
        return f"universe: {self.universe_size} genes\n{table_text(self.table, '.3g')}\n"

    def plot(self):
        from ..figures import pyplot
        plt = pyplot()
        t = self.table
        fig, ax = plt.subplots(figsize=(5.5, 0.5 + 0.45 * len(t)))
        y = np.arange(len(t))
        ax.barh(y, -np.log10(t["p_enrichment"].clip(lower=1e-300)), color="#2c7fb8")
        ax.set_yticks(y, [f"{a} ∩ {b} ({k})" for a, b, k in zip(t["a"], t["b"], t["overlap"])], fontsize=8)
        ax.axvline(-np.log10(0.05), color="0.4", ls="--", lw=0.8)
        ax.set_xlabel("−log10 p (hypergeometric, enrichment)")
        ax.set_title(f"universe {self.universe_size} genes", fontsize=9)
        fig.tight_layout()
        return ax


def overlap(lists: dict[str, list[str]], universe: list[str] | set[str], pairs: list[tuple[str, str]] | None = None) -> OverlapResult:
    """Hypergeometric overlap of every pair of ``lists`` (or the given ``pairs``) within ``universe``."""
    U = set(universe)
    if not U:
        raise AdpharmInputError("no genes", field="universe")
    kept = {k: sorted(set(v) & U) for k, v in lists.items()}
    dropped = {k: len(set(v) - U) for k, v in lists.items()}
    names = list(lists)
    pairs = pairs or [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]
    rows, shared = [], {}
    for a, b in pairs:
        common = sorted(set(kept[a]) & set(kept[b]))
        rows.append({"a": a, "b": b, **_hyper(len(common), len(kept[a]), len(kept[b]), len(U))})
        shared[f"{a} & {b}"] = common
    t = pd.DataFrame(rows)
    t["p_adj"] = bh_adjust(t["p_enrichment"].to_numpy())
    return OverlapResult(table=t, universe_size=len(U), dropped=dropped, shared_genes=shared)


@dataclass
class EnrichmentResult(NotebookDisplay):
    """Over-representation of one or more signatures in a gene-set collection."""

    table: pd.DataFrame
    universe_size: int
    min_size: int
    collection: str

    def summary(self) -> pd.DataFrame:
        return self.table

    def to_dict(self) -> dict:
        return {"collection": self.collection, "universe": self.universe_size, "min_set_size": self.min_size,
                "results": self.table.to_dict(orient="records"),
                "provenance": {"adpharm": __version__, "test": "hypergeometric, BH across sets per signature"}}

    def text(self, top: int | None = None) -> str:
        """The ``top`` rows of the results (all by default), without their gene lists."""
        t = self.table.drop(columns=["genes"])
        return table_text(t if top is None else t.head(top), ".3g") + "\n"

    def plot(self, top: int = 15):
        from ..figures import pyplot
        plt = pyplot()
        t = self.table.nsmallest(top, "p_value").iloc[::-1]
        fig, ax = plt.subplots(figsize=(7, 0.6 + 0.35 * max(len(t), 1)))
        ax.barh(np.arange(len(t)), -np.log10(t["p_value"].clip(lower=1e-300)), color="#31a354")
        ax.set_yticks(np.arange(len(t)), [f"{s[:60]} ({g})" for s, g in zip(t["set"], t["signature"])], fontsize=7)
        ax.set_xlabel("−log10 p (hypergeometric)")
        fig.tight_layout()
        return ax


def enrichment(signatures: dict[str, list[str]], sets: dict[str, list[str]], universe: list[str] | set[str],
               min_size: int = 3, collection: str = "gene sets") -> EnrichmentResult:
    """Test each signature against each gene set (restricted to the universe); BH per signature."""
    U = set(universe)
    if not U:
        raise AdpharmInputError("no genes", field="universe")
    if min_size < 1:
        raise AdpharmInputError(f"{min_size} must be at least 1", field="min_size")
    usable = [k for k, genes in sets.items() if len(set(genes) & U) >= min_size]
    if not usable:
        example = next(iter(U))
        raise AdpharmInputError(f"gene sets: none of the {len(sets)} sets has {min_size} or more genes among the "
                                f"{len(U)} genes of the universe (e.g. {example!r}); check that both use the same gene "
                                "identifiers (symbols, Entrez or Ensembl IDs)")
    rows = []
    for sig_name, sig in signatures.items():
        s = set(sig) & U
        part = []
        for set_name, genes in sets.items():
            g = set(genes) & U
            if len(g) < min_size:
                continue
            common = sorted(s & g)
            h = _hyper(len(common), len(s), len(g), len(U))
            part.append({"signature": sig_name, "set": set_name, "set_size": len(g), "signature_size": len(s),
                         "overlap": h["overlap"], "expected": h["expected"], "odds_ratio": h["odds_ratio"],
                         "p_value": h["p_enrichment"], "genes": ",".join(common)})
        if part:
            q = bh_adjust(np.array([r["p_value"] for r in part]))
            for r, v in zip(part, q):
                r["p_adj"] = float(v)
        rows += part
    cols = ["signature", "set", "set_size", "signature_size", "overlap", "expected", "odds_ratio", "p_value", "p_adj", "genes"]
    t = pd.DataFrame(rows, columns=cols).sort_values(["signature", "p_value"], ignore_index=True)
    return EnrichmentResult(table=t, universe_size=len(U), min_size=min_size, collection=collection)
