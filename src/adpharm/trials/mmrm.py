"""Mixed model for repeated measures (MMRM): change from baseline with an unstructured covariance.

The model for subject ``i`` at post-baseline visit ``v`` is

    change_iv = mu_v + delta_{arm(i), v} + gamma * baseline_i (+ gamma_v with baseline-by-visit)
                + sum_c beta_c[level_c(i)] + e_iv,

with ``delta`` zero for the reference arm, ``beta_c`` the main effects of categorical subject-level
covariates (the randomisation strata: treatment coding, the first level in sorted order the reference; a
covariate with one level is left out with a note), and the errors of one subject multivariate normal with an
unstructured ``V x V`` covariance ``Sigma`` (one variance per visit, one covariance per pair), fitted
by restricted maximum likelihood. Subjects contribute the visits they attended (missing at random).
This is the model of ``nlme::gls(change ~ baseline + visit * arm, correlation = corSymm(form = ~ k |
subject), weights = varIdent(form = ~ 1 | visit), method = "REML")`` and of ``mmrm::mmrm(change ~
baseline + visit * arm + us(visit | subject), reml = TRUE)``: the two parametrisations span the same
means, so the treatment differences at each visit and their standard errors are the same.

``Sigma = L L'`` is optimised over the log-Cholesky parameters with the analytic REML gradient,
then polished by Newton steps. Standard errors come from ``(sum X_i' V_i^-1 X_i)^-1``. Degrees of
freedom for each contrast are Satterthwaite's: ``2 (c' Phi c)^2 / (g' W g)``, with ``g`` the gradient of
``c' Phi(theta) c`` in the covariance parameters and ``W`` their asymptotic covariance (twice the
inverse Hessian of ``-2 log L_R``), as in the ``mmrm`` package and SAS PROC MIXED (DDFM=SATTERTH).

References
----------
.. [1] Mallinckrodt CH, Lane PW, Schnell D, Peng Y, Mancuso JP (2008). Recommendations for the
   primary analysis of continuous endpoints in longitudinal clinical trials. Drug Inf J 42:303-319.
   doi:10.1177/009286150804200402
.. [2] Satterthwaite FE (1946). An approximate distribution of estimates of variance components.
   Biometrics Bull 2(6):110-114. doi:10.2307/3002019
.. [3] Pinheiro JC, Bates DM (2000). Mixed-Effects Models in S and S-PLUS. Springer (nlme::gls).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError, check_level
from ..io import jsonable
from ..lazy import lazy_module
from ..display import NotebookDisplay

optimize = lazy_module("scipy.optimize")
stats = lazy_module("scipy.stats")

DF_METHODS = ("satterthwaite", "residual")


@dataclass
class _Design:
    visits: list[str]
    arms: list[str]
    reference: str
    names: list[str]
    patterns: list[tuple[np.ndarray, np.ndarray, np.ndarray]]   # (visit indices, X (n, k, p), y (n, k))
    n_obs: int
    n_subjects: int
    dropped: list[str]
    baseline_mean: float
    #: least-squares means average over the covariates' levels in the proportions of the subjects
    #: (``emmeans(weights = "proportional")``, SAS ``OM``): the mean of each covariate column
    covariate_means: dict[str, float] = field(default_factory=dict)
    #: the covariates entered (those with more than one level)
    covariates: list[str] = field(default_factory=list)


@dataclass
class MMRMResult(NotebookDisplay):
    """Fitted MMRM: coefficients, covariance, contrasts of each arm with the reference at each visit."""

    coef: pd.DataFrame                 # name, estimate, se
    contrasts: pd.DataFrame            # arm, visit, estimate, se, df, t, p, ci_lb, ci_ub
    lsmeans: pd.DataFrame              # arm, visit, estimate, se (at the mean baseline)
    sigma: pd.DataFrame                # unstructured covariance, visits x visits
    loglik_reml: float
    n_subjects: int
    n_obs: int
    reference: str
    df_method: str
    level: float
    converged: bool
    not_estimable: list[str] = field(default_factory=list)
    baseline_by_visit: bool = True
    covariates: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        return self.contrasts.copy()

    def to_dict(self) -> dict:
        """JSON-ready (undefined statistics are None, :func:`adpharm.io.jsonable`)."""
        slope = "baseline * visit" if self.baseline_by_visit else "baseline + visit"
        extra = "".join(f" + {c}" for c in self.covariates)
        return jsonable({"model": f"change ~ {slope} + visit * arm{extra}, unstructured covariance, REML",
                "baseline_by_visit": self.baseline_by_visit, "covariates": list(self.covariates),
                "reference": self.reference, "df_method": self.df_method, "level": self.level,
                "contrasts": [{k: r[k] for k in ("arm", "visit", "estimate", "se", "df", "ci_lb", "ci_ub", "p")}
                              for r in self.contrasts.to_dict("records")],
                "lsmeans": self.lsmeans.to_dict("records"),
                "coefficients": self.coef.to_dict("records"),
                "covariance": {v: {w: float(self.sigma.loc[v, w]) for w in self.sigma.columns} for v in self.sigma.index},
                "loglik_reml": self.loglik_reml, "n_subjects": self.n_subjects, "n_obs": self.n_obs,
                "converged": self.converged, "not_estimable": self.not_estimable})

    def plot(self, ax=None):
        """Treatment differences by visit with their confidence intervals."""
        from ..figures import pyplot
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6.5, 4), constrained_layout=True)
        for arm, g in self.contrasts.groupby("arm", sort=False):
            x = np.arange(len(g))
            est, lo, hi = (g[k].to_numpy(float) for k in ("estimate", "ci_lb", "ci_ub"))
            ax.errorbar(x, est, yerr=[est - lo, hi - est], marker="o", capsize=3, label=f"{arm} - {self.reference}")
            ax.set_xticks(x, list(g["visit"]))
        ax.axhline(0, color="grey", lw=0.8)
        ax.set(ylabel="difference in change from baseline", title=f"MMRM ({self.df_method} df)")
        ax.legend(fontsize=8)
        return ax


def _covariate_columns(d: pd.DataFrame, covariates, dropped: list[str]) -> tuple[list[tuple[str, np.ndarray]], list[str]]:
    """Treatment-coded indicator columns of the categorical subject-level covariates, and the covariates
    entered (a covariate with one level is left out, with a note in ``dropped``)."""
    out, entered = [], []
    for c in covariates:
        if c not in d.columns:
            raise AdpharmInputError(f"mmrm: covariate {c!r} is not a column of the data")
        per_subject = d.groupby("subject", sort=False)[c].nunique(dropna=False)
        if (per_subject > 1).any():
            raise AdpharmInputError(f"mmrm: covariate {c!r} changes within subject {per_subject.index[per_subject > 1][0]!r}"
                                    " (a randomisation stratum is fixed at randomisation)")
        if d[c].isna().any():
            raise AdpharmInputError(f"mmrm: covariate {c!r} is missing for subject {d.loc[d[c].isna(), 'subject'].iloc[0]!r}")
        levels = sorted(d[c].astype(str).unique())
        if len(levels) < 2:
            dropped.append(f"covariate {c}: one level ({levels[0]}), left out")
            continue
        values = d[c].astype(str).to_numpy()
        out += [(f"{c}[{lev}]", (values == lev).astype(float)) for lev in levels[1:]]
        entered.append(c)
    return out, entered


def _design(data: pd.DataFrame, reference: str | None, visits: list[str] | None,
            baseline_by_visit: bool, covariates=()) -> _Design:
    d = data.copy()
    d["change"] = d["value"] - d["baseline"]
    order = visits or list(dict.fromkeys(d["visit"]))
    dropped, keep = [], []
    for v in order:
        s = d.loc[d["visit"] == v, "change"]
        if not len(s):
            dropped.append(f"visit {v}: no patients left, left out")
        elif np.allclose(s.to_numpy(), 0):
            dropped.append(f"visit {v}: change is 0 for every subject (the baseline visit), left out")
        else:
            keep.append(v)
    d = d[d["visit"].isin(keep)]
    if d.empty or not keep:
        raise AdpharmInputError("mmrm: no post-baseline observations to analyse")
    arms = list(dict.fromkeys(d["arm"]))
    ref = reference if reference is not None else arms[0]
    if ref not in arms:
        raise AdpharmInputError(f"mmrm: reference arm {ref!r} is not in the data ({', '.join(arms)})")
    others = [a for a in arms if a != ref]
    if not others:
        raise AdpharmInputError("mmrm: the data have one arm; nothing to compare")
    vi = {v: i for i, v in enumerate(keep)}
    names = [f"visit[{v}]" for v in keep]
    cols = []
    for a in others:
        for v in keep:
            has = ((d["arm"] == a) & (d["visit"] == v)).any() and ((d["arm"] == ref) & (d["visit"] == v)).any()
            if has:
                cols.append((a, v))
            else:
                dropped.append(f"{a} vs {ref} at {v}: no patients left in one arm, not estimable")
    names += [f"arm[{a}]:visit[{v}]" for a, v in cols]
    names += [f"baseline:visit[{v}]" for v in keep] if baseline_by_visit else ["baseline"]
    n_fixed = len(names)
    d = d.assign(_k=d["visit"].map(vi)).sort_values(["subject", "_k"], kind="stable")
    cov_cols, entered = _covariate_columns(d, covariates, dropped)
    names += [name for name, _ in cov_cols]
    p = len(names)
    V = len(keep)
    col_of = {c: V + i for i, c in enumerate(cols)}
    if d.duplicated(["subject", "_k"]).any():
        s = d.loc[d.duplicated(["subject", "_k"]), ["subject", "visit"]].iloc[0]
        raise AdpharmInputError(f"mmrm: subject {s['subject']!r} has more than one row at visit {s['visit']!r}")
    arm_by_subject = d.groupby("subject", sort=False)["arm"].nunique()
    if (arm_by_subject > 1).any():
        raise AdpharmInputError(f"mmrm: subject {arm_by_subject.index[arm_by_subject > 1][0]!r} is in more than "
                                "one arm (crossover data: analyse one period, or use the crossover analysis)")
    base = d["baseline"].to_numpy(float)
    X = np.zeros((len(d), p))
    k = d["_k"].to_numpy()
    X[np.arange(len(d)), k] = 1.0
    for r, (a, kk) in enumerate(zip(d["arm"].to_numpy(), k)):
        c = col_of.get((a, keep[kk]))
        if c is not None:
            X[r, c] = 1.0
    if baseline_by_visit:
        X[np.arange(len(d)), V + len(cols) + k] = base
    else:
        X[:, n_fixed - 1] = base
    for j, (_, column) in enumerate(cov_cols):
        X[:, n_fixed + j] = column
    y = d["change"].to_numpy(float)
    subj = d["subject"].to_numpy()
    # group subjects by their pattern of attended visits
    starts = np.flatnonzero(np.r_[True, subj[1:] != subj[:-1]])
    ends = np.r_[starts[1:], len(d)]
    by_pattern: dict[tuple, list[tuple[int, int]]] = {}
    for s, e in zip(starts, ends):
        by_pattern.setdefault(tuple(k[s:e]), []).append((s, e))
    patterns = []
    for pat, spans in by_pattern.items():
        rows = np.array([np.arange(s, e) for s, e in spans])
        patterns.append((np.array(pat), X[rows], y[rows]))
    if np.linalg.matrix_rank(X) < p:
        raise AdpharmInputError("mmrm: the design is not of full rank (an arm or visit without data, or a "
                                "constant baseline)")
    first_rows = np.asarray(starts)
    base_mean = float(d["baseline"].to_numpy(float)[first_rows].mean())
    cov_means = {name: float(column[first_rows].mean()) for name, column in cov_cols}
    return _Design(keep, arms, ref, names, patterns, len(d), len(starts), dropped, base_mean, cov_means, entered)


@lru_cache(maxsize=32)
def _tril(V: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.tril_indices(V)``, computed once per size (the fit asks for it at every function evaluation)."""
    return np.tril_indices(V)


def _sigma(theta: np.ndarray, V: int) -> tuple[np.ndarray, np.ndarray]:
    L = np.zeros((V, V))
    L[_tril(V)] = theta
    L[np.diag_indices(V)] = np.exp(np.diag(L))
    return L @ L.T, L


class _REML:
    def __init__(self, des: _Design):
        self.des = des
        self.V = len(des.visits)
        self.p = len(des.names)
        #: each visit pattern's rows and columns of the covariance, indexed once
        self.blocks = [np.ix_(idx, idx) for idx, _, _ in des.patterns]

    def parts(self, theta):
        S, L = _sigma(theta, self.V)
        A = np.zeros((self.p, self.p))
        b = np.zeros(self.p)
        cache = []
        logdet = 0.0
        for block, (_, X, y) in zip(self.blocks, self.des.patterns):
            So = S[block]
            c = np.linalg.cholesky(So)
            Vi = np.linalg.inv(So)
            logdet += X.shape[0] * 2 * np.sum(np.log(np.diag(c)))
            ViX = Vi @ X                                     # (n, k, p): each patient's V^-1 X
            flat = ViX.reshape(-1, self.p)                   # the patients stacked: sums over them are
            A += X.reshape(-1, self.p).T @ flat              # one matrix product each (BLAS), not einsum
            b += flat.T @ y.ravel()
            cache.append((block, X, y, Vi, ViX))
        return S, L, A, b, cache, logdet

    def value_grad(self, theta, grad=True):
        try:
            S, L, A, b, cache, logdet = self.parts(theta)
        except np.linalg.LinAlgError:     # a step to a numerically singular covariance: reject it, the
            return np.inf, (np.zeros_like(theta) if grad else None)   # line search shrinks the step
        if not np.isfinite(logdet):
            return np.inf, (np.zeros_like(theta) if grad else None)
        try:
            Ainv = np.linalg.inv(A)
            ldA = np.linalg.slogdet(A)[1]
        except np.linalg.LinAlgError:
            return np.inf, np.zeros_like(theta)
        beta = Ainv @ b
        quad = 0.0
        G = np.zeros((self.V, self.V))
        for block, X, y, Vi, ViX in cache:
            r = y - X @ beta
            Vr = r @ Vi
            quad += float(np.sum(Vr * r))
            if grad:
                W = (ViX @ Ainv).transpose(1, 0, 2).reshape(ViX.shape[1], -1)      # (k, n p)
                Gi = X.shape[0] * Vi - Vr.T @ Vr - W @ ViX.transpose(1, 0, 2).reshape(ViX.shape[1], -1).T
                G[block] += Gi
        f = logdet + quad + ldA + (self.des.n_obs - self.p) * math.log(2 * math.pi)
        if not grad:
            return f, None
        dL = 2 * G @ L                          # d f / d L; the diagonal is parametrised by its log
        dL[np.diag_indices(self.V)] *= np.diag(L)
        return f, dL[_tril(self.V)]

    def phi(self, theta):
        _, _, A, _, _, _ = self.parts(theta)
        return np.linalg.inv(A)


def _start(des: _Design) -> np.ndarray:
    X = np.concatenate([x.reshape(-1, x.shape[-1]) for _, x, _ in des.patterns])
    y = np.concatenate([v.ravel() for _, _, v in des.patterns])
    k = np.concatenate([np.broadcast_to(i, v.shape).ravel() for i, _, v in des.patterns])
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    r = y - X @ beta
    V = len(des.visits)
    var = np.array([np.var(r[k == j]) if np.any(k == j) else np.var(r) for j in range(V)])
    var = np.maximum(var, 1e-6 * max(np.var(y), 1e-12))
    tri = np.diag(np.log(np.sqrt(var)))       # Sigma = diag(var): log-Cholesky diagonal, no covariances
    return tri[_tril(V)]


def _hessian(fun_grad, theta, h=1e-5):
    n = theta.size
    H = np.zeros((n, n))
    for i in range(n):
        e = np.zeros(n)
        e[i] = h * max(1.0, abs(theta[i]))
        H[:, i] = (fun_grad(theta + e)[1] - fun_grad(theta - e)[1]) / (2 * e[i])
    return (H + H.T) / 2


def mmrm(data: pd.DataFrame, *, reference: str | None = None, visits: list[str] | None = None,
         baseline_by_visit: bool = True, covariates: Sequence[str] = (), df_method: str = "satterthwaite",
         level: float = 0.95) -> MMRMResult:
    """Fit the MMRM to long data with columns ``subject, arm, visit, baseline, value``.

    Parameters
    ----------
    data : one row per subject and attended visit; ``value`` the score, ``baseline`` the score at baseline.
    reference : the arm the others are compared with (default the first arm in the data).
    visits : visit order (default order of first appearance); the baseline visit, where the change
        is 0 for everyone, is recognised and left out.
    baseline_by_visit : a baseline slope per visit (``baseline:visit``, the default of regulatory analysis plans)
        or, with False, one common slope.
    covariates : categorical subject-level columns entered as main effects, typically the randomisation
        strata (``stratum`` in simulated trials); least-squares means average over their levels in the
        subjects' proportions.
    df_method : ``"satterthwaite"`` or ``"residual"`` (``n_obs - p``, what ``nlme::gls`` prints).
    level : confidence level of the intervals.

    Returns
    -------
    MMRMResult
    """
    if df_method not in DF_METHODS:
        raise AdpharmInputError(f"df method: {df_method!r} is not one of {', '.join(DF_METHODS)}")
    check_level(level)
    des = _design(data, reference, visits, baseline_by_visit, covariates)
    try:
        with np.errstate(all="ignore"):
            return _fit(des, baseline_by_visit, df_method, level)
    except (np.linalg.LinAlgError, ValueError, FloatingPointError, ZeroDivisionError) as exc:
        raise MMRMNotConverged(f"MMRM: the fit did not converge ({des.n_subjects} subjects, {des.n_obs} "
                               f"observations): {' '.join(str(exc).split())[:120]}") from None


class MMRMNotConverged(AdpharmInputError):
    """The REML fit found no positive-definite optimum (typically a very small trial with heavy dropout): a
    replicate without an estimate in power, a one-line error in ``trial analyze``."""


def _fit(des: _Design, baseline_by_visit: bool, df_method: str, level: float) -> MMRMResult:
    V = len(des.visits)
    reml = _REML(des)
    th0 = _start(des)
    res = optimize.minimize(lambda t: reml.value_grad(t), th0, jac=True, method="BFGS",
                            options={"gtol": 1e-9, "maxiter": 2000})
    th = res.x
    converged = bool(res.success) or np.max(np.abs(res.jac)) < 1e-4
    H = _hessian(reml.value_grad, th)
    f, g = reml.value_grad(th)
    moved = False
    for _ in range(5):                     # Newton polish with the Hessian at the BFGS optimum
        if np.max(np.abs(g)) < 1e-10:
            break
        try:
            t_new = th - np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        f_new, g_new = reml.value_grad(t_new)
        if f_new > f + 1e-12:
            break
        th, f, g, moved = t_new, f_new, g_new, True
    if moved:
        H = _hessian(reml.value_grad, th)
    converged = converged or np.max(np.abs(g)) < 1e-5
    S, _ = _sigma(th, V)
    _, _, A, b, _, _ = reml.parts(th)
    Phi = np.linalg.inv(A)
    beta = np.linalg.solve(A, b)
    try:
        W = 2 * np.linalg.inv(H)
    except np.linalg.LinAlgError:
        W = np.full_like(H, np.nan)
    coef = pd.DataFrame({"name": des.names, "estimate": beta, "se": np.sqrt(np.diag(Phi))})
    p = len(des.names)
    resid_df = des.n_obs - p
    z = stats.norm.ppf(0.5 + level / 2)

    dphi = []                              # d Phi / d theta_i, for every contrast's Satterthwaite df
    if df_method == "satterthwaite":
        for i in range(th.size):
            e = np.zeros(th.size)
            e[i] = 1e-5 * max(1.0, abs(th[i]))
            dphi.append((reml.phi(th + e) - reml.phi(th - e)) / (2 * e[i]))

    def infer(c):
        est = float(c @ beta)
        var = float(c @ Phi @ c)
        se = math.sqrt(var)
        if df_method == "residual":
            df = float(resid_df)
        else:
            g = np.array([c @ D @ c for D in dphi])
            den = float(g @ W @ g)
            df = 2 * var ** 2 / den if den > 0 and np.isfinite(den) else float("inf")
        t = est / se if se > 0 else float("nan")
        q = stats.t.ppf(0.5 + level / 2, df) if np.isfinite(df) else z
        pval = float(2 * stats.t.sf(abs(t), df)) if np.isfinite(df) else float(2 * stats.norm.sf(abs(t)))
        return est, se, df, t, pval, est - q * se, est + q * se

    rows = []
    for i, name in enumerate(des.names):
        if name.startswith("arm["):
            arm = name[4:name.index("]")]
            visit = name[name.index("visit[") + 6:-1]
            c = np.zeros(p)
            c[i] = 1.0
            est, se, df, t, pval, lo, hi = infer(c)
            rows.append({"arm": arm, "visit": visit, "estimate": est, "se": se, "df": df, "t": t, "p": pval,
                         "ci_lb": lo, "ci_ub": hi})
    contrasts = pd.DataFrame(rows, columns=["arm", "visit", "estimate", "se", "df", "t", "p", "ci_lb", "ci_ub"])
    ls = []
    for a in des.arms:
        for j, v in enumerate(des.visits):
            c = np.zeros(p)
            c[j] = 1.0
            name = f"arm[{a}]:visit[{v}]"
            if a != des.reference:
                if name not in des.names:
                    continue
                c[des.names.index(name)] = 1.0
            c[des.names.index(f"baseline:visit[{v}]" if baseline_by_visit else "baseline")] = des.baseline_mean
            for name, mean in des.covariate_means.items():
                c[des.names.index(name)] = mean
            ls.append({"arm": a, "visit": v, "estimate": float(c @ beta), "se": math.sqrt(float(c @ Phi @ c))})
    lsmeans = pd.DataFrame(ls)
    sigma = pd.DataFrame(S, index=des.visits, columns=des.visits)
    return MMRMResult(coef=coef, contrasts=contrasts, lsmeans=lsmeans, sigma=sigma, loglik_reml=-0.5 * f,
                      n_subjects=des.n_subjects, n_obs=des.n_obs, reference=des.reference, df_method=df_method,
                      level=level, converged=bool(converged), not_estimable=des.dropped,
                      baseline_by_visit=baseline_by_visit, covariates=list(des.covariates))
