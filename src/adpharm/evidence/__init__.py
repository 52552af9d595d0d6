"""Evidence synthesis: effect sizes (escalc), pairwise meta-analysis (rma), and later network
meta-analysis and indirect comparisons. Names follow R's metafor so that its users feel at home."""
from .effect_sizes import EffectSizes, escalc
from .meta import MetaResult, rma

__all__ = ["EffectSizes", "escalc", "MetaResult", "rma"]
