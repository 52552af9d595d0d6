"""Very large virtual populations in chunks, with summary statistics streamed and memory bounded
by the chunk, not by the population.

:func:`simulate_streamed` splits ``n`` patients into chunks, gives each chunk its own random stream
(``numpy.random.SeedSequence(seed).spawn``), simulates each with
:func:`adpharm.mechanism.simulate.simulate` and keeps only running statistics per output time:
mean and variance of the MADRS of both arms (Chan's parallel update), response and remission
counts, and a histogram of the MADRS (0.25-point bins) from which percentiles are read. The state
trajectories are population means. A run is reproducible for a given ``seed`` and ``chunk``.

References
----------
Chan TF, Golub GH, LeVeque RJ (1983). Algorithms for computing the sample variance: analysis and
recommendations. Am Stat 37(3):242-247. doi:10.1080/00031305.1983.10483115
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..pharmacology.simulate import PERCENTILES
from .population import Population
from .simulate import (MAX_PATIENTS, day_index, early_onset, early_onset_line, model_version, onset_day,
                       population_line, regimen_text, simulate)
from .symptoms import remitters, responders
from ..display import NotebookDisplay, table_text

#: default patients per chunk (the benchmark measures the peak memory it needs)
DEFAULT_CHUNK = 20_000
#: the command line streams above this many patients (per-patient arrays would pass a few GB)
STREAM_ABOVE = 50_000
#: MADRS histogram: 0 to 60 in 0.25-point bins (percentiles are read to this resolution)
BIN_WIDTH_MADRS = 0.25
_EDGES = np.arange(0.0, 60.0 + BIN_WIDTH_MADRS / 2, BIN_WIDTH_MADRS)


@dataclass
class ArmStats:
    """Running per-time statistics of one arm's MADRS."""

    n: int
    mean: np.ndarray
    m2: np.ndarray
    responders: np.ndarray
    remitters: np.ndarray
    histogram: np.ndarray      # (times, bins)

    @classmethod
    def empty(cls, n_times: int) -> "ArmStats":
        z = np.zeros(n_times)
        return cls(0, z.copy(), z.copy(), np.zeros(n_times, np.int64), np.zeros(n_times, np.int64),
                   np.zeros((n_times, _EDGES.size - 1), np.int64))

    def add(self, scores: np.ndarray, baseline: np.ndarray, remission_threshold: float) -> None:
        """Fold a chunk's ``(patients, times)`` scores in (Chan et al. 1983)."""
        m = scores.shape[0]
        mean_b = scores.mean(axis=0)
        m2_b = ((scores - mean_b) ** 2).sum(axis=0)
        tot = self.n + m
        delta = mean_b - self.mean
        self.mean = self.mean + delta * m / tot
        self.m2 = self.m2 + m2_b + delta ** 2 * self.n * m / tot
        self.n = tot
        self.responders += responders(scores, baseline).sum(axis=0)
        self.remitters += remitters(scores, remission_threshold).sum(axis=0)
        bins = _EDGES.size - 1
        idx = np.clip(np.floor(scores / BIN_WIDTH_MADRS).astype(np.int64), 0, bins - 1)
        flat = (idx + bins * np.arange(scores.shape[1])).ravel()      # one histogram per output time
        self.histogram += np.bincount(flat, minlength=self.histogram.size).reshape(self.histogram.shape)

    @property
    def sd(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.n - 1, 1))

    def percentile(self, q: float) -> np.ndarray:
        """The ``q``-th percentile at each time, interpolated within the histogram bin."""
        cum = np.cumsum(self.histogram, axis=1)
        target = q / 100 * self.n
        out = np.empty(cum.shape[0])
        for j in range(cum.shape[0]):
            k = int(np.searchsorted(cum[j], target))
            k = min(k, cum.shape[1] - 1)
            below = cum[j, k - 1] if k else 0
            inside = self.histogram[j, k]
            frac = (target - below) / inside if inside else 0.0
            out[j] = _EDGES[k] + frac * BIN_WIDTH_MADRS
        return out


@dataclass
class StreamedResult(NotebookDisplay):
    """Summary statistics of a large population simulated in chunks (no per-patient arrays kept)."""

    label: str
    regimens: list[tuple[str, str]]
    times_h: np.ndarray
    drug: ArmStats
    placebo: ArmStats
    states: dict[str, np.ndarray]
    seed: int | None
    chunk: int
    chunks: int
    model: str
    population: Population | None
    remission_threshold: float
    onset_threshold: float
    warnings: list[str] = field(default_factory=list)
    control: str = "inert"

    @property
    def n(self) -> int:
        return self.drug.n

    @property
    def day_index(self) -> dict[int, int]:
        return day_index(self.times_h)

    def separation(self) -> np.ndarray:
        return self.placebo.mean - self.drug.mean

    def onset_day(self) -> int | None:
        return onset_day(self.separation(), self.times_h, self.onset_threshold)

    def text(self) -> str:
        """The run (patients, chunks, seed, onset day), who the patients are, the table by day and Taylor 2006's
        early-onset measures (monoaminergic drugs)."""
        summary = self.summary()
        return (f"{self.label}: {regimen_text(self.regimens)} ({self.n:,} patients in "
                f"{self.chunks} chunks of at most {self.chunk:,}, seed {self.seed}; onset day {self.onset_day()})\n"
                + population_line(self.population, self.control) + table_text(summary, ".3f") + "\n"
                + early_onset_line(summary, self.regimens))

    def summary(self) -> pd.DataFrame:
        """One row per whole day, with the columns of :meth:`MechanismResult.summary` plus SDs."""
        rows = []
        sep = self.separation()
        for d, i in sorted(self.day_index.items()):
            rows.append({"day": d, "madrs_mean": float(self.drug.mean[i]), "madrs_sd": float(self.drug.sd[i]),
                         "madrs_placebo_mean": float(self.placebo.mean[i]),
                         "madrs_placebo_sd": float(self.placebo.sd[i]), "separation": float(sep[i]),
                         "response_rate": float(self.drug.responders[i] / self.n),
                         "remission_rate": float(self.drug.remitters[i] / self.n),
                         "placebo_response_rate": float(self.placebo.responders[i] / self.n),
                         "placebo_remission_rate": float(self.placebo.remitters[i] / self.n)})
        return pd.DataFrame(rows)

    @staticmethod
    def _percentiles(arm: ArmStats) -> dict[str, list[float]]:
        out = {"mean": arm.mean, "sd": arm.sd, **{f"p{q}": arm.percentile(q) for q in PERCENTILES}}
        return {k: [round(float(x), 4) for x in v] for k, v in out.items()}

    def to_dict(self) -> dict:
        days = self.day_index
        rate = lambda c: {str(d): float(c[i] / self.n) for d, i in days.items()}  # noqa: E731
        return {"drug": self.label, "regimen": regimen_text(self.regimens),
                "time_h": [round(float(t), 6) for t in self.times_h],
                "states": {k: [float(x) for x in v] for k, v in self.states.items()},
                "madrs": self._percentiles(self.drug), "onset_day": self.onset_day(),
                "early_onset": early_onset(self.summary()),
                "response_rate": rate(self.drug.responders), "remission_rate": rate(self.drug.remitters),
                "placebo": {"madrs": self._percentiles(self.placebo), "response_rate": rate(self.placebo.responders),
                            "remission_rate": rate(self.placebo.remitters)},
                "warnings": self.warnings,
                "provenance": {"model": self.model, "seed": self.seed, "n": self.n,
                               "population": self.population.name if self.population else "default",
                               "streamed": {"chunk": self.chunk, "chunks": self.chunks,
                                            "random_streams": "numpy SeedSequence(seed).spawn(chunks), one per chunk",
                                            "percentiles": f"from a {BIN_WIDTH_MADRS:g}-point MADRS histogram",
                                            "variance": "Chan, Golub & LeVeque 1983 parallel update"},
                               "research_use_only": True}}

    def plot(self, ax=None):
        """Mean MADRS of both arms with the 5th-95th percentile band."""
        from ..figures import pyplot
        plt = pyplot()
        ax = ax or plt.subplots(figsize=(7, 4))[1]
        d = self.times_h / 24.0
        for arm, lab in ((self.drug, self.label), (self.placebo, "placebo")):
            ax.plot(d, arm.mean, label=lab)
            ax.fill_between(d, arm.percentile(5), arm.percentile(95), alpha=0.12)
        ax.set(title=f"MADRS (n = {self.n:,}, seed {self.seed}, chunks of {self.chunk:,})", xlabel="day",
               ylabel="MADRS")
        ax.legend(frameon=False)
        return ax


def chunk_sizes(n: int, chunk: int) -> list[int]:
    """``n`` split into nearly equal chunks of at most ``chunk`` patients. A chunk never holds one
    patient (one patient is simulated as the typical patient), so a chunk may hold ``chunk + 1``."""
    if not isinstance(chunk, (int, np.integer)) or chunk < 2:
        raise AdpharmInputError(f"{chunk!r} must be a whole number of at least 2 patients", field="chunk")
    k = max(1, math.ceil(n / chunk))
    if n // k < 2:
        k = max(1, n // 2)
    return [n // k + (i < n % k) for i in range(k)]


def simulate_streamed(regimens, days: float, *, n: int, seed: int | None = None, chunk: int = DEFAULT_CHUNK,
                      **kwargs) -> StreamedResult:
    """Simulate ``n`` virtual patients in chunks of at most ``chunk`` and return streamed summaries.

    ``kwargs`` are those of :func:`adpharm.mechanism.simulate.simulate` (population, control,
    phenotype, thresholds...). Memory is that of one chunk; time grows linearly with ``n``.
    """
    if not isinstance(n, (int, np.integer)) or n < 2 or n > MAX_PATIENTS:
        raise AdpharmInputError(f"{n!r} must be a whole number from 2 to {MAX_PATIENTS:,} for a streamed run",
                                field="n")
    sizes = chunk_sizes(n, chunk)
    streams = np.random.SeedSequence(seed).spawn(len(sizes))
    drug = placebo = None
    states: dict[str, np.ndarray] = {}
    head: dict = {}
    warnings: list[str] = []
    for size, ss in zip(sizes, streams):
        r = simulate(regimens, days, n=size, seed=ss, **kwargs)
        if not head:
            head = {"label": r.label, "regimens": r.regimens, "times_h": r.times_h, "model": model_version(r.model),
                    "population": r.population, "control": r.expectancy.get("control", "inert"),
                    "remission_threshold": r.remission_threshold, "onset_threshold": r.onset_threshold}
            drug, placebo = ArmStats.empty(r.times_h.size), ArmStats.empty(r.times_h.size)
            states = {k: np.zeros_like(v, dtype=float) for k, v in r.states.items()}
        drug.add(r.madrs, r.baseline, r.remission_threshold)
        placebo.add(r.madrs_placebo, r.baseline, r.remission_threshold)
        for k, v in r.states.items():
            states[k] += v * size
        warnings += [w for w in r.warnings if w not in warnings]
        del r
    return StreamedResult(drug=drug, placebo=placebo, states={k: v / n for k, v in states.items()}, seed=seed,
                          chunk=chunk, chunks=len(sizes), warnings=warnings, **head)
