"""Power by simulation: replicate a protocol's trial many times and count significant primary results.

Each replicate ``r`` has its own seed, drawn once from ``numpy.random.SeedSequence(seed)``, so a
replicate's trial and its analysis do not depend on which worker runs it or in which chunk: the
power for a seed is the same whatever the number of workers. Replicates run on Dask (a
``LocalCluster`` by default, or an existing scheduler given by its address), in chunks, with a
progress bar on stderr; ``workers=0`` runs them in this process without Dask.

A replicate succeeds when the primary endpoint's two-sided test is significant at the protocol's
alpha and the estimate favours the active arm (lower MADRS, or more responders). The power's
interval is the exact (Clopper-Pearson) binomial interval over replicates. ``target_power`` searches
the patients per arm: doubling until the target is reached, then bisection, with the same
replicate seeds at every size (common random numbers).
"""
from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .. import __version__
from ..errors import AdpharmInputError
from .known_misses import warnings_for
from .primary import primary_test
from .protocol import TrialProtocol, load_protocol
from ..lazy import lazy_module
from ..display import NotebookDisplay, table_text

stats = lazy_module("scipy.stats")

MAX_REPS = 100_000
#: replicates when none are given (Monte Carlo SE of a power near 0.8: about 0.018)
DEFAULT_REPS = 500
#: the fewest replicates per size a sample-size search accepts: below it Monte Carlo noise (SE 0.028 at
#: power 0.8 and 200 replicates) makes the walked curve zigzag and the chosen size arbitrary
MIN_SEARCH_REPS = 200


def null_protocol(proto: TrialProtocol) -> TrialProtocol:
    """The protocol under the null: every arm given what the control arm is given (the protocol's drug replaced
    by its placebo), so that the primary analysis's rejection rate is its type I error."""
    ref = proto.reference_arm
    if not ref.is_control:
        raise AdpharmInputError(f"null: protocol {proto.id} has no placebo (control) arm to give every arm")
    arms = []
    for a in proto.arms:
        if a.id == ref.id:
            arms.append(a)
        else:
            arms.append(ref.model_copy(update={"id": a.id, "label": a.label, "ratio": a.ratio}))
    return proto.model_copy(update={"arms": arms, "id": f"{proto.id}-null", "name": f"{proto.name} (null)"})


def replicate_seeds(seed: int, reps: int) -> list[int]:
    """The seed of every replicate (independent of how replicates are split across workers)."""
    return [int(s) for s in np.random.SeedSequence(seed).generate_state(reps, dtype=np.uint32)]


#: how often real trials of approved antidepressants succeed, to read a simulated power against
PUBLISHED_SUCCESS = {"value": 38 / 74, "what": ("38 of 74 FDA-registered trials of 12 antidepressants (12,564 patients) "
                                                "were positive in the FDA's analysis (51 %)"),
                     "refs": ["turner2008"]}


def run_chunk(proto: TrialProtocol, n_per_arm: int, chunk: list[tuple[int, int]]) -> list[dict]:
    """Simulate and analyse the replicates ``(index, seed)`` of one chunk (runs on a worker)."""
    from .simulate import simulate_trials
    out = []
    trials = simulate_trials(proto, n_per_arm, [s for _, s in chunk])
    for (i, s), trial in zip(chunk, trials):
        est, p = primary_test(proto, trial.data)
        ok = est is not None and p is not None and p < proto.primary.alpha and est < 0
        out.append({"rep": i, "seed": s, "estimate": est, "p": p, "success": bool(ok)})
    return out


@dataclass
class PowerResult(NotebookDisplay):
    protocol: str
    endpoint: dict
    n_per_arm: int
    reps: int
    seed: int
    power: float
    ci_lb: float
    ci_ub: float
    replicates: pd.DataFrame
    workers: str
    search: list[dict] = field(default_factory=list)
    target_power: float | None = None
    #: the model's known misses that concern this protocol (:mod:`.known_misses`)
    warnings: list[str] = field(default_factory=list)
    #: True when every arm was given the control's treatment (the rate is the type I error)
    null: bool = False

    @property
    def rejection_rate(self) -> float:
        """The share of replicates whose two-sided test is significant at the endpoint's alpha, in either
        direction: the type I error under the null (power counts only results favouring the active arm)."""
        p = self.replicates["p"].astype(float)
        return float((p < self.endpoint.get("alpha", 0.05)).mean())

    @property
    def rate(self) -> float:
        """What the run estimates: the type I error under ``null``, else the power."""
        return self.rejection_rate if self.null else self.power

    @property
    def mc_se(self) -> float:
        """Monte Carlo standard error of :attr:`rate`, ``sqrt(r (1 - r) / reps)``."""
        return math.sqrt(self.rate * (1 - self.rate) / self.reps)

    def estimate_stats(self) -> dict:
        """Mean and SD of the estimated effect over the replicates that have one, and how many have none."""
        est = self.replicates["estimate"].astype(float)
        ok = est.dropna()
        return {"mean_estimate": float(ok.mean()) if len(ok) else None,
                "sd_estimate": float(ok.std(ddof=1)) if len(ok) > 1 else None,
                "replicates_without_estimate": int(est.isna().sum()),
                "share_without_estimate": float(est.isna().mean())}

    def text(self) -> str:
        """The lines a user reads: power (or type I error) with its Monte Carlo error and the estimated effect,
        and the power by size of a sample-size search."""
        st = self.estimate_stats()
        what = "type I error (two-sided; every arm given the control)" if self.null else "power"
        fmt = lambda x: "n/a" if x is None else f"{x:.3f}"  # noqa: E731
        lo, hi = (_clopper_pearson(int(round(self.rate * self.reps)), self.reps) if self.null
                  else (self.ci_lb, self.ci_ub))
        out = (f"{self.protocol}: {what} {self.rate:.3f} (Monte Carlo SE {self.mc_se:.3f}; 95 % CI "
               f"{lo:.3f}-{hi:.3f}) with {self.n_per_arm} per arm, {self.reps} replicates, seed "
               f"{self.seed} ({self.workers})\n"
               f"estimated effect over replicates: mean {fmt(st['mean_estimate'])}, SD {fmt(st['sd_estimate'])}; "
               f"replicates without an estimate: {st['replicates_without_estimate']} "
               f"({100 * st['share_without_estimate']:.1f} %)\n")
        if self.search:
            out += table_text(self.summary(), ".3f") + "\n"
        return out

    def summary(self) -> pd.DataFrame:
        if self.search:
            return pd.DataFrame(self.search)
        return pd.DataFrame([{"n_per_arm": self.n_per_arm, "reps": self.reps, "power": self.power,
                              "ci_lb": self.ci_lb, "ci_ub": self.ci_ub}])

    def to_dict(self) -> dict:
        return {"power": self.power, "mc_se": self.mc_se, "ci_lb": self.ci_lb, "ci_ub": self.ci_ub, "reps": self.reps,
                "n_per_arm": self.n_per_arm, "target_power": self.target_power, "search": self.search or None,
                "null": self.null, "type_i_error": self.rejection_rate if self.null else None,
                "endpoint": self.endpoint, "warnings": list(self.warnings), **self.estimate_stats(),
                "provenance": {"protocol": self.protocol, "seed": self.seed, "adpharm": __version__,
                               "model": _model_version(),
                               "replicate_seeds": "numpy SeedSequence(seed).generate_state(reps, uint32)",
                               "interval": "Clopper-Pearson exact 95 %", "executor": self.workers,
                               "success": "two-sided p < alpha with the estimate favouring the active arm",
                               "between_trial": ("each replicate draws its own trial effect on the placebo logits "
                                                 "(placebo_trial_logit_sd, from the placebo arms of Linde 2015), so "
                                                 "power carries the between-trial spread of real trials"),
                               "published_success_rate": PUBLISHED_SUCCESS,
                               "research_use_only": True}}

    def plot(self, ax=None):
        from ..figures import pyplot
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(5.5, 3.8), constrained_layout=True)
        s = self.summary().sort_values("n_per_arm")
        pw, lo, hi = (s[k].to_numpy(float) for k in ("power", "ci_lb", "ci_ub"))
        ax.errorbar(s["n_per_arm"].to_numpy(float), pw, yerr=[pw - lo, hi - pw], marker="o", capsize=3)
        if self.target_power:
            ax.axhline(self.target_power, ls="--", color="grey")
        ax.set(xlabel="patients per arm", ylabel="power", ylim=(0, 1),
               title=f"{self.protocol}: {self.reps} replicates, seed {self.seed}")
        return ax


def _model_version() -> str:
    from ..mechanism.model import load
    from ..mechanism.simulate import model_version
    return model_version(load())


def _clopper_pearson(k: int, n: int) -> tuple[float, float]:
    ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="exact")
    return float(ci.low), float(ci.high)


class Progress:
    """A progress bar on stderr (``enabled=True``) or a callback ``(done, total)``; a callback that
    raises stops the run between chunks (the web app cancels a job this way)."""

    def __init__(self, total: int, enabled, label: str):
        self.total, self.done, self.enabled, self.label = total, 0, enabled, label

    def update(self, k: int) -> None:
        self.done += k
        if callable(self.enabled):
            self.enabled(self.done, self.total)
        elif self.enabled:
            w = 30
            f = int(w * self.done / self.total)
            sys.stderr.write(f"\r{self.label} [{'#' * f}{' ' * (w - f)}] {self.done}/{self.total}")
            if self.done >= self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


class Executor:
    """Runs chunks in this process (``workers=0``) or on Dask (a LocalCluster or a scheduler address)."""

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        if workers is not None and (not isinstance(workers, int) or workers < 0 or workers > 256):
            raise AdpharmInputError(f"{workers!r} must be a whole number from 0 to 256", field="workers")
        self.workers, self.scheduler = workers, scheduler
        self.client = self.cluster = None
        if workers == 0 and scheduler is None:
            self.name = "in-process (no Dask)"
            return
        try:
            from dask.distributed import Client, LocalCluster
        except ImportError:  # pragma: no cover - the trials extra installs dask
            raise AdpharmInputError("power on Dask needs dask[distributed] (pip install adpharm[trials]); "
                                    "or give workers=0") from None
        if scheduler is not None:
            try:
                self.client = Client(scheduler, timeout="10s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise AdpharmInputError(f"{scheduler}: cannot connect ({exc})", field="scheduler") from None
            self.name = f"Dask scheduler {scheduler}"
        else:
            n = workers or max(1, min(os.cpu_count() or 1, 8))
            self.cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                        dashboard_address=":0", silence_logs=40)
            self.client = Client(self.cluster)
            self.name = f"Dask LocalCluster, {n} worker{'s' if n > 1 else ''}"

    @property
    def n_slots(self) -> int:
        if self.client is None:
            return 1
        return max(1, sum(self.client.nthreads().values()))

    def map(self, fn, args: list, progress: Progress, size=lambda a: len(a[-1])) -> list:
        """``fn(*a)`` for each ``a`` of ``args``, in order; ``size(a)`` is how far each call moves the progress."""
        if self.client is None:
            out = []
            for a in args:
                out.append(fn(*a))
                progress.update(size(a))
            return out
        from dask.distributed import as_completed
        futures = [self.client.submit(fn, *a, pure=False) for a in args]
        index = {f.key: i for i, f in enumerate(futures)}
        out = [None] * len(futures)
        for fut in as_completed(futures):
            out[index[fut.key]] = fut.result()
            progress.update(size(args[index[fut.key]]))
        return out

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _power_at(proto, n, seeds, ex: Executor, progress) -> pd.DataFrame:
    reps = len(seeds)
    # a callback (the web app) hears about every ~5 % of the replicates
    size = max(1, min(50, math.ceil(reps / (2 * ex.n_slots)), math.ceil(reps / 20) if callable(progress) else 50))
    items = list(enumerate(seeds))
    chunks = [items[i:i + size] for i in range(0, reps, size)]
    bar = Progress(reps, progress, f"power n/arm {n}")
    parts = ex.map(run_chunk, [(proto, n, c) for c in chunks], bar)
    return pd.DataFrame([r for p in parts for r in p]).sort_values("rep").reset_index(drop=True)


def power(protocol: TrialProtocol | str, reps: int = DEFAULT_REPS, *, n_per_arm: int | None = None,
          target_power: float | None = None, seed: int = 0, workers: int | None = None,
          scheduler: str | None = None, progress=False, max_n_per_arm: int = 2000, null: bool = False) -> PowerResult:
    """Power of a protocol's primary endpoint by simulation.

    Parameters
    ----------
    protocol : a protocol, a bundled name or a file.
    reps : replicate trials.
    n_per_arm : patients per arm (default the protocol's); not with ``target_power``.
    target_power : search the smallest patients per arm reaching this power (0-1).
    seed : seed of the replicate seeds.
    workers : Dask LocalCluster workers (default: the machine's cores, at most 8); 0 runs in this process.
    scheduler : address of an existing Dask scheduler (``tcp://host:8786``).
    progress : draw a progress bar on stderr, or a callable ``(done, total)`` told after each chunk.

    Examples
    --------
    >>> r = power("ssri-mdd-8wk", 20, n_per_arm=50, seed=1, workers=0)   # doctest: +SKIP
    >>> 0 <= r.power <= 1                                                     # doctest: +SKIP
    True
    """
    proto = protocol if isinstance(protocol, TrialProtocol) else load_protocol(protocol)
    if not isinstance(reps, (int, np.integer)) or not 1 <= reps <= MAX_REPS:
        raise AdpharmInputError(f"{reps!r} must be a whole number from 1 to {MAX_REPS:,}", field="reps")
    if null:
        proto = null_protocol(proto)
    if n_per_arm is not None and target_power is not None:
        raise AdpharmInputError("give n_per_arm or target_power, not both")
    if target_power is not None and not 0 < target_power < 1:
        raise AdpharmInputError(f"{target_power!r} must be between 0 and 1", field="target_power")
    if target_power is not None and reps < MIN_SEARCH_REPS:
        raise AdpharmInputError(f"{reps} replicates per size is too few for target_power (at least "
                                f"{MIN_SEARCH_REPS}: Monte Carlo noise, SE {math.sqrt(0.16 / reps):.3f} at power "
                                f"0.8, would make the search's curve zigzag and its answer arbitrary)", field="reps")
    if n_per_arm is not None and not 1 <= n_per_arm <= 20_000:
        raise AdpharmInputError(f"{n_per_arm!r} must be from 1 to 20,000", field="n_per_arm")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise AdpharmInputError(f"{seed!r} must be a non-negative whole number", field="seed")
    seeds = replicate_seeds(int(seed), int(reps))
    endpoint = proto.primary.model_dump()
    misses = warnings_for(proto.id, *{f"drug:{t.drug}" for a in proto.arms for t in a.treatments})
    with Executor(workers, scheduler) as ex:
        if target_power is None:
            n = proto.n_per_arm if n_per_arm is None else int(n_per_arm)
            reps_df = _power_at(proto, n, seeds, ex, progress)
            k = int(reps_df["success"].sum())
            lo, hi = _clopper_pearson(k, reps)
            return PowerResult(protocol=proto.id, endpoint=endpoint, n_per_arm=n, reps=reps, seed=int(seed),
                               power=k / reps, ci_lb=lo, ci_ub=hi, replicates=reps_df, workers=ex.name, warnings=misses,
                               null=null)
        tried: dict[int, pd.DataFrame] = {}

        def pw(n):
            if n not in tried:
                tried[n] = _power_at(proto, n, seeds, ex, progress)
            return float(tried[n]["success"].mean())
        lo_n, hi_n = 1, max(2, proto.n_per_arm // 2)
        while pw(hi_n) < target_power:
            lo_n = hi_n
            if hi_n >= max_n_per_arm:
                raise AdpharmInputError(f"{target_power} is not reached with {max_n_per_arm} patients "
                                        f"per arm (power {pw(hi_n):.3f})", field="target_power")
            hi_n = min(2 * hi_n, max_n_per_arm)
        while hi_n - lo_n > max(1, int(0.02 * hi_n)):
            mid = (lo_n + hi_n) // 2
            if pw(mid) >= target_power:
                hi_n = mid
            else:
                lo_n = mid
        search = []
        for n in sorted(tried):
            k = int(tried[n]["success"].sum())
            lo, hi = _clopper_pearson(k, reps)
            search.append({"n_per_arm": n, "power": k / reps, "mc_se": math.sqrt(k / reps * (1 - k / reps) / reps),
                           "ci_lb": lo, "ci_ub": hi})
        k = int(tried[hi_n]["success"].sum())
        lo, hi = _clopper_pearson(k, reps)
        return PowerResult(protocol=proto.id, endpoint=endpoint, n_per_arm=hi_n, reps=reps, seed=int(seed),
                           power=k / reps, ci_lb=lo, ci_ub=hi, replicates=tried[hi_n], workers=ex.name, search=search,
                           target_power=target_power, warnings=misses, null=null)
