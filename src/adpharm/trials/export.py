"""A simulated trial as a NONMEM-style dataset (:mod:`adpharm.pharmacology.nonmem`'s record layout): each
subject's doses of every drug of its arm and its MADRS ratings.

Doses are ``EVID 1`` records (``CMT 1`` depot for oral and intranasal, ``CMT 2`` for intravenous, ``RATE`` for
infusions) with a ``DRUG`` code (1, 2, ... in the order of :func:`drug_codes`); ratings are ``EVID 0`` records
with ``DV`` the MADRS total, ``CMT 0`` and ``DVID 1``. Covariates: ``ARM`` (1, 2, ... in the protocol's
order), ``BASE`` (the baseline MADRS). Doses per kilogram use the protocol population's weight. Dosing
follows the arm's own regimen; escalation and crossover periods are not written (refused with a message).

Examples
--------
>>> from adpharm.trials.simulate import simulate_trial
>>> from adpharm.trials.export import trial_dataset
>>> d = trial_dataset(simulate_trial("ssri-mdd-8wk", 4, seed=1))
>>> sorted(d["EVID"].unique().tolist()), int(d.loc[d["EVID"] == 0, "DVID"].iloc[0])
([0, 1], 1)
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from ..pharmacology.nonmem import COLUMNS, dose_records

__all__ = ["drug_codes", "check_exportable", "trial_dataset"]


def drug_codes(proto) -> dict[str, int]:
    """Each drug of the protocol and its ``DRUG`` code, in the order the arms name them."""
    names = list(dict.fromkeys(t.drug for a in proto.arms for t in a.treatments))
    return {d: i + 1 for i, d in enumerate(names)}


def check_exportable(proto) -> None:
    """Refuse, before any simulation, a protocol whose dosing the dataset cannot write (crossover, escalation)."""
    if proto.design != "parallel":
        raise AdpharmInputError(f"nonmem: protocol {proto.id} is a crossover; the dataset export covers "
                                "parallel-group trials")
    if any(a.escalation is not None for a in proto.arms):
        raise AdpharmInputError(f"nonmem: protocol {proto.id} escalates doses by response; the dataset export "
                                "writes fixed regimens only")


def trial_dataset(res) -> pd.DataFrame:
    """The NONMEM-style dataset of a :class:`~adpharm.trials.simulate.TrialResult` (parallel design): doses
    given before the last visit, and every rating."""
    proto = res.protocol
    check_exportable(proto)
    codes, arm_code = drug_codes(proto), {a.id: i + 1 for i, a in enumerate(proto.arms)}
    subj = res.subjects.reset_index(drop=True)
    ids = {s: i + 1 for i, s in enumerate(subj["subject"])}
    horizon = max(v.time_h for v in proto.visits)
    parts = []
    for a in proto.arms:
        mine = subj.loc[subj["arm"] == a.id, "subject"].map(ids).to_numpy()
        for t in a.treatments:
            d = dose_records(t.regimen, mine, proto.population.weight_kg, horizon)
            parts.append(d.assign(DRUG=codes[t.drug]))
    data = res.data
    parts.append(pd.DataFrame({"ID": data["subject"].map(ids).to_numpy(), "TIME": data["time_h"].to_numpy(float),
                               "AMT": 0.0, "RATE": 0.0, "DV": data["value"].to_numpy(float), "MDV": 0, "EVID": 0,
                               "CMT": 0, "DRUG": 0}))
    d = pd.concat(parts, ignore_index=True)
    d["DVID"] = np.where(d["EVID"] == 0, 1, 0)
    d = d.sort_values(["ID", "TIME", "EVID"], ascending=[True, True, False], kind="stable").reset_index(drop=True)
    covs = pd.DataFrame({"ID": subj["subject"].map(ids), "ARM": subj["arm"].map(arm_code),
                         "BASE": subj["baseline"].to_numpy(float)})
    return d.merge(covs, on="ID", how="left")[[*COLUMNS, "DVID", "DRUG", "ARM", "BASE"]]
