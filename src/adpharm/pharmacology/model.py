"""Linear compartment models built from a drug's parameter set in the knowledge base.

One model holds the parent drug and its metabolites (each with 1, 2 or 3 compartments) and one
absorption depot per route path. States are amounts in mg of each analyte, named
``<analyte>.central``, ``<analyte>.peripheral1``, ``<analyte>.peripheral2`` and
``depot.<route>.<path>``. Metabolites are formed from the parent's central compartment (a
fraction ``fm`` of its clearance) and, for oral-type routes, on first pass through the liver
(a fraction ``first_pass_fm`` of the extracted dose), converted by the ratio of molar masses.

Individual parameters: per-70-kg values scaled allometrically by body weight (clearances by
(WT/70)^0.75, volumes by WT/70; Anderson & Holford 2008), multiplied by published covariate
effects, by the CYP2D6 activity score on the CYP2D6-mediated share of clearance, and by
log-normal between-subject variability.

CYP2D6 autoinhibition: where analytes carry ``cyp2d6_ki_nmol_per_l`` (tricyclics whose CYP2D6
hydroxylation saturates at therapeutic levels), CYP2D6 activity during repeated dosing is the
phenotype's activity times ``1 / (1 + sum_i C_i / Ki_i)`` (competitive inhibition by every
analyte; C as total plasma nmol/L). The system stays linear between dose events: at each dose
the activity is set from the mean concentrations over the interval just ended
(:meth:`CompartmentModel.autoinhibition`), so a single dose is the linear model, and a regimen
converges to the self-consistent steady state.

References
----------
.. [1] Anderson BJ, Holford NHG (2008). Mechanism-based concepts of size and maturity in
   pharmacokinetics. Annu Rev Pharmacol Toxicol 48:303-332.
.. [2] Caudle KE et al. (2020). Standardizing CYP2D6 genotype to phenotype translation.
   Clin Transl Sci 13(1):116-124 (activity scores; see ``PHENOTYPE_ACTIVITY_SCORE``).
"""
from __future__ import annotations

import functools

from dataclasses import dataclass, field

import numpy as np

from ..errors import AdpharmInputError
from ..knowledge.schema import PKAnalyte, PKModelSpec
from .regimen import DoseEvent
from .solver import Bolus, Infusion

REFERENCE_WEIGHT_KG = 70.0
#: the reference patient's other covariates (every default in the PK engine, the CLI and the web reads these)
REFERENCE_AGE_Y = 40.0
REFERENCE_SEX = "male"
REFERENCE_PHENOTYPE = "NM"
NO_INHIBITOR = "none"
ALLOMETRIC_CL = 0.75
ALLOMETRIC_V = 1.0
#: CYP2D6 phenotype to activity score: PM no function (0), IM one reduced allele (0.5), NM two
#: functional alleles (2), UM gene duplication (3) (CPIC TCA guideline, Hicks 2017, Table 1).
PHENOTYPE_ACTIVITY_SCORE = {"PM": 0.0, "IM": 0.5, "NM": 2.0, "UM": 3.0}
PHENOTYPES = tuple(PHENOTYPE_ACTIVITY_SCORE)
#: A co-medicated CYP2D6 inhibitor multiplies the activity score (phenoconversion): strong (bupropion,
#: fluoxetine, paroxetine, quinidine) by 0, moderate (duloxetine, terbinafine, mirabegron) by 0.5, as
#: in the CYP2D6 phenoconversion calculator used with the CPIC guidelines (UF Health precision
#: medicine program); strong inhibitors leave nearly null activity, the FDA classes and the evidence
#: behind them are reviewed by Cicali 2020.
CYP2D6_INHIBITOR_FACTOR = {"none": 1.0, "moderate": 0.5, "strong": 0.0}
CYP2D6_INHIBITOR_REFS = ["ufhealth_phenoconversion", "cicali2020"]
_DISPOSITION = ("cl_l_per_h", "v1_l", "q_l_per_h", "v2_l", "q2_l_per_h", "v3_l")


@dataclass
class Covariates:
    """Covariates of ``n`` subjects; each is a scalar (shared) or an array of length ``n``."""

    weight_kg: np.ndarray
    age_y: np.ndarray
    sex: np.ndarray  # "female" / "male"
    phenotype: np.ndarray  # PM / IM / NM / UM
    cyp2d6_factor: np.ndarray | None = None  # co-medication: multiplies the activity score (None: 1)

    @classmethod
    def of(cls, n: int, weight_kg=REFERENCE_WEIGHT_KG, age_y=REFERENCE_AGE_Y, sex=REFERENCE_SEX,
           phenotype=REFERENCE_PHENOTYPE, cyp2d6_inhibitor: str = NO_INHIBITOR) -> "Covariates":
        def arr(v, dtype):
            a = np.asarray(v, dtype=dtype)
            return np.broadcast_to(a, (n,)).copy() if a.ndim == 0 else a
        if cyp2d6_inhibitor not in CYP2D6_INHIBITOR_FACTOR:
            raise AdpharmInputError(f"CYP2D6 inhibitor: {cyp2d6_inhibitor!r} is not one of "
                                    f"{', '.join(CYP2D6_INHIBITOR_FACTOR)}")
        factor = None if cyp2d6_inhibitor == "none" else np.full(n, CYP2D6_INHIBITOR_FACTOR[cyp2d6_inhibitor])
        c = cls(arr(weight_kg, float), arr(age_y, float), arr(sex, object), arr(phenotype, object), factor)
        for name in ("weight_kg", "age_y", "sex", "phenotype"):
            if getattr(c, name).shape != (n,):
                raise AdpharmInputError(f"covariate {name}: {getattr(c, name).shape[0]} values for {n} subjects")
        bad = [p for p in np.unique(c.phenotype) if p not in PHENOTYPE_ACTIVITY_SCORE]
        if bad:
            raise AdpharmInputError(f"{bad[0]!r} is not one of {', '.join(PHENOTYPES)}", field="phenotype")
        bad = [s for s in np.unique(c.sex) if s not in ("female", "male")]
        if bad:
            raise AdpharmInputError(f"{bad[0]!r} is not female or male", field="sex")
        if np.any(~np.isfinite(c.age_y)) or np.any((c.age_y < 0) | (c.age_y > 120)):
            raise AdpharmInputError(f"age: {c.age_y[(c.age_y < 0) | (c.age_y > 120) | ~np.isfinite(c.age_y)][0]:g} years is not an age (0-120)")
        return c

    def subset(self, sl) -> "Covariates":
        """The covariates of the subjects ``sl`` (a slice or an index array)."""
        return Covariates(self.weight_kg[sl], self.age_y[sl], self.sex[sl], self.phenotype[sl],
                          None if self.cyp2d6_factor is None else self.cyp2d6_factor[sl])


class Autoinhibition:
    """CYP2D6 autoinhibition of one model's subjects: called with the mean state over the interval just
    ended ``(subjects, states)``, it returns the system matrix at the CYP2D6 activity that leaves.

    The activity is :meth:`CompartmentModel.cyp2d6_activity` of the interval's mean concentrations.
    ``load_coefficients`` write its load in the state's own terms, ``sum_j load_coefficients[:, j] x_j``
    with ``1e6 / (V1 MW Ki)`` for each inhibiting analyte's central amount (mg), for the SBML export.
    """

    def __init__(self, model: "CompartmentModel", p: "SubjectParameters"):
        self.model = model
        self.p = p
        self.v1_l = model.central_volumes_l(p)

    @functools.cached_property
    def load_coefficients(self) -> np.ndarray:
        """``(subjects, states)``: the inhibitory load per mg in each central compartment (SBML export)."""
        out = np.zeros((self.p.n, len(self.model.states)))
        for i, a in enumerate(self.model.analytes):
            if a.cyp2d6_ki_nmol_per_l is not None:
                out[:, self.model.central[a.name]] = 1e6 / (self.v1_l[:, i] * a.mw_g_per_mol.value
                                                            * a.cyp2d6_ki_nmol_per_l.value)
        return out

    def activity(self, mean_states: np.ndarray) -> np.ndarray:
        """Remaining CYP2D6 activity (0-1) per subject at these mean states."""
        return self.model.cyp2d6_activity(self.model.concentrations_ng_per_ml(mean_states, self.v1_l))

    def matrix(self, activity: np.ndarray | float) -> np.ndarray:
        """The system matrix at this remaining CYP2D6 activity."""
        return self.model.matrix(self.p, activity)

    def __call__(self, mean_states: np.ndarray) -> np.ndarray:
        return self.matrix(self.activity(mean_states))


@dataclass
class SubjectParameters:
    """Individual parameters, one array per name (``analyte.parameter`` or ``route.path.ka``)."""

    n: int
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def __getitem__(self, key: str) -> np.ndarray:
        return self.values[key]


class CompartmentModel:
    """The linear model of one drug and its metabolites, from its :class:`PKModelSpec`."""

    def __init__(self, drug: str, spec: PKModelSpec):
        self.drug = drug
        self.spec = spec
        self.analytes: list[PKAnalyte] = list(spec.analytes)
        self.states: list[str] = []
        self.central: dict[str, int] = {}
        for a in self.analytes:
            self.central[a.name] = len(self.states)
            self.states.append(f"{a.name}.central")
            if a.v2_l is not None:
                self.states.append(f"{a.name}.peripheral1")
            if a.v3_l is not None:
                self.states.append(f"{a.name}.peripheral2")
        self.depots: dict[tuple[str, int], int] = {}
        for route, rs in spec.routes.items():
            for j, path in enumerate(rs.paths):
                if path.ka_per_h is not None:
                    self.depots[(route, j)] = len(self.states)
                    self.states.append(f"depot.{route}.{j}")

    @property
    def parent(self) -> PKAnalyte:
        return self.analytes[0]

    @property
    def analyte_names(self) -> list[str]:
        return [a.name for a in self.analytes]

    @property
    def cyp2d6_dependent(self) -> bool:
        """Whether the CYP2D6 phenotype and inhibitors act in this model: an analyte cleared partly by
        CYP2D6 or a metabolite formed by it."""
        return any((a.cyp2d6_fraction is not None and a.cyp2d6_fraction.value > 0) or a.formed_by_cyp2d6
                   for a in self.analytes)

    def covariate_effects(self, covariate: str) -> list:
        """The sourced effects of ``covariate`` (``"age_y"`` or ``"sex"``) in this model
        (:class:`~adpharm.knowledge.schema.CovariateEffect`)."""
        return [c for c in self.spec.covariates if c.covariate == covariate]

    def check_route(self, route: str) -> None:
        if route not in self.spec.routes:
            known = ", ".join(self.spec.routes)
            raise AdpharmInputError(f"regimen: route {route!r} has no absorption model for {self.drug} "
                                    f"(sourced routes: {known})")

    # --- individual parameters ---------------------------------------------------------------
    def typical(self, cov: Covariates) -> SubjectParameters:
        """Typical individual parameters for the covariates (no between-subject variability)."""
        n = cov.weight_kg.shape[0]
        p = SubjectParameters(n)
        w = cov.weight_kg / REFERENCE_WEIGHT_KG
        for a in self.analytes:
            for name in _DISPOSITION:
                par = getattr(a, name)
                if par is None:
                    continue
                scale = w ** (ALLOMETRIC_CL if name.startswith(("cl", "q")) else ALLOMETRIC_V)
                p.values[f"{a.name}.{name}"] = par.value * scale
        for c in self.spec.covariates:
            key = f"{c.analyte}.{c.parameter}"
            p.values[key] = np.where(c.applies(cov.age_y, cov.sex), p.values[key] * c.factor, p.values[key])
        for route, rs in self.spec.routes.items():
            for j, path in enumerate(rs.paths):
                if path.ka_per_h is not None:
                    p.values[f"{route}.{j}.ka"] = np.full(n, path.ka_per_h.value)
        p.values["activity_score"] = np.array([PHENOTYPE_ACTIVITY_SCORE[x] for x in cov.phenotype], dtype=float)
        if cov.cyp2d6_factor is not None:
            p.values["activity_score"] = p.values["activity_score"] * cov.cyp2d6_factor
        return p

    def apply_iiv(self, p: SubjectParameters, eta: dict[str, np.ndarray]) -> SubjectParameters:
        """Multiply parameters by ``exp(eta)``; keys are IIV names (``analyte.parameter`` or ``ka``)."""
        for key, e in eta.items():
            target = self._iiv_key(key)
            p.values[target] = p.values[target] * np.exp(e)
        return p

    def _iiv_key(self, key: str) -> str:
        if key == "ka":
            for route, rs in self.spec.routes.items():
                for j, path in enumerate(rs.paths):
                    if path.ka_per_h is not None:
                        return f"{route}.{j}.ka"
            raise AdpharmInputError(f"{self.drug}: iiv on ka but no route has an absorption rate")
        return key

    def iiv_names(self) -> list[str]:
        names = list(self.spec.iiv.cv_pct) if self.spec.iiv else []
        valid = {f"{a.name}.{n}" for a in self.analytes for n in _DISPOSITION if getattr(a, n) is not None} | {"ka"}
        for k in names:
            if k not in valid:
                raise AdpharmInputError(f"pk_models.yaml: field {self.drug}.iiv.cv_pct: unknown parameter {k!r}")
        return names

    # --- system matrix ------------------------------------------------------------------------
    def clearances(self, p: SubjectParameters, cyp2d6_activity: np.ndarray | float = 1.0) -> dict[str, np.ndarray]:
        """Total clearance of each analyte and formation clearance of each metabolite (L/h).

        ``cyp2d6_activity`` (per subject, 0-1) multiplies the phenotype's CYP2D6 activity (inhibition).
        """
        s = p["activity_score"] / 2.0 * cyp2d6_activity
        out: dict[str, np.ndarray] = {}
        for a in self.analytes:
            cl_nm = p[f"{a.name}.cl_l_per_h"]
            fd = a.cyp2d6_fraction.value if a.cyp2d6_fraction else 0.0
            out[a.name] = cl_nm * (1.0 - fd + fd * s)
            for m in self.analytes:
                if m.parent == a.name:
                    out[f"{a.name}->{m.name}"] = m.fm.value * cl_nm * (s if m.formed_by_cyp2d6 else 1.0)
        return out

    def matrix(self, p: SubjectParameters, cyp2d6_activity: np.ndarray | float = 1.0) -> np.ndarray:
        """System matrix ``A`` of shape ``(subjects, states, states)`` (units 1/h), at the given
        fraction of uninhibited CYP2D6 activity."""
        n, k = p.n, len(self.states)
        a_mat = np.zeros((n, k, k))
        cls = self.clearances(p, cyp2d6_activity)
        idx = {s: i for i, s in enumerate(self.states)}
        for a in self.analytes:
            c = idx[f"{a.name}.central"]
            v1 = p[f"{a.name}.v1_l"]
            a_mat[:, c, c] -= cls[a.name] / v1
            for q_name, v_name, state in (("q_l_per_h", "v2_l", "peripheral1"), ("q2_l_per_h", "v3_l", "peripheral2")):
                if getattr(a, v_name) is None:
                    continue
                per = idx[f"{a.name}.{state}"]
                q, v = p[f"{a.name}.{q_name}"], p[f"{a.name}.{v_name}"]
                a_mat[:, c, c] -= q / v1
                a_mat[:, per, c] += q / v1
                a_mat[:, c, per] += q / v
                a_mat[:, per, per] -= q / v
            if a.parent is not None:
                par = self._analyte(a.parent)
                pc = idx[f"{par.name}.central"]
                ratio = a.mw_g_per_mol.value / par.mw_g_per_mol.value
                a_mat[:, c, pc] += cls[f"{par.name}->{a.name}"] / p[f"{par.name}.v1_l"] * ratio
        s = p["activity_score"] / 2.0 * cyp2d6_activity
        parent = self.parent
        for (route, j), d in self.depots.items():
            path = self.spec.routes[route].paths[j]
            ka = p[f"{route}.{j}.ka"]
            fa = path.fa.value if path.fa else 1.0
            fh = path.f.value / fa
            a_mat[:, d, d] -= ka
            a_mat[:, self.central[parent.name], d] += ka * fh
            fd = parent.cyp2d6_fraction.value if parent.cyp2d6_fraction else 0.0
            for m in self.analytes[1:]:
                if m.parent == parent.name and m.first_pass_fm is not None:
                    # the extracted dose branches like the parent's clearance at this CYP2D6 activity
                    fm = m.first_pass_fm.value * (s if m.formed_by_cyp2d6 else 1.0) / (1.0 - fd + fd * s)
                    ratio = m.mw_g_per_mol.value / parent.mw_g_per_mol.value
                    a_mat[:, self.central[m.name], d] += ka * (1.0 - fh) * np.minimum(fm, 1.0) * ratio
        return a_mat

    @property
    def autoinhibits_cyp2d6(self) -> bool:
        """True when an analyte inhibits CYP2D6 at its own plasma levels (``cyp2d6_ki_nmol_per_l``)."""
        return any(a.cyp2d6_ki_nmol_per_l is not None for a in self.analytes)

    def cyp2d6_activity(self, conc_ng_per_ml: np.ndarray) -> np.ndarray:
        """Remaining fraction of CYP2D6 activity at the analyte concentrations ``(..., analytes)``:
        ``1 / (1 + sum_i C_i / Ki_i)`` with C in nmol/L (1 where no analyte has a Ki). The one place
        this formula lives; :class:`Autoinhibition` calls it."""
        c = np.asarray(conc_ng_per_ml, dtype=float)
        load = np.zeros(c.shape[:-1])
        for i, a in enumerate(self.analytes):
            if a.cyp2d6_ki_nmol_per_l is not None:
                nmol = np.maximum(c[..., i], 0.0) * 1000.0 / a.mw_g_per_mol.value
                load = load + nmol / a.cyp2d6_ki_nmol_per_l.value
        return 1.0 / (1.0 + load)

    def autoinhibition(self, p: SubjectParameters) -> "Autoinhibition | None":
        """The matrix update for CYP2D6 autoinhibition of these subjects, or None when the drug has none."""
        return Autoinhibition(self, p) if self.autoinhibits_cyp2d6 else None

    def central_volumes_l(self, p: SubjectParameters) -> np.ndarray:
        """Central volume of every analyte, ``(subjects, analytes)``."""
        return np.stack([p[f"{a.name}.v1_l"] for a in self.analytes], axis=-1)

    def concentrations_ng_per_ml(self, states: np.ndarray, v1_l: np.ndarray) -> np.ndarray:
        """Plasma concentration of every analyte (last axis) from compartment amounts in mg (last axis).

        ``v1_l`` comes from :meth:`central_volumes_l`, broadcast against ``states`` without its last axis.
        """
        idx = [self.central[a.name] for a in self.analytes]
        return np.maximum(states[..., idx], 0.0) / v1_l * 1000.0

    def _analyte(self, name: str) -> PKAnalyte:
        return next(a for a in self.analytes if a.name == name)

    # --- dose inputs --------------------------------------------------------------------------
    def inputs(self, events: list[DoseEvent], weight_kg: np.ndarray) -> tuple[list[Bolus], list[Infusion]]:
        """Boluses into depots or the central compartment, and infusions, for the dose events."""
        boluses: list[Bolus] = []
        infusions: list[Infusion] = []
        pc = self.central[self.parent.name]
        for ev in events:
            self.check_route(ev.route)
            rs = self.spec.routes[ev.route]
            dose = np.asarray(ev.dose_mg(weight_kg), dtype=float)
            for t, amount, fractions in self._devices(rs, ev.time_h, dose):
                for j, path in enumerate(rs.paths):
                    frac = fractions[j]
                    if frac <= 0:
                        continue
                    lag = path.tlag_h.value if path.tlag_h else 0.0
                    if (ev.route, j) in self.depots:
                        fa = path.fa.value if path.fa else 1.0
                        boluses.append(Bolus(t + lag, self.depots[(ev.route, j)], amount * frac * fa))
                    elif ev.duration_h > 0:
                        rate = amount * frac * path.f.value / ev.duration_h
                        infusions.append(Infusion(t + lag, t + lag + ev.duration_h, pc, rate))
                    else:
                        boluses.append(Bolus(t + lag, pc, amount * frac * path.f.value))
        return boluses, infusions

    @staticmethod
    def _devices(rs, t0: float, dose: np.ndarray):
        """Split a dose into spray devices (if the route has them) with each device's path fractions."""
        base = [p.fraction.value if p.fraction else 1.0 for p in rs.paths]
        if rs.device_mg is None:
            yield t0, dose, base
            return
        unit = rs.device_mg.value
        n_dev = np.maximum(np.ceil(dose / unit - 1e-9), 1).astype(int)
        gap = rs.device_interval_h.value if rs.device_interval_h else 0.0
        factor = rs.later_device_factor.value if rs.later_device_factor else 1.0
        for i in range(int(n_dev.max())):
            amount = np.clip(dose - i * unit, 0.0, unit) * (i < n_dev)
            if i == 0 or len(base) < 2:
                frac = base
            else:
                first = base[0] * factor
                frac = [first, 1.0 - first, *base[2:]]
            yield t0 + i * gap, amount, frac


__all__ = ["Autoinhibition", "CompartmentModel", "Covariates", "SubjectParameters", "PHENOTYPES", "PHENOTYPE_ACTIVITY_SCORE",
           "REFERENCE_WEIGHT_KG", "CYP2D6_INHIBITOR_FACTOR", "CYP2D6_INHIBITOR_REFS"]
