"""Field-EPSP analysis of slice recordings: stimulus artefact detection and blanking, fibre
volley, fEPSP amplitude and slope (20-60 % or 10-90 % of the falling phase), baseline stability
(run-up), normalisation to the baseline, potentiation or depression over a final window,
paired-pulse ratio and input-output curves.

The slope window is found once, on the mean of the normalisation sweeps (walking back from the
trough to where the trace crosses the upper and lower fractions of its amplitude), and then held
fixed relative to each file's stimulus for every sweep, as in Clampfit or WinLTP analyses.

References
----------
Bliss TVP, Collingridge GL (1993). A synaptic model of memory: long-term potentiation in the
hippocampus. Nature 361:31-39. doi:10.1038/361031a0
Dudek SM, Bear MF (1992). Homosynaptic long-term depression in area CA1 of hippocampus and
effects of N-methyl-D-aspartate receptor blockade. PNAS 89:4363-4367. doi:10.1073/pnas.89.10.4363
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from .ephys import Recording
from ..lazy import lazy_module
from ..display import NotebookDisplay, table_text

signal = lazy_module("scipy.signal")
stats = lazy_module("scipy.stats")

RUN_UP_LIMIT_PCT = 10.0


def parse_window(text: str) -> tuple[float, float]:
    """"20-60" -> (0.2, 0.6): the falling-phase fractions between which the slope is fitted."""
    try:
        lo, hi = (float(x) for x in str(text).replace("%", "").split("-"))
    except ValueError:
        raise AdpharmInputError(f"{text!r} is not of the form LOW-HIGH, e.g. 20-60", field="slope_window") from None
    if not 0 <= lo < hi <= 100:
        raise AdpharmInputError(f"{text!r} needs 0 <= LOW < HIGH <= 100", field="slope_window")
    return lo / 100, hi / 100


#: Units of a field-potential channel. A current (pA, nA) is a voltage-clamp recording: its inward
#: currents are not fEPSPs and their slopes are not mV/ms.
VOLTAGE_UNITS = ("mV",)


def require_field_potential(rec: Recording) -> Recording:
    """``rec`` if its channel is a voltage in mV; otherwise an error naming the file, the channel's
    unit and the file's voltage channels (a voltage-clamp current is refused, not analysed as mV)."""
    if rec.unit in VOLTAGE_UNITS:
        return rec
    kind = "a voltage-clamp current" if rec.unit.lower() in ("pa", "na", "ua", "µa") else f"in {rec.unit!r}"
    volts = [c for c in rec.channels if c.endswith("(mV)")]
    hint = (f"; its voltage channels: {', '.join(volts)}" if volts else "; it has no channel in mV")
    raise AdpharmInputError(f"{rec.path}: channel {rec.channel} is {kind} ({rec.unit}), not a field potential in mV: "
                            f"field-EPSP slopes are not measured on it{hint}")


def find_stimuli(rec: Recording, max_count: int = 10, min_gap_ms: float = 5.0) -> list[float]:
    """Stimulus artefact times (ms): the sharpest deflections of the median sweep."""
    m = np.median(rec.sweeps, axis=0)
    d = np.abs(np.diff(m))
    peaks, props = signal.find_peaks(d, height=0.3 * d.max(), distance=max(1, int(min_gap_ms / rec.dt_ms)))
    if len(peaks) == 0:
        raise AdpharmInputError(f"{rec.path}: no stimulus artefact found")
    keep = np.sort(peaks[np.argsort(props["peak_heights"])[::-1][:max_count]])
    # the artefact's onset: walk back to where the derivative is still small
    out = []
    for p in keep:
        i = p
        while i > 0 and d[i - 1] > 0.1 * d[p]:
            i -= 1
        out.append(float(rec.t_ms[i]))
    return out


@dataclass
class Windows:
    """Measurement windows relative to the stimulus (ms), found on a reference trace."""

    baseline: tuple[float, float]
    volley: tuple[float, float]
    trough_search: tuple[float, float]
    slope: tuple[float, float]
    fractions: tuple[float, float]


def _smooth(y: np.ndarray, n: int) -> np.ndarray:
    return y if n <= 1 else np.convolve(y, np.ones(n) / n, mode="same")


#: A response smaller than this many SDs of the pre-stimulus noise (of the averaged reference trace)
#: is not an fEPSP: its slope would be fitted to noise.
NOISE_MULTIPLE = 5.0


def find_windows(t_ms: np.ndarray, y: np.ndarray, stim_ms: float, fractions=(0.2, 0.6), blank_ms: float = 1.0,
                 search_ms: float = 10.0, path: str = "") -> Windows:
    """Slope window from a reference trace (mean of the normalisation sweeps)."""
    dt = float(t_ms[1] - t_ms[0])
    rel = t_ms - stim_ms
    base = (-3.0, -0.3)
    pre = y[(rel >= base[0]) & (rel <= base[1])]
    b = float(np.median(pre))
    ys = _smooth(y, max(1, int(0.2 / dt)))
    search = (max(blank_ms + 1.0, 2.0), search_ms)
    sel = np.flatnonzero((rel >= search[0]) & (rel <= search[1]))
    if sel.size < 3:
        raise AdpharmInputError(f"{path}: sweep too short to find the fEPSP after the stimulus at {stim_ms:.2f} ms")
    i_tr = int(sel[np.argmin(ys[sel])])
    amp = ys[i_tr] - b
    if amp >= 0:
        raise AdpharmInputError(f"{path}: no negative-going fEPSP after the stimulus at {stim_ms:.2f} ms")
    noise = float(np.std(pre, ddof=1)) if pre.size > 2 else 0.0
    if noise > 0 and -amp < NOISE_MULTIPLE * noise:
        raise AdpharmInputError(f"{path}: no fEPSP after the stimulus at {stim_ms:.2f} ms: the trough ({amp:.3f} mV) "
                                f"is within {NOISE_MULTIPLE:g} noise SDs ({noise:.3f} mV) of the baseline; is the "
                                "recording electrode in the dendritic layer?")
    lo_level, hi_level = b + fractions[0] * amp, b + fractions[1] * amp
    i = i_tr
    start = int(np.searchsorted(rel, blank_ms))
    while i > start and ys[i] <= hi_level:
        i -= 1
    i_hi = i + 1
    while i > start and ys[i] <= lo_level:
        i -= 1
    i_lo = i + 1
    if i_hi - i_lo < 2:  # too few samples: widen symmetrically to three
        i_lo, i_hi = i_lo - 1, i_lo + 2
    return Windows(baseline=base, volley=(blank_ms, float(rel[i_lo])), trough_search=search,
                   slope=(float(rel[i_lo]), float(rel[i_hi])), fractions=tuple(fractions))


def measure(rec: Recording, stim_ms: float, w: Windows) -> pd.DataFrame:
    """Per-sweep baseline, fibre volley, trough, amplitude and slope with windows ``w``."""
    rel = rec.t_ms - stim_ms
    mb = (rel >= w.baseline[0]) & (rel <= w.baseline[1])
    mv = (rel >= w.volley[0]) & (rel <= w.volley[1])
    mt = (rel >= w.trough_search[0]) & (rel <= w.trough_search[1])
    ms = (rel >= w.slope[0]) & (rel <= w.slope[1])
    if ms.sum() < 2:
        raise AdpharmInputError(f"{rec.path}: the slope window {w.slope} ms holds fewer than two samples")
    Y = rec.sweeps
    base = np.median(Y[:, mb], axis=1)
    n = max(1, int(0.2 / rec.dt_ms))
    Ys = np.apply_along_axis(_smooth, 1, Y, n)
    trough_idx = np.flatnonzero(mt)[np.argmin(Ys[:, mt], axis=1)]
    x = rel[ms]
    xc = x - x.mean()
    slopes = (Y[:, ms] - Y[:, ms].mean(axis=1, keepdims=True)) @ xc / np.sum(xc ** 2)
    return pd.DataFrame({"file": rec.path, "sweep": np.arange(len(Y)), "t_s": rec.absolute_start_s(),
                         "stim_ms": stim_ms, "baseline_mv": base,
                         "volley_mv": (Ys[:, mv].min(axis=1) - base) if mv.any() else np.nan,
                         "trough_ms": rel[trough_idx], "amplitude_mv": Ys[np.arange(len(Y)), trough_idx] - base,
                         "slope_mv_per_ms": slopes})


@dataclass
class LTPResult(NotebookDisplay):
    """Normalised slope time course and the change over the final window."""

    baseline_slope: float
    change_percent: float
    window_min: float
    timecourse: pd.DataFrame
    windows: Windows
    stability: dict[str, Any]
    paired_pulse_ratio: dict[str, float] | None = None
    warnings: list[str] = field(default_factory=list)
    #: sweeps at the end of the baseline that set its slope
    baseline_sweeps: int | None = None
    #: the input-output curve of the slice (:func:`io_curve`), when one was recorded
    io_curve: pd.DataFrame | None = None

    def to_dict(self) -> dict[str, Any]:
        tc = self.timecourse
        return {"baseline_slope": self.baseline_slope, "change_percent": self.change_percent,
                "window_min": self.window_min, "slope_window_ms": list(self.windows.slope),
                "slope_fractions": list(self.windows.fractions), "stability": self.stability,
                "paired_pulse_ratio": self.paired_pulse_ratio, "warnings": self.warnings,
                "timecourse": tc[["phase", "file", "sweep", "time_min", "post_min", "slope_mv_per_ms", "amplitude_mv",
                                  "volley_mv", "percent"]].to_dict(orient="records"),
                "provenance": {"adpharm": __version__, "method": "fixed-window least-squares fEPSP slope"},
                **({"io_curve": self.io_curve.to_dict(orient="records")} if self.io_curve is not None else {})}

    def text(self) -> str:
        """The baseline slope and its window, the change over the final window, the time course in windows
        and the paired-pulse ratios."""
        lines = [f"baseline slope {self.baseline_slope:.3f} mV/ms (last {self.baseline_sweeps} sweeps; window "
                 f"{self.windows.slope[0]:.2f}-{self.windows.slope[1]:.2f} ms after the stimulus)",
                 f"change over the last {self.window_min:g} min: {self.change_percent:+.1f} %",
                 table_text(self.summary(), ".1f", index=True)]
        lines += [f"paired-pulse ratio {p}: slope {r['slope_ratio']:.2f}, amplitude {r['amplitude_ratio']:.2f}"
                  for p, r in (self.paired_pulse_ratio or {}).items()]
        return "\n".join(lines) + "\n"

    def summary(self) -> pd.DataFrame:
        post = self.timecourse[self.timecourse.phase == "post"]
        edges = [0, 2, 10, 20, 30, 40, 50, 60]  # minutes after the first post sweep
        rows = []
        for lo, hi in zip(edges[:-1], edges[1:]):
            sel = post[(post.post_min >= lo) & (post.post_min < hi)]
            if len(sel):
                rows.append({"window": f"{lo}-{hi} min", "n": len(sel), "percent": float(sel["percent"].mean())})
        rows.append({"window": f"last {self.window_min:g} min", "n": None, "percent": 100 + self.change_percent})
        return pd.DataFrame(rows).set_index("window")

    def plot(self, ax=None):
        from ..figures import pyplot
        plt = pyplot()
        ax = ax or plt.subplots(figsize=(6, 3.5))[1]
        tc = self.timecourse
        for phase, color in (("baseline", "grey"), ("post", "k")):
            s = tc[tc.phase == phase]
            ax.plot(s["time_min"], s["percent"], "o", ms=2.5, color=color, label=phase)
        ax.axhline(100, color="grey", ls="--", lw=0.8)
        ax.set_xlabel("time from end of baseline (min)")
        ax.set_ylabel("fEPSP slope (% of baseline)")
        ax.legend(fontsize=7)
        return ax


def _stability(slopes: np.ndarray, t_min: np.ndarray, n_norm: int) -> dict[str, Any]:
    """Run-up over the whole baseline (first versus last sweeps, in slope magnitude) and the drift
    and CV of the normalisation sweeps; flags when either exceeds 10 %."""
    out: dict[str, Any] = {}
    k = min(20, max(1, len(slopes) // 4))
    if len(slopes) >= 2 * k and len(slopes) > n_norm:
        first, last = float(np.mean(slopes[:k])), float(np.mean(slopes[-k:]))
        out.update(run_up_percent=float(100 * (abs(last) - abs(first)) / abs(first)),
                   first_sweeps_slope=first, last_sweeps_slope=last)
    norm_s, norm_t = slopes[-n_norm:], t_min[-n_norm:]
    if len(norm_s) >= 3:
        fit = stats.linregress(norm_t, norm_s)
        out["normalisation_drift_percent"] = float(100 * fit.slope * (norm_t[-1] - norm_t[0]) / np.mean(norm_s))
        out["normalisation_cv_percent"] = float(100 * np.std(norm_s, ddof=1) / abs(np.mean(norm_s)))
    flags = []
    if abs(out.get("run_up_percent", 0.0)) > RUN_UP_LIMIT_PCT:
        flags.append(f"baseline runs up: slope magnitude changes {out['run_up_percent']:+.0f} % from the first to the "
                     f"last {k} sweeps; normalise to a stable late segment")
    if abs(out.get("normalisation_drift_percent", 0.0)) > RUN_UP_LIMIT_PCT:
        flags.append(f"normalisation sweeps drift {out['normalisation_drift_percent']:+.0f} % across their span")
    out["stable"] = not flags
    out["flags"] = flags
    return out


def analyse(baseline: Sequence[Recording], post: Sequence[Recording], window_min: float = 10.0,
            fractions=(0.2, 0.6), baseline_sweeps: int = 20, blank_ms: float = 1.0) -> LTPResult:
    """Potentiation (LTP) or depression (LTD) of the fEPSP slope after induction.

    Parameters
    ----------
    baseline, post : sequences of Recording
        Files in recording order. The normalisation baseline is the last ``baseline_sweeps``
        sweeps of the baseline files.
    window_min : float
        Final window of the post recording over which the change is averaged.
    fractions : (float, float)
        Falling-phase fractions bounding the slope window, e.g. (0.2, 0.6) or (0.1, 0.9).

    Examples
    --------
    >>> from adpharm import datasets
    >>> from adpharm.assays.ephys import read_abf
    >>> base = read_abf(datasets.fetch("nphys_LTDctrl_2018_08_13_2007", download=False))   # doctest: +SKIP
    >>> post = read_abf(datasets.fetch("nphys_LTDctrl_2018_08_13_2009", download=False))   # doctest: +SKIP
    >>> analyse([base], [post]).to_dict()["change_percent"] < 0                             # doctest: +SKIP
    True
    """
    if not baseline or not post:
        raise AdpharmInputError("LTP analysis needs at least one baseline and one post file")
    if window_min <= 0:
        raise AdpharmInputError(f"{window_min} must be positive", field="window_min")
    for r in (*baseline, *post):
        require_field_potential(r)
    stims = {id(r): find_stimuli(r, max_count=1)[0] for r in (*baseline, *post)}
    last = baseline[-1]
    norm_sweeps = last.sweeps[-baseline_sweeps:] if len(last.sweeps) >= baseline_sweeps else np.vstack(
        [r.sweeps for r in baseline])[-baseline_sweeps:]
    ref = norm_sweeps.mean(axis=0)
    if ref.shape != last.t_ms.shape:
        raise AdpharmInputError(f"{last.path}: baseline files have different sweep lengths")
    w = find_windows(last.t_ms, ref, stims[id(last)], fractions, blank_ms, path=last.path)
    frames = []
    for phase, recs in (("baseline", baseline), ("post", post)):
        for r in recs:
            frames.append(measure(r, stims[id(r)], w).assign(phase=phase))
    tc = pd.concat(frames, ignore_index=True)
    known = all(r.started is not None for r in (*baseline, *post))
    if known:
        t_end = tc.loc[tc.phase == "baseline", "t_s"].max()
        tc["time_min"] = (tc["t_s"] - t_end) / 60
    else:  # sequential files, sweeps on each file's own clock
        offset, times = 0.0, []
        for _, g in tc.groupby(["phase", "file"], sort=False):
            times.append(g["t_s"] - g["t_s"].min() + offset)
            step = float(np.median(np.diff(g["t_s"]))) if len(g) > 1 else 15.0  # the file's own sweep interval
            offset = float(times[-1].max()) + step
        tc["time_min"] = pd.concat(times) / 60
        tc["time_min"] -= tc.loc[tc.phase == "baseline", "time_min"].max()
    base_tc = tc[tc.phase == "baseline"]
    n_norm = min(baseline_sweeps, len(base_tc))
    b_slope = float(base_tc["slope_mv_per_ms"].iloc[-n_norm:].mean())
    tc["percent"] = 100 * tc["slope_mv_per_ms"] / b_slope
    tc["post_min"] = tc["time_min"] - tc.loc[tc.phase == "post", "time_min"].min()
    post_tc = tc[tc.phase == "post"]
    t_last = post_tc["time_min"].max()
    final = post_tc[post_tc["time_min"] > t_last - window_min]
    notes = []
    if post_tc["time_min"].max() - post_tc["time_min"].min() < window_min:
        notes.append(f"the post recording is shorter than the {window_min:g}-min window")
    stab = _stability(base_tc["slope_mv_per_ms"].to_numpy(), base_tc["time_min"].to_numpy(), n_norm)
    notes += stab["flags"]
    return LTPResult(baseline_slope=b_slope, change_percent=float(final["percent"].mean() - 100), window_min=window_min,
                     timecourse=tc, windows=w, stability=stab, warnings=notes, baseline_sweeps=baseline_sweeps)


def paired_pulse(rec: Recording, fractions=(0.2, 0.6), blank_ms: float = 1.0) -> dict[str, float]:
    """Paired-pulse ratio (pulse 2 / pulse 1) of the mean sweep's fEPSP slope and amplitude."""
    require_field_potential(rec)
    stims = find_stimuli(rec, max_count=2)
    if len(stims) < 2:
        raise AdpharmInputError(f"{rec.path}: a paired-pulse recording needs two stimuli, found {len(stims)}")
    m = rec.sweeps.mean(axis=0)
    mean_rec = replace(rec, sweeps=m[None, :], sweep_start_s=np.zeros(1), started=None)
    vals = []
    for i, s in enumerate(stims):
        search = min(10.0, (stims[1] - stims[0]) - 1.0) if i == 0 else 10.0
        w = find_windows(rec.t_ms, m, s, fractions, blank_ms, search_ms=search, path=rec.path)
        vals.append(measure(mean_rec, s, w).iloc[0])
    return {"interval_ms": stims[1] - stims[0], "slope_ratio": float(vals[1]["slope_mv_per_ms"] / vals[0]["slope_mv_per_ms"]),
            "amplitude_ratio": float(vals[1]["amplitude_mv"] / vals[0]["amplitude_mv"])}


def io_curve(rec: Recording, fractions=(0.2, 0.6), blank_ms: float = 1.0) -> pd.DataFrame:
    """Input-output series: slope and amplitude per sweep (stimulus step), windows from the largest response."""
    require_field_potential(rec)
    stim = find_stimuli(rec, max_count=1)[0]
    w = find_windows(rec.t_ms, rec.sweeps[-1], stim, fractions, blank_ms, path=rec.path)
    return measure(rec, stim, w)[["sweep", "volley_mv", "amplitude_mv", "slope_mv_per_ms"]]
