"""Side effects on their own scales (blood pressure, HAM-D17), against the named sources."""
import numpy as np
import pytest

from adpharm.mechanism.simulate import simulate
from adpharm.mechanism.symptoms import hamd17_from_madrs

KET = "0.5 mg/kg iv over 40 min"
FINE = np.round(np.arange(0, 4.01, 1 / 12), 9)   # every 5 min for 4 h


def test_hamd17_link_reproduces_the_published_anchor_pairs():
    # Leucht 2018 (PMID 29031182): HAM-D 10, 20, 30, 40 correspond to MADRS 13, 26, 39, 52-53
    np.testing.assert_allclose(hamd17_from_madrs([0, 13, 26, 39, 52.5]), [0, 10, 20, 30, 40])
    h = hamd17_from_madrs(np.linspace(0, 60, 121))
    assert np.all(np.diff(h) > 0) and h[-1] <= 52


def test_hamd17_trajectory_in_the_json():
    d = simulate(("ketamine", KET), 2, n=200, seed=3).to_dict()
    assert len(d["hamd17"]["mean"]) == len(d["time_h"])
    assert d["hamd17"]["mean"][0] < d["madrs"]["mean"][0]
    assert d["placebo"]["hamd17"]["mean"][-1] > d["hamd17"]["mean"][-1]


def _bp(dose_mg_per_kg):
    r = simulate(("ketamine", f"{dose_mg_per_kg} mg/kg iv over 40 min"), 4 / 24, n=1, seed=1, times_h=FINE)
    return r.states["systolic_bp_change_mmhg"], r.side_effects()


def test_blood_pressure_peaks_during_the_infusion_within_the_reported_range():
    # Calibrated on one number only: +3.28 mmHg systolic at 30 min (Riva-Posse 2018, 684 infusions).
    # Predictions: the peak falls at 30-40 min, during the infusion (both series), and its size lies
    # between the two series' largest mean rises, 3.28 and 7.4 mmHg (ketamine_cardiovascular_repeated2019).
    sbp, se = _bp(0.5)
    assert sbp[6] == pytest.approx(3.28, abs=0.05)
    assert 0.5 <= se["systolic_bp_peak_time_h"] <= 0.75
    assert 3.28 <= se["systolic_bp_change_peak_mmhg"] <= 7.4
    assert se["cadss"] is None and "no sourced slope" in se["cadss_note"]


def test_blood_pressure_rises_with_dose():
    # "Ketamine dosage was positively correlated with changes in systolic and diastolic blood pressure"
    # (ketamine_cardiovascular_repeated2019)
    peaks = [_bp(d)[1]["systolic_bp_change_peak_mmhg"] for d in (0.25, 0.5, 0.75)]
    assert peaks[0] < peaks[1] < peaks[2]


@pytest.mark.xfail(strict=True, reason="known miss: NMDA occupancy (ketamine plus norketamine) stays high after the "
                   "infusion, so the model's blood pressure is still about half its peak at 2 h; Szarmach 2020 "
                   "(PMC7605942) and Riva-Posse 2018 saw it back at baseline within 1.5 h. The haemodynamic effect "
                   "follows parent ketamine more closely than receptor occupancy")
def test_blood_pressure_back_to_baseline_90_min_after_the_infusion():
    sbp, _ = _bp(0.5)
    assert sbp[int(round((40 / 60 + 1.5) * 12))] < 0.2 * sbp.max()
