"""Rank-rank hypergeometric overlap (RRHO) in all four directions.

Two signatures are ranked by −log10(p) × sign(log2 fold change) over the genes both tested. At
each point (i, j) of a grid the overlap of the first i genes of A with the first j of B is tested
with the hypergeometric upper tail. As in RRHO2, the four quadrants are read from their own
corners: up–up from the top of both lists, down–down from the bottom of both, and the two
discordant quadrants (A up with B down, A down with B up) from one top and one bottom, so that
reversal shows as a hot discordant quadrant rather than as a cold spot.

References
----------
Plaisier SB, Taschereau R, Wong JA, Graeber TG (2010). Rank-rank hypergeometric overlap:
identification of statistically significant overlap between gene-expression signatures.
Nucleic Acids Research 38(17):e169. doi:10.1093/nar/gkq636

Cahill KM, Huo Z, Tseng GC, Logan RW, Seney ML (2018). Improved identification of concordant and
discordant gene expression signatures using an updated rank-rank hypergeometric overlap approach.
Scientific Reports 8:9588. doi:10.1038/s41598-018-27903-2

Benjamini Y, Yekutieli D (2001). The control of the false discovery rate in multiple testing
under dependency. Annals of Statistics 29(4):1165-1188. doi:10.1214/aos/1013699998
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

QUADRANTS = ("up_up", "down_down", "up_down", "down_up")


def by_adjust_log10(log10p: np.ndarray) -> np.ndarray:
    """Benjamini–Yekutieli adjustment (R's ``p.adjust(p, "BY")``) on log10 p-values: BH times
    Σ 1/i, capped at 1."""
    from .overlap import bh_adjust_log10
    lp = np.asarray(log10p, dtype=float)
    m = np.isfinite(lp).sum()
    return np.minimum(bh_adjust_log10(lp) + np.log10(np.sum(1.0 / np.arange(1, m + 1))), 0.0)


#: below this the upper tail is taken on the log scale (``logsf``) instead of as ``log10(sf)``: the smallest
#: normal double is 2.2e-308, and subnormal tails lose digits
_SF_LOG_SCALE_BELOW = 1e-290


def _log10_sf(k: np.ndarray, N: int, n: np.ndarray, m: np.ndarray) -> np.ndarray:
    """log10 of the hypergeometric upper tail P(X ≥ k), elementwise.

    SciPy's ``sf`` (Boost's complemented CDF, accurate in the far tail) is some 40 times faster than
    ``logsf``, which sums on the log scale; ``logsf`` is used only for the cells whose tail is too small to
    be a normal double. The two agree to about 1e-12 in log10 p where both are defined.
    """
    k, n, m = np.broadcast_arrays(np.asarray(k, dtype=float), np.asarray(n, dtype=float), np.asarray(m, dtype=float))
    sf = stats.hypergeom.sf(k - 1, N, n, m)
    deep = ~(sf > _SF_LOG_SCALE_BELOW)
    with np.errstate(divide="ignore"):
        out = np.log10(np.where(deep, 1.0, sf))
    if deep.any():
        out[deep] = stats.hypergeom.logsf(k[deep] - 1, N, n[deep], m[deep]) / np.log(10)
    return out


@dataclass
class RRHOResult(NotebookDisplay):
    """The RRHO map (−log10 p, BY-adjusted or raw), the grid and the best cell per quadrant."""

    map_log10p: np.ndarray          # signed: rows = positions in A, columns = positions in B
    map_log10p_adj: np.ndarray
    grid_a: np.ndarray
    grid_b: np.ndarray
    split_a: int                    # number of up-ranked genes in A (metric > 0)
    split_b: int
    quadrants: pd.DataFrame
    names: tuple[str, str]
    universe: int
    permutation: dict = field(default_factory=dict)
    #: what the input tables make doubtful (:func:`input_warnings`)
    warnings: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        return self.quadrants

    def to_dict(self) -> dict:
        return {"names": list(self.names), "universe": self.universe, "step": int(self.grid_a[1] - self.grid_a[0]) if len(self.grid_a) > 1 else 1,
                "up_a": self.split_a, "up_b": self.split_b,
                "quadrants": self.quadrants.drop(columns=["genes"]).to_dict(orient="records"),
                "quadrant_genes": dict(zip(self.quadrants["quadrant"], self.quadrants["genes"])),
                "permutation": self.permutation,
                "multiple_testing": "Benjamini-Yekutieli over all grid cells",
                "provenance": {"adpharm": __version__, "method": "RRHO2 (Cahill et al. 2018)"},
                "warnings": list(self.warnings)}

    def text(self) -> str:
        """The genes ranked in both lists, the up-ranked counts and the best cell of each quadrant."""
        return (f"RRHO2 over {self.universe} genes ranked in both; up in A: {self.split_a}, up in B: {self.split_b}\n"
                + table_text(self.quadrants.drop(columns=["genes"]), ".3g") + "\n")

    def plot(self):
        from ..figures import pyplot
        plt = pyplot()
        fig, ax = plt.subplots(figsize=(5.2, 4.6))
        m = self.map_log10p_adj
        vmax = max(float(np.nanmax(m)), 1.0)
        im = ax.imshow(m, origin="lower", cmap="YlOrRd", vmin=0, vmax=vmax, aspect="auto",
                       extent=(0, self.universe, 0, self.universe))
        ax.axvline(self.split_b, color="k", lw=0.8)
        ax.axhline(self.split_a, color="k", lw=0.8)
        ax.set_xlabel(f"{self.names[1]} rank (up → down)")
        ax.set_ylabel(f"{self.names[0]} rank (up → down)")
        fig.colorbar(im, ax=ax, label="−log10 p (BY-adjusted)")
        ax.set_title("RRHO2: up-up lower left, down-down upper right", fontsize=9)
        fig.tight_layout()
        return ax


def rrho(a: pd.Series, b: pd.Series, step: int | None = None, names: tuple[str, str] = ("A", "B"),
         permutations: int = 0, seed: int = 0) -> RRHOResult:
    """RRHO2 map of two ranking metrics (indexed by gene), on the genes both contain.

    Parameters
    ----------
    a, b : ranking metric per gene, high = most up-regulated (e.g. :meth:`DETable.ranking`).
    step : grid spacing in genes; default ``max(1, n // 100)`` (a 100 × 100 map).
    permutations : if > 0, shuffle B's ranks this many times and report the family-wise p of
        each quadrant's maximum (a permutation test that keeps the map's correlation structure).
    """
    a = a.dropna()
    b = b.dropna()
    genes = a.index.intersection(b.index)
    n = len(genes)
    if n < 20:
        raise AdpharmInputError(f"rrho: only {n} genes are ranked in both lists (need at least 20)")
    step = step or max(1, n // 100)
    if step < 1 or step > n // 2:
        raise AdpharmInputError(f"{step} must be between 1 and {n // 2}", field="step")
    a, b = a.loc[genes], b.loc[genes]
    order_a = a.sort_values(ascending=False, kind="mergesort").index
    order_b = b.sort_values(ascending=False, kind="mergesort").index
    rank_a = pd.Series(np.arange(n), index=order_a).loc[genes].to_numpy()
    rank_b = pd.Series(np.arange(n), index=order_b).loc[genes].to_numpy()
    split_a, split_b = int((a > 0).sum()), int((b > 0).sum())
    grid = np.arange(step, n, step)

    def maps(ra, rb):
        # counts[i, j] = #genes with rank_a < grid[i] and rank_b < grid[j] (a 2-D cumulative histogram)
        edges = np.concatenate([[0], grid, [n]])
        h, _, _ = np.histogram2d(ra, rb, bins=[edges, edges])
        cum = h.cumsum(0).cumsum(1)
        top_top = cum[:-1, :-1]
        total_a_top = grid[:, None] * np.ones((1, len(grid)))
        total_b_top = np.ones((len(grid), 1)) * grid[None, :]
        # from the other corners, by inclusion–exclusion
        top_bottom = total_a_top - top_top                    # A top i, B bottom n - j
        bottom_top = total_b_top - top_top                    # A bottom n - i, B top j
        bottom_bottom = n - total_a_top - total_b_top + top_top
        ia = grid[:, None] < split_a
        jb = grid[None, :] < split_b
        out = np.empty((len(grid), len(grid)))
        for mask, k, na, nb in ((ia & jb, top_top, total_a_top, total_b_top),
                                (~ia & ~jb, bottom_bottom, n - total_a_top, n - total_b_top),
                                (ia & ~jb, top_bottom, total_a_top, n - total_b_top),
                                (~ia & jb, bottom_top, n - total_a_top, total_b_top)):
            out[mask] = np.maximum(-_log10_sf(k[mask], n, na[mask], nb[mask]), 0.0)
        return out, (top_top, top_bottom, bottom_top, bottom_bottom)

    raw, _ = maps(rank_a, rank_b)
    adj = np.abs(by_adjust_log10(-raw))
    ia = grid < split_a
    jb = grid < split_b
    qmask = {"up_up": np.outer(ia, jb), "down_down": np.outer(~ia, ~jb),
             "up_down": np.outer(ia, ~jb), "down_up": np.outer(~ia, jb)}
    rows = []
    for q in QUADRANTS:
        m = qmask[q]
        if not m.any():
            rows.append({"quadrant": q, "max_log10p": 0.0, "max_log10p_adj": 0.0, "a_genes": 0, "b_genes": 0,
                         "overlap": 0, "genes": []})
            continue
        sub = np.where(m, adj, -np.inf)
        i, j = np.unravel_index(np.argmax(sub), sub.shape)
        gi, gj = grid[i], grid[j]
        sel_a = rank_a < gi if q in ("up_up", "up_down") else rank_a >= gi
        sel_b = rank_b < gj if q in ("up_up", "down_up") else rank_b >= gj
        both = sorted(genes[sel_a & sel_b])
        rows.append({"quadrant": q, "max_log10p": float(raw[i, j]), "max_log10p_adj": float(adj[i, j]),
                     "a_genes": int(sel_a.sum()), "b_genes": int(sel_b.sum()), "overlap": len(both), "genes": both})
    quad = pd.DataFrame(rows)
    perm = {}
    if permutations:
        rng = np.random.default_rng(seed)
        exceed = {q: 0 for q in QUADRANTS}
        for _ in range(permutations):
            m, _ = maps(rank_a, rng.permutation(rank_b))
            for q in QUADRANTS:
                if qmask[q].any() and m[qmask[q]].max() >= quad.set_index("quadrant").at[q, "max_log10p"]:
                    exceed[q] += 1
        perm = {"permutations": permutations, "seed": seed,
                "p_fwer": {q: (exceed[q] + 1) / (permutations + 1) for q in QUADRANTS}}
        quad["p_permutation"] = [perm["p_fwer"][q] for q in quad["quadrant"]]
    return RRHOResult(map_log10p=raw, map_log10p_adj=adj, grid_a=grid, grid_b=grid, split_a=split_a, split_b=split_b,
                      quadrants=quad, names=names, universe=n, permutation=perm)


#: A table whose largest p-value is below this looks filtered to significant genes.
PREFILTER_P = 0.1


def rrho_tables(a, b, step: int | None = None, names: tuple[str, str] = ("A", "B"), permutations: int = 0,
                seed: int = 0) -> RRHOResult:
    """:func:`rrho` of two DE tables (:class:`~.readers.DETable`, ranked by :meth:`~.readers.DETable.ranking`),
    carrying what the tables make doubtful (:func:`input_warnings`) as its warnings."""
    res = rrho(a.ranking(), b.ranking(), step=step, names=names, permutations=permutations, seed=seed)
    res.warnings = input_warnings(a, b)
    return res


def input_warnings(a, b) -> list[str]:
    """What to know before reading an RRHO map of two DE tables (:class:`~.readers.DETable`): a table that looks
    pre-filtered to significant genes (RRHO ranks every tested gene), and whether the two contrasts share a group,
    which correlates their noise and makes overlap without biology (or says that it was not checked).

    >>> import pandas as pd
    >>> from adpharm.transcriptomics.readers import DETable
    >>> t = pd.DataFrame({"log2FoldChange": [1.0, -1.0], "pvalue": [0.01, 0.02]}, index=["g1", "g2"])
    >>> input_warnings(DETable(t, "a.csv"), DETable(t, "b.csv"))[0][:30]
    'a.csv: the largest p-value is '
    """
    from .contrasts import artefact_correlation, shared_groups
    out = []
    for t in (a, b):
        p = t.table["pvalue"].dropna()
        if len(p) and float(p.max()) < PREFILTER_P:
            out.append(f"{t.source}: the largest p-value is {float(p.max()):.3g}: the table looks filtered to "
                       "significant genes; RRHO needs every tested gene, ranked")
    if a.contrast and b.contrast:
        shared = shared_groups(a.contrast, b.contrast)
        if shared:
            r = artefact_correlation(a.contrast, b.contrast, {g: 1 for g in set(a.contrast[1:]) | set(b.contrast[1:])})
            groups = ", ".join(f"{g!r}" for g in shared)
            out.append(f"the two contrasts share group {groups}: its sampling noise alone correlates them "
                       f"(expected r = {r:+.2f} with equal groups), so part of any overlap is not biology; "
                       "transcriptomics reversal corrects for it")
    else:
        out.append("shared reference group not checked: the tables do not say which groups they compare "
                   "(give both contrasts, FACTOR,NUMERATOR,REFERENCE)")
    return out
