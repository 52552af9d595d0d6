"""NONMEM-style datasets of simulated subjects: the dosing and observation records that NONMEM, nlmixr2,
Monolix and mrgsolve read.

One row per record, columns ``ID, TIME, AMT, RATE, DV, MDV, EVID, CMT`` and covariates:

* a dose is ``EVID 1, MDV 1`` with its amount in mg (``AMT``), ``RATE`` in mg/h for a zero-order infusion
  (0 for a bolus or an extravascular dose), into ``CMT 1`` (depot) for oral and intranasal doses and
  ``CMT 2`` (central) for intravenous ones;
* an observation is ``EVID 0, MDV 0`` with ``DV`` the concentration in ng/mL (parent in ``CMT 2``, the
  k-th metabolite in ``CMT 2 + k``), or, in a trial dataset, the MADRS total (``CMT 0``, ``DVID 1``);
* ``TIME`` is in hours; at equal times a dose comes before an observation (NONMEM's order);
* covariates: ``WT`` (kg), ``AGE`` (years), ``SEX`` (0 male, 1 female), ``CYP2D6`` (0 PM, 1 IM, 2 NM, 3 UM).

Examples
--------
>>> from adpharm.pharmacology.simulate import simulate
>>> from adpharm.pharmacology.nonmem import pk_dataset
>>> d = pk_dataset(simulate("sertraline", "50 mg po daily", n=2, seed=1, hours=48, keep_profiles=True))
>>> list(d.columns[:8])
['ID', 'TIME', 'AMT', 'RATE', 'DV', 'MDV', 'EVID', 'CMT']
>>> d[d["EVID"] == 1]["TIME"].tolist()
[0.0, 24.0, 0.0, 24.0]

References
----------
Bauer RJ (2019). NONMEM tutorial part I: description of commands and options, with simple examples of
population analysis. CPT Pharmacometrics Syst Pharmacol 8:525-537. doi:10.1002/psp4.12404
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from .regimen import parse_regimen

__all__ = ["COLUMNS", "CMT_DEPOT", "CMT_CENTRAL", "dose_records", "pk_dataset", "read_dataset"]

COLUMNS = ("ID", "TIME", "AMT", "RATE", "DV", "MDV", "EVID", "CMT")
CMT_DEPOT, CMT_CENTRAL = 1, 2
SEX_CODE = {"male": 0, "female": 1}
CYP2D6_CODE = {"PM": 0, "IM": 1, "NM": 2, "UM": 3}


def dose_records(regimen: str, ids, weight_kg, until_h: float) -> pd.DataFrame:
    """The dosing records of ``regimen`` for subjects ``ids`` (weights in kg, for mg/kg doses) up to ``until_h``."""
    ids = np.asarray(ids)
    w = np.broadcast_to(np.asarray(weight_kg, dtype=float), ids.shape)
    rows = []
    for e in parse_regimen(regimen).events(until_h=until_h):
        amt = np.asarray(e.dose_mg(w), dtype=float)
        rows.append(pd.DataFrame({"ID": ids, "TIME": e.time_h, "AMT": amt,
                                  "RATE": amt / e.duration_h if e.duration_h > 0 else 0.0,
                                  "DV": 0.0, "MDV": 1, "EVID": 1,
                                  "CMT": CMT_CENTRAL if e.route == "iv" else CMT_DEPOT}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=list(COLUMNS))


def _order(d: pd.DataFrame) -> pd.DataFrame:
    return d.sort_values(["ID", "TIME", "EVID"], ascending=[True, True, False], kind="stable").reset_index(drop=True)


def pk_dataset(res) -> pd.DataFrame:
    """The NONMEM dataset of a :class:`~adpharm.pharmacology.simulate.PKResult` (profiles kept): every
    subject's doses and its concentrations of each analyte, with its covariates."""
    if res.conc_ng_per_ml is None:
        raise AdpharmInputError("profiles were not kept; simulate with keep_profiles=True")
    cov = res.covariates.reset_index(drop=True)
    ids = cov["subject"].to_numpy()
    horizon = float(res.times_h[-1]) + 1e-9
    doses = dose_records(res.regimen, ids, cov["weight_kg"].to_numpy(float), horizon)
    obs = []
    s, t, a = res.conc_ng_per_ml.shape
    for k, analyte in enumerate(res.analytes):
        obs.append(pd.DataFrame({"ID": np.repeat(ids, t), "TIME": np.tile(res.times_h, s), "AMT": 0.0, "RATE": 0.0,
                                 "DV": res.conc_ng_per_ml[:, :, k].reshape(-1), "MDV": 0, "EVID": 0,
                                 "CMT": CMT_CENTRAL + k}))
    d = _order(pd.concat([doses, *obs], ignore_index=True))
    covs = pd.DataFrame({"ID": ids, "WT": cov["weight_kg"].to_numpy(float), "AGE": cov["age_y"].to_numpy(float),
                         "SEX": cov["sex"].map(SEX_CODE).to_numpy(int),
                         "CYP2D6": cov["cyp2d6_phenotype"].map(CYP2D6_CODE).to_numpy(int)})
    return d.merge(covs, on="ID", how="left")


def read_dataset(path) -> pd.DataFrame:
    """Read a NONMEM-style CSV and check its record columns (a missing one, or an EVID other than 0 or 1, is a
    one-line error naming the file)."""
    from ..io import read_table
    d = read_table(path)
    missing = [c for c in COLUMNS if c not in d.columns]
    if missing:
        raise AdpharmInputError(f"{path}: missing column {missing[0]!r} (a NONMEM dataset has {', '.join(COLUMNS)})")
    bad = ~d["EVID"].isin([0, 1])
    if bad.any():
        raise AdpharmInputError(f"{path}: row {int(np.flatnonzero(bad)[0]) + 1}: EVID must be 0 or 1")
    return d
