"""Published anchors shown beside adpharm's own pools: the Cochrane review of ketamine (its summary of
findings with its own GRADE certainty) and the esketamine programme's primary results, met and missed.

The values live in ``data/anchors.yaml`` with their reference keys and fact IDs. The esketamine rows are
single trials: their certainty is judged by :mod:`adpharm.evidence.certainty`'s rules (one trial: no
heterogeneity or incoherence to judge; a mean difference's imprecision is judged against no difference,
since no minimal important difference on the MADRS is bundled).

Examples
--------
>>> from adpharm.evidence.anchors import esketamine_programme
>>> [r["trial"] for r in esketamine_programme() if r["met"] is False]
['TRANSFORM-1', 'TRANSFORM-3']
"""
from __future__ import annotations

import copy
import functools
import math
from pathlib import Path

from . import certainty as cert

__all__ = ["cochrane_ketamine", "esketamine_programme", "single_trial_certainty"]

FILE = Path(__file__).with_name("data") / "anchors.yaml"


@functools.lru_cache(maxsize=1)
def _anchors() -> dict:
    from ..io import load_yaml
    return load_yaml(FILE.read_text(encoding="utf-8"))


def single_trial_certainty(estimate: float, ci: tuple[float, float], ratio: bool, level: float = 0.95) -> cert.Certainty:
    """Certainty of one published trial's result by the written rules: risk of bias not assessed here,
    one published trial (no test of small-study effects), no heterogeneity or incoherence to judge, and
    imprecision from its interval (a ratio against CINeMA's range of equivalence, a difference against 0)."""
    if ratio:
        z = cert.stats.norm.ppf(0.5 + level / 2)
        beta, se = math.log(estimate), (math.log(ci[1]) - math.log(ci[0])) / (2 * z)
        impr = cert.imprecision(beta, se, level)
    else:
        crosses = ci[0] < 0 < ci[1]
        impr = cert.Domain("some concerns" if crosses else "no concerns",
                           f"CI {ci[0]:g} to {ci[1]:g} {'includes' if crosses else 'excludes'} no difference "
                           "(no minimal important difference bundled for this scale)")
    return cert.rate({"within_study_bias": cert.within_study_bias(None),
                      "reporting_bias": cert.reporting_bias(1, 0, None),
                      "indirectness": cert.indirectness([]),
                      "imprecision": impr,
                      "heterogeneity": cert.Domain("no concerns", "one trial: no between-trial heterogeneity to judge"),
                      "incoherence": cert.incoherence(pairwise=True)})


def cochrane_ketamine() -> dict:
    """The Cochrane summary-of-findings rows (ketamine vs placebo and vs midazolam at 24 h), each with the
    review's own GRADE certainty, and the number of trials the review pooled per comparison."""
    return copy.deepcopy(_anchors()["cochrane_ketamine"])


def esketamine_programme() -> list[dict]:
    """The esketamine phase 3 primary results (TRANSFORM-1/2/3, ASPIRE I/II, SUSTAIN-1), each with
    ``certainty`` by the single-trial rules."""
    rows = copy.deepcopy(_anchors()["esketamine_programme"]["rows"])
    for r in rows:
        r["certainty"] = single_trial_certainty(r["estimate"], tuple(r["ci"]), r["measure"] in ("OR", "RR", "HR")).to_dict()
    return rows
