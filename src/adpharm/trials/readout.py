"""The readout of one trial's data, as a trialist reads it: the protocol's estimand and primary result first,
then every analysis of :func:`adpharm.trials.analysis.analyse` and, when asked, the missing-data sensitivity
of the primary change (:func:`adpharm.trials.missing.sensitivity`) for each active arm.

This is what ``adpharm trial analyze`` prints (:meth:`TrialReadout.text`) and writes as JSON
(:meth:`TrialReadout.to_dict`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ..display import NotebookDisplay
from ..errors import AdpharmInputError
from .analysis import TrialAnalysis, analyse
from .missing import DEFAULT_IMPUTATIONS, SensitivityResult, sensitivity as missing_sensitivity
from .primary import PrimaryResult, primary_result
from .protocol import TrialProtocol

__all__ = ["DEFAULT_REMISSION_MADRS", "TrialReadout", "readout"]

#: the remission threshold of data analysed without a protocol (MADRS <= 10)
DEFAULT_REMISSION_MADRS = 10.0


@dataclass
class TrialReadout(NotebookDisplay):
    """One data set's analyses, with its protocol's primary result and the missing-data sensitivity."""

    source: str
    analysis: TrialAnalysis
    protocol: TrialProtocol | None = None
    primary: PrimaryResult | None = None
    sensitivity: list[SensitivityResult] | None = None
    #: every note of the analyses, in order (the data's, then each sensitivity analysis's)
    notes: list[str] = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        """The analysis table (the MMRM contrasts, or the crossover estimates)."""
        return self.analysis.summary()

    def to_dict(self) -> dict:
        out = self.analysis.to_dict()
        out["provenance"]["data"] = self.source
        if self.primary is not None:
            out["estimand"], out["primary"] = self.primary.estimand, self.primary.to_dict()
        if self.sensitivity is not None:
            out["sensitivity"] = [r.to_dict() for r in self.sensitivity]
        return out

    def text(self) -> str:
        """The data and design, the estimand and primary result, every analysis and the sensitivity analyses."""
        res = self.analysis
        lines = [f"{self.source}: {res.design}, reference arm {res.reference}; subjects {res.n_subjects}"]
        if self.primary is not None:
            if self.protocol.estimand is not None:
                lines.append(self.protocol.estimand.text())
            lines += [self.primary.text(), "all visits:"]
        return ("\n".join(lines) + "\n" + res.text()
                + "".join(f"{r.text()}\n" for r in self.sensitivity or []))

    def plot(self, ax=None):
        """The MMRM contrasts by visit."""
        return self.analysis.plot(ax)


def readout(data: pd.DataFrame, protocol: TrialProtocol | None = None, *, source: str = "data",
            reference: str | None = None, visit: str | None = None, remission_threshold: float | None = None,
            df_method: str = "satterthwaite", level: float = 0.95, baseline_by_visit: bool = True,
            strata: bool = True, sensitivity: bool = False, imputations: int = DEFAULT_IMPUTATIONS,
            seed: int = 1) -> TrialReadout:
    """Analyse long trial data as its protocol says and as every analysis does.

    Parameters
    ----------
    data : long trial data (:func:`adpharm.trials.analysis.read_trial_csv`).
    protocol : the protocol the data follow: its estimand and primary result come first, its primary visit is
        the visit of the sensitivity analysis, and its remission threshold is the default.
    source : the data's name in the text and provenance (e.g. the file).
    reference, visit, df_method, level, baseline_by_visit, strata : as :func:`adpharm.trials.analysis.analyse`.
    remission_threshold : remission is a score at or below this (default: the protocol's, else
        :data:`DEFAULT_REMISSION_MADRS`).
    sensitivity : run the reference-based multiple imputation and the tipping point of the primary change
        for each active arm (parallel trials only).
    imputations, seed : of the sensitivity analysis.

    Examples
    --------
    >>> from adpharm.trials.simulate import simulate_trial
    >>> r = readout(simulate_trial("ssri-mdd-8wk", 30, seed=1).data, source="simulated")
    >>> r.text().splitlines()[0].startswith("simulated: parallel, reference arm placebo")
    True
    """
    if remission_threshold is None:
        remission_threshold = (protocol.remission_threshold(DEFAULT_REMISSION_MADRS) if protocol is not None
                               else DEFAULT_REMISSION_MADRS)
    res = analyse(data, reference=reference, visit=visit, remission_threshold=remission_threshold,
                  df_method=df_method, level=level, baseline_by_visit=baseline_by_visit, strata=strata)
    sens = None
    if sensitivity:
        if res.design == "crossover":
            raise AdpharmInputError("crossover data are analysed within patients; the imputation models are for "
                                    "parallel trials", field="sensitivity")
        target = protocol.primary.visit if protocol is not None else (visit or res.visits[-1])
        post = [v for v in res.visits if v != res.visits[0]]
        sens = [missing_sensitivity(data, res.reference, arm, target, post, imputations=imputations, seed=seed,
                                    level=level)
                for arm in res.n_subjects if arm != res.reference]
    primary = primary_result(protocol, data) if protocol is not None else None
    notes = list(res.notes) + [n for r in sens or [] for n in r.notes]
    return TrialReadout(source=source, analysis=res, protocol=protocol, primary=primary, sensitivity=sens,
                        notes=notes)
