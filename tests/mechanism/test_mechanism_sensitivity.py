"""Sensitivity analysis: closed forms, mechanism-level rankings, reproducibility and bad input."""
import json

import numpy as np
import pytest

from conftest import run_cli

from adpharm.errors import AdpharmInputError
from adpharm.mechanism.sensitivity import metrics, sensitivity

KET = ("ketamine", "0.5 mg/kg iv over 40 min")
IMI = ("imipramine", "50 mg po daily titrate to 200 mg over 2 weeks")
GLUTAMATERGIC = {"w_glutamatergic", "tau_synaptic_protein_h", "tau_mtorc1_h", "tau_bdnf_release_h", "tau_glutamate_h",
                 "tau_spine_h", "k_ampa_frac", "k_trkb_frac"}
SYMPTOM = {"madrs_baseline_mean", "placebo_contact_median_frac", "placebo_expectancy_median_frac", "placebo_tau_days",
           "placebo_expectancy_decay_days", "placebo_expectancy_persist_frac", "placebo_contact_tau_days"}


def test_metrics_closed_form():
    t = np.arange(0.0, 11.0)
    sep = np.array([[0, 1, 3, 5, 4, 3, 1, 0, 0, 0, 0.0]])
    m = metrics(t, sep, 2.0)
    assert m["onset_h"][0] == pytest.approx(1.5) and m["duration_h"][0] == pytest.approx(5.5 - 1.5)
    assert m["peak_separation_madrs"][0] == 5


@pytest.fixture(scope="module")
def local_ketamine():
    return sensitivity(KET, 21, method="local")


def test_peak_separation_is_proportional_to_the_baseline_score(local_ketamine):
    # separation = B (1 - placebo(t)) D(t): its peak has elasticity exactly 1 in the baseline B
    s = local_ketamine.summary()
    row = s[(s.metric == "peak_separation_madrs") & (s.parameter == "madrs_baseline_mean")]
    assert row.coefficient.iloc[0] == pytest.approx(1.0, abs=1e-6)


def test_ketamine_onset_is_controlled_by_the_glutamatergic_arm_only(local_ketamine):
    s = local_ketamine.summary()
    onset = s[s.metric == "onset_h"].set_index("parameter").coefficient
    assert set(onset.abs().sort_values(ascending=False).index[:4]) <= GLUTAMATERGIC | SYMPTOM
    for p in ("tau_neuron_stage_h", "w_neurogenesis", "tau_autoreceptor_h", "tau_creb_h"):
        assert onset[p] == 0.0
    assert onset["tau_synaptic_protein_h"] > 0 > onset["w_glutamatergic"]   # slower synthesis, later onset


def test_imipramine_onset_is_controlled_by_the_affective_arm_in_the_morris_screen():
    # cascade model 2.4: the early partial effect (the affective-processing shift, Harmer 2009) sets when the
    # separation reaches 2 points; the placebo response it overlaps with is the other control
    r = sensitivity(IMI, 56, method="morris", trajectories=8, seed=5)
    top = r.ranking("onset_h")[:3]
    assert "w_affective" in top
    assert not set(top) & (GLUTAMATERGIC - {"tau_spine_h"})
    again = sensitivity(IMI, 56, method="morris", trajectories=8, seed=5)
    assert again.summary().equals(r.summary())


def test_a_parameter_the_typical_patient_does_not_use_has_no_effect():
    r = sensitivity(KET, 7, method="morris", parameters=["rater_sd_points", "w_glutamatergic"], trajectories=4)
    s = r.summary().set_index(["parameter", "metric"])
    assert s.loc[("rater_sd_points", "peak_separation_madrs"), "mu_star"] == 0.0
    assert s.loc[("w_glutamatergic", "peak_separation_madrs"), "mu_star"] > 1.0


@pytest.mark.parametrize("kw, match", [({"method": "sobol"}, "method"), ({"trajectories": 1}, "trajectories"),
                                       ({"span": 1.0}, "span"), ({"parameters": ["nope"]}, "nope"),
                                       ({"levels": 3}, "levels")])
def test_bad_arguments(kw, match):
    with pytest.raises(AdpharmInputError, match=match):
        sensitivity(KET, 3, **kw)


def test_cli_json_plot_and_bad_input(tmp_path):
    png, js = tmp_path / "s.png", tmp_path / "s.json"
    r = run_cli("mechanism", "sensitivity", "--drug", KET[0], "--regimen", KET[1], "--days", "7", "--method", "local",
                "--format", "json", "--out", str(js), "--plot", str(png))
    assert r.returncode == 0, r.stderr
    d = json.loads(js.read_text())
    assert d["method"] == "local" and "cascade model" in d["provenance"]["model"] and d["results"]
    assert png.read_bytes()[:4] == b"\x89PNG"
    bad = tmp_path / "bad.json"
    r = run_cli("mechanism", "sensitivity", "--drug", KET[0], "--regimen", KET[1], "--days", "7", "--span", "0.5",
                "--out", str(bad))
    assert r.returncode == 2 and "span" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not bad.exists()
