"""Virtual clinical trials: protocol files, simulation, analysis (MMRM, responders, survival), power."""
