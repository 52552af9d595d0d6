"""Missing-data sensitivity analyses of a change endpoint: reference-based multiple imputation and a
delta-adjusted tipping point, combined by Rubin's rules.

Each arm's vector ``(baseline, change at visit 1, ..., change at the primary visit)`` is multivariate normal.
Its mean and covariance are estimated from monotone data by the factorisation into sequential regressions
(each visit on the baseline and the visits before it, among the patients seen there), which is the maximum
likelihood estimate under missing at random; data that are not monotone are made so (values after a
patient's first missed visit are set aside, and the result says how many). Each imputation draws the
parameters from a bootstrap resample of each arm's patients (proper imputation, Little & Rubin 2002,
10.2.3) and then the missing values of each patient from their conditional normal distribution given the
values seen, under one of the strategies of Carpenter, Roger & Kenward (2013):

``MAR``  each arm's own mean and covariance;
``J2R``  jump to reference: an active-arm patient's mean follows the active arm up to the last visit seen
         and the reference arm after it, with the reference arm's covariance;
``CR``   copy reference: the whole mean profile and covariance are the reference arm's.

Reference-arm patients are imputed under MAR in every strategy. Each completed data set is analysed by
ANCOVA of the primary visit's change on baseline and arm; the estimates are combined by Rubin's rules,
with the degrees of freedom of Barnard & Rubin (1999).

The tipping point shifts every imputed (MAR) value of the active arm by ``delta`` MADRS points (worse for
``delta > 0``) with the same imputations at every delta, so the estimate moves linearly in ``delta``, and
reports the smallest delta at which the two-sided test at ``alpha`` is no longer significant.

References
----------
.. [1] Carpenter JR, Roger JH, Kenward MG (2013). Analysis of longitudinal trials with protocol deviation:
   a framework for relevant, accessible assumptions, and inference via multiple imputation. J Biopharm Stat
   23(6):1352-1371. doi:10.1080/10543406.2013.834911
.. [2] Rubin DB (1987). Multiple Imputation for Nonresponse in Surveys. Wiley. doi:10.1002/9780470316696
.. [3] Barnard J, Rubin DB (1999). Small-sample degrees of freedom with multiple imputation. Biometrika
   86(4):948-955. doi:10.1093/biomet/86.4.948
.. [4] Little RJA, Rubin DB (2002). Statistical Analysis with Missing Data, 2nd ed. Wiley.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..display import NotebookDisplay
from ..errors import AdpharmInputError
from ..lazy import lazy_module

stats = lazy_module("scipy.stats")

__all__ = ["STRATEGIES", "RubinResult", "SensitivityResult", "rubin", "sensitivity"]

STRATEGIES = ("MAR", "J2R", "CR")
DEFAULT_IMPUTATIONS = 50
#: MADRS points per step of the tipping-point search, and the largest shift tried
DELTA_STEP, DELTA_MAX = 0.25, 30.0


@dataclass(frozen=True)
class RubinResult(NotebookDisplay):
    """Rubin's rules over ``m`` completed-data estimates."""

    estimate: float
    se: float
    df: float
    ci_lb: float
    ci_ub: float
    p: float
    within_var: float
    between_var: float
    m: int

    def to_dict(self) -> dict:
        return {k: float(v) if k != "m" else int(v) for k, v in self.__dict__.items()}

    def summary(self) -> pd.DataFrame:
        """One row: the pooled estimate, its interval and the variance components."""
        return pd.DataFrame([self.to_dict()])

    def plot(self, ax=None):
        """The pooled estimate with its interval (Barnard-Rubin degrees of freedom)."""
        from ..figures import interval_plot
        return interval_plot([f"{self.m} imputations"], [self.estimate], [self.ci_lb], [self.ci_ub],
                             xlabel="estimate (Rubin's rules)", ax=ax)


def rubin(estimates, variances, df_complete: float, level: float = 0.95) -> RubinResult:
    """Combine completed-data estimates and their variances by Rubin's rules.

    ``T = W + (1 + 1/m) B`` with ``W`` the mean within-imputation variance and ``B`` the between-imputation
    variance; degrees of freedom of Barnard & Rubin (1999) from the complete-data ``df_complete``.

    Examples
    --------
    >>> r = rubin([1.0, 2.0, 3.0], [0.5, 0.5, 0.5], df_complete=1e9)
    >>> round(r.estimate, 3), round(r.se ** 2, 4)     # W 0.5, B 1, T = 0.5 + (4/3) 1
    (2.0, 1.8333)
    """
    q = np.asarray(estimates, dtype=float)
    u = np.asarray(variances, dtype=float)
    m = q.size
    if m < 2:
        raise AdpharmInputError("imputations: Rubin's rules need at least 2 imputations")
    qbar, w, b = float(q.mean()), float(u.mean()), float(q.var(ddof=1))
    t = w + (1 + 1 / m) * b
    lam = (1 + 1 / m) * b / t if t > 0 else 0.0
    nu_old = (m - 1) / lam ** 2 if lam > 0 else np.inf
    nu_obs = (df_complete + 1) / (df_complete + 3) * df_complete * (1 - lam)
    df = float(1 / (1 / nu_old + 1 / nu_obs)) if np.isfinite(nu_old) else float(nu_obs)
    se = float(np.sqrt(t))
    crit = float(stats.t.ppf(0.5 + level / 2, df))
    p = float(2 * stats.t.sf(abs(qbar) / se, df)) if se > 0 else 0.0
    return RubinResult(estimate=qbar, se=se, df=df, ci_lb=qbar - crit * se, ci_ub=qbar + crit * se, p=p, within_var=w,
                       between_var=b, m=m)


@dataclass
class SensitivityResult(NotebookDisplay):
    """Reference-based imputations and the tipping point for one active arm against the reference."""

    visit: str
    active: str
    reference: str
    strategies: dict[str, RubinResult]
    tipping_delta: float | None          # MADRS points added to the active arm's imputed values; None: not reached
    tipping_curve: pd.DataFrame          # delta, estimate, se, p
    n_missing: dict[str, int]            # patients without the primary visit, per arm
    n_made_monotone: int
    m: int
    seed: int
    alpha: float
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([{"strategy": k, **{f: getattr(r, f) for f in ("estimate", "se", "df", "ci_lb", "ci_ub", "p")}}
                             for k, r in self.strategies.items()])

    def to_dict(self) -> dict:
        return {"visit": self.visit, "active": self.active, "reference": self.reference,
                "strategies": {k: r.to_dict() for k, r in self.strategies.items()},
                "tipping_point": {"delta": self.tipping_delta, "alpha": self.alpha,
                                  "meaning": (f"MADRS points added to every imputed value of {self.active} (MAR "
                                              "imputations) at which the primary difference stops being significant"),
                                  "curve": self.tipping_curve.to_dict("records")},
                "n_missing": self.n_missing, "made_monotone": self.n_made_monotone, "notes": self.notes,
                "provenance": {"imputations": self.m, "seed": self.seed,
                               "analysis": "ANCOVA of change at the visit on baseline and arm per imputation; Rubin's "
                                           "rules, Barnard-Rubin df",
                               "refs": ["carpenter2013", "rubin1987", "barnard1999"]}}

    def text(self) -> str:
        lines = [f"missing-data sensitivity at {self.visit} ({self.active} vs {self.reference}; {self.m} imputations, "
                 f"seed {self.seed}; missing: " + ", ".join(f"{a} {n}" for a, n in self.n_missing.items()) + "):"]
        for k, r in self.strategies.items():
            lines.append(f"  {k:<4} {r.estimate:8.3f} (SE {r.se:.3f}, df {r.df:.0f}) [{r.ci_lb:.3f}, {r.ci_ub:.3f}], "
                         f"p {r.p:.3g}")
        if self.tipping_delta is None:
            lines.append(f"  tipping point: still significant with {DELTA_MAX:g} MADRS points added to every imputed "
                         f"value of {self.active}" if self.strategies["MAR"].p < self.alpha else
                         "  tipping point: not significant under MAR already")
        else:
            lines.append(f"  tipping point: significance is lost when every imputed value of {self.active} is "
                         f"{self.tipping_delta:.2f} MADRS points worse than MAR predicts")
        return "\n".join(lines)

    def plot(self, ax=None):
        """The tipping-point curve: the estimate and its interval against delta."""
        from ..figures import pyplot
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.6), constrained_layout=True)
        c = self.tipping_curve
        ax.plot(c["delta"], c["estimate"], color="k")
        ax.axhline(0, color="grey", lw=0.8)
        if self.tipping_delta is not None:
            ax.axvline(self.tipping_delta, color="#d62728", ls="--", label="tipping point")
            ax.legend(fontsize=8)
        ax.set(xlabel="delta added to imputed active-arm values (MADRS points)", ylabel="difference in change")
        return ax


def _wide(data: pd.DataFrame, arms: list[str], visits: list[str]) -> tuple[dict, int]:
    """Per arm an array ``(patients, 1 + visits)``: baseline then change at each visit (NaN when missing), made
    monotone; and how many patients had a value after a missed visit set aside."""
    d = data[data["arm"].isin(arms) & data["visit"].isin(visits)]
    chg = d.assign(change=d["value"] - d["baseline"]).pivot_table(index=["arm", "subject"], columns="visit",
                                                                 values="change", aggfunc="first")
    chg = chg.reindex(columns=visits)
    base = data[data["arm"].isin(arms)].groupby(["arm", "subject"])["baseline"].first()
    out, fixed = {}, 0
    for arm in arms:
        if arm not in chg.index.get_level_values(0):
            raise AdpharmInputError(f"arm {arm!r}: no ratings after baseline")
        y = chg.loc[arm].to_numpy(dtype=float)
        b = base.loc[arm].reindex(chg.loc[arm].index).to_numpy(dtype=float)[:, None]
        seen = ~np.isnan(y)
        first_gap = np.where(seen.all(axis=1), y.shape[1], np.argmin(seen, axis=1))
        later = np.arange(y.shape[1])[None, :] >= first_gap[:, None]
        fixed += int((later & seen).any(axis=1).sum())
        y[later] = np.nan
        out[arm] = np.hstack([b, y])
    return out, fixed


def _mvn_monotone(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and covariance of monotone MVN data by sequential regressions (the MAR maximum likelihood)."""
    k = z.shape[1]
    mu, s = np.zeros(k), np.zeros((k, k))
    mu[0], s[0, 0] = z[:, 0].mean(), z[:, 0].var()
    for j in range(1, k):
        rows = ~np.isnan(z[:, j])
        if rows.sum() <= j + 1:
            raise AdpharmInputError(f"visit {j}: too few patients seen ({int(rows.sum())}) to estimate its distribution")
        x = np.hstack([np.ones((rows.sum(), 1)), z[rows, :j]])
        coef, *_ = np.linalg.lstsq(x, z[rows, j], rcond=None)
        resid = z[rows, j] - x @ coef
        b = coef[1:]
        mu[j] = coef[0] + b @ mu[:j]
        s[j, :j] = s[:j, :j] @ b
        s[:j, j] = s[j, :j]
        s[j, j] = resid @ resid / rows.sum() + b @ s[:j, :j] @ b
    return mu, s


def _impute(z: np.ndarray, mean_rows: np.ndarray, cov: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Fill the NaN of each row from its conditional normal given the row's observed part."""
    out = z.copy()
    miss = np.isnan(z)
    for pattern in np.unique(miss, axis=0):
        if not pattern.any():
            continue
        rows = np.flatnonzero((miss == pattern).all(axis=1))
        o, m = ~pattern, pattern
        s_oo, s_mo, s_mm = cov[np.ix_(o, o)], cov[np.ix_(m, o)], cov[np.ix_(m, m)]
        gain = s_mo @ np.linalg.pinv(s_oo)
        cond_cov = s_mm - gain @ s_mo.T
        cond_cov = (cond_cov + cond_cov.T) / 2 + 1e-10 * np.eye(m.sum())
        mean = mean_rows[np.ix_(rows, m)] + (z[np.ix_(rows, o)] - mean_rows[np.ix_(rows, o)]) @ gain.T
        out[np.ix_(rows, m)] = mean + rng.multivariate_normal(np.zeros(m.sum()), cond_cov, size=rows.size)
    return out


def _ancova(ref: np.ndarray, act: np.ndarray) -> tuple[float, float, int]:
    """Arm coefficient, its variance and residual df of change at the last column on baseline and arm."""
    y = np.concatenate([ref[:, -1], act[:, -1]])
    x = np.column_stack([np.ones(y.size), np.concatenate([ref[:, 0], act[:, 0]]),
                         np.r_[np.zeros(len(ref)), np.ones(len(act))]])
    coef, *_ = np.linalg.lstsq(x, y, rcond=None)
    df = y.size - 3
    sigma2 = float(((y - x @ coef) ** 2).sum() / df)
    return float(coef[2]), float(sigma2 * np.linalg.inv(x.T @ x)[2, 2]), df


def _means(z: np.ndarray, mu_own: np.ndarray, mu_ref: np.ndarray, strategy: str) -> np.ndarray:
    """Each row's mean profile under the strategy (rows of the active arm)."""
    n, k = z.shape
    if strategy == "MAR":
        return np.broadcast_to(mu_own, (n, k)).copy()
    if strategy == "CR":
        return np.broadcast_to(mu_ref, (n, k)).copy()
    last = k - 1 - np.argmax(~np.isnan(z[:, ::-1]), axis=1)        # last column seen (0: baseline only)
    after = np.arange(k)[None, :] > last[:, None]
    return np.where(after, mu_ref[None, :], mu_own[None, :])


def sensitivity(data: pd.DataFrame, reference: str, active: str, visit: str, visits: list[str], *,
                imputations: int = DEFAULT_IMPUTATIONS, seed: int = 1, alpha: float = 0.05,
                level: float = 0.95) -> SensitivityResult:
    """Reference-based multiple imputation (MAR, J2R, CR) and the delta-adjusted tipping point for the change
    at ``visit`` of ``active`` against ``reference``.

    Parameters
    ----------
    data : long trial data (subject, arm, visit, baseline, value), as :func:`adpharm.trials.analysis.read_trial_csv`.
    reference, active : arm ids.
    visit : the primary visit; ``visits`` the post-baseline visits in order (those after ``visit`` are unused).
    imputations, seed : number of imputations (at least 2) and the seed of their random draws.
    alpha, level : the test level of the tipping point and the confidence level of the intervals.

    Returns
    -------
    SensitivityResult

    Examples
    --------
    >>> from adpharm.trials.simulate import simulate_trial
    >>> t = simulate_trial("ssri-mdd-8wk", 80, seed=2)
    >>> r = sensitivity(t.data, "placebo", "sertraline", "week8", ["week1", "week2", "week4", "week6", "week8"],
    ...                 imputations=5)
    >>> list(r.strategies)
    ['MAR', 'J2R', 'CR']
    """
    if visit not in visits:
        raise AdpharmInputError(f"visit {visit!r}: not one of the visits {visits}")
    if not (isinstance(imputations, int) and 2 <= imputations <= 1000):
        raise AdpharmInputError(f"{imputations!r} must be a whole number from 2 to 1000", field="imputations")
    use = visits[:visits.index(visit) + 1]
    wide, fixed = _wide(data, [reference, active], use)
    n_missing = {a: int(np.isnan(wide[a][:, -1]).sum()) for a in (reference, active)}
    if sum(n_missing.values()) == 0:
        raise AdpharmInputError(f"sensitivity: every patient has a rating at {visit}; there is nothing to impute "
                                "(these analyses are for data with dropout)")
    rng = np.random.default_rng(seed)
    draws: dict[str, list] = {s: [] for s in STRATEGIES}
    shifted: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for _ in range(imputations):
        boot = {a: wide[a][rng.integers(0, len(wide[a]), len(wide[a]))] for a in wide}
        params = {a: _mvn_monotone(boot[a]) for a in boot}
        (mu_r, s_r), (mu_a, s_a) = params[reference], params[active]
        ref_imp = _impute(wide[reference], np.broadcast_to(mu_r, wide[reference].shape), s_r, rng)
        for strategy in STRATEGIES:
            cov = s_a if strategy == "MAR" else s_r
            act_imp = _impute(wide[active], _means(wide[active], mu_a, mu_r, strategy), cov, rng)
            draws[strategy].append(_ancova(ref_imp, act_imp))
            if strategy == "MAR":
                shifted.append((ref_imp, act_imp, np.isnan(wide[active])))
    results = {s: rubin([e for e, _, _ in v], [u for _, u, _ in v], v[0][2], level) for s, v in draws.items()}
    rows, tip = [], None
    mar = results["MAR"]
    if mar.p < alpha:
        for delta in np.arange(0.0, DELTA_MAX + DELTA_STEP / 2, DELTA_STEP):
            est = [_ancova(r, a + delta * m) for r, a, m in shifted]
            res = rubin([e for e, _, _ in est], [u for _, u, _ in est], est[0][2], level)
            rows.append({"delta": float(delta), "estimate": res.estimate, "se": res.se, "p": res.p})
            if res.p >= alpha:
                prev = rows[-2] if len(rows) > 1 else rows[-1]
                lo, hi = np.log(prev["p"]), np.log(res.p)
                frac = 0.0 if hi == lo else (np.log(alpha) - lo) / (hi - lo)
                tip = float(prev["delta"] + frac * (delta - prev["delta"]))
                break
    notes = []
    if fixed:
        notes.append(f"{fixed} patient(s) had ratings after a missed visit; those later ratings were set aside to make "
                     "the data monotone")
    return SensitivityResult(visit=visit, active=active, reference=reference, strategies=results, tipping_delta=tip,
                             tipping_curve=pd.DataFrame(rows, columns=["delta", "estimate", "se", "p"]),
                             n_missing=n_missing, n_made_monotone=fixed, m=imputations, seed=seed, alpha=alpha,
                             notes=notes)
