"""Exact solution of linear compartment models under dosing, vectorised over subjects.

A linear model ``dx/dt = A x + r(t)`` with piecewise-constant input ``r`` (zero-order infusions)
and instantaneous inputs (boluses, doses into absorption depots) has the exact solution, over a
step of length ``dt`` with constant ``r``,

    x(t + dt) = Phi(dt) x(t) + Psi(dt) r,   Phi = expm(A dt),   Psi = integral_0^dt expm(A s) ds,

which is superposition of every dose event written step by step. ``Phi`` and ``Psi`` come from
one matrix exponential of the block matrix ``[[A, I], [0, 0]] dt`` (Van Loan 1978), so ``A`` may be
singular and eigenvalues may repeat (ka equal to an elimination rate) without special cases.
Every subject has its own ``A``; steps of the same length share one batched exponential.

References
----------
.. [1] Van Loan CF (1978). Computing integrals involving the matrix exponential.
   IEEE Trans Automat Control 23(3):395-404. doi:10.1109/TAC.1978.1101743
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm


@dataclass(frozen=True)
class Bolus:
    """``amount`` (mg, one per subject) added to state ``state`` at ``time_h``."""

    time_h: float
    state: int
    amount: np.ndarray


@dataclass(frozen=True)
class Infusion:
    """Zero-order input of ``rate`` (mg/h, one per subject) into ``state`` from ``start_h`` to ``end_h``."""

    start_h: float
    end_h: float
    state: int
    rate: np.ndarray


def _step_matrices(a: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    s, n, _ = a.shape
    block = np.zeros((s, 2 * n, 2 * n))
    block[:, :n, :n] = a * dt
    block[:, :n, n:] = np.eye(n) * dt
    e = expm(block)
    return e[:, :n, :n], e[:, :n, n:]


def propagate(a: np.ndarray, times_h: np.ndarray, boluses: list[Bolus] = (), infusions: list[Infusion] = ()) -> np.ndarray:
    """States at ``times_h`` for every subject: array ``(subjects, times, states)``.

    The system starts empty at time 0 (or at the first event, if earlier). A bolus given at an
    output time is counted in that output (the state just after the dose).
    """
    a = np.asarray(a, dtype=float)
    s, n, _ = a.shape
    times_h = np.asarray(times_h, dtype=float)
    marks = [0.0, *times_h.tolist(), *(b.time_h for b in boluses)]
    for inf in infusions:
        marks += [inf.start_h, inf.end_h]
    grid = np.unique(np.round(np.asarray(marks, dtype=float), 9))
    out = np.zeros((s, times_h.size, n))
    out_index = {round(float(t), 9): [] for t in times_h}
    for i, t in enumerate(times_h):
        out_index[round(float(t), 9)].append(i)
    by_time: dict[float, list[Bolus]] = {}
    for b in boluses:
        by_time.setdefault(round(b.time_h, 9), []).append(b)
    cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    x = np.zeros((s, n))
    for k, t in enumerate(grid):
        for b in by_time.get(float(t), ()):
            x[:, b.state] += b.amount
        for i in out_index.get(float(t), ()):
            out[:, i] = x
        if k + 1 == grid.size:
            break
        dt = float(grid[k + 1] - t)
        key = round(dt, 12)
        if key not in cache:
            cache[key] = _step_matrices(a, dt)
        phi, psi = cache[key]
        mid = t + dt / 2
        active = [inf for inf in infusions if inf.start_h <= mid < inf.end_h]
        x = np.einsum("sij,sj->si", phi, x)
        if active:
            r = np.zeros((s, n))
            for inf in active:
                r[:, inf.state] += inf.rate
            x += np.einsum("sij,sj->si", psi, r)
    return out
