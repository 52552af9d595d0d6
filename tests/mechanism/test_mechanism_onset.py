"""The onset difference must emerge from the bundled model, its parameters untouched by the tests.

The clinical mapping is calibrated on the trials listed in validation/mechanism/calibrate.py (ketamine and
esketamine arms, placebo arms, sertraline 50 mg in Linde 2015, Wagner 2017 and Taylor 2006). The regimens
below are mostly not those.
"""
import numpy as np
import pytest

from adpharm.mechanism.simulate import early_onset, simulate

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


#: the conventional drugs at usual doses; Taylor et al. 2006 (SSRIs against placebo, 28 RCTs): RR 1.64 (1.2-2.25)
#: for a 50 % reduction at week 1 and about a third of the week-6 difference at week 1 (issue 39 asks for
#: RR 1.2-2.3 and a share of 20-50 %; Taylor 2006 is a calibration target of cascade model 2.4, so this checks
#: that each regimen, not only the calibration's sertraline 50 mg, lands there)
EARLY = [("sertraline", "50 mg po daily"), ("sertraline", "50 mg po daily titrate to 100 mg over 2 weeks"),
         ("escitalopram", "10 mg po daily"), ("imipramine", "75 mg po daily titrate to 150 mg over 2 weeks")]


@pytest.mark.parametrize("drug, regimen", EARLY)
def test_conventional_drugs_separate_in_week_one_with_a_minority_of_the_week_six_effect(drug, regimen, ketamine_once):
    res = simulate((drug, regimen), 42, n=2000, seed=1)
    e = early_onset(res.summary())
    assert 1.2 <= e["week1_relative_risk"] <= 2.3
    assert 0.2 <= e["week1_share"] <= 0.5
    # both arms have early improvers and some responders by week 2 (Wagner 2017: 62 % vs 47 % improved by 20 %)
    s = res.summary().set_index("day")
    assert s.loc[14, "placebo_response_rate"] > 0.05 and s.loc[14, "response_rate"] > s.loc[14, "placebo_response_rate"]
    # ketamine's 24-hour effect stays several times larger than any conventional drug's first week
    k = ketamine_once.summary().set_index("day")
    assert k.loc[1, "separation"] > 3 * e["week1_separation"]
    # responders over placebo at week 6: TCA arms 52.5 % vs placebo 39.7 % in Linde 2015 (12.8 points), SSRIs
    # 53.8 % vs 37.3 % over 182 trials in Papakostas & Fava 2009 (16.5 points)
    assert s.loc[42, "response_rate"] > s.loc[42, "placebo_response_rate"] + 0.08


@pytest.mark.parametrize("drug, regimen", [("phenelzine", "15 mg po every 8 h titrate to 20 mg over 1 week"),
                                           ("tranylcypromine", "15 mg po every 12 h")])
def test_maois_separate_early_and_keep_gaining_for_weeks(drug, regimen, ketamine_once):
    """MAO-A inhibition is near its plateau within days; the affective-processing shift gives an early
    partial effect and the slower arm (autoreceptors, neurogenesis) the rest. No week-1 figure for MAOIs is
    in the sources here, so the check is the shape: less than 60 % of the week-6 effect at week 1."""
    res = simulate((drug, regimen), 42, n=1000, seed=14)
    e = early_onset(res.summary())
    assert e["week1_share"] < 0.6
    assert e["reference_separation"] > 2.0
    assert ketamine_once.summary().set_index("day").loc[1, "separation"] > 3 * e["week1_separation"]


def test_repeated_infusions_sustain_and_lower_doses_do_less(ketamine_once):
    rep = simulate(("ketamine", "0.5 mg/kg iv over 40 min 3x/week for 2 weeks"), 14, n=1000, seed=11)
    assert rep.summary().set_index("day").loc[12, "separation"] > 3 * ketamine_once.summary().set_index("day").loc[12, "separation"]
    low = simulate(("ketamine", "0.1 mg/kg iv over 40 min"), 2, n=1000, seed=11).summary().set_index("day")
    assert low.loc[1, "separation"] < ketamine_once.summary().set_index("day").loc[1, "separation"]


def test_placebo_arm_is_the_same_patients(ketamine_once):
    assert np.array_equal(ketamine_once.madrs[:, 0], ketamine_once.madrs_placebo[:, 0])
    again = simulate(("ketamine", "0.5 mg/kg iv over 40 min"), 14, n=2000, seed=11)
    assert np.array_equal(again.madrs, ketamine_once.madrs)
