"""Synthetic field-EPSP recordings with known potentiation, written as Axon ABF1 files, drawn to
the specification in ../shared/data/PROVENANCE.md section 5 (no licensed LTP recording was found).

Sweeps of 40 ms every 15 s at 100 kHz (or 20 kHz): a biphasic stimulus artefact at 15.5 ms that
clips at the amplifier limit, a fibre volley 1.2 ms later, an fEPSP whose trough falls about
4.5 ms after the stimulus, white noise (SD 0.015 mV), 50 Hz mains hum, a DC offset that drifts,
and a sweep-to-sweep slope CV of 4 %. The baseline runs up over its first minutes; after
induction, post-tetanic potentiation decays within minutes onto a stable LTP.

pyabf writes ABF1 with back-to-back sweeps and no clock; the episode start-to-start interval
(header offset 178) and the file start date and time (offsets 20 and 24) are patched in, as
pClamp writes them.
"""
from __future__ import annotations

import datetime as dt
import struct
from pathlib import Path

import numpy as np

STIM_MS = 15.5
CLIP_MV = -20.0


def sweeps(scale: np.ndarray, rng: np.random.Generator, fs_khz: float = 100.0, length_ms: float = 40.0,
           dc_mv: float = -2.0, drift_mv: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Sweeps (mV) whose fEPSP is the same waveform times ``scale`` (so the slope scales exactly)."""
    t = np.arange(0, length_ms, 1 / fs_khz)
    s = t - STIM_MS
    art = np.where((s >= 0) & (s < 0.1), -25.0, 0.0) + np.where((s >= 0.1) & (s < 0.2), 2.0, 0.0)
    volley = -0.2 * np.exp(-((s - 1.2) / 0.25) ** 2)
    u = np.clip(s - 1.8, 0, None) / 2.7                        # trough 1.8 + 2.7 = 4.5 ms after the stimulus
    epsp = -1.2 * u * np.exp(1 - u)
    out = []
    for i, a in enumerate(scale):
        hum = 0.02 * np.sin(2 * np.pi * 0.05 * t + rng.uniform(0, 2 * np.pi))   # 50 Hz = 0.05 cycles per ms
        dc = dc_mv + drift_mv * i / max(len(scale) - 1, 1)
        y = dc + art + volley + a * epsp + hum + rng.normal(0, 0.015, t.size)
        out.append(np.maximum(y, CLIP_MV))                     # the artefact clips at the ADC limit
    return t, np.array(out)


def write_abf1(path: Path, data: np.ndarray, fs_khz: float, interval_s: float, start: dt.datetime) -> None:
    import pyabf.abfWriter
    pyabf.abfWriter.writeABF1(data, str(path), fs_khz * 1000, units="mV")
    b = bytearray(Path(path).read_bytes())
    struct.pack_into("i", b, 20, int(start.strftime("%Y%m%d")))           # lFileStartDate
    struct.pack_into("i", b, 24, start.hour * 3600 + start.minute * 60 + start.second)  # lFileStartTime (s)
    struct.pack_into("f", b, 178, interval_s)                              # fEpisodeStartToStart
    Path(path).write_bytes(bytes(b))


def experiment(folder: Path, ltp_fraction: float, seed: int, fs_khz: float = 100.0, interval_s: float = 15.0,
               baseline_min: float = 20.0, post_min: float = 60.0, ptp_fraction: float = 1.0) -> dict:
    """Baseline and post files for one slice; returns the paths and the true change (%)."""
    rng = np.random.default_rng(seed)
    n_b, n_p = int(baseline_min * 60 / interval_s), int(post_min * 60 / interval_s)
    tb = np.arange(n_b) * interval_s / 60
    base = (1 - 0.5 * np.exp(-tb / 3.0)) * rng.normal(1, 0.04, n_b)     # run-up early in the baseline
    tp = np.arange(n_p) * interval_s / 60
    post = (1 + ltp_fraction + ptp_fraction * np.exp(-tp / 3.0)) * rng.normal(1, 0.04, n_p)
    start = dt.datetime(2026, 3, 2, 10, 0, 0)
    paths = {"baseline": folder / f"slice{seed}_baseline.abf", "post": folder / f"slice{seed}_post.abf"}
    _, yb = sweeps(base, rng, fs_khz, drift_mv=0.3)
    write_abf1(paths["baseline"], yb, fs_khz, interval_s, start)
    _, yp = sweeps(post, rng, fs_khz, dc_mv=-1.7, drift_mv=0.7)
    write_abf1(paths["post"], yp, fs_khz, interval_s, start + dt.timedelta(minutes=baseline_min + 2))
    n_last = int(10 * 60 / interval_s)
    truth = 100 * (post[-n_last:].mean() / base[-20:].mean() - 1)
    return {**paths, "truth_percent": float(truth)}
