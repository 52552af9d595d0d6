"""The registry of antidepressant trials: GRISELDA, the open data of Cipriani et al. 2018, bundled.

522 double-blind randomised trials of 21 antidepressants in adults with major depressive disorder,
one row per randomised arm (1,199 arms, 304 of them placebo), with responders, remitters, all-cause
and adverse-event dropouts, scale, baseline, weeks and whether the trial was published. The file is
bundled under CC BY 4.0 with its attribution (``data/cipriani2018_griselda.yaml``).

:func:`arms` reads it into named columns: ``*`` in the source ("missing from the published or
unpublished data") becomes missing, imputed responder counts keep their flag and their fractional
values, ``unpublished`` is a field. :func:`network_data` turns it into the arm-level table of a
network meta-analysis for one outcome: dose arms of a drug within a trial are merged (the registry's
drug-level analysis), arms without the outcome are dropped and so are trials left with one arm;
every such step is counted in the notes.

Examples
--------
>>> from adpharm.evidence import registry
>>> a = registry.arms()
>>> a["study"].nunique(), len(a), int((a["drug"] == "placebo").sum())
(522, 1199, 304)
>>> df, notes = registry.network_data("response")
>>> sorted(df.columns)
['ni', 'published', 'study', 'treatment', 'xi', 'year']

References
----------
Cipriani A, Furukawa TA, Salanti G, et al. (2018). Comparative efficacy and acceptability of 21
antidepressant drugs for the acute treatment of adults with major depressive disorder: a
systematic review and network meta-analysis. Lancet 391:1357-1366.
doi:10.1016/S0140-6736(17)32802-7. Data: Mendeley Data doi:10.17632/83rthbp8ys.2 (CC BY 4.0).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, get_args

import numpy as np
import pandas as pd

from ..errors import AdpharmInputError, check_option
from .network import NetworkResult, network
from ..display import NotebookDisplay, provenance, table_text

__all__ = ["KEY", "Outcome", "OUTCOMES", "arms", "attribution", "network_data", "era", "direct_versus",
           "RegistryNetwork", "registry_network"]

KEY = "cipriani2018"
DATA = Path(__file__).with_name("data")
FILE = DATA / "cipriani2018_griselda_arms.csv"

Outcome = Literal["response", "remission", "dropout", "dropout-ae"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
#: the arm column that counts each outcome's events
OUTCOME_COLUMN = {"response": "responders", "remission": "remitters", "dropout": "dropouts_total",
                  "dropout-ae": "dropouts_ae"}
#: whether more events of an outcome are better (response, remission) or worse (dropouts)
LARGER_IS_BETTER = {"response": True, "remission": True, "dropout": False, "dropout-ae": False}

_COLUMNS = {"StudyID": "study", "Drug": "label", "No_randomised": "n_randomised", "Responders": "responders",
            "Responders_imputed": "responders_imputed", "Remitters": "remitters",
            "Remitters_imputed": "remitters_imputed", "N_compl_imputed_response": "n_response",
            "Definition_of_response": "response_definition", "Definition_of_remission": "remission_definition",
            "Dropouts_total": "dropouts_total", "Dropouts_sideeffects": "dropouts_ae", "Scale": "scale",
            "Baseline_mean": "baseline_mean", "Weeks": "weeks", "N_compl_imputed_endpoint": "n_endpoint",
            "Endpoint_mean": "endpoint_mean", "Endpoint_SD": "endpoint_sd"}
_NUMERIC = ("n_randomised", "responders", "remitters", "n_response", "dropouts_total", "dropouts_ae",
            "baseline_mean", "weeks", "n_endpoint", "endpoint_mean", "endpoint_sd")
_DOSE = re.compile(r"^(?P<drug>[a-z]+)(?:\s+(?:xr|ir))?(?:\s+(?P<lo>[\d.]+)(?:\s*-\s*(?P<hi>[\d.]+))?\s*mg)?$")


@functools.lru_cache(maxsize=1)
def attribution() -> dict:
    """The bundled file's licence, citation and data record (CC BY 4.0 asks for them wherever it is used)."""
    from ..io import load_yaml
    return load_yaml((DATA / "cipriani2018_griselda.yaml").read_text(encoding="utf-8"))


def _parse_label(label: str) -> tuple[str, float, float]:
    """``'venlafaxine XR 75-150mg'`` -> ``('venlafaxine', 75.0, 150.0)``; a flexible-dose arm has no dose."""
    m = _DOSE.match(" ".join(str(label).lower().split()))
    if m is None:
        raise AdpharmInputError(f"{FILE.name}: drug label {label!r} is not '<drug> [<dose>mg]'")
    lo = float(m["lo"]) if m["lo"] else np.nan
    return m["drug"], lo, float(m["hi"]) if m["hi"] else lo


@functools.lru_cache(maxsize=1)
def _arms() -> pd.DataFrame:
    raw = pd.read_csv(FILE, dtype=str, keep_default_na=False)
    d = raw.rename(columns=_COLUMNS)
    for c in d.columns:
        d[c] = d[c].str.strip().replace({"*": None, "": None})
    for c in _NUMERIC:
        d[c] = pd.to_numeric(d[c], errors="raise")
    for c in ("responders_imputed", "remitters_imputed"):
        d[c] = d[c].map({"1": True, "0": False})
    parsed = [_parse_label(x) for x in d["label"]]
    d.insert(2, "drug", [p[0] for p in parsed])
    d.insert(3, "dose_mg_low", [p[1] for p in parsed])
    d.insert(4, "dose_mg_high", [p[2] for p in parsed])
    d.insert(1, "published", d.pop("Year_Published") != "unpublished")
    d.insert(1, "year", pd.to_numeric(raw["Year_Published"].where(d["published"]), errors="coerce").astype("Int64"))
    return d


def arms() -> pd.DataFrame:
    """One row per randomised arm of the registry (a copy), with named columns.

    Columns: ``study, year (missing when unpublished), published, label (the source's drug text),
    drug, dose_mg_low, dose_mg_high (both missing for a flexible dose; equal for a fixed dose),
    n_randomised, responders, responders_imputed, remitters, remitters_imputed, n_response,
    response_definition, remission_definition, dropouts_total, dropouts_ae, scale, baseline_mean,
    weeks, n_endpoint, endpoint_mean, endpoint_sd``. Missing values are NaN/None, never ``*``.
    """
    return _arms().copy()


def era(year, published) -> str:
    """The publication era of a trial: ``before 1991``, ``1991 on`` or ``unpublished``."""
    if not published or pd.isna(year):
        return "unpublished"
    return "before 1991" if int(year) < 1991 else "1991 on"


def network_data(outcome: Outcome = "response", published_only: bool = False,
                 drugs: list[str] | None = None) -> tuple[pd.DataFrame, list[str]]:
    """The arm-level table (``study, treatment, xi, ni, published, year``) of one outcome.

    Events are the outcome's counts (``responders`` for ``response`` ...); totals are the numbers
    randomised (intention to treat, as in Cipriani et al. 2018). Dose arms of one drug in one trial
    are merged. Arms without the outcome or their size are dropped, then trials left with fewer than
    two arms. ``published_only`` drops the unpublished trials; ``drugs`` keeps those drugs and placebo.

    Returns
    -------
    (DataFrame, list of str)
        The table and the notes that say what was merged, dropped and why.
    """
    check_option("outcome", outcome, OUTCOMES)
    a = _arms()
    col = OUTCOME_COLUMN[outcome]
    notes = [f"{KEY}: {a['study'].nunique()} trials, {len(a)} arms in the registry (Cipriani et al. 2018, CC BY 4.0)"]
    if published_only:
        n_unpub = a.loc[~a["published"], "study"].nunique()
        a = a[a["published"]]
        notes.append(f"{n_unpub} unpublished trials left out (published_only)")
    if drugs is not None:
        unknown = sorted(set(drugs) - set(a["drug"]))
        if unknown:
            raise AdpharmInputError(f"{', '.join(map(repr, unknown))} not in the {KEY} registry "
                                    f"({', '.join(sorted(set(a['drug'])))})", field="drugs")
        a = a[a["drug"].isin(set(drugs) | {"placebo"})]
    selected = a["study"].nunique()
    missing = a[col].isna() | a["n_randomised"].isna()
    if missing.any():
        notes.append(f"{int(missing.sum())} arms without {col} (or their size) left out")
    a = a[~missing]
    merged = a.groupby(["study", "drug"], sort=False).agg(
        xi=(col, "sum"), ni=("n_randomised", "sum"), n_arms=(col, "size"), published=("published", "first"),
        year=("year", "first")).reset_index()
    k_merged = int((merged["n_arms"] > 1).sum())
    if k_merged:
        notes.append(f"dose arms merged into one arm per drug in {k_merged} trial-drug pairs")
    size = merged.groupby("study")["drug"].transform("size")
    lost = selected - merged.loc[size >= 2, "study"].nunique()
    if lost:
        notes.append(f"{lost} trials without {col} in at least two arms left out")
    out = merged[size >= 2].rename(columns={"drug": "treatment"})[["study", "treatment", "xi", "ni", "published", "year"]]
    if out.empty:
        raise AdpharmInputError(f"outcome {outcome}: no trial of the selection reports it")
    absent = sorted(set(a["drug"]) - set(out["treatment"]))
    if absent:
        notes.append(f"no trial reports {outcome} for {', '.join(absent)}: not in this network")
    notes.append(f"{out['study'].nunique()} trials, {len(out)} arms analysed for {outcome}")
    return out.reset_index(drop=True), notes


# ---------------------------------------------------------------- the registry's network
def direct_versus(data: pd.DataFrame, drug: str, comparator: str = "placebo") -> pd.DataFrame:
    """Each trial of ``data`` (from :func:`network_data`) with both ``drug`` and ``comparator``: one row
    ``study, ai, n1i, ci, n2i, published, year`` (drug events and size, comparator events and size)."""
    a = data[data["treatment"] == drug].set_index("study")
    c = data[data["treatment"] == comparator].set_index("study")
    both = a.index.intersection(c.index)
    return pd.DataFrame({"study": both, "ai": a.loc[both, "xi"].to_numpy(), "n1i": a.loc[both, "ni"].to_numpy(),
                         "ci": c.loc[both, "xi"].to_numpy(), "n2i": c.loc[both, "ni"].to_numpy(),
                         "published": a.loc[both, "published"].to_numpy(), "year": a.loc[both, "year"].to_numpy()})


def _egger_p(table: pd.DataFrame) -> float | None:
    """Egger's test (metafor's ``regtest``, REML model) of a drug's trials against placebo; None below 10."""
    if len(table) < 10:
        return None
    from .effect_sizes import escalc
    from .meta import rma
    from .sensitivity import regtest
    return float(regtest(rma(escalc("OR", table), method="REML")).pval)


@dataclass
class RegistryNetwork(NotebookDisplay):
    """The registry's network for one outcome, with a CINeMA-style certainty for every estimate
    against the reference (:mod:`adpharm.evidence.certainty`)."""

    outcome: str
    published_only: bool
    network: NetworkResult
    data: pd.DataFrame = field(repr=False)
    certainty: dict = field(default_factory=dict)
    data_notes: list = field(default_factory=list)
    #: trials comparing each treatment directly with the reference
    k_direct: dict = field(default_factory=dict)

    @property
    def warnings(self) -> list[str]:
        """The network model's warnings."""
        return self.network.warnings

    def estimates(self) -> dict[str, dict]:
        """Each treatment against the reference: ``beta, se, ci_lb, ci_ub, pval, OR, OR_ci_lb, OR_ci_ub``,
        the number of direct trials against the reference, and ``certainty``."""
        est = self.network.estimates()
        for t, row in est.items():
            row["k_direct"] = self.k_direct[t]
            row["certainty"] = self.certainty[t].to_dict()
        return est

    def to_dict(self) -> dict:
        out = self.network.to_dict()
        del out["data_notes"], out["provenance"]
        out["estimates"] = self.estimates()
        out.update(outcome=self.outcome, registry=KEY, published_only=self.published_only,
                   larger_is_better=LARGER_IS_BETTER[self.outcome], data_notes=list(self.data_notes),
                   attribution={k: attribution()[k] for k in ("citation", "data_record", "licence")})
        out["pscores"] = self.network.pscores(larger_is_better=LARGER_IS_BETTER[self.outcome])
        a = attribution()
        out["provenance"] = provenance(input=f"bundled {KEY}", reference_key=KEY, citation=a["citation"],
                                       data_record=a["data_record"], licence=a["licence"])
        return out

    def text(self) -> str:
        """The model and outcome, each drug against placebo (OR, direct trials, P-score, certainty), the
        heterogeneity, the data's notes and the registry's citation."""
        net, a = self.network, attribution()
        lines = [f"{net.title()}; {self.outcome}{', published trials only' if self.published_only else ''}",
                 table_text(self.summary(), ".4g", index=True), net.heterogeneity_text(),
                 "certainty: CINeMA domains by written rules (adpharm.evidence.certainty); the JSON output gives "
                 "each domain's judgement and reason",
                 *(f"note: {n}" for n in self.data_notes),
                 f"data: {a['citation']}; {a['data_record']} (CC BY 4.0)"]
        return "\n".join(lines) + "\n"

    def summary(self) -> pd.DataFrame:
        """One row per treatment against the reference: OR, interval, direct trials, P-score, certainty."""
        est = self.estimates()
        ps = self.network.pscores(larger_is_better=LARGER_IS_BETTER[self.outcome])
        return pd.DataFrame([{"treatment": t, "OR": e["OR"], "OR_ci_lb": e["OR_ci_lb"], "OR_ci_ub": e["OR_ci_ub"],
                              "k_direct": e["k_direct"], "pscore": ps[t], "certainty": e["certainty"]["rating"]}
                             for t, e in est.items()]).set_index("treatment")

    def plot(self, ax=None):
        """The network graph (node per drug, edge width by the number of trials)."""
        return self.network.plot(ax=ax)


def registry_network(outcome: Outcome = "response", published_only: bool = False, method: str = "REML",
                     level: float = 0.95) -> RegistryNetwork:
    """Random-effects network meta-analysis of the registry for one outcome, every drug against placebo,
    each estimate with its certainty.

    Parameters
    ----------
    outcome : {"response", "remission", "dropout", "dropout-ae"}
    published_only : bool
        Leave out the unpublished trials (the registry's own view of publication bias).
    method : {"REML", "DL"}
        The tau^2 estimator (one heterogeneity variance for the whole network).

    Examples
    --------
    >>> from adpharm.evidence.registry import registry_network
    >>> r = registry_network("response")                       # doctest: +SKIP
    >>> round(r.estimates()["amitriptyline"]["OR"], 2)         # doctest: +SKIP
    2.1

    References
    ----------
    Cipriani A, et al. (2018) Lancet 391:1357-1366. doi:10.1016/S0140-6736(17)32802-7 (the paper's
    Bayesian random-effects model gives amitriptyline OR 2.13 and reboxetine 1.37 for response;
    adpharm's frequentist REML fit of the same arms gives 2.10 and 1.34).
    """
    from . import certainty as cert
    data, notes = network_data(outcome, published_only)
    net = network(data[["study", "treatment", "xi", "ni"]], reference="placebo", model="random", method=method,
                  level=level, source=f"{KEY} ({outcome})")
    ns = net.nodesplit()
    dbt = net.to_dict()["design_by_treatment"]["Qp_inc"]
    out, k_direct = {}, {}
    for t in net.others:
        b, se = net.contrast(t, net.reference)
        direct = direct_versus(data, t, net.reference)
        k_direct[t] = int(len(direct))
        key = " vs ".join(sorted((t, net.reference)))
        split_p = ns.loc[key, "pval"] if key in ns.index else None
        out[t] = cert.rate({
            "within_study_bias": cert.within_study_bias(None),
            "reporting_bias": cert.reporting_bias(len(direct), int((~direct["published"].astype(bool)).sum()),
                                                  _egger_p(direct)),
            "indirectness": cert.indirectness([]),
            "imprecision": cert.imprecision(b, se, level),
            "heterogeneity": cert.heterogeneity(b, se, net.tau2, level),
            "incoherence": cert.incoherence(None if split_p is None or pd.isna(split_p) else float(split_p), dbt),
        })
    return RegistryNetwork(outcome=outcome, published_only=published_only, network=net, data=data, certainty=out,
                           data_notes=notes + list(net.warnings), k_direct=k_direct)
