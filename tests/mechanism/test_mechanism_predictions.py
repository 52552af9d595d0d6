"""Predictions for published results that the model was not calibrated on (checked separately).

Each case names the source and its uncertainty; a failure here means the mechanism, not a
number, is wrong. Known misses are marked xfail with the reason, so they stay visible.
"""
import numpy as np
import pytest

from adpharm.mechanism.simulate import simulate

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them


@pytest.mark.parametrize("dose_mg, lsmd, se", [
    # Daly 2018 (JAMA Psychiatry 75:139), period 1, MADRS LS mean change at 24 h: esketamine arm minus
    # placebo (-5.7, SE 1.79); SE of the difference from the two arm SEs (clinical_trials.md, section c).
    (28, -14.8 + 5.7, (2.80 ** 2 + 1.79 ** 2) ** 0.5),
    (56, -15.7 + 5.7, (2.74 ** 2 + 1.79 ** 2) ** 0.5),
    (84, -16.4 + 5.7, (2.64 ** 2 + 1.79 ** 2) ** 0.5),
])
def test_daly2018_esketamine_dose_response_at_24_h(dose_mg, lsmd, se):
    r = simulate(("esketamine", f"{dose_mg} mg intranasal"), 2, n=3000, seed=2018, population="trd")
    predicted = -r.summary().set_index("day").loc[1, "separation"]
    assert abs(predicted - lsmd) <= 1.96 * se


def test_canuso2018_esketamine_84_mg_at_24_h():
    # Canuso 2018: LSMD vs placebo at 24 h -7.2 (SE 2.85); the suicidal-inpatient population (expectancy and
    # the drug-placebo overlap) is calibrated on ASPIRE II only, so this is a prediction
    r = simulate(("esketamine", "84 mg intranasal"), 2, n=3000, seed=2019, population="suicidal-inpatient")
    assert abs(-r.summary().set_index("day").loc[1, "separation"] - (-7.2)) <= 1.96 * 2.85


@pytest.mark.xfail(strict=True, reason="about -11 against -3.8: ASPIRE's suicidal inpatients improved less on esketamine "
                   "(0.39 of baseline) than Daly 2018's TRD outpatients (0.47) over a far larger placebo response; the "
                   "model gives them Daly's drug effect on top of the ASPIRE placebo, and no mechanism here lowers it "
                   "(the ASPIRE II esketamine arm is therefore not a calibration target; Canuso 2018 above is matched)")
def test_aspire_esketamine_84_mg_at_24_h():
    # ASPIRE I + II pooled LSMD vs placebo + standard of care at 24 h: -3.8 (95 % CI -5.75 to -1.89), 456 patients
    # (clinical_trials.md section c, PMC8407443)
    r = simulate(("esketamine", "84 mg intranasal"), 2, n=3000, seed=2020, population="suicidal-inpatient")
    assert -5.75 <= -r.summary().set_index("day").loc[1, "separation"] <= -1.89


def test_lapidus2014_intranasal_ketamine_minus_saline_at_24_h():
    # Lapidus 2014: MADRS paired difference from saline at 24 h after 50 mg intranasal ketamine, 7.6 (95 % CI 3.9-11.3)
    r = simulate(("ketamine", "50 mg intranasal"), 2, n=3000, seed=2014, population="trd")
    assert 3.9 <= r.summary().set_index("day").loc[1, "separation"] <= 11.3


def test_stewart1993_imipramine_response_at_6_weeks():
    # Stewart 1993: 22/48 completers responded on imipramine at 6 weeks; exact 95 % CI 31.4-61.1 %
    r = simulate(("imipramine", "50 mg po daily titrate to 200 mg over 2 weeks"), 42, n=3000, seed=1993,
                 population="mdd-outpatient")
    assert 0.314 <= r.summary().set_index("day").loc[42, "response_rate"] <= 0.611


def test_stewart1993_placebo_response_at_6_weeks():
    # Stewart 1993 (chronic subgroup): placebo 9/52 completers at 6 weeks (exact 95 % CI 8-30 %), predicted by the
    # chronic-depression population in the washout design of imipramine-chronic (calibrated on Kocsis 1988 only)
    from adpharm.trials.simulate import simulate_trials
    rates = [t.summary().set_index(["arm", "visit"]).loc[("placebo", "week6"), "response_rate"]
             for t in simulate_trials("imipramine-chronic", 200, [1993, 1994, 1995])]
    assert 0.08 <= float(np.mean(rates)) <= 0.30


def test_lapidus2014_intranasal_ketamine_response_at_24_h():
    # Lapidus 2014: 8/18 responders at 24 h after 50 mg intranasal ketamine (exact 95 % CI 21.5-69.2 %)
    r = simulate(("ketamine", "50 mg intranasal"), 2, n=3000, seed=2014, population="trd")
    assert 0.215 <= r.summary().set_index("day").loc[1, "response_rate"] <= 0.692
