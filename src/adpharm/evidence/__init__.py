"""Evidence synthesis: effect sizes (escalc), pairwise meta-analysis and meta-regression (rma),
subgroups, leave-one-out, cumulative meta-analysis, Egger's test, network meta-analysis and the
Bucher indirect comparison. Names follow R's metafor so that its users feel at home."""
from .effect_sizes import EffectSizes, escalc
from .indirect import IndirectResult, bucher, indirect
from .meta import MetaResult, rma
from .moderators import MetaRegression, SubgroupResult, meta_regression, subgroups
from .network import NetworkResult, network
from .sensitivity import RegTest, SequenceResult, cumul, leave1out, regtest

__all__ = ["EffectSizes", "escalc", "MetaResult", "rma", "MetaRegression", "meta_regression", "SubgroupResult",
           "subgroups", "SequenceResult", "leave1out", "cumul", "RegTest", "regtest", "NetworkResult", "network",
           "IndirectResult", "indirect", "bucher"]
