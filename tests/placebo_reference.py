"""Published placebo arms per bundled protocol (``tests/data/published_placebo_arms.yaml``) and the range a
simulated placebo arm must lie in; shared by ``test_placebo_arms.py`` and ``validation/trials/placebo_arms.py``.

The range is, for the primary-care arms of Linde 2015, the REML 95 % prediction interval of one trial's
placebo rate on the logit scale (``mu +- 1.96 sqrt(tau^2 + se(mu)^2)``, Higgins, Thompson & Spiegelhalter
2009); for the other protocols, the span of the exact (Clopper-Pearson) 95 % intervals of the published arms,
and of any pooled rate given without its size.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from adpharm.evidence.meta import tau2_estimate
from adpharm.io import load_yaml

HERE = Path(__file__).resolve().parent
PUBLISHED = load_yaml((HERE / "data" / "published_placebo_arms.yaml").read_text())
SEEDS = list(range(500, 510))


def linde_placebo_arms(linde_csv: Path, outcome: str) -> tuple[np.ndarray, np.ndarray]:
    """Events and sizes of the complete placebo arms of dat.linde2015 (``resp`` or ``remi``), read from the
    dataset ``linde2015_classes_primary_care``."""
    d = pd.read_csv(linde_csv)
    x, n = [], []
    for _, r in d.iterrows():
        arms = [(r[f"treatment{k}"], r[f"n{k}"], r[f"resp{k}"], r[f"remi{k}"]) for k in (1, 2, 3)
                if isinstance(r[f"treatment{k}"], str) and pd.notna(r[f"n{k}"])]
        if any(t == "Placebo" for t, *_ in arms) and all(pd.notna(e) for _, _, e, _ in arms):
            _, nn, resp, remi = next(a for a in arms if a[0] == "Placebo")
            value = resp if outcome == "resp" else remi
            if pd.notna(value):
                x.append(value)
                n.append(nn)
    return np.array(x, float), np.array(n, float)


def logit_rates(x: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Logit rates and their variances, 0.5 added to each cell."""
    return np.log((x + 0.5) / (n - x + 0.5)), 1 / (x + 0.5) + 1 / (n - x + 0.5)


def prediction_interval(x: np.ndarray, n: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Pooled rate and the REML prediction interval of one trial's rate (logit scale, 0.5 added to each cell)."""
    y, v = logit_rates(x, n)
    tau2 = tau2_estimate(y, v, "REML")
    w = 1 / (v + tau2)
    mu = float(np.sum(w * y) / np.sum(w))
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(tau2 + 1 / np.sum(w))
    expit = lambda t: 1 / (1 + np.exp(-t))  # noqa: E731
    return float(expit(mu)), float(expit(mu - half)), float(expit(mu + half))


def exact_interval(events: int, n: int, level: float = 0.95) -> tuple[float, float]:
    a = (1 - level) / 2
    lo = 0.0 if events == 0 else stats.beta.ppf(a, events, n - events + 1)
    hi = 1.0 if events == n else stats.beta.ppf(1 - a, events + 1, n - events)
    return float(lo), float(hi)


def published_range(protocol: str, outcome: str, linde_csv: Path) -> dict | None:
    """``{"low", "high", "arms"}`` for ``outcome`` (``response`` or ``remission``), None where no arm is published."""
    entry = PUBLISHED[protocol]
    if entry.get("linde2015"):
        x, n = linde_placebo_arms(linde_csv, "resp" if outcome == "response" else "remi")
        pooled, lo, hi = prediction_interval(x, n)
        return {"low": lo, "high": hi, "arms": f"{len(x)} placebo arms of Linde 2015, {x.sum():.0f}/{n.sum():.0f}; "
                                                f"random-effects mean {100 * pooled:.1f} %, 95 % prediction interval "
                                                f"of one trial"}
    arms = entry.get(outcome) or []
    if not arms:
        return None
    bounds, text = [], []
    for a in arms:
        if "rate" in a:
            bounds.append((a["rate"], a["rate"]))
            text.append(f"{a['label']} {100 * a['rate']:.1f} %")
        else:
            bounds.append(exact_interval(a["events"], a["n"]))
            text.append(f"{a['label']} {a['events']}/{a['n']}")
    return {"low": min(b[0] for b in bounds), "high": max(b[1] for b in bounds), "arms": "; ".join(text)}


def simulated(protocol: str, seeds=SEEDS) -> dict:
    """Mean and SD over simulated trials (the protocol's own size) of the placebo arm's response and remission."""
    from adpharm.trials.protocol import load_protocol
    from adpharm.trials.simulate import simulate_trials
    entry = PUBLISHED[protocol]
    proto = load_protocol(protocol)
    rows = [t.summary().set_index(["arm", "visit"]).loc[(entry["arm"], entry["visit"])]
            for t in simulate_trials(protocol, proto.n_per_arm, seeds)]
    out = {"n_per_arm": proto.n_per_arm, "trials": len(rows)}
    for key, col in (("response", "response_rate"), ("remission", "remission_rate")):
        vals = np.array([float(r[col]) for r in rows])
        out[key] = (float(vals.mean()), float(vals.std(ddof=1)))
    return out
