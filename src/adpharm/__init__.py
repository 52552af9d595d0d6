"""adpharm: executable comparison of rapid-acting and conventional antidepressants.

Research use only. Not for clinical decision making.

The main tasks, one function each (imported on first use, so ``import adpharm`` stays fast):

======================  ==========================================================================
``simulate_pk``         concentrations of a drug and its metabolites, population NCA
``PatientCovariates``   who the virtual patients are (weight, age, sex, CYP2D6), for every simulation
``occupancy``           receptor and transporter occupancy from a PK simulation
``tdm``                 expected level at steady state against the therapeutic range
``simulate_mechanism``  signalling cascade and MADRS course of a regimen, drug against placebo
``simulate_trial``      one virtual trial of a protocol
``analyse_trial``       MMRM, responders and survival of trial data
``power``               power of a protocol's primary endpoint by simulation (Dask)
``virtual_registry``    every placebo-controlled GRISELDA trial of a modelled drug, simulated
``escalc``, ``rma``     effect sizes and random-effects meta-analysis, as metafor names them
``network``             network meta-analysis; ``registry_network``: the 522-trial registry's
``indirect``            adjusted indirect comparison (Bucher)
``analyse_fst`` ...     lab assays: forced swim, sucrose preference, Western blot, LTP
``reversal``            transcriptomic signature reversal by a drug
``compare``             the comparison guide of two drugs or classes; ``render`` writes it
``datasets``            the real data files the tests and tutorials use
======================  ==========================================================================

Examples
--------
>>> import adpharm as ap
>>> "simulate_pk" in ap.__all__ and "compare" in ap.__all__
True
>>> pk = ap.simulate_pk("sertraline", "50 mg po daily", hours=48)
>>> round(float(pk.summary().query("measure == 'cmax_ng_per_ml'")["value"].iloc[0]), 1) > 0
True
"""
from __future__ import annotations

from .lazy import lazy_attributes

__version__ = "0.1.0"
RESEARCH_NOTICE = ("Research use only: adpharm summarises published data and simulations for research "
                   "and teaching. It is not medical advice and must not guide the treatment of any patient.")

#: public name -> (module, attribute); None imports the module itself
_ENTRY_POINTS = {
    "simulate_pk": ("adpharm.pharmacology.simulate", "simulate"),
    "PatientCovariates": ("adpharm.pharmacology.simulate", "PatientCovariates"),
    "occupancy": ("adpharm.pharmacology.occupancy", "occupancy"),
    "tdm": ("adpharm.pharmacology.tdm", "tdm"),
    "simulate_mechanism": ("adpharm.mechanism.simulate", "simulate"),
    "simulate_trial": ("adpharm.trials.simulate", "simulate_trial"),
    "analyse_trial": ("adpharm.trials.analysis", "analyse"),
    "power": ("adpharm.trials.power", "power"),
    "virtual_registry": ("adpharm.trials.registry", "virtual_registry"),
    "escalc": ("adpharm.evidence.effect_sizes", "escalc"),
    "rma": ("adpharm.evidence.meta", "rma"),
    "network": ("adpharm.evidence.network", "network"),
    "registry_network": ("adpharm.evidence.registry", "registry_network"),
    "indirect": ("adpharm.evidence.indirect", "indirect"),
    "analyse_fst": ("adpharm.assays.fst", "analyse"),
    "analyse_spt": ("adpharm.assays.spt", "analyse"),
    "analyse_western": ("adpharm.assays.western", "analyse"),
    "analyse_ltp": ("adpharm.assays.ltp", "analyse"),
    "reversal": ("adpharm.transcriptomics.reversal", "reversal"),
    "compare": ("adpharm.report.comparison", "compare"),
    "render": ("adpharm.report.render", "render"),
    "datasets": ("adpharm.datasets", None),
}

__all__ = ["__version__", "RESEARCH_NOTICE", *_ENTRY_POINTS]


__getattr__, __dir__ = lazy_attributes(globals(), _ENTRY_POINTS, __all__)
