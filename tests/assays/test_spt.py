"""Sucrose preference: the real behaviopy per-cage ratios (../shared/data/spt, PROVENANCE.md
section 4) and generated bottle weights following the section-5 specification, with known truth."""

import numpy as np
import pandas as pd
import pytest

from adpharm.assays import spt
from adpharm.errors import AdpharmInputError
from conftest import data, run_cli



def test_behaviopy_ratios():
    """'All ratios 0.57-0.79. Means: Fluoxetine 0.71 vs Control 0.67. Left-position periods average
    0.70 vs right 0.66 (side bias).' 5 cages, 15 rows."""
    r = spt.analyse(pd.read_csv(data("behaviopy_sucrosepreference")))
    assert len(r.sessions) == 15 and len(r.subjects) == 5
    assert 0.57 <= r.sessions["preference"].min() and r.sessions["preference"].max() <= 0.79
    s = r.summary()
    assert (round(s.loc["Fluoxetine", "mean"], 2), round(s.loc["Control", "mean"], 2)) == (0.71, 0.67)
    sb = r.side_bias["mean_preference_by_side"]
    assert (round(sb["left"], 2), round(sb["right"], 2)) == (0.70, 0.66)


def test_behaviopy_cages_are_named_cages_and_their_tiny_test_is_flagged():
    """Issue 40: the behaviopy table holds one preference per cage (PROVENANCE section 4: 2 Fluoxetine vs 3
    Control cages); the unit of analysis says so, and a test on 2 vs 3 cages is flagged as having little power."""
    r = spt.analyse(pd.read_csv(data("behaviopy_sucrosepreference")))
    assert r.unit == "cage" and r.to_dict()["unit_of_analysis"] == "cage"
    small = [f for f in r.flags if f["kind"] == "small n"]
    assert small and "cages per group" in small[0]["reason"] and "descriptive" in small[0]["reason"]
    out = run_cli("assay", "spt", str(data("behaviopy_sucrosepreference")))
    assert out.returncode == 0 and "unit of analysis: cage" in out.stdout and "of 5 cages" in out.stdout


def _generate(rng):
    """Per-animal, per-day bottle weights: controls prefer sucrose at 0.80, stressed animals at 0.62,
    a +0.04 left-side bias, daily intake 3-8 g, one leaking bottle and one misread weight."""
    rows, truth = [], {}
    for g, pref in (("control", 0.80), ("stress", 0.62)):
        for a in range(8):
            animal = f"{g}{a}"
            own = pref + rng.normal(0, 0.04)  # animals differ around their group's preference
            truth[animal] = []
            for day in range(4):
                side = "left" if (day + a) % 2 == 0 else "right"
                p = own + (0.02 if side == "left" else -0.02)
                total = rng.uniform(3, 8)
                s0, w0 = rng.uniform(180, 200), rng.uniform(180, 200)
                rows.append({"animal": animal, "group": g, "day": day + 1, "sucrose_side": side,
                             "water_start_g": w0, "water_end_g": w0 - total * (1 - p),
                             "sucrose_start_g": s0, "sucrose_end_g": s0 - total * p})
                truth[animal].append(p)
    rows[3]["sucrose_end_g"] = rows[3]["sucrose_start_g"] - 40.0          # leak: 40 g gone in a day
    rows[9]["water_end_g"] = rows[9]["water_start_g"] + 2.0               # bottle heavier after the day
    truth[rows[3]["animal"]][3] = None
    truth[rows[9]["animal"]][1] = None
    return pd.DataFrame(rows), {k: np.mean([x for x in v if x is not None]) for k, v in truth.items()}


def test_generated_bottle_weights_recover_preference_and_flag_bad_sessions():
    df, truth = _generate(np.random.default_rng(11))
    r = spt.analyse(df, control="control")
    got = r.subjects.set_index("subject")["preference"]
    np.testing.assert_allclose(got[list(truth)], list(truth.values()), atol=1e-9)
    reasons = {f["row"]: f["reason"] for f in r.flags if f["kind"] == "session excluded"}
    assert set(reasons) == {4, 10} and "leak" in reasons[4] and "negative" in reasons[10]
    an = r.subjects.set_index("subject")["anhedonic"]
    assert an.to_dict() == {k: bool(v < 0.65) for k, v in truth.items()}
    assert an[[k for k in truth if k.startswith("stress")]].mean() > an[[k for k in truth if k.startswith("control")]].mean()
    assert r.side_bias["difference_left_minus_right"] == pytest.approx(0.04, abs=0.01)
    assert r.statistics["welch_t"]["pval"] < 1e-6


def test_bad_spt_inputs(tmp_path):
    df, _ = _generate(np.random.default_rng(1))
    with pytest.raises(AdpharmInputError, match="threshold:"):
        spt.analyse(df, threshold=1.5)
    bad = tmp_path / "bad.csv"
    df.drop(columns=["water_end_g"]).assign(x=1).to_csv(bad, index=False)
    res = run_cli("assay", "spt", str(bad), "--format", "json")
    assert res.returncode == 2 and "bad.csv" in res.stderr and "bottle weights" in res.stderr
    df = df.astype({"sucrose_end_g": object})
    df.loc[2, "sucrose_end_g"] = "n/a"
    df.to_csv(bad, index=False)
    res = run_cli("assay", "spt", str(bad))
    assert res.returncode == 2 and "'sucrose_end_g' row 3" in res.stderr
