"""Receptor and transporter occupancy from simulated plasma concentrations.

Occupancy of a target by a drug and its active metabolites (competitive, one site):

    occ = S^h / (1 + S^h),   S = sum_i C_u,brain,i / K_i,   C_u,brain = C_plasma * fu * Kp,uu * r

with ``C`` converted to nM by the molar mass, ``K`` the binding constant (Ki or Kd) in the
knowledge base, ``fu`` the unbound fraction in plasma and ``Kp,uu`` the unbound brain-to-plasma
factor. ``Kp,uu`` is 1 (free-drug hypothesis) unless a PET calibration in ``occupancy.yaml`` fixes
it for a target family: then ``Kp,uu = K * MW / 1000 / (fu * EC50)``, the factor that makes the in
vitro constant reproduce the in vivo EC50 of total plasma concentration. ``r`` is a metabolite's
brain-to-plasma ratio relative to its parent's (``brain_rel_to_parent`` in ``pk_models.yaml``; 1
unless a source says the metabolite enters the brain less, as for noresketamine).

MAO-A inhibition by the irreversible MAOIs is not an occupancy: it is enzyme inactivation with
resynthesis (:mod:`.inactivation`), which outlasts plasma levels. Their ``KI`` constants are
inactivation constants, not affinities, so they give no reversible occupancy here; the MAO-A row
of :func:`occupancy` is the inactivated fraction ``1 - E`` from the simulation.

References
----------
.. [1] Sørensen A, Ruhé HG, Munkholm K (2022). Mol Psychiatry 27:192-201 (hyperbolic dose-occupancy).
.. [2] Sekine M et al. (2010). Psychopharmacology (nortriptyline NET occupancy, EC50 59.8 ng/mL).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..knowledge.loader import KnowledgeBase, or_bundled
from ..units import ng_per_ml_to_nm
from .simulate import PERCENTILES, PKResult, model_for
from ..display import NotebookDisplay, table_text

#: The targets ``pk occupancy`` reports (design contract), in order.
OCCUPANCY_TARGETS = ("SERT", "NET", "DAT", "NMDA", "H1", "M1", "ALPHA1", "MAO-A")


def binding_constants(drug: str, kb: KnowledgeBase) -> dict[str, dict[str, tuple[float, list[str], str | None]]]:
    """``{analyte: {target: (K_nM, refs, fact)}}`` for the drug's analytes.

    An analyte's own ``binding`` in its PK parameter set comes first; an analyte that is itself a
    bundled drug (desipramine, nortriptyline) also takes that drug's binding profile.
    """
    model = model_for(drug, kb)
    out: dict[str, dict] = {}
    for a in model.analytes:
        table: dict[str, tuple] = {}
        src = kb.drugs.get(a.name)
        for profile in ((src.binding if src is not None else {}), a.binding):
            for t, b in profile.items():
                if b.value is not None and b.reversible:
                    table[t] = (b.value, list(b.refs), b.fact)
        out[a.name] = table
    return out


def kp_uu(target: str, kb: KnowledgeBase) -> tuple[float, str]:
    """Unbound brain-to-plasma factor for a target and where it comes from."""
    occ = kb.occupancy
    for cal in (occ.calibrations if occ else []):
        if target in cal.applies_to:
            model = model_for(cal.drug, kb)
            a = model.parent
            k = kb.drugs[cal.drug].binding[cal.target].value
            value = k / ng_per_ml_to_nm(a.fu.value * cal.ec50_ng_per_ml, a.mw_g_per_mol.value)
            return value, f"calibrated on {cal.drug} {cal.target} EC50 {cal.ec50_ng_per_ml:g} ng/mL ({', '.join(cal.refs)}, {cal.fact})"
    return 1.0, "1 (free-drug hypothesis: unbound brain = unbound plasma)"


@dataclass
class OccupancyResult(NotebookDisplay):
    """Fraction of each target occupied over time, ``fraction`` is ``(subject, time, target)``."""

    pk: PKResult
    targets: list[str]
    fraction: np.ndarray
    basis: dict[str, dict] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """Peak and mean (last 24 h simulated) occupancy per target; percentiles for a population."""
        t = self.pk.times_h
        last = t >= t[-1] - 24.0 - 1e-9
        rows = []
        for j, target in enumerate(self.targets):
            f = self.fraction[:, :, j]
            peak, mean = f.max(axis=1), f[:, last].mean(axis=1)
            row = {"target": target}
            if f.shape[0] == 1:
                row.update(peak=float(peak[0]), mean=float(mean[0]))
            else:
                for name, v in (("peak", peak), ("mean", mean)):
                    for p in PERCENTILES:
                        row[f"{name}_p{p}"] = float(np.percentile(v, p))
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def warnings(self) -> list[str]:
        """The warnings of the simulation the occupancy rests on."""
        return self.pk.warnings

    def text(self) -> str:
        """The run's title, peak and mean occupancy per target, and the targets without a binding constant."""
        miss = f"no binding constant for: {', '.join(self.missing)}\n" if self.missing else ""
        return self.pk.title() + "\n" + table_text(self.summary(), ".3f") + "\n" + miss

    def to_dict(self) -> dict:
        occ: dict[str, dict | None] = {t: None for t in OCCUPANCY_TARGETS}
        for row in self.summary().to_dict("records"):
            t = row.pop("target")
            if self.pk.n == 1:
                occ[t] = {"peak": row["peak"], "mean": row["mean"]}
            else:
                occ[t] = {"peak": {f"p{p}": row[f"peak_p{p}"] for p in PERCENTILES},
                          "mean": {f"p{p}": row[f"mean_p{p}"] for p in PERCENTILES}}
        d = self.pk.to_dict()
        d["occupancy"] = occ
        d["provenance"]["occupancy"] = {"model": "S^h/(1+S^h), S = sum of unbound brain concentration / K",
                                         "basis": self.basis,
                                         "not_available": self.missing,
                                         "mean": "average over the last 24 h simulated"}
        return d

    def plot(self, ax=None):
        from ..figures import pyplot
        plt = pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        for j, target in enumerate(self.targets):
            f = self.fraction[:, :, j]
            ax.plot(self.pk.times_h, np.median(f, axis=0) * 100, label=target)
        ax.set_xlabel("time (h)")
        ax.set_ylabel("occupancy (%)")
        ax.set_ylim(0, 100)
        ax.set_title(f"{self.pk.drug}: {self.pk.regimen}")
        ax.legend()
        return ax


def occupancy_coefficients(drug: str, kb: KnowledgeBase | None = None) -> tuple[dict[str, np.ndarray], dict[str, dict], float]:
    """Per-target coefficients ``a`` such that ``S = sum_i a_i C_i`` (``C`` plasma ng/mL per analyte).

    Returns ``(coefficients, basis, hill)``: ``coefficients[target]`` has one entry per analyte of the
    drug's PK model (0 where the analyte has no binding constant); only targets with at least one
    binding constant appear.
    """
    kb = or_bundled(kb)
    model = model_for(drug, kb)
    consts = binding_constants(drug, kb)
    hill = kb.occupancy.hill.value if kb.occupancy else 1.0
    coefs: dict[str, np.ndarray] = {}
    basis: dict[str, dict] = {}
    for target in OCCUPANCY_TARGETS:
        if not any(target in consts[a] for a in consts):
            continue
        kp, kp_src = kp_uu(target, kb)
        a_vec = np.zeros(len(model.analytes))
        used = {}
        for i, a in enumerate(model.analytes):
            if target not in consts[a.name]:
                continue
            k_nm, refs, fact = consts[a.name][target]
            brain = a.brain_rel_to_parent.value if a.brain_rel_to_parent is not None else 1.0
            a_vec[i] = ng_per_ml_to_nm(a.fu.value * kp * brain, a.mw_g_per_mol.value) / k_nm
            used[a.name] = {"k_nm": k_nm, "refs": refs, "fact": fact, "fu": a.fu.value}
            if a.brain_rel_to_parent is not None:
                used[a.name]["brain_rel_to_parent"] = brain
        coefs[target] = a_vec
        basis[target] = {"analytes": used, "kp_uu": kp, "kp_uu_source": kp_src}
    return coefs, basis, hill


def occupied_fraction(s_sum: np.ndarray, hill: float) -> np.ndarray:
    """``S^h / (1 + S^h)`` for the summed, affinity-weighted unbound concentrations ``S``."""
    sh = s_sum ** hill
    return sh / (1.0 + sh)


def occupancy(pk: PKResult, kb: KnowledgeBase | None = None) -> OccupancyResult:
    """Occupancy of every target with a binding constant, from a :class:`PKResult` with profiles.

    Examples
    --------
    >>> from adpharm.pharmacology.simulate import simulate
    >>> occ = occupancy(simulate("sertraline", "50 mg po daily", hours=48))
    >>> type(occ).__name__
    'OccupancyResult'
    """
    kb = or_bundled(kb)
    if pk.conc_ng_per_ml is None:
        raise AdpharmInputError("occupancy needs the concentration profiles; simulate with keep_profiles=True")
    coefs, basis, hill = occupancy_coefficients(pk.drug, kb)
    inactivated = {t: a for t, a in (pk.enzyme_activity or {}).items() if t in OCCUPANCY_TARGETS}
    targets = list(coefs) + [t for t in inactivated if t not in coefs]
    fraction = np.zeros(pk.conc_ng_per_ml.shape[:2] + (len(targets),))
    for j, target in enumerate(targets):
        if target in inactivated:
            fraction[:, :, j] = 1.0 - inactivated[target]
            basis[target] = {"model": "irreversible inactivation with resynthesis: inhibited fraction 1 - E",
                             **pk.enzyme_sources.get(target, {})}
        else:
            fraction[:, :, j] = occupied_fraction(pk.conc_ng_per_ml @ coefs[target], hill)
    missing = [t for t in OCCUPANCY_TARGETS if t not in targets]
    return OccupancyResult(pk=pk, targets=targets, fraction=fraction, basis=basis, missing=missing)
