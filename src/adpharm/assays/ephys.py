"""Reading evoked field-potential recordings: Axon ABF (ABF1 and ABF2, via pyabf) and CSV.

A recording is a stack of sweeps on one time base, with each sweep's start time, so that
several files (baseline, induction, post) can be laid on one clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError


@dataclass
class Recording:
    """Sweeps (mV) of one channel of one file: ``sweeps[i, j]`` at ``t_ms[j]`` of sweep ``i``."""

    path: str
    sweeps: np.ndarray
    t_ms: np.ndarray
    sweep_start_s: np.ndarray
    started: datetime | None
    protocol: str
    unit: str
    #: every channel of the file as "index name (unit)", so that an error can say which to choose
    channels: tuple[str, ...] = ()
    channel: int = 0

    @property
    def dt_ms(self) -> float:
        return float(self.t_ms[1] - self.t_ms[0])

    def absolute_start_s(self) -> np.ndarray:
        """Sweep start times in seconds since the file's start (or since the epoch when known)."""
        return self.sweep_start_s + (self.started.timestamp() if self.started else 0.0)


def read_abf(path: str | Path, channel: int = 0) -> Recording:
    """An ABF file (pyabf). Errors name the file and the reason; a truncated file is refused."""
    try:
        import pyabf
    except ImportError:  # pragma: no cover - pyabf ships with the [assays] extra that make installs
        raise AdpharmInputError("reading ABF files needs pyabf: pip install 'adpharm[assays]'") from None
    p = Path(path)
    if not p.is_file():
        raise AdpharmInputError(f"{p}: no such file")
    try:
        abf = pyabf.ABF(str(p))
        if channel >= abf.channelCount:
            raise AdpharmInputError(f"{p}: channel {channel} requested, the file has {abf.channelCount}")
        abf.setSweep(0, channel=channel)
        t_ms = np.array(abf.sweepX, dtype=float) * 1000
        points = abf.sweepPointCount
        if abf.data.shape[1] == abf.sweepCount * points:    # fixed-length sweeps laid end to end: slice them
            sweeps = list(np.asarray(abf.data[channel], dtype=float).reshape(abf.sweepCount, points))
        else:   # variable-length sweeps: pyabf finds each one (setSweep rebuilds the epoch table, O(sweeps^2))
            sweeps = []
            for i in range(abf.sweepCount):
                abf.setSweep(i, channel=channel)
                sweeps.append(np.array(abf.sweepY, dtype=float))
        starts = np.array(abf.sweepTimesSec, dtype=float)
        if abf.abfVersion["major"] == 1:
            interval = _abf1_episode_interval_s(p)
            if interval > abf.sweepLengthSec:   # pyabf lays ABF1 sweeps end to end; pClamp records the real pace
                starts = np.arange(abf.sweepCount) * interval
    except AdpharmInputError:
        raise
    except Exception as exc:  # pyabf raises many kinds on damaged files
        raise AdpharmInputError(f"{p}: not a readable ABF file ({type(exc).__name__}: {str(exc)[:120]})") from None
    lengths = {len(s) for s in sweeps}
    if not sweeps or len(lengths) != 1 or lengths.pop() < 10:
        raise AdpharmInputError(f"{p}: no complete sweeps (truncated file?)")
    names = [f"{i} {n} ({u})" for i, (n, u) in enumerate(zip(abf.adcNames, abf.adcUnits))]
    return Recording(str(p), np.vstack(sweeps), t_ms, starts, abf.abfDateTime, str(abf.protocol),
                     str(abf.adcUnits[channel]), tuple(names), channel)


def _abf1_episode_interval_s(p: Path) -> float:
    """fEpisodeStartToStart of an ABF1 header (byte offset 178, float32, seconds; Axon ABF1 layout)."""
    import struct
    with open(p, "rb") as f:
        head = f.read(182)
    return float(struct.unpack_from("<f", head, 178)[0]) if len(head) == 182 else 0.0


def read_csv(path: str | Path, sweep_interval_s: float = 15.0) -> Recording:
    """A CSV with a ``time_ms`` column and one column per sweep (mV), sweeps ``sweep_interval_s`` apart."""
    from ..io import read_table
    df = read_table(path)
    if "time_ms" not in df.columns:
        raise AdpharmInputError(f"{path}: missing column 'time_ms' (then one column per sweep, in mV)")
    ys = df.drop(columns="time_ms").apply(pd.to_numeric, errors="coerce")
    if ys.shape[1] == 0:
        raise AdpharmInputError(f"{path}: no sweep columns beside 'time_ms'")
    bad = ys.columns[ys.isna().any()].tolist()
    if bad:
        raise AdpharmInputError(f"{path}: column {bad[0]!r} has missing or non-numeric values")
    t = pd.to_numeric(df["time_ms"], errors="coerce").to_numpy(float)
    if np.any(~np.isfinite(t)) or np.any(np.diff(t) <= 0):
        raise AdpharmInputError(f"{path}: column 'time_ms' must increase strictly")
    n = ys.shape[1]
    return Recording(str(path), ys.to_numpy(float).T, t, np.arange(n) * sweep_interval_s, None, "csv", "mV",
                     ("0 sweeps (mV)",), 0)


def read_recording(path: str | Path, **kw) -> Recording:
    """ABF or CSV by suffix (``channel`` picks an ABF channel; a CSV has one, channel 0)."""
    suffix = Path(path).suffix.lower()
    if suffix == ".abf":
        return read_abf(path, **{k: v for k, v in kw.items() if k == "channel"})
    if suffix in (".csv", ".tsv"):
        if kw.get("channel", 0) not in (0, None):
            raise AdpharmInputError(f"{path}: channel {kw['channel']} requested, a CSV recording has one (0)")
        return read_csv(path, **{k: v for k, v in kw.items() if k == "sweep_interval_s"})
    raise AdpharmInputError(f"{path}: unsupported recording format {suffix!r} (use .abf or .csv)")
