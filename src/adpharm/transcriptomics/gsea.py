"""Ranked gene-set enrichment (GSEA, preranked), beside the overlap test of :mod:`.overlap`.

The overlap test needs a threshold (padj < alpha) and a universe; a ranked test uses every gene's
place in the ranking (here −log10 p × sign of the fold change) and asks whether a set's genes
gather at the top or the bottom. The enrichment score is the weighted Kolmogorov–Smirnov running
sum of Subramanian et al. (2005) with weight ``|statistic|^1``; its null is gene-set permutation
(random sets of the same size drawn from the ranked genes, as fgsea's "simple" method), giving
the normalised score (ES over the mean null ES of the same sign) and a p-value per set, BH-adjusted
over the collection.

References
----------
Subramanian A, Tamayo P, Mootha VK, et al. (2005). Gene set enrichment analysis: a knowledge-based
approach for interpreting genome-wide expression profiles. PNAS 102:15545-15550.
doi:10.1073/pnas.0506580102
Korotkevich G, Sukhov V, Budin N, et al. (2021). Fast gene set enrichment analysis. bioRxiv
060012. doi:10.1101/060012
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..display import NotebookDisplay, table_text
from ..errors import AdpharmInputError
from .overlap import bh_adjust

__all__ = ["enrichment_score", "GSEAResult", "gsea"]


def _scores(positions: np.ndarray, weights: np.ndarray, n: int) -> np.ndarray:
    """Enrichment scores of sets given as sorted rank positions (rows) and their weights (rows)."""
    k = positions.shape[1]
    w = weights / weights.sum(axis=1, keepdims=True)
    hits = np.cumsum(w, axis=1)
    misses = (positions - np.arange(k)) / (n - k)          # genes not in the set passed before each hit
    top = (hits - misses).max(axis=1)
    bottom = (hits - w - misses).min(axis=1)
    return np.where(np.abs(top) >= np.abs(bottom), top, bottom)


def _random_prefixes(n: int, k: int, count: int, rng: np.random.Generator, chunk: int = 100) -> np.ndarray:
    """``count`` rows, each the first ``k`` positions of a uniformly random order of ``n`` genes."""
    out = np.empty((count, k), dtype=np.int64)
    for start in range(0, count, chunk):
        keys = rng.random((min(chunk, count - start), n))
        idx = np.argpartition(keys, k - 1, axis=1)[:, :k] if k < n else np.tile(np.arange(n), (len(keys), 1))
        order = np.argsort(np.take_along_axis(keys, idx, axis=1), axis=1)
        out[start:start + len(keys)] = np.take_along_axis(idx, order, axis=1)
    return out


def enrichment_score(ranking: pd.Series, genes: list[str] | set[str]) -> float:
    """The GSEA enrichment score of ``genes`` in ``ranking`` (a statistic per gene, any order).

    Examples
    --------
    >>> r = pd.Series([5.0, 4, 3, 2, 1], index=list("abcde"))
    >>> round(enrichment_score(r, {"a", "c"}), 4)        # 5/8, then -1/3, then +3/8: peak 2/3
    0.6667
    """
    r = ranking.sort_values(ascending=False)
    pos = np.flatnonzero(r.index.isin(list(genes)))
    if pos.size == 0 or pos.size == len(r):
        raise AdpharmInputError("enrichment score: the set must hold some, but not all, of the ranked genes")
    return float(_scores(pos[None, :], np.abs(r.to_numpy()[pos])[None, :], len(r))[0])


@dataclass
class GSEAResult(NotebookDisplay):
    """One row per gene set: size, ES, NES, p, BH-adjusted p and the leading edge."""

    table: pd.DataFrame
    meta: dict = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        return self.table.drop(columns=["leading_edge"])

    def text(self, top: int | None = None) -> str:
        """The ``top`` rows of the summary (all by default)."""
        s = self.summary()
        return table_text(s if top is None else s.head(top), ".3g") + "\n"

    def to_dict(self) -> dict:
        return {"results": self.table.to_dict(orient="records"), "provenance": self.meta}

    def plot(self, top: int = 15):
        from ..figures import pyplot
        plt = pyplot()
        t = self.table.head(top).iloc[::-1]
        fig, ax = plt.subplots(figsize=(6, 0.3 * len(t) + 1))
        ax.barh(t["set"], t["NES"], color=np.where(t["NES"] > 0, "#c0392b", "#2e86c1"))
        ax.axvline(0, color="0.5", lw=0.8)
        ax.set_xlabel("normalised enrichment score")
        ax.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        return ax


def gsea(ranking: pd.Series, sets: dict[str, list[str]], min_size: int = 15, max_size: int = 500,
         permutations: int = 1000, seed: int = 0, collection: str = "") -> GSEAResult:
    """Preranked GSEA of every set in ``sets`` against ``ranking`` (statistic per gene).

    Parameters
    ----------
    ranking : Series
        One statistic per gene (e.g. −log10 p × sign of log2 fold change); ties and order do not matter.
    sets : dict
        Gene sets (e.g. from :func:`~.readers.read_gmt`); genes outside the ranking are dropped.
    min_size, max_size : int
        Sets with fewer or more ranked genes are skipped (fgsea's defaults are 15 and 500).
    permutations : int
        Random sets per set size for the null.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> r = pd.Series(rng.normal(size=2000), index=[f"g{i}" for i in range(2000)])
    >>> top = list(r.sort_values().index[-40:])                      # a set at the top of the ranking
    >>> res = gsea(r, {"top": top, "random": list(r.index[:40])}, permutations=500)
    >>> row = res.table.set_index("set").loc["top"]
    >>> bool(row["NES"] > 2), bool(row["pval"] < 0.01)
    (True, True)
    """
    if permutations < 10:
        raise AdpharmInputError(f"{permutations} must be at least 10", field="permutations")
    if not 1 <= min_size <= max_size:
        raise AdpharmInputError(f"set sizes: need 1 <= min_size ({min_size}) <= max_size ({max_size})")
    r = ranking.dropna()
    r = r[~r.index.duplicated()].sort_values(ascending=False)
    n = len(r)
    if n < 10:
        raise AdpharmInputError(f"{n} genes with a statistic; GSEA needs a ranked list", field="ranking")
    stat = np.abs(r.to_numpy(float))
    index = {g: i for i, g in enumerate(r.index)}
    kept = {name: sorted(index[g] for g in set(genes) if g in index) for name, genes in sets.items()}
    kept = {k: v for k, v in kept.items() if min_size <= len(v) <= min(max_size, n - 1)}
    if not kept:
        example = next(iter(r.index))
        raise AdpharmInputError(f"gene sets: none of the {len(sets)} sets has {min_size} to {max_size} genes among the "
                                f"{n} ranked genes (e.g. {example!r}); check that both use the same gene identifiers")
    prefix = _random_prefixes(n, max(len(v) for v in kept.values()), permutations, np.random.default_rng(seed))
    null: dict[int, np.ndarray] = {}
    rows = []
    for name, pos in kept.items():
        k = len(pos)
        if k not in null:        # the first k genes of a random order are a random set of k genes
            draws = np.sort(prefix[:, :k], axis=1)
            null[k] = _scores(draws, stat[draws], n)
        p = np.array(pos)
        es = float(_scores(p[None, :], stat[p][None, :], n)[0])
        nl = null[k]
        same = nl[nl >= 0] if es >= 0 else nl[nl < 0]
        pval = (np.sum(np.abs(same) >= abs(es)) + 1) / (same.size + 1)
        nes = es / abs(same.mean()) if same.size and same.mean() != 0 else np.nan
        # leading edge: the set's genes up to the peak (positive ES) or from the trough (negative)
        w = stat[p] / stat[p].sum()
        run = np.cumsum(w) - (p - np.arange(k)) / (n - k)
        edge = p[: int(np.argmax(run)) + 1] if es >= 0 else p[int(np.argmin(run - w)):]
        rows.append({"set": name, "size": k, "ES": es, "NES": float(nes), "pval": float(pval),
                     "leading_edge_size": int(edge.size), "leading_edge": [str(r.index[i]) for i in edge]})
    t = pd.DataFrame(rows)
    t["padj"] = bh_adjust(t["pval"].to_numpy())
    t = t.sort_values(["pval", "NES"], key=lambda c: c if c.name == "pval" else -c.abs()).reset_index(drop=True)
    t = t[["set", "size", "ES", "NES", "pval", "padj", "leading_edge_size", "leading_edge"]]
    meta = {"adpharm": __version__, "method": "preranked GSEA, weighted KS (p = 1), gene-set permutation null",
            "permutations": permutations, "seed": seed, "ranked_genes": n, "sets_tested": len(t),
            "sets_skipped": len(sets) - len(t), "min_size": min_size, "max_size": max_size, "collection": collection}
    return GSEAResult(table=t, meta=meta)
