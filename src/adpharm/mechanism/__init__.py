"""Mechanism: the signalling cascade as data (``cascade.yaml``), its integrator, virtual patients and the symptom
model, virtual preclinical assays and SBML export. Entry point: :func:`.simulate.simulate`."""

#: the package's public modules, down the flow
__all__ = ["model", "drive", "integrate", "population", "symptoms", "simulate", "stream", "combination", "preclinical", "sensitivity", "sbml"]
