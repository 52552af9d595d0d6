"""Forced swim test scored from video: motion by frame differencing in a region of interest,
immobility as motion below a threshold for a minimum bout, per-minute bins and the
conventional score over minutes 3-6.

Each frame is converted to grey, cropped to the region of interest and corrected for lighting
flicker (each frame scaled to the same mean brightness). A frame whose change jumps above the
recent level is re-compared after the whole-frame shift of up to 2 px that matches best (camera
jitter). The motion index of a frame is the fraction of ROI pixels whose grey level changed by more than ``pixel_threshold`` since the previous frame, which
ignores low-amplitude water ripple; it is smoothed over ``smooth_s``. Frames whose smoothed
motion is under ``threshold`` are immobile, and immobile runs shorter than ``min_bout_s`` (2 s
by default) are counted as mobile.

The threshold is either fitted to hand-scored minutes (calibration: the value that best
reproduces the scorer's immobility per minute) or, without calibration, set between the two
modes of smoothed motion by Otsu's method.

References
----------
Can A, Dao DT, Arad M, et al. (2012). The mouse forced swim test. J Vis Exp 59:e3638.
doi:10.3791/3638
Kurtuncu M, Luka LJ, Dimitrijevic N, et al. (2005). Reliability assessment of an automated
forced swim test device using two mouse strains. J Neurosci Methods 149:26-30.
doi:10.1016/j.jneumeth.2005.04.010 (PMID 15967510)
Otsu N (1979). A threshold selection method from gray-level histograms. IEEE Trans Syst Man
Cybern 9:62-66. doi:10.1109/TSMC.1979.4310076
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import __version__
from ..display import NotebookDisplay
from ..errors import AdpharmInputError

# FFmpeg inside OpenCV prints its own diagnostics to stderr; errors here are one line of ours
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
os.environ.setdefault("OPENCV_LOG_LEVEL", "SILENT")

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
PIXEL_THRESHOLD = 20      # grey levels (of 255): above ripple and sensor noise, below a dark animal on water
MIN_BOUT_S = 2.0          # design default (the 2 s bout of PROVENANCE §5 and the issue); --min-bout-s changes it
SMOOTH_S = 0.5            # design default: half a second of frames


def _changed(a: np.ndarray, b: np.ndarray, pixel_threshold: float) -> float:
    import cv2
    return cv2.countNonZero(cv2.compare(cv2.absdiff(a, b), pixel_threshold, cv2.CMP_GT)) / a.size


def _dejitter(g: np.ndarray, prev: np.ndarray, unshifted: float, pixel_threshold: float, max_shift: int = 2) -> float:
    """Changed fraction after the whole-frame shift (up to ``max_shift`` px) that best matches the
    previous frame, or ``unshifted`` when no shift does better: a camera shake moves every edge,
    the animal moves only itself."""
    best = unshifted
    h, w = g.shape
    m = max_shift
    core = prev[m:h - m, m:w - m]
    for dy in range(-m, m + 1):
        for dx in range(-m, m + 1):
            if dx or dy:
                best = min(best, _changed(g[m + dy:h - m + dy, m + dx:w - m + dx], core, pixel_threshold))
    return best


def motion_index(path: str | Path, roi: tuple[int, int, int, int] | None = None,
                 pixel_threshold: float = PIXEL_THRESHOLD, downsample: int = 1) -> tuple[np.ndarray, float]:
    """Per-frame motion (fraction of ROI pixels changed since the previous frame) and the frame rate.

    Frames are averaged down by ``downsample`` in each direction. A frame whose change is well
    above the recent level is checked for camera jitter (see ``_dejitter``).
    """
    import cv2
    p = Path(path)
    if not p.is_file():
        raise AdpharmInputError(f"{p}: no such file")
    cap = cv2.VideoCapture(str(p))
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    if not cap.isOpened() or not fps or not np.isfinite(fps):
        raise AdpharmInputError(f"{p}: not a readable video (OpenCV could not open it)")
    motion: list[float] = []
    prev = None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        g = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if frame.ndim == 3 else frame
        if roi is not None:
            x0, y0, x1, y1 = roi
            if x1 > g.shape[1] or y1 > g.shape[0]:
                cap.release()
                raise AdpharmInputError(f"{x0},{y0},{x1},{y1} is outside the {g.shape[1]}x{g.shape[0]} video {p}",
                                        field="roi")
            g = g[y0:y1, x0:x1]
        if downsample > 1:
            g = cv2.resize(g, (g.shape[1] // downsample, g.shape[0] // downsample), interpolation=cv2.INTER_AREA)
        g = cv2.convertScaleAbs(g, alpha=128.0 / max(float(g.mean()), 1.0))  # flicker: same mean brightness
        if prev is not None:
            c = _changed(g, prev, pixel_threshold)
            recent = np.median(motion[-50:]) if motion else c
            motion.append(_dejitter(g, prev, c, pixel_threshold) if c > 2 * recent + 0.003 else c)
        prev = g
    cap.release()
    if len(motion) < fps * 60:
        raise AdpharmInputError(f"{p}: {len(motion) + 1} frames at {fps:g} fps is under one minute (truncated video?)")
    return np.array([motion[0], *motion]), float(fps)


def _smooth(x: np.ndarray, n: int) -> np.ndarray:
    if n <= 1:
        return x
    return np.convolve(np.pad(x, (n // 2, n - 1 - n // 2), mode="edge"), np.ones(n) / n, mode="valid")


def immobile_frames(motion: np.ndarray, fps: float, threshold: float, min_bout_s: float = MIN_BOUT_S,
                    smooth_s: float = SMOOTH_S) -> np.ndarray:
    """Frames immobile for at least ``min_bout_s``."""
    return _bouts(_smooth(motion, int(round(smooth_s * fps))) < threshold, fps, min_bout_s)


def _bouts(low: np.ndarray, fps: float, min_bout_s: float) -> np.ndarray:
    """``low`` with the runs shorter than ``min_bout_s`` cleared."""
    out = low.copy()
    edges = np.flatnonzero(np.diff(np.r_[0, low.astype(int), 0]))
    for a, b in zip(edges[::2], edges[1::2]):
        if (b - a) < min_bout_s * fps:
            out[a:b] = False
    return out


def per_minute(immobile: np.ndarray, fps: float) -> np.ndarray:
    n = int(round(60 * fps))
    return np.array([immobile[k * n:(k + 1) * n].mean() for k in range(len(immobile) // n)])


def otsu_threshold(motion: np.ndarray, fps: float, smooth_s: float = SMOOTH_S) -> float:
    """Threshold between still and moving frames by Otsu's method (1979) on the smoothed motion."""
    sm = _smooth(motion, int(round(smooth_s * fps)))
    hist, edges = np.histogram(sm, bins=256, range=(0, np.percentile(sm, 99.5) or 1e-6))
    w = np.cumsum(hist) / hist.sum()
    mu = np.cumsum(hist * (edges[:-1] + edges[1:]) / 2) / hist.sum()
    between = (mu[-1] * w - mu) ** 2 / np.maximum(w * (1 - w), 1e-12)
    return float(edges[1:][np.argmax(between[:-1])])


def calibrate(motion: np.ndarray, fps: float, scored: dict[int, float], min_bout_s: float = MIN_BOUT_S,
              smooth_s: float = SMOOTH_S) -> float:
    """Threshold that best reproduces hand-scored immobility (minute -> fraction), least squares
    over a log grid."""
    n_min = len(motion) // int(round(60 * fps))
    bad = [m for m in scored if not 1 <= m <= n_min]
    if bad:
        raise AdpharmInputError(f"calibration minute {bad[0]} is not in the video (1-{n_min})")
    sm = _smooth(motion, int(round(smooth_s * fps)))
    grid = np.geomspace(max(sm.min(), 1e-5), max(sm.max(), 2e-5), 200)
    mins = np.array(sorted(scored))
    want = np.array([scored[m] for m in mins])

    def err(th):
        pm = per_minute(_bouts(sm < th, fps, min_bout_s), fps)
        return float(np.sum((pm[mins - 1] - want) ** 2))
    return float(grid[int(np.argmin([err(th) for th in grid]))])


@dataclass
class FSTVideoResult(NotebookDisplay):
    """Motion trace, immobile frames, per-minute immobility and the minutes 3-6 score."""

    source: str
    fps: float
    motion: np.ndarray
    immobile: np.ndarray
    threshold: float
    threshold_method: str
    min_bout_s: float
    calibration: dict[int, float] | None = None
    warnings: list[str] = field(default_factory=list)
    kind: str = "video"

    def minutes(self) -> pd.DataFrame:
        pm = per_minute(self.immobile, self.fps)
        return pd.DataFrame({"minute": np.arange(1, len(pm) + 1), "immobility": pm})

    @property
    def score(self) -> float | None:
        pm = self.minutes()
        sel = pm[(pm.minute >= 3) & (pm.minute <= 6)]
        return float(sel.immobility.mean()) if len(sel) == 4 else None

    def summary(self) -> pd.DataFrame:
        return self.minutes().set_index("minute")

    def text(self) -> str:
        """The minute table, the minutes 3-6 score and how immobility was called."""
        from .reporting import result_text     # here: reporting's statistics are not needed to read a video
        return result_text(self, [
            f"immobility minutes 3-6: {self.score:.3f}" if self.score is not None else "no minutes 3-6 score",
            f"threshold {self.threshold:.3g} ({self.threshold_method}); bouts >= {self.min_bout_s:g} s"])

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "kind": self.kind, "fps": self.fps, "frames": int(len(self.motion)),
                "threshold": self.threshold, "threshold_method": self.threshold_method, "min_bout_s": self.min_bout_s,
                "calibration": self.calibration, "minutes": self.minutes().to_dict(orient="records"),
                "score_minutes_3_6": self.score, "warnings": self.warnings,
                "provenance": {"adpharm": __version__, "method": "frame differencing, minimum-bout immobility"}}

    def figures(self) -> dict[str, Any]:
        """Per-file figures for a batch: the motion trace with the immobile bouts."""
        return {"motion": self.plot}

    def plot(self, ax=None):
        from ..figures import pyplot
        plt = pyplot()
        ax = ax or plt.subplots(figsize=(7, 2.5))[1]
        t = np.arange(len(self.motion)) / self.fps / 60
        ax.plot(t, self.motion, lw=0.4, color="k")
        ax.fill_between(t, 0, self.motion.max(), where=self.immobile, color="#9bd", alpha=0.5, lw=0, label="immobile")
        ax.axhline(self.threshold, color="#b33", ls="--", lw=0.8)
        ax.set_xlabel("time (min)")
        ax.set_ylabel("motion (fraction of ROI)")
        ax.legend(fontsize=7, loc="upper right")
        return ax


def analyse(path: str | Path, roi=None, threshold: float | None = None, calibration: dict[int, float] | None = None,
            min_bout_s: float = MIN_BOUT_S, pixel_threshold: float = PIXEL_THRESHOLD,
            smooth_s: float = SMOOTH_S) -> FSTVideoResult:
    """Score one forced-swim video (see the module docstring)."""
    if min_bout_s < 0 or smooth_s < 0:
        raise AdpharmInputError(f"min_bout_s {min_bout_s} and smooth_s {smooth_s} must be non-negative")
    motion, fps = motion_index(path, roi, pixel_threshold)
    warnings = []
    if calibration:
        th, method = calibrate(motion, fps, calibration, min_bout_s, smooth_s), "calibrated to hand-scored minutes"
    elif threshold is not None:
        th, method = float(threshold), "given"
    else:
        th, method = otsu_threshold(motion, fps, smooth_s), "Otsu (uncalibrated)"
        warnings.append("threshold not calibrated: score a few minutes by hand and give them as the calibration")
    imm = immobile_frames(motion, fps, th, min_bout_s, smooth_s)
    res = FSTVideoResult(source=str(path), fps=fps, motion=motion, immobile=imm, threshold=th, threshold_method=method,
                         min_bout_s=min_bout_s, calibration=calibration, warnings=warnings)
    if len(motion) < 6 * 60 * fps - 1:
        res.warnings.append(f"video is {len(motion) / fps / 60:.1f} min, not 6: no minutes 3-6 score")
    return res


def read_calibration(path: str | Path) -> dict[int, float]:
    """Hand-scored minutes: a CSV with ``minute`` and ``immobility`` (fraction, or seconds of 60)."""
    from ..io import read_table
    df = read_table(path)
    cols = {c.lower(): c for c in df.columns}
    missing = [c for c in ("minute", "immobility") if c not in cols]
    if missing:
        raise AdpharmInputError(f"{path}: missing column {missing[0]!r} (minute, immobility)")
    m = pd.to_numeric(df[cols["minute"]], errors="coerce")
    v = pd.to_numeric(df[cols["immobility"]], errors="coerce")
    if m.isna().any() or v.isna().any() or (v < 0).any() or (v > 60).any():
        raise AdpharmInputError(f"{path}: 'minute' and 'immobility' must be numbers (immobility 0-1 or 0-60 s)")
    v = v / 60 if (v > 1).any() else v
    return {int(a): float(b) for a, b in zip(m, v)}
