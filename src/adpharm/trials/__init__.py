"""Virtual clinical trials: protocol files, simulation, analysis (MMRM, responders, survival), power, the virtual
registry, the primary analysis under its estimand, missing-data sensitivity, the model's known misses and NONMEM
export. Entry points: :func:`.simulate.simulate_trial`,
:func:`.analysis.analyse`, :func:`.readout.readout`, :func:`.power.power`, :func:`.registry.virtual_registry`."""

#: the package's public modules, down the flow
__all__ = ["protocol", "simulate", "analysis", "mmrm", "primary", "missing", "readout", "power", "registry", "known_misses", "export"]
