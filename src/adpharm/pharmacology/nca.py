"""Non-compartmental analysis of concentration-time curves, vectorised over subjects.

Conventions follow WinNonlin/PKNCA: AUC by the linear-up/log-down trapezoidal rule; the
terminal rate constant lambda_z from log-linear least squares on the last points after the
peak that follows the last dose, choosing the number of points (at least 3) with the best
adjusted R-squared, preferring more points when within 1e-4; the half-life is ln 2 / lambda_z.

References
----------
.. [1] Gabrielsson J, Weiner D (2012). Non-compartmental analysis. Methods Mol Biol 929:377-389.
"""
from __future__ import annotations

import numpy as np

LN2 = float(np.log(2.0))


def auc_trapezoid(times_h: np.ndarray, conc: np.ndarray) -> np.ndarray:
    """AUC over the whole grid (last axis), linear up and log down; ``conc`` is ``(..., time)``."""
    t = np.asarray(times_h, float)
    c = np.asarray(conc, float)
    dt = np.diff(t)
    c1, c2 = c[..., :-1], c[..., 1:]
    lin = (c1 + c2) / 2 * dt
    down = (c2 < c1) & (c2 > 0) & (c1 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log = np.where(down, (c1 - c2) / np.log(np.where(down, c1 / c2, 2.0)) * dt, lin)
    return np.where(down, log, lin).sum(axis=-1)


def peak(times_h: np.ndarray, conc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cmax and Tmax (first time of the maximum) along the last axis."""
    i = np.argmax(conc, axis=-1)
    return np.take_along_axis(conc, i[..., None], -1)[..., 0], np.asarray(times_h)[i]


def terminal_half_life(times_h: np.ndarray, conc: np.ndarray, after_h: float = 0.0, max_candidates: int = 24,
                       min_span_ratio: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Terminal half-life (h) and its adjusted R² per subject, from points after the post-``after_h`` peak.

    Returns NaN where fewer than 3 positive points follow the peak, or where the fitted points span
    less than ``min_span_ratio`` half-lives (the estimate would be an extrapolation; WinNonlin's
    span ratio).
    """
    t_all = np.asarray(times_h, float)
    c_all = np.atleast_2d(np.asarray(conc, float))
    keep = t_all >= after_h
    t, c = t_all[keep], c_all[:, keep]
    s, m = c.shape
    ipk = np.argmax(c, axis=1)
    n_after = m - 1 - ipk
    with np.errstate(divide="ignore"):
        y = np.where(c > 0, np.log(np.where(c > 0, c, 1.0)), np.nan)
    best_r2 = np.full(s, -np.inf)
    best_lz = np.full(s, np.nan)
    best_span = np.zeros(s)
    ks = np.unique(np.round(np.geomspace(3, max(m - 1, 3), max_candidates)).astype(int))
    for k in ks:
        if k > m:
            break
        ok = n_after >= k
        tt, yy = t[-k:], y[:, -k:]
        good = ok & np.all(np.isfinite(yy), axis=1)
        if not good.any():
            continue
        tm = tt.mean()
        ym = yy.mean(axis=1)
        sxx = ((tt - tm) ** 2).sum()
        slope = ((tt - tm) * (yy - ym[:, None])).sum(axis=1) / sxx
        resid = yy - (ym[:, None] + slope[:, None] * (tt - tm))
        sst = ((yy - ym[:, None]) ** 2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = 1 - (resid ** 2).sum(axis=1) / sst
            adj = 1 - (1 - r2) * (k - 1) / (k - 2)
        adj = np.where(sst == 0, 1.0, adj)
        better = good & (slope < 0) & (adj >= best_r2 - 1e-4)
        best_r2 = np.where(better, adj, best_r2)
        best_lz = np.where(better, -slope, best_lz)
        best_span = np.where(better, tt[-1] - tt[0], best_span)
    with np.errstate(divide="ignore", invalid="ignore"):
        hl = LN2 / best_lz
        hl = np.where(best_span >= hl * min_span_ratio, hl, np.nan)
        return hl, np.where(np.isfinite(best_r2), best_r2, np.nan)


def summarise(times_h: np.ndarray, conc: np.ndarray, last_dose_h: float, interval_h: float | None = None,
              first_dose_h: float = 0.0) -> dict[str, np.ndarray]:
    """NCA of every subject's curve ``conc`` (subjects, time): one array per measure.

    With a dosing ``interval_h`` and at least two doses, adds the steady-state measures over the
    last full interval (``cavg_ss``, ``ctrough_ss``) and the accumulation ratio (AUC of the last
    interval over AUC of the first).
    """
    t = np.asarray(times_h, float)
    c = np.atleast_2d(conc)
    cmax, tmax = peak(t, c)
    out = {"cmax_ng_per_ml": cmax, "tmax_h": tmax, "auc_ng_h_per_ml": auc_trapezoid(t, c)}
    hl, r2 = terminal_half_life(t, c, after_h=last_dose_h)
    out["half_life_h"], out["half_life_adj_r2"] = hl, r2
    if interval_h and last_dose_h - first_dose_h >= interval_h - 1e-9 and last_dose_h + interval_h <= t[-1] + 1e-9:
        def window(a: float) -> np.ndarray:
            sel = (t >= a - 1e-9) & (t <= a + interval_h + 1e-9)
            return auc_trapezoid(t[sel], c[:, sel]), c[:, sel]
        auc_last, c_last = window(last_dose_h)
        auc_first, _ = window(first_dose_h)
        out["cavg_ss_ng_per_ml"] = auc_last / interval_h
        out["ctrough_ss_ng_per_ml"] = c_last[:, -1]
        with np.errstate(divide="ignore", invalid="ignore"):
            out["accumulation_ratio"] = auc_last / auc_first
    return out
