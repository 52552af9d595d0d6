"""Vectorised time integration of the cascade, all virtual patients at once.

Every state obeys ``dx/dt = -d x + N(x, u(t))`` with a constant decay ``d`` (from the model file)
and a nonlinear production ``N`` that depends on the other states and on the inputs ``u`` (the
occupancies, from the exact PK solution). The fourth-order exponential time-differencing
Runge-Kutta scheme of Cox and Matthews treats the decay exactly, so fast states that follow their
drive (glutamate, BDNF release, mTORC1, dissociation) cost no stability limit on the step; the
phi-function coefficients are evaluated by the contour-integral method of Kassam and Trefethen,
which is accurate for every ``d h`` including 0.

The step grid holds every output time and every dose event (bolus, infusion start and end), is
refined geometrically after each event, where the PK changes fastest, and never steps more than
``max_step_h``. The PK is advanced exactly along the same grid (half steps for the scheme's
midpoint stages), so the drive is exact at every stage. The largest step follows the dynamics the
drugs excite (:func:`grid_for`): the glutamatergic chain's fast states (time constants of 15-30 min)
need 15-minute steps while NMDA receptors are occupied, so an NMDA antagonist's run is stepped on a
2-hour grid whose intervals are split into 15-minute steps whenever some patient's NMDA occupancy
exceeds :data:`QUIET_NMDA_OCCUPANCY` at the interval's start (a single ketamine infusion: the first
two days fine, the rest coarse; 3e-5 from libroadrunner at rtol 1e-10, 2.6x faster over 42 days);
without an NMDA drive those states stay at rest and the monoaminergic arm (hours to weeks) is
integrated in steps of up to 2 h, and when every dose is absorbed (oral), the refinement after a
dose starts at a tenth of the absorption time constant and the step grows to 4 h (within 2e-5 of a
0.1-hour grid for every bundled oral drug; tests/mechanism/test_mechanism_sbml.py compares every
case with libroadrunner to 1e-4). The MAOIs keep the fine grid:
their enzyme state is stepped for mean inactivation rates (tranylcypromine 1.6e-4 at 2 h).

References
----------
.. [1] Cox SM, Matthews PC (2002). Exponential time differencing for stiff systems.
   J Comput Phys 176(2):430-455. doi:10.1006/jcph.2002.6995
.. [2] Kassam AK, Trefethen LN (2005). Fourth-order time-stepping for stiff PDEs.
   SIAM J Sci Comput 26(4):1214-1233. doi:10.1137/S1064827502410633
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .drive import DriveStepper
from .model import CascadeModel

_CONTOUR_POINTS = 32


@dataclass(frozen=True)
class Grid:
    """Step-size control: first step after an event, its growth factor, the largest step (h), and
    the largest step while the glutamatergic drive is quiet (None: always ``max_step_h``)."""

    first_step_h: float = 0.01
    growth: float = 1.4
    max_step_h: float = 0.25
    quiet_max_step_h: float | None = None


#: largest step when no drug occupies NMDA receptors (the fast glutamatergic states stay at rest)
QUIET_MAX_STEP_H = 2.0
#: NMDA occupancy (largest over patients) below which the glutamatergic drive counts as quiet
QUIET_NMDA_OCCUPANCY = 1e-4


#: first step after an oral dose, as a fraction of the fastest absorption time constant (1 / ka)
ABSORPTION_FIRST_STEP_FRACTION = 0.1
#: step growth after an oral dose, and the largest step, when only absorbed doses drive the cascade
ORAL_GROWTH = 1.5
ORAL_MAX_STEP_H = 4.0


def _absorption_rate_per_h(components: list) -> float | None:
    """The fastest first-order absorption rate (1/h, over patients and drugs) when every dose of
    ``components`` is a bolus into an absorption depot (oral, intranasal depot); None when some dose
    enters a central compartment directly (IV bolus) or as an infusion, whose drive jumps."""
    rates = []
    for c in components:
        if c.infusions or any(b.state in c.central for b in c.boluses):
            return None
        rates += [float(np.max(-c.a[:, b.state, b.state])) for b in c.boluses]
    return max(rates) if rates else None


def grid_for(components: list) -> Grid:
    """The step control for the drugs of ``components`` (:class:`~.drive.PKComponent`).

    * an enzyme inactivator (MAOI): :class:`Grid` defaults (the MAO-A state is stepped for the mean
      rate of each substep, which needs the fine grid for 1e-4);
    * an NMDA antagonist: 15-minute steps while NMDA receptors are occupied, else up to
      :data:`QUIET_MAX_STEP_H`;
    * only absorbed (oral) doses: the first step after a dose is a tenth of the fastest absorption
      time constant, growing by :data:`ORAL_GROWTH` up to :data:`ORAL_MAX_STEP_H` (1e-5 from a
      0.1-hour grid for every bundled oral drug over 42 days, 1.9x fewer steps for imipramine);
    * otherwise steps of up to :data:`QUIET_MAX_STEP_H` after a refined start at each event.
    """
    if any(c.inactivation for c in components):
        return Grid()
    if any(np.any(c.coefs.get("NMDA", 0.0) != 0.0) for c in components):
        return Grid(quiet_max_step_h=QUIET_MAX_STEP_H)
    ka = _absorption_rate_per_h(components)
    if ka:
        return Grid(first_step_h=ABSORPTION_FIRST_STEP_FRACTION / ka, growth=ORAL_GROWTH, max_step_h=ORAL_MAX_STEP_H)
    return Grid(max_step_h=QUIET_MAX_STEP_H)


def step_grid(times_h: np.ndarray, events_h: list[float], grid: Grid = Grid()) -> np.ndarray:
    """Integration nodes: outputs, events, geometric refinement after events, at most ``max_step_h`` apart."""
    end = float(times_h[-1])
    nodes = [0.0, *times_h.tolist(), *(t for t in events_h if 0 <= t <= end)]
    offsets, h, total = [], grid.first_step_h, 0.0
    while h < grid.max_step_h:
        total += h
        offsets.append(total)
        h *= grid.growth
    for t in events_h:
        nodes += [t + o for o in offsets if t + o < end]
    nodes = np.unique(np.round(np.asarray(nodes, dtype=float), 9))
    out = [nodes[:1]]
    for a, b in zip(nodes[:-1], nodes[1:]):
        k = int(np.ceil((b - a) / grid.max_step_h - 1e-9))
        out.append(np.linspace(a, b, k + 1)[1:] if k > 1 else np.array([b]))
    return np.round(np.concatenate(out), 9)


def etd_coefficients(decay: np.ndarray, h: float) -> tuple[np.ndarray, ...]:
    """``E, E2, Q, f1, f2, f3`` of the ETDRK4 scheme for decay rates ``decay`` and step ``h``."""
    lin = -np.asarray(decay, dtype=float) * h
    r = np.exp(1j * np.pi * (np.arange(1, _CONTOUR_POINTS + 1) - 0.5) / _CONTOUR_POINTS)
    lr = lin[..., None] + r
    e_lr = np.exp(lr)
    q = h * np.real(np.mean((np.exp(lr / 2) - 1) / lr, axis=-1))
    f1 = h * np.real(np.mean((-4 - lr + e_lr * (4 - 3 * lr + lr ** 2)) / lr ** 3, axis=-1))
    f2 = h * np.real(np.mean((2 + lr + e_lr * (-2 + lr)) / lr ** 3, axis=-1))
    f3 = h * np.real(np.mean((-4 - 3 * lr - lr ** 2 + e_lr * (4 - lr)) / lr ** 3, axis=-1))
    return np.exp(lin), np.exp(lin / 2), q, f1, f2, f3


def integrate(model: CascadeModel, params: dict, stepper: DriveStepper, times_h: np.ndarray, record: list[str],
              grid: Grid | None = None, record_mean: list[str] = ()) -> dict[str, np.ndarray]:
    """Integrate the cascade for every patient.

    Returns ``{name: (patients, len(times_h))}`` for each name in ``record`` and the mean over
    patients, ``{name: (len(times_h),)}``, for each name in ``record_mean`` (states, assignments
    or inputs). ``times_h`` must start at 0 and increase. ``grid`` defaults to :func:`grid_for`.
    """
    grid = grid_for(stepper.components) if grid is None else grid
    n = stepper.n
    times_h = np.round(np.asarray(times_h, dtype=float), 9)
    if grid.quiet_max_step_h is None:
        nodes = step_grid(times_h, stepper.event_times(), grid)
    else:   # the coarse grid; its intervals are subdivided to max_step_h while the drive is active
        nodes = step_grid(times_h, stepper.event_times(), replace(grid, max_step_h=grid.quiet_max_step_h))
    nmda_input = "occ_nmda" if "occ_nmda" in model.inputs else None
    out_at = {float(t): i for i, t in enumerate(times_h)}
    result = {name: np.empty((n, times_h.size)) for name in record}
    means = {name: np.empty(times_h.size) for name in record_mean}
    decay = model.decay(params)
    y = model.initial(n)
    cache: dict[float, tuple[np.ndarray, ...]] = {}

    def prod(yy, u):
        return model.production(yy, u, params)

    def store(t, yy, u):
        i = out_at.get(float(t))
        if i is None:
            return
        ns = model.evaluate(yy, u, params)
        for name in record:
            result[name][:, i] = np.broadcast_to(ns[name], (n,))
        for name in record_mean:
            means[name][i] = np.mean(np.broadcast_to(ns[name], (n,)))

    stepper.dose(0.0)
    u0 = stepper.inputs()
    store(0.0, y, u0)
    for t_a, t_b in zip(nodes[:-1], nodes[1:]):
        parts = 1
        if grid.quiet_max_step_h is not None and (nmda_input is None or
                                                  float(np.max(u0[nmda_input], initial=0.0)) > QUIET_NMDA_OCCUPANCY):
            parts = int(np.ceil((t_b - t_a) / grid.max_step_h - 1e-9))
        sub = np.round(np.linspace(t_a, t_b, parts + 1), 9) if parts > 1 else (t_a, t_b)
        for t, t_next in zip(sub[:-1], sub[1:]):
            h = float(t_next - t)
            key = round(h, 12)
            if key not in cache:
                cache[key] = etd_coefficients(decay, h)
            e, e2, q, f1, f2, f3 = cache[key]
            stepper.advance(t, h / 2)
            u_half = stepper.inputs()
            stepper.advance(t + h / 2, h / 2)
            u1 = stepper.inputs()
            nu = prod(y, u0)
            a = e2 * y + q * nu
            na = prod(a, u_half)
            b = e2 * y + q * na
            nb = prod(b, u_half)
            c = e2 * a + q * (2 * nb - nu)
            nc = prod(c, u1)
            y = e * y + f1 * nu + 2 * f2 * (na + nb) + f3 * nc
            if t_next != t_b:
                u0 = u1
        stepper.dose(float(t_b))
        u0 = stepper.inputs()
        store(t_b, y, u0)
    result.update({f"mean:{k}": v for k, v in means.items()})
    return result
