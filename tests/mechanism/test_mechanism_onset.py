"""The onset difference must emerge from the bundled model, its parameters untouched by the tests.

Calibration used only Zarate 2006 (one ketamine infusion), Kocsis 1988 (imipramine titrated to
300 mg/day) and placebo arms (validation/mechanism/calibrate.py). The regimens below differ from
those, and the SSRIs were not calibrated at all.
"""
import numpy as np
import pytest

from adpharm.mechanism.simulate import simulate

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them


@pytest.fixture(scope="module")
def ketamine_once():
    return simulate(("ketamine", "0.5 mg/kg iv over 40 min"), 14, n=2000, seed=11)


@pytest.fixture(scope="module")
def imipramine_label():
    # the label's usual adult regimen, not the calibration regimen
    return simulate(("imipramine", "75 mg po daily titrate to 150 mg over 2 weeks"), 42, n=2000, seed=12)


def test_ketamine_separates_from_placebo_within_24_h_and_fades_over_two_weeks(ketamine_once):
    s = ketamine_once.summary().set_index("day")
    assert ketamine_once.onset_day() == 1
    assert ketamine_once.onset_h() <= 24
    assert s.loc[1, "separation"] >= 2.0
    # fades over one to two weeks (Kishimoto 2016: superiority lost by days 10-12)
    assert s.loc[14, "separation"] < 0.35 * s.loc[1, "separation"]
    assert s.loc[7, "separation"] < s.loc[1, "separation"]


def test_imipramine_does_not_separate_in_week_one_but_does_by_week_six(imipramine_label):
    s = imipramine_label.summary().set_index("day")
    assert s.loc[:7, "separation"].max() < 2.0
    onset = imipramine_label.onset_day()
    assert onset is not None and 8 <= onset <= 42
    # responders over placebo: TCA arms 52.5 % vs placebo 39.7 % in Linde 2015 (12.8 points), 53.8 % vs
    # 37.3 % over 182 trials in Papakostas & Fava 2009 (16.5 points)
    assert s.loc[42, "response_rate"] > s.loc[42, "placebo_response_rate"] + 0.08


@pytest.mark.parametrize("drug, regimen", [("sertraline", "50 mg po daily titrate to 100 mg over 2 weeks"),
                                           ("escitalopram", "10 mg po daily")])
def test_ssris_no_separation_in_week_one_separation_by_week_six(drug, regimen):
    r = simulate((drug, regimen), 42, n=800, seed=13)
    s = r.summary().set_index("day")
    assert s.loc[:7, "separation"].max() < 2.0
    assert s.loc[42, "separation"] >= 2.0


@pytest.mark.parametrize("drug, regimen", [("phenelzine", "15 mg po every 8 h titrate to 20 mg over 1 week"),
                                           ("tranylcypromine", "15 mg po every 12 h")])
def test_maois_onset_in_weeks(drug, regimen):
    """MAO-A inhibition is near its plateau within days, but the cascade (autoreceptors, neurogenesis)
    makes the MAOIs' onset weeks, as the label says for phenelzine (2-4 weeks and more)."""
    res = simulate((drug, regimen), 42, n=1000, seed=14)
    s = res.summary().set_index("day")
    assert s.loc[:7, "separation"].max() < 1.0
    onset = res.onset_day()
    assert onset is not None and 14 <= onset <= 42
    assert s.loc[42, "separation"] > 2.0


def test_repeated_infusions_sustain_and_lower_doses_do_less(ketamine_once):
    rep = simulate(("ketamine", "0.5 mg/kg iv over 40 min 3x/week for 2 weeks"), 14, n=1000, seed=11)
    assert rep.summary().set_index("day").loc[12, "separation"] > 3 * ketamine_once.summary().set_index("day").loc[12, "separation"]
    low = simulate(("ketamine", "0.1 mg/kg iv over 40 min"), 2, n=1000, seed=11).summary().set_index("day")
    assert low.loc[1, "separation"] < ketamine_once.summary().set_index("day").loc[1, "separation"]


def test_placebo_arm_is_the_same_patients(ketamine_once):
    assert np.array_equal(ketamine_once.madrs[:, 0], ketamine_once.madrs_placebo[:, 0])
    again = simulate(("ketamine", "0.5 mg/kg iv over 40 min"), 14, n=2000, seed=11)
    assert np.array_equal(again.madrs, ketamine_once.madrs)
