"""Exact solution of linear compartment models under dosing, vectorised over subjects.

A linear model ``dx/dt = A x + r(t)`` with piecewise-constant input ``r`` (zero-order infusions)
and instantaneous inputs (boluses, doses into absorption depots) has the exact solution, over a
step of length ``dt`` with constant ``r``,

    x(t + dt) = Phi(dt) x(t) + Psi(dt) r,   Phi = expm(A dt),   Psi = integral_0^dt expm(A s) ds,

which is superposition of every dose event written step by step. Every subject has its own ``A``.
Each ``A`` is diagonalised once (``A = V diag(lam) V^-1``), so that a step of any length costs two
batched products (``Phi = V e^(lam dt) V^-1``, ``Psi = V (e^(lam dt) - 1)/lam V^-1``, ``dt`` where
``lam = 0``); where the eigenvectors are ill-conditioned (eigenvalues that nearly repeat, ka equal
to an elimination rate) ``Phi`` and ``Psi`` come from one matrix exponential of the block matrix
``[[A, I], [0, 0]] dt`` (Van Loan 1978), which needs no special cases. Steps of the same length
share their matrices.

A system whose ``A`` depends slowly on its own state (CYP2D6 autoinhibition) is solved as a
sequence of linear systems: the stepper keeps the exact integral of the state since the last dose
(``Psi x``) and, at each dose, replaces ``A`` by ``update(mean state over the interval)``, which
is diagonalised in turn.

References
----------
.. [1] Van Loan CF (1978). Computing integrals involving the matrix exponential.
   IEEE Trans Automat Control 23(3):395-404. doi:10.1109/TAC.1978.1101743
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

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


def _eigen(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Eigen-decomposition ``A = V diag(lam) V^-1`` per subject, or None when ``V`` is ill-conditioned
    (nearly repeated rates), where the block exponential is the safe route."""
    lam, vec = np.linalg.eig(a)
    if not np.all(np.isfinite(lam)) or np.max(np.linalg.cond(vec)) > 1e8:
        return None
    return lam, vec, np.linalg.inv(vec)


def _step_matrices_eigen(eig: tuple[np.ndarray, np.ndarray, np.ndarray], dt: float) -> tuple[np.ndarray, np.ndarray]:
    """``Phi = V e^(lam dt) V^-1`` and ``Psi = V (e^(lam dt) - 1)/lam V^-1`` (``dt`` where lam = 0)."""
    lam, vec, inv = eig
    z = lam * dt
    small = np.abs(z) < 1e-8
    phi1 = np.where(small, 1.0 + z / 2, np.expm1(np.where(small, 1.0, z)) / np.where(small, 1.0, z))
    phi = (vec * np.exp(z)[:, None, :]) @ inv          # batched matmul: 3x faster than a 3-operand einsum
    psi = (vec * (phi1 * dt)[:, None, :]) @ inv
    if np.iscomplexobj(phi):
        phi, psi = phi.real, psi.real
    return phi, psi


class Stepper:
    """Exact stepping of one linear system for every subject: doses at instants, constant infusions between.

    ``dose(t)`` adds the boluses given at ``t``; ``advance(t, dt)`` moves the state from ``t`` to
    ``t + dt`` (no dose event strictly inside; an infusion counts when active at the midpoint).
    Steps of the same length share one batched matrix exponential. With ``update``, the matrix is
    replaced at every dose by ``update(mean state since the previous dose)``.
    """

    def __init__(self, a: np.ndarray, boluses: list[Bolus] = (), infusions: list[Infusion] = (),
                 update: Callable[[np.ndarray], np.ndarray] | None = None):
        self.a = np.asarray(a, dtype=float)
        self.x = np.zeros(self.a.shape[:2])
        self.infusions = list(infusions)
        self._by_time: dict[float, list[Bolus]] = {}
        for b in boluses:
            self._by_time.setdefault(round(b.time_h, 9), []).append(b)
        self._cache: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self.update = update
        self._integral = np.zeros_like(self.x)
        self._elapsed = 0.0
        # eigen-decomposition of the matrix (cheap steps of any length); None where it is ill-conditioned,
        # and the block matrix exponential is used instead
        self._eig = _eigen(self.a)

    def event_times(self) -> list[float]:
        return [*self._by_time, *(t for inf in self.infusions for t in (inf.start_h, inf.end_h))]

    def dose(self, t: float) -> None:
        given = self._by_time.get(round(float(t), 9), ())
        if given and self.update is not None and self._elapsed > 0:
            self.a = np.asarray(self.update(self._integral / self._elapsed), dtype=float)
            self._cache.clear()
            self._eig = _eigen(self.a)
            self._integral = np.zeros_like(self.x)
            self._elapsed = 0.0
        for b in given:
            self.x[:, b.state] += b.amount

    def advance(self, t: float, dt: float) -> None:
        key = round(dt, 12)
        if key not in self._cache:
            self._cache[key] = (_step_matrices(self.a, dt) if self._eig is None
                                else _step_matrices_eigen(self._eig, dt))
        phi, psi = self._cache[key]
        mid = t + dt / 2
        active = [inf for inf in self.infusions if inf.start_h <= mid < inf.end_h]
        x = np.einsum("sij,sj->si", phi, self.x)
        if self.update is not None:
            self._integral += np.einsum("sij,sj->si", psi, self.x)
            self._elapsed += dt
        if active:
            r = np.zeros_like(x)
            for inf in active:
                r[:, inf.state] += inf.rate
            x += np.einsum("sij,sj->si", psi, r)
            if self.update is not None:
                # the infusion's share of the integral, to first order in dt
                self._integral += np.einsum("sij,sj->si", psi, r) * (dt / 2)
        self.x = x


def propagate(a: np.ndarray, times_h: np.ndarray, boluses: list[Bolus] = (), infusions: list[Infusion] = (),
              update: Callable[[np.ndarray], np.ndarray] | None = None) -> np.ndarray:
    """States at ``times_h`` for every subject: array ``(subjects, times, states)``.

    The system starts empty at time 0 (or at the first event, if earlier). A bolus given at an
    output time is counted in that output (the state just after the dose). ``update`` is the
    state-dependent matrix of :class:`Stepper`.
    """
    stepper = Stepper(a, boluses, infusions, update)
    times_h = np.asarray(times_h, dtype=float)
    grid = np.unique(np.round(np.asarray([0.0, *times_h.tolist(), *stepper.event_times()], dtype=float), 9))
    out = np.zeros((stepper.x.shape[0], times_h.size, stepper.x.shape[1]))
    out_index: dict[float, list[int]] = {}
    for i, t in enumerate(times_h):
        out_index.setdefault(round(float(t), 9), []).append(i)
    for k, t in enumerate(grid):
        stepper.dose(float(t))
        for i in out_index.get(float(t), ()):
            out[:, i] = stepper.x
        if k + 1 < grid.size:
            stepper.advance(float(t), float(grid[k + 1] - t))
    return out
