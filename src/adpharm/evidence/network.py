"""Contrast-based network meta-analysis: common and random effects, multi-arm trials, league table,
P-scores, and inconsistency by design-by-treatment decomposition and node-splitting.

Each study contributes the contrasts of its arms against a study baseline (the network reference
when the study has it, else its first arm). Contrasts of a multi-arm study share the baseline arm,
so their sampling covariance is that arm's variance; under random effects the between-study
covariance of two contrasts of one study is tau^2/2 (homogeneous variance, consistency). The
common-effect estimate is the generalised-least-squares solution; tau^2 is estimated by REML or
by the generalised DerSimonian-Laird moment estimator.

References
----------
Lu G, Ades AE (2004). Combination of direct and indirect evidence in mixed treatment
comparisons. Stat Med 23:3105-3124. doi:10.1002/sim.1875
Rücker G (2012). Network meta-analysis, electrical networks and graph theory. Res Synth Methods
3:312-324. doi:10.1002/jrsm.1058
Jackson D, White IR, Riley RD (2012). Quantifying the impact of between-study heterogeneity in
multivariate meta-analyses. Stat Med 31:3805-3820. doi:10.1002/sim.5453
Rücker G, Schwarzer G (2015). Ranking treatments in frequentist network meta-analysis works
without resampling methods. BMC Med Res Methodol 15:58. doi:10.1186/s12874-015-0060-8
Higgins JPT, Jackson D, Barrett JK, et al. (2012). Consistency and inconsistency in network
meta-analysis: concepts and models for multi-arm studies. Res Synth Methods 3:98-110.
doi:10.1002/jrsm.1044
König J, Krahn U, Binder H (2013). Visualizing the flow of evidence in network meta-analysis
and characterizing mixed treatment comparisons. Stat Med 32:5414-5429. doi:10.1002/sim.6001
"""
from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import linalg

from ..errors import AdpharmInputError, check_level, check_option, reject
from .effect_sizes import arm_counts, fractional_count_note, numeric_column
from .meta import decreasing_root
from ..lazy import lazy_module
from ..display import NotebookDisplay, provenance, table_text

stats = lazy_module("scipy.stats")

MODELS = ("common", "random")
TAU2_METHODS = ("REML", "DL")


@dataclass
class _Study:
    study: str
    treatments: list[str]      # arms; treatments[0] is the baseline
    y: np.ndarray              # contrasts of treatments[1:] against the baseline
    V: np.ndarray              # their sampling covariance


# ---------------------------------------------------------------- input
def _arm_studies(df: pd.DataFrame, source: str, reference: str | None) -> list[_Study]:
    """Arm-level events (``study, treatment, xi, ni``) -> log odds ratios against the study baseline."""
    xi, ni = arm_counts(df, source)
    out = []
    for study, g in df.assign(_xi=xi, _ni=ni).groupby("study", sort=False):
        t = [str(s) for s in g["treatment"]]
        if len(set(t)) != len(t):
            raise AdpharmInputError(f"{source}: study {study!r} lists treatment {next(x for x in t if t.count(x) > 1)!r} twice")
        if len(t) < 2:
            raise AdpharmInputError(f"{source}: study {study!r} has a single arm; a comparison needs two")
        x, n = g["_xi"].to_numpy(float), g["_ni"].to_numpy(float)
        if np.any((x == 0) | (x == n)):  # 0.5 added to every cell of a study with a zero cell
            x, n = x + 0.5, n + 1.0
        b = t.index(reference) if reference in t else 0
        order = [b] + [i for i in range(len(t)) if i != b]
        lo, v = np.log(x / (n - x)), 1 / x + 1 / (n - x)
        o = order[1:]
        V = np.full((len(o), len(o)), v[b])
        V[np.diag_indices(len(o))] += v[o]
        out.append(_Study(str(study), [t[i] for i in order], lo[o] - lo[b], V))
    return out


def _contrast_studies(df: pd.DataFrame, source: str, reference: str | None) -> list[_Study]:
    """Contrast-level ``study, treat1, treat2, yi, sei``; multi-arm studies give every pairwise row."""
    yi = numeric_column(df, "yi", source)
    sei = numeric_column(df, "sei", source) if "sei" in df.columns else np.sqrt(numeric_column(df, "vi", source))
    reject(~(sei > 0), lambda i: f"{source}: row {i + 1}: standard error must be positive")
    out = []
    for study, g in df.assign(_y=yi, _v=sei ** 2).groupby("study", sort=False):
        t1, t2 = [str(s) for s in g["treat1"]], [str(s) for s in g["treat2"]]
        trts = list(dict.fromkeys(t1 + t2))
        m = len(trts)
        pairs = {frozenset(p) for p in zip(t1, t2)}
        if any(a == b for a, b in zip(t1, t2)):
            raise AdpharmInputError(f"{source}: study {study!r} compares a treatment with itself")
        if len(pairs) != len(g) or len(g) != m * (m - 1) // 2:
            raise AdpharmInputError(f"{source}: study {study!r} has {m} treatments: give each of its "
                                    f"{m * (m - 1) // 2} pairwise comparisons exactly once, so that the "
                                    f"multi-arm covariance can be recovered")
        # arm "variances" from pairwise variances v_ab = v_a + v_b (exact for consistent input)
        A = np.zeros((len(g), m))
        for r, (a, b) in enumerate(zip(t1, t2)):
            A[r, trts.index(a)] = A[r, trts.index(b)] = 1
        arm_v = np.linalg.lstsq(A, g["_v"].to_numpy(), rcond=None)[0] if m > 2 else None
        if arm_v is not None and np.any(arm_v <= 0):
            raise AdpharmInputError(f"{source}: study {study!r}: the pairwise variances are not consistent "
                                    f"with one variance per arm")
        b = trts.index(reference) if reference in trts else 0
        others = [i for i in range(m) if i != b]
        y = np.empty(len(others))
        for j, i in enumerate(others):
            row = [r for r in range(len(g)) if {t1[r], t2[r]} == {trts[i], trts[b]}][0]
            y[j] = g["_y"].iloc[row] * (1 if t1[row] == trts[i] else -1)
        if m == 2:
            V = np.array([[float(g["_v"].iloc[0])]])
        else:
            V = np.full((len(others), len(others)), arm_v[b])
            V[np.diag_indices(len(others))] += arm_v[others]
        out.append(_Study(str(study), [trts[b]] + [trts[i] for i in others], y, V))
    return out


def _components(studies: list[_Study]) -> list[set[str]]:
    comps: list[set[str]] = []
    for s in studies:
        touching = [c for c in comps if c & set(s.treatments)]
        merged = set(s.treatments).union(*touching)
        comps = [c for c in comps if c not in touching] + [merged]
    return comps


# ---------------------------------------------------------------- results
@dataclass
class NetworkResult(NotebookDisplay):
    """A fitted network: estimates against the reference, their covariance, and diagnostics."""

    reference: str
    model: str
    method: str
    measure: str
    treatments: list[str]
    beta: np.ndarray
    vcov: np.ndarray
    tau2: float
    Q: float
    df: int
    Q_het: float
    df_het: int
    Q_inc: float
    df_inc: int
    studies: list[_Study] = field(repr=False)
    level: float = 0.95
    warnings: list[str] = field(default_factory=list)
    #: where the data came from (a file, or a bundled network), its notes and, for a bundled network, its citation
    source: str = "data"
    data_notes: list[str] = field(default_factory=list)
    citation: dict = field(default_factory=dict)

    @property
    def others(self) -> list[str]:
        return [t for t in self.treatments if t != self.reference]

    @functools.cached_property
    def crit(self) -> float:
        return float(stats.norm.ppf(0.5 + self.level / 2))

    def contrast(self, a: str, b: str) -> tuple[float, float]:
        """Estimate and standard error of ``a`` versus ``b`` (log odds ratio for arm-level input)."""
        for t in (a, b):
            if t not in self.treatments:
                raise AdpharmInputError(f"treatment {t!r} is not in the network ({', '.join(self.treatments)})")
        e = np.zeros(len(self.others))
        if a != self.reference:
            e[self.others.index(a)] += 1
        if b != self.reference:
            e[self.others.index(b)] -= 1
        return float(e @ self.beta), float(np.sqrt(e @ self.vcov @ e))

    def estimates(self) -> dict[str, dict[str, float]]:
        out = {}
        for t in self.others:
            b, se = self.contrast(t, self.reference)
            row = {"beta": b, "se": se, "ci_lb": b - self.crit * se, "ci_ub": b + self.crit * se,
                   "pval": float(2 * stats.norm.sf(abs(b / se)))}
            if self.measure == "OR":
                row.update({"OR": float(np.exp(b)), "OR_ci_lb": float(np.exp(row["ci_lb"])),
                            "OR_ci_ub": float(np.exp(row["ci_ub"]))})
            out[t] = row
        return out

    def league(self) -> pd.DataFrame:
        """League table: row treatment versus column treatment, estimate and interval as text."""
        f = np.exp if self.measure == "OR" else (lambda x: x)
        tab = pd.DataFrame("", index=self.treatments, columns=self.treatments)
        for a, b in itertools.permutations(self.treatments, 2):
            est, se = self.contrast(a, b)
            tab.loc[a, b] = f"{f(est):.2f} ({f(est - self.crit * se):.2f} to {f(est + self.crit * se):.2f})"
        for t in self.treatments:
            tab.loc[t, t] = t
        return tab

    def pscores(self, larger_is_better: bool = True) -> dict[str, float]:
        """P-scores (Rücker & Schwarzer 2015): mean certainty that a treatment beats each other one."""
        out = {}
        for a in self.treatments:
            ps = []
            for b in self.treatments:
                if a == b:
                    continue
                est, se = self.contrast(a, b)
                ps.append(stats.norm.cdf((est if larger_is_better else -est) / se))
            out[a] = float(np.mean(ps))
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def edges(self) -> pd.DataFrame:
        """Direct comparisons: pairs of treatments with the number of studies comparing them."""
        count: dict[tuple[str, str], int] = {}
        for s in self.studies:
            for a, b in itertools.combinations(sorted(s.treatments), 2):
                count[(a, b)] = count.get((a, b), 0) + 1
        return pd.DataFrame([{"treat1": a, "treat2": b, "k": k} for (a, b), k in sorted(count.items())])

    def nodesplit(self) -> pd.DataFrame:
        """Direct, indirect (back-calculated) and network estimates for every directly compared pair.

        The direct estimate pools the studies that compare the pair (with the network's tau^2);
        the indirect estimate is backed out of the network estimate, and z tests their difference
        (König et al. 2013). Pairs whose evidence is direct only have no indirect estimate.
        """
        rows = []
        for _, e in self.edges().iterrows():
            a, b = e.treat1, e.treat2
            ys, vs = [], []
            for s in self.studies:
                if a in s.treatments and b in s.treatments:
                    y, v = _within(s, a, b)
                    ys.append(y)
                    vs.append(v + self.tau2)
            w = 1 / np.array(vs)
            d, vd = float(np.sum(w * ys) / np.sum(w)), float(1 / np.sum(w))
            n_est, n_se = self.contrast(a, b)
            prec_ind = 1 / n_se ** 2 - 1 / vd
            row = {"comparison": f"{a} vs {b}", "k": int(e.k), "network": n_est, "network_se": n_se, "direct": d,
                   "direct_se": np.sqrt(vd), "indirect": np.nan, "indirect_se": np.nan, "diff": np.nan,
                   "diff_se": np.nan, "pval": np.nan, "direct_share": min(1.0, n_se ** 2 / vd)}
            if prec_ind > 1e-8 / n_se ** 2:
                vi = 1 / prec_ind
                ind = vi * (n_est / n_se ** 2 - d / vd)
                diff, diff_se = d - ind, np.sqrt(vd + vi)
                row.update(indirect=ind, indirect_se=np.sqrt(vi), diff=diff, diff_se=diff_se,
                           pval=float(2 * stats.norm.sf(abs(diff / diff_se))))
            rows.append(row)
        return pd.DataFrame(rows).set_index("comparison")

    def to_dict(self) -> dict[str, Any]:
        ns = self.nodesplit()
        return {
            "reference": self.reference, "model": self.model, "tau2_method": self.method if self.model == "random" else None,
            "measure": self.measure, "level": self.level, "treatments": self.treatments,
            "k": len(self.studies), "n_contrasts": int(sum(len(s.y) for s in self.studies)),
            "estimates": self.estimates(), "tau2": self.tau2, "tau": float(np.sqrt(self.tau2)),
            "Q": self.Q, "df": self.df, "Qp": float(stats.chi2.sf(self.Q, self.df)) if self.df > 0 else None,
            "design_by_treatment": self.design_by_treatment(),
            "pscores": self.pscores(),
            "league": self.league().to_dict(orient="index"),
            "nodesplit": [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                          for r in ns.reset_index().to_dict(orient="records")],
            "edges": self.edges().to_dict(orient="records"),
            "warnings": list(self.warnings),
            "data_notes": list(self.data_notes),
            "provenance": provenance(input=self.source, **self.citation),
        }

    def design_by_treatment(self) -> dict:
        """Q within designs (heterogeneity) and between designs (inconsistency), with their df and p."""
        return {"Q_het": self.Q_het, "df_het": self.df_het,
                "Qp_het": float(stats.chi2.sf(self.Q_het, self.df_het)) if self.df_het > 0 else None,
                "Q_inc": self.Q_inc, "df_inc": self.df_inc,
                "Qp_inc": float(stats.chi2.sf(self.Q_inc, self.df_inc)) if self.df_inc > 0 else None}

    def title(self) -> str:
        """``Network meta-analysis (MODEL effects, tau^2 by METHOD), K studies, T treatments, reference R``."""
        return (f"Network meta-analysis ({self.model} effects{', tau^2 by ' + self.method if self.model == 'random' else ''}), "
                f"{len(self.studies)} studies, {len(self.treatments)} treatments, reference {self.reference}")

    def heterogeneity_text(self) -> str:
        """tau^2, Q, and the design-by-treatment decomposition (within designs, between designs: inconsistency)."""
        d = self.design_by_treatment()
        return (f"tau^2 = {self.tau2:.4g}; Q = {self.Q:.3f} (df {self.df}); within designs Q = {d['Q_het']:.3f} "
                f"(df {d['df_het']}); between designs (inconsistency) Q = {d['Q_inc']:.3f} (df {d['df_inc']}, "
                f"p = {d['Qp_inc'] if d['Qp_inc'] is None else format(d['Qp_inc'], '.3g')})")

    def text(self) -> str:
        """The model, the estimates against the reference with their P-scores, and the heterogeneity."""
        return (self.title() + "\n" + table_text(self.summary(), ".4g", index=True) + "\n"
                + self.heterogeneity_text() + "\n")

    def summary(self) -> pd.DataFrame:
        t = pd.DataFrame(self.estimates()).T
        t["pscore"] = pd.Series(self.pscores())
        return t

    def plot(self, ax=None):
        """The network graph: nodes are treatments, edge widths count the studies."""
        from .plots import network_graph
        return network_graph(self, ax=ax)


def _within(s: _Study, a: str, b: str) -> tuple[float, float]:
    """Study ``s``'s own estimate of ``a`` versus ``b`` and its variance."""
    e = np.zeros(len(s.y))
    for t, sign in ((a, 1), (b, -1)):
        if t != s.treatments[0]:
            e[s.treatments.index(t) - 1] += sign
    return float(e @ s.y), float(e @ s.V @ e)


# ---------------------------------------------------------------- fitting
def stack_contrasts(studies: list[_Study], others: list[str]):
    """The contrast-level data of a network: ``y`` (each study's contrasts against its first arm),
    the design ``X`` on the basic parameters ``others`` (every treatment but the reference), the
    block-diagonal within-study covariance ``V`` (multi-arm correlations kept) and each row's study
    index. This is the ``rma.mv(yi, V, mods = X, intercept = FALSE)`` input; the benchmark hands it
    to metafor."""
    rows, ys, Vs, S0 = [], [], [], []
    for s in studies:
        for t in s.treatments[1:]:
            r = np.zeros(len(others))
            if t in others:
                r[others.index(t)] += 1
            if s.treatments[0] in others:
                r[others.index(s.treatments[0])] -= 1
            rows.append(r)
        ys.append(s.y)
        Vs.append(s.V)
        m = len(s.y)
        S0.append(np.full((m, m), 0.5) + 0.5 * np.eye(m))
    return np.concatenate(ys), np.array(rows), linalg.block_diag(*Vs), linalg.block_diag(*S0)


def _gls(y: np.ndarray, X: np.ndarray, V: np.ndarray):
    W = np.linalg.inv(V)
    C = np.linalg.inv(X.T @ W @ X)
    b = C @ X.T @ W @ y
    r = y - X @ b
    return b, C, float(r @ W @ r), W


class _Blocks:
    """The network's contrasts grouped by study size, so that the block-diagonal covariance
    ``V + tau^2 S0`` is inverted study by study (batched per block size) instead of as one dense
    matrix: the REML score of a 500-trial network costs milliseconds, not a second."""

    def __init__(self, studies: list[_Study], y: np.ndarray, X: np.ndarray):
        sizes = np.array([len(s.y) for s in studies])
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.groups = []
        for m in np.unique(sizes):
            which = np.flatnonzero(sizes == m)
            idx = starts[which][:, None] + np.arange(m)[None, :]
            V = np.stack([studies[i].V for i in which])
            S = np.full((m, m), 0.5) + 0.5 * np.eye(m)
            self.groups.append((X[idx], y[idx], V, S))

    def fit(self, tau2: float):
        """GLS at ``tau2``: estimates, their covariance, Q and, per group, the inverse blocks."""
        p = self.groups[0][0].shape[2]
        xtwx, xtwy, Ws = np.zeros((p, p)), np.zeros(p), []
        for Xb, yb, V, S in self.groups:
            W = np.linalg.inv(V + tau2 * S)
            Ws.append(W)
            WX = W @ Xb
            xtwx += np.einsum("nmp,nmq->pq", Xb, WX)
            xtwy += np.einsum("nmp,nm->p", WX, yb)
        C = np.linalg.inv(xtwx)
        b = C @ xtwy
        q = sum(float(np.einsum("nm,nmk,nk->", yb - Xb @ b, W, yb - Xb @ b))
                for (Xb, yb, _, _), W in zip(self.groups, Ws))
        return b, C, q, Ws

    def score_parts(self, tau2: float) -> tuple[float, float, float]:
        """``(y'P S0 P y, tr(P S0), Q)`` at ``tau2``, with ``P y = W (y - X b)`` and
        ``tr(P S0) = tr(W S0) - tr(C X'W S0 W X)``: the REML score is the first less the second, and the
        generalised DerSimonian-Laird estimator is ``(Q - df) / tr(P S0)`` at ``tau2 = 0``."""
        b, C, q, Ws = self.fit(tau2)
        quad = tr_ws = 0.0
        xwswx = np.zeros_like(C)
        for (Xb, yb, _, S), W in zip(self.groups, Ws):
            pr = np.einsum("nmk,nk->nm", W, yb - Xb @ b)
            quad += float(np.einsum("nm,mk,nk->", pr, S, pr))
            tr_ws += float(np.einsum("nmk,km->", W, S))
            xwswx += np.einsum("nmp,nmk,nkq->pq", Xb, W @ S @ W, Xb)
        return quad, tr_ws - float(np.sum(C * xwswx)), q

    def reml_score(self, tau2: float) -> float:
        """Derivative of the restricted log-likelihood in tau^2."""
        quad, trace, _ = self.score_parts(tau2)
        return quad - trace


def _tau2(df: int, method: str, blocks: _Blocks) -> float:
    if df <= 0:
        return 0.0
    if method == "DL":
        _, trace, q = blocks.score_parts(0.0)
        return max(0.0, (q - df) / trace)
    return decreasing_root(blocks.reml_score, 1.0)


def _design_q(studies: list[_Study]) -> tuple[float, int]:
    """Within-design heterogeneity: common-effect Q of each design (set of treatments) fitted alone."""
    by_design: dict[tuple[str, ...], list[_Study]] = {}
    for s in studies:
        by_design.setdefault(tuple(sorted(s.treatments)), []).append(s)
    q, df = 0.0, 0
    for design, group in by_design.items():
        if len(group) < 2:
            continue
        ref = design[0]
        others = list(design[1:])
        rebased = [_rebase(s, ref) for s in group]
        y, X, V, _ = stack_contrasts(rebased, others)
        q += _gls(y, X, V)[2]
        df += len(y) - X.shape[1]
    return q, df


def _rebase(s: _Study, ref: str) -> _Study:
    """The same study with ``ref`` as its baseline arm."""
    if s.treatments[0] == ref:
        return s
    t = [ref] + [x for x in s.treatments if x != ref]
    e = np.array([[1.0 if x == u else 0.0 for u in s.treatments[1:]] for x in t[1:]])
    # contrast x - ref = (x - base) - (ref - base); rows of the transformation L
    L = e.copy()
    L[:, s.treatments.index(ref) - 1] -= 1
    return _Study(s.study, t, L @ s.y, L @ s.V @ L.T)


def network(data: pd.DataFrame, reference: str | None = None, model: Literal["common", "random"] = "random",
            method: Literal["REML", "DL"] = "REML", level: float = 0.95, source: str = "data") -> NetworkResult:
    """Network meta-analysis of arm-level or contrast-level data.

    Parameters
    ----------
    data : DataFrame
        Arm-level ``study, treatment, xi, ni`` (events and totals; log odds ratios are formed,
        with 0.5 added to every cell of a study with a zero cell), or contrast-level
        ``study, treat1, treat2, yi, sei`` (``yi`` is treat1 versus treat2; a multi-arm study
        gives all of its pairwise comparisons).
    reference : str, optional
        Treatment the estimates are expressed against; default a treatment called placebo
        (any case), else the first in sorted order.
    model : {"common", "random"}
    method : {"REML", "DL"}
        Estimator of tau^2 for the random-effects model.

    Examples
    --------
    >>> import pandas as pd
    >>> arms = pd.DataFrame({"study": ["s1", "s1", "s2", "s2", "s3", "s3"], "treatment": ["A", "P", "B", "P", "A", "B"],
    ...                      "xi": [12, 6, 14, 7, 15, 11], "ni": [30, 30, 30, 30, 30, 30]})
    >>> net = network(arms, reference="P", model="common")
    >>> sorted(net.estimates())
    ['A', 'B']
    """
    check_option("model", model, MODELS)
    check_option("method", method, TAU2_METHODS)
    check_level(level)
    if len(data) == 0:
        raise AdpharmInputError(f"{source}: no rows")
    if "study" not in data.columns:
        raise AdpharmInputError(f"{source}: missing column 'study'")
    arm_level = "treatment" in data.columns
    need = ("treatment", "xi", "ni") if arm_level else ("treat1", "treat2", "yi")
    for c in need:
        if c not in data.columns:
            kind = "arm-level (study, treatment, xi, ni)" if arm_level else \
                "arm-level (study, treatment, xi, ni) or contrast-level (study, treat1, treat2, yi, sei)"
            raise AdpharmInputError(f"{source}: missing column {c!r}: expected {kind} data")
    labels = set(map(str, data["treatment"])) if arm_level else set(map(str, data["treat1"])) | set(map(str, data["treat2"]))
    if reference is None:
        reference = next((t for t in sorted(labels) if t.lower() == "placebo"), sorted(labels)[0])
    elif reference not in labels:
        raise AdpharmInputError(f"{reference!r} is not a treatment in {source} ({', '.join(sorted(labels))})",
                                field="reference")
    studies = (_arm_studies if arm_level else _contrast_studies)(data, source, reference)
    if len(studies) < 2:
        raise AdpharmInputError(f"{source}: a network meta-analysis needs at least 2 studies, got {len(studies)}")
    comps = _components(studies)
    if len(comps) > 1:
        parts = " | ".join(", ".join(sorted(c)) for c in comps)
        raise AdpharmInputError(f"{source}: the network is disconnected ({parts}); analyse each part separately")
    treatments = [reference] + sorted(labels - {reference})
    others = treatments[1:]
    y, X, V, S0 = stack_contrasts(studies, others)
    blocks = _Blocks(studies, y, X)
    b, C, Q, _ = blocks.fit(0.0)
    df = len(y) - X.shape[1]
    tau2 = _tau2(df, method, blocks) if model == "random" else 0.0
    if model == "random" and tau2 > 0:
        b, C, _, _ = blocks.fit(tau2)
    q_het, df_het = _design_q(studies)
    notes = [n for n in [fractional_count_note(data, ["xi", "ni"], source)] if arm_level and n]
    if model == "random" and df == 0:
        notes.append("no residual degrees of freedom: tau^2 cannot be estimated and is set to 0")
    return NetworkResult(reference=reference, model=model, method=method, measure="OR" if arm_level else "yi",
                         treatments=treatments, beta=b, vcov=C, tau2=tau2, Q=Q, df=df, Q_het=q_het, df_het=df_het,
                         Q_inc=Q - q_het, df_inc=df - df_het, studies=studies, level=level, warnings=notes,
                         source=source)
