"""Bucher indirect comparison and its transitivity report."""
import numpy as np
import pandas as pd
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.evidence import bucher, escalc, indirect, rma
from adpharm.evidence.indirect import bundled_indirect, timepoint_hours


def test_bucher_closed_form():
    """Bucher 1997: d_AB = d_AC - d_BC, var = var_AC + var_BC."""
    r = bucher(0.8, 0.3, 0.5, 0.4)
    assert r["beta"] == pytest.approx(0.3)
    assert r["se"] == pytest.approx(0.5)
    assert r["ci_lb"] == pytest.approx(0.3 - 1.959963984540054 * 0.5)


def test_bundled_ketamine_vs_imipramine_is_the_difference_of_the_two_legs():
    r = bundled_indirect("ketamine", "imipramine", via="placebo")
    legs = {}
    for name, studies in (("a", {"lapidus2014", "lii2023"}), ("b", {"kocsis1988", "stewart1993"})):
        side = r.side_a if name == "a" else r.side_b
        assert set(side.trials["study"]) == studies
        legs[name] = rma(escalc("OR", side.trials), method="DL")
    assert r.beta == pytest.approx(legs["a"].beta - legs["b"].beta, rel=1e-12)
    assert r.se == pytest.approx(np.hypot(legs["a"].se, legs["b"].se), rel=1e-12)


def test_transitivity_report_flags_what_differs():
    r = bundled_indirect("ketamine", "tca", via="placebo")
    flags = {f["attribute"]: f for f in r.transitivity}
    assert {"population", "time point", "design"} <= set(flags)
    assert flags["time point"]["a"].startswith("24 h") and "weeks" in flags["time point"]["b"]
    assert r.windows == {"a": "24h", "b": "acute-end"}   # each leg pooled within one window
    assert "crossover" in flags["design"]["why"]
    assert r.to_dict()["fragile"] is True


@pytest.mark.parametrize("text,hours", [("24 h", 24), ("day 2-3", 60), ("6 weeks", 1008), ("day 28", 672),
                                        ("40 min", 40 / 60), ("end of acute phase", None)])
def test_timepoint_hours(text, hours):
    assert timepoint_hours(text) == (pytest.approx(hours) if hours is not None else None)


def test_no_trials_for_a_leg_is_an_error():
    with pytest.raises(AdpharmInputError, match="no trial compares nonesuch with placebo"):
        bundled_indirect("nonesuch", "tca", via="placebo")


def test_shared_trial_warns_that_the_variance_is_too_small():
    t = pd.DataFrame({"study": ["s1", "s2"], "ai": [10, 12], "n1i": [20, 20], "ci": [5, 6], "n2i": [20, 20]})
    r = indirect(t, t.assign(ai=[8, 9]), "A", "B", "P")
    assert any("correlated" in w for w in r.warnings)
