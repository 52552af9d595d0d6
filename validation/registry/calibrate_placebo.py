"""Fit the registry population's placebo contact median (``registry-mdd`` in mechanism/populations.yaml) on the
calibration half of the virtual registry only: the simulated pooled placebo response (LOCF over the patients
randomised) must equal the observed one of the same trials. One mechanism parameter, one target; the held-out
half is not looked at. Secant search on the logit of the median.

Run:  .venv/bin/python validation/registry/calibrate_placebo.py   (prints the value to write into the YAML)
"""
from __future__ import annotations

import dataclasses
import math

from adpharm.mechanism.population import load_populations
from adpharm.trials.registry import POPULATION, virtual_registry


def placebo(contact: float) -> tuple[float, float]:
    pops = load_populations()
    p = pops.populations[POPULATION]
    pops.populations[POPULATION] = dataclasses.replace(
        p, contact_median_frac=dataclasses.replace(p.contact_median_frac, value=contact))
    s = virtual_registry("calibration", seed=1, workers=0).summary_dict()["placebo_response"]
    return s["simulated"], s["observed"]


def main():
    logit = lambda p: math.log(p / (1 - p))  # noqa: E731
    expit = lambda x: 1 / (1 + math.exp(-x))  # noqa: E731
    x0, x1 = logit(0.3724), logit(0.45)
    f0 = placebo(expit(x0))
    f1 = placebo(expit(x1))
    target = f0[1]
    g0, g1 = f0[0] - target, f1[0] - target
    print(f"target (observed, calibration half) {target:.4f}")
    for _ in range(6):
        x2 = x1 - g1 * (x1 - x0) / (g1 - g0)
        sim, _ = placebo(expit(x2))
        print(f"  contact median {expit(x2):.4f}: simulated placebo response {sim:.4f}")
        x0, g0, x1, g1 = x1, g1, x2, sim - target
        if abs(g1) < 0.002:
            break
    print(f"contact_median_frac: {expit(x1):.4f}")


if __name__ == "__main__":
    main()
