"""Pharmacology: regimens, linear PK models with metabolites, populations, NCA, receptor occupancy, TDM and
NONMEM-style datasets. Entry points: :func:`.simulate.simulate`, :func:`.occupancy.occupancy`, :func:`.tdm.tdm`,
:func:`.nonmem.pk_dataset`."""

#: the package's public modules, down the flow
__all__ = ["regimen", "model", "solver", "simulate", "nca", "occupancy", "inactivation", "tdm", "nonmem"]
