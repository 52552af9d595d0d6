"""Subgroup analysis, and meta-regression on moderators (:mod:`.regression`, re-exported here), like
``rma(yi, vi, mods = ~ ...)`` in metafor.

References
----------
Thompson SG, Higgins JPT (2002). How should meta-regression analyses be undertaken and
interpreted? Stat Med 21:1559-1573. doi:10.1002/sim.1187
Borenstein M, Hedges LV, Higgins JPT, Rothstein HR (2009). Introduction to Meta-Analysis,
chapter 19 (subgroup analyses; test of differences with separate tau^2). Wiley.
doi:10.1002/9780470743386
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError
from .effect_sizes import EffectSizes
from .meta import MetaResult, rma
from .regression import MetaRegression, design_matrix, meta_regression  # noqa: F401
from .rma_fit import check_options
from ..display import NotebookDisplay


@dataclass
class SubgroupResult(NotebookDisplay):
    """Separate meta-analyses per subgroup and the test for subgroup differences (Q between)."""

    groups: dict[str, MetaResult]
    overall: MetaResult
    Qb: float
    Qb_df: int
    Qbp: float
    method: str

    def to_dict(self) -> dict[str, Any]:
        return {"method": self.method, "overall": self.overall.to_dict(),
                "subgroups": {g: r.to_dict() for g, r in self.groups.items()},
                "test_for_subgroup_differences": {"Qb": self.Qb, "df": self.Qb_df, "pval": self.Qbp}}

    def summary(self) -> pd.DataFrame:
        rows = [r.summary().assign(subgroup=g) for g, r in self.groups.items()]
        rows.append(self.overall.summary().assign(subgroup="overall"))
        return pd.concat(rows).set_index("subgroup")

    def plot(self, ax=None, **kwargs):
        """A forest plot with one block of rows per subgroup."""
        from .plots import forest
        return forest(self, ax=ax, **kwargs)


def subgroups(es: EffectSizes, groups: Sequence[str], method: str = "REML", test: str = "z",
              level: float = 0.95) -> SubgroupResult:
    """Meta-analysis within each subgroup (separate tau^2) and the Q-between test of differences.

    Subgroups with a single study enter as that study's estimate (a one-study "meta-analysis").
    """
    check_options(method, test, level)
    groups = [str(g) for g in groups]
    if len(groups) != len(es):
        raise AdpharmInputError(f"subgroups: {len(groups)} labels for {len(es)} studies")
    labels = list(dict.fromkeys(groups))
    if len(labels) < 2:
        raise AdpharmInputError("subgroups: need at least two subgroups")
    fits: dict[str, MetaResult] = {}
    for g in labels:
        sub = es.subset(np.array([x == g for x in groups]))
        if len(sub) < 2:
            raise AdpharmInputError(f"subgroup {g!r} has a single study; merge it or drop it")
        fits[g] = rma(sub, method=method, test=test, level=level)
    between = EffectSizes(np.array([r.beta for r in fits.values()]), np.array([r.se ** 2 for r in fits.values()]),
                          es.measure, labels)
    qb = rma(between, method="FE")
    return SubgroupResult(groups=fits, overall=rma(es, method=method, test=test, level=level), Qb=qb.Q,
                          Qb_df=len(labels) - 1, Qbp=qb.QEp, method=method)
