"""The README table of placebo arms: every bundled protocol's simulated placebo arm (mean and SD over ten
simulated trials of the protocol's own size, seeds 500-509) beside the published arms of its population
(tests/data/published_placebo_arms.yaml; the ranges are explained in tests/placebo_reference.py).

Run:  .venv/bin/python validation/trials/placebo_arms.py
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tests")]

from placebo_reference import PUBLISHED, published_range, simulated  # noqa: E402

from adpharm import datasets  # noqa: E402
from adpharm.mechanism.model import load  # noqa: E402


def main():
    print(f"cascade model {load().version}")
    print("| protocol (population) | arm, visit | outcome | published arms | range | simulated | inside? |")
    print("|---|---|---|---|---|---|---|")
    for protocol, entry in PUBLISHED.items():
        sim = simulated(protocol)
        for outcome in ("response", "remission"):
            rng = published_range(protocol, outcome, datasets.fetch("linde2015_classes_primary_care", download=False))
            mean, sd = sim[outcome]
            simtext = f"{100 * mean:.0f} % (SD {100 * sd:.0f} %)"
            if rng is None:
                print(f"| {protocol} ({entry['population']}) | {entry['arm']}, {entry['visit']} | {outcome} | "
                      f"not in the bundled sources | - | {simtext} | - |")
                continue
            inside = "yes" if rng["low"] <= mean <= rng["high"] else "no"
            print(f"| {protocol} ({entry['population']}) | {entry['arm']}, {entry['visit']} | {outcome} | {rng['arms']} | "
                  f"{100 * rng['low']:.0f}-{100 * rng['high']:.0f} % | {simtext} | {inside} |")


if __name__ == "__main__":
    main()
