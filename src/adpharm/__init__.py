"""adpharm: executable comparison of rapid-acting and conventional antidepressants.

Research use only. Not for clinical decision making.
"""
__version__ = "0.1.0"
RESEARCH_NOTICE = ("Research use only: adpharm summarises published data and simulations for research "
                   "and teaching. It is not medical advice and must not guide the treatment of any patient.")
