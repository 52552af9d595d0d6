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


def _legs(a, b, wa, wb):
    from adpharm.evidence import bundled
    arms = bundled.trial_arms("responders")
    return bundled.comparison(arms, a, "placebo", window=wa), bundled.comparison(arms, b, "placebo", window=wb)


def test_bucher_is_the_difference_of_the_two_legs():
    ta, tb = _legs("ketamine", "imipramine", "24h", "week6-8")
    r = indirect(ta, tb, "ketamine", "imipramine", "placebo")
    legs = {}
    for name, studies in (("a", {"lapidus2014", "lii2023"}), ("b", {"kocsis1988", "stewart1993"})):
        side = r.side_a if name == "a" else r.side_b
        assert set(side.trials["study"]) == studies
        legs[name] = rma(escalc("OR", side.trials), method="DL")
    assert r.beta == pytest.approx(legs["a"].beta - legs["b"].beta, rel=1e-12)
    assert r.se == pytest.approx(np.hypot(legs["a"].se, legs["b"].se), rel=1e-12)


def test_bundled_ketamine_vs_imipramine_is_not_estimable_with_its_reasons():
    """Issue 35: 24 h against week 6-8, TRD and surgery against chronic depression: no number."""
    r = bundled_indirect("ketamine", "imipramine", via="placebo")
    assert r.estimable is False and r.windows == {"a": "24h", "b": "week6-8"}
    assert r.reasons == ["time window: ketamine at 24 h (day 1), imipramine at week 6-8",
                         "population: ketamine in perioperative and treatment-resistant depression, "
                         "imipramine in chronic depression"]
    d = r.to_dict()
    assert d["estimable"] is False and "beta" not in d and d["legs"]["a"]["k"] == 2


def test_same_window_and_population_is_estimable_with_certainty():
    r = bundled_indirect("ssri", "tca", via="placebo")
    assert r.estimable and r.windows == {"a": "acute-end", "b": "acute-end"}
    c = r.to_dict()["certainty"]
    assert c["domains"]["incoherence"]["reason"].startswith("indirect evidence only")


def test_transitivity_report_flags_what_differs():
    ta, tb = _legs("ketamine", "tca", "24h", "acute-end")
    r = indirect(ta, tb, "ketamine", "tca", "placebo")
    flags = {f["attribute"]: f for f in r.transitivity}
    assert {"population", "time point", "design"} <= set(flags)
    assert flags["time point"]["a"].startswith("24 h") and "end of the acute phase" in flags["time point"]["b"]
    assert "crossover" in flags["design"]["why"]
    assert r.to_dict()["fragile"] is True


def test_population_classes_follow_the_written_rules():
    from adpharm.evidence.indirect import population_class
    assert population_class("TRD, 18-64 y") == "treatment-resistant depression"
    assert population_class("MDD at imminent risk for suicide") == "suicidal inpatients or imminent risk"
    assert population_class("depressive disorders in primary care") == "primary care"
    assert population_class("chronic depression (dysthymia, 96 % also MDD)") == "chronic depression"
    assert population_class("adults with MDD") == "outpatient MDD"


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
