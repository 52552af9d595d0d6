"""Evidence synthesis: effect sizes (escalc), pairwise meta-analysis and meta-regression (rma),
subgroups, leave-one-out, cumulative meta-analysis, Egger's test, network meta-analysis and the
Bucher indirect comparison. Names follow R's metafor so that its users feel at home.

The names are imported on first use (as in :mod:`adpharm`), so a caller that needs one submodule,
e.g. the assays' ``effect_sizes``, does not import the meta-regression and sensitivity code. ``indirect``
and ``network`` are imported at once: each is a function named like its submodule, and importing the
submodule later would otherwise replace the package's name for the function with the module.

Examples
--------
>>> from adpharm.evidence import escalc, rma
>>> callable(escalc) and callable(rma)
True
"""
from __future__ import annotations

from ..lazy import lazy_attributes
from .indirect import IndirectResult, bucher, indirect
from .network import NetworkResult, network

#: public name -> submodule of adpharm.evidence that defines it
_HOMES = {
    "EffectSizes": "effect_sizes", "escalc": "effect_sizes",
    "MetaResult": "meta", "rma": "meta",
    "MetaRegression": "moderators", "SubgroupResult": "moderators", "meta_regression": "moderators",
    "subgroups": "moderators",
    "RegTest": "sensitivity", "SequenceResult": "sensitivity", "cumul": "sensitivity", "leave1out": "sensitivity",
    "regtest": "sensitivity",
    "PairwiseAnalysis": "pairwise", "meta_analysis": "pairwise",
}

__all__ = ["EffectSizes", "escalc", "MetaResult", "rma", "MetaRegression", "meta_regression", "SubgroupResult",
           "subgroups", "SequenceResult", "leave1out", "cumul", "RegTest", "regtest", "NetworkResult", "network",
           "IndirectResult", "indirect", "bucher", "PairwiseAnalysis", "meta_analysis"]


__getattr__, __dir__ = lazy_attributes(globals(), {k: (f"{__name__}.{m}", k) for k, m in _HOMES.items()}, __all__)
