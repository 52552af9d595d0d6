"""Trial simulation: reproducibility, design elements, and the predicted rates beside published trials."""
import functools
import json

import numpy as np
import pandas as pd
import pytest
import yaml

from conftest import run_cli
from adpharm.mechanism.population import load_populations
from adpharm.errors import AdpharmInputError
from adpharm.trials.protocol import bundled, load_protocol
from adpharm.trials.simulate import simulate_trial, simulate_trials

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them


def test_cli_ketamine_trd_iv_reports_rates_by_arm_and_visit():
    r = run_cli("trial", "simulate", "ketamine-trd-iv", "--seed", "1", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["protocol"] == "ketamine-trd-iv"
    assert set(d["arms"]) == {"ketamine", "placebo"}
    for arm in d["arms"].values():
        assert list(arm["visits"]) == ["baseline", "24h", "72h", "day7", "day14", "day21"]
        for v in arm["visits"].values():
            assert set(v) == {"n", "madrs_mean", "change_mean", "response_rate", "remission_rate"}
    assert d["provenance"]["seed"] == 1 and "cascade model" in d["provenance"]["model"]
    assert "CADSS" in d["provenance"]["scales_not_simulated"]
    again = run_cli("trial", "simulate", "ketamine-trd-iv", "--seed", "1", "--format", "json")
    assert again.stdout == r.stdout


@pytest.mark.parametrize("protocol, population, remission, placebo_factor", [
    ("esketamine-trd-in", "trd-adjunct", 12, 1 - load_populations().unblinding_frac.value),
    ("ketamine-vs-midazolam", "trd", 10, 1.0),
    ("ssri-mdd-8wk", "mdd-outpatient", 10, 0.0),
])
def test_output_names_the_population_the_placebo_expectancy_and_the_remission_rule(protocol, population, remission,
                                                                                   placebo_factor):
    """The protocol's own remission threshold (TRANSFORM: MADRS <= 12) unless given; an inert placebo beside a
    dissociative keeps 1 - unblinding of the expectancy, midazolam all of it, pills none."""
    r = run_cli("trial", "simulate", protocol, "--n-per-arm", "5", "--seed", "1")
    assert r.returncode == 0, r.stderr
    assert f"population: {population} (" in r.stdout and f"remission: MADRS <= {remission}" in r.stdout
    d = json.loads(run_cli("trial", "simulate", protocol, "--n-per-arm", "5", "--seed", "1", "--format", "json").stdout)
    control = next(a for a in d["provenance"]["placebo"]["expectancy_factor_by_arm"] if a in ("placebo", "midazolam"))
    assert d["provenance"]["placebo"]["expectancy_factor_by_arm"][control] == pytest.approx(placebo_factor, abs=1e-6)
    r = run_cli("trial", "simulate", protocol, "--n-per-arm", "5", "--seed", "1", "--remission-threshold", "7")
    assert "remission: MADRS <= 7" in r.stdout


def test_long_csv_has_the_contract_columns(tmp_path):
    out = tmp_path / "t.csv"
    r = run_cli("trial", "simulate", "ketamine-crossover", "--seed", "3", "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    d = pd.read_csv(out)
    assert list(d.columns[:3]) == ["subject", "arm", "sequence"]
    for c in ("period", "visit", "baseline", "value", "hamd17", "dissociation_frac"):
        assert c in d.columns
    assert set(d["period"]) == {1, 2}


def test_same_trial_alone_or_in_a_batch():
    """A trial depends only on its seed, not on the other trials solved with it (basis of power on Dask)."""
    alone = simulate_trial("imipramine-chronic", 12, seed=5)
    batch = simulate_trials("imipramine-chronic", 12, [9, 5, 2])[1]
    pd.testing.assert_frame_equal(alone.data, batch.data)


def test_blocked_randomisation_balances_arms_and_strata():
    r = simulate_trial("ketamine-vs-midazolam", 30, seed=2)
    counts = r.subjects["arm"].value_counts().to_dict()
    assert counts == {"ketamine": 60, "midazolam": 30}     # 2:1
    k = simulate_trial("ketamine-trd-iv", 50, seed=2).subjects
    tab = pd.crosstab(k["stratum"], k["arm"])
    assert (tab.max(axis=1) - tab.min(axis=1)).max() <= 2     # permuted blocks of 4 within severity strata


def test_lead_in_excludes_placebo_responders():
    r = simulate_trial("imipramine-chronic", 100, seed=7)
    s = r.subjects
    assert r.screened > len(s)
    assert (s["baseline"] > 0.5 * s["screening_madrs"]).all()
    assert (s["baseline"] >= 20).all()


def test_escalation_follows_the_rule_and_is_causal(tmp_path):
    """Non-responders at day 7 get 0.75 mg/kg from then on: identical to the base arm before day 7,
    better after it for the escalated patients."""
    p = load_protocol("ketamine-trd-iv")
    no_esc = p.model_copy(deep=True)
    no_esc.arms[0].escalation = None
    a = simulate_trial(p, 60, seed=4).data
    b = simulate_trial(no_esc, 60, seed=4).data
    key = ["subject", "visit"]
    m = a.merge(b, on=key, suffixes=("", "_b"))
    early = m[m["visit"].isin(["baseline", "24h", "72h", "day7"])]
    assert np.allclose(early["value"], early["value_b"])
    late = m[m["visit"] == "day21"]
    assert (late["value"] <= late["value_b"] + 1e-9).all() and (late["value"] < late["value_b"] - 0.1).any()
    data = yaml.safe_load(bundled()["ketamine-trd-iv"].read_text())
    data["arms"][0]["escalation"]["regimen"] = "0.75 mg/kg iv over 40 min 3x/week for 3 weeks"
    f = tmp_path / "esc.yaml"
    f.write_text(yaml.safe_dump(data))
    with pytest.raises(AdpharmInputError, match="escalation.regimen must dose as the arm's regimen"):
        simulate_trial(f, 5, seed=1)


def test_esketamine_escalates_non_responders_from_the_day_4_session(tmp_path):
    """TRANSFORM-2's flexible dosing (label: 56 mg on day 1, then 56 or 84 mg by the previous dose's efficacy):
    the switch is decided at 72 h, an unscheduled assessment, so ratings up to day 2 are those of the
    base arm and the escalated patients do better by day 8."""
    p = load_protocol("esketamine-trd-in")
    esc = p.arm("esketamine").escalation
    assert (esc.visit, esc.time_h(p.visits)) == (None, 72)
    no_esc = p.model_copy(deep=True)
    no_esc.arm("esketamine").escalation = None
    m = simulate_trial(p, 60, seed=4).data.merge(simulate_trial(no_esc, 60, seed=4).data, on=["subject", "visit"],
                                                  suffixes=("", "_b"))
    early = m[m["visit"].isin(["baseline", "day2"])]
    assert np.allclose(early["value"], early["value_b"])
    late = m[(m["visit"] == "day8") & (m["arm"] == "esketamine")]
    assert (late["value"] <= late["value_b"] + 1e-9).all() and (late["value"] < late["value_b"] - 0.1).any()
    data = yaml.safe_load(bundled()["esketamine-trd-in"].read_text())
    for bad, message in (({"visit": "day8"}, "either visit"), ({"at_h": None}, "either visit"),
                         ({"at_h": 700}, "not before the last visit")):
        d = {**data, "arms": [dict(data["arms"][0], escalation={**data["arms"][0]["escalation"], **bad}),
                              data["arms"][1]]}
        d["arms"][0]["escalation"] = {k: v for k, v in d["arms"][0]["escalation"].items() if v is not None}
        f = tmp_path / "esc.yaml"
        f.write_text(yaml.safe_dump(d))
        with pytest.raises(AdpharmInputError, match=message):
            simulate_trial(f, 5, seed=1)


def test_crossover_carries_ketamine_over_into_the_next_period():
    """The ketamine of period 1 still helps a week later, by what the same model gives a parallel arm at day 7."""
    from adpharm.mechanism.simulate import simulate
    r = simulate_trial("ketamine-crossover", 1000, seed=8)
    d = r.data
    base2 = d[(d["period"] == 2) & (d["visit"] == "baseline")]
    after_ket = base2[base2["sequence"] == "ketamine|placebo"]["value"]
    after_pbo = base2[base2["sequence"] == "placebo|ketamine"]["value"]
    carry = after_pbo.mean() - after_ket.mean()
    se = (after_ket.var() / after_ket.size + after_pbo.var() / after_pbo.size) ** 0.5
    day7 = simulate(("ketamine", "0.5 mg/kg iv over 40 min"), 8, n=4000, seed=8,
                    population="trd").summary().set_index("day").loc[7, "separation"]
    assert carry > 3 * se
    assert abs(carry - day7) < 3 * se


def test_mar_dropout_depends_on_the_last_seen_score_mnar_on_the_missed_one():
    """Patients A improve late (high at week 1, low at week 2), B relapse (low, then high): under MAR the
    week-2 dropout follows the week-1 score, so A leave more; under MNAR it follows the week-2 score, so B do."""
    from adpharm.trials.simulate import _dropout
    p = load_protocol("ssri-mdd-8wk")
    n = 4000
    rated = np.zeros((n, 3))
    rated[:, 0] = 30
    rated[: n // 2, 1], rated[: n // 2, 2] = 30, 5       # A
    rated[n // 2:, 1], rated[n // 2:, 2] = 5, 30         # B
    times = np.array([0.0, 168.0, 336.0])
    lost = {}
    for model in ("MAR", "MNAR"):
        q = p.model_copy(deep=True)
        q.dropout.model = model
        obs = _dropout(q, rated, rated[:, 0], times, np.random.default_rng(0))
        left_at_2 = obs[:, 1] & ~obs[:, 2]
        lost[model] = (left_at_2[: n // 2].mean(), left_at_2[n // 2:].mean())
    assert lost["MAR"][0] > 2 * lost["MAR"][1]
    assert lost["MNAR"][1] > 2 * lost["MNAR"][0]


def test_default_dropout_is_near_the_published_rate():
    r = simulate_trial("ssri-mdd-8wk", 300, seed=1)
    lost = 1 - r.subjects["completed"].mean()
    assert 0.05 < lost < 0.25          # around the 12 % of the Linde trials (the slope is centred at response)


def test_no_patients_left_at_a_visit_is_reported_not_crashed(tmp_path):
    data = yaml.safe_load(bundled()["ssri-mdd-8wk"].read_text())
    data["dropout"] = {"model": "MCAR", "rate": {"value": 0.8, "basis": "design"}, "over_days": 7}
    f = tmp_path / "leaky.yaml"
    f.write_text(yaml.safe_dump(data))
    r = run_cli("trial", "simulate", str(f), "--n-per-arm", "20", "--seed", "1", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert "sertraline/week8" in d["empty_visits"]
    assert d["arms"]["sertraline"]["visits"]["week8"] == {"n": 0, "madrs_mean": None, "change_mean": None,
                                                          "response_rate": None, "remission_rate": None}
    assert "no patients left at sertraline/week8" in r.stderr
    csv = tmp_path / "leaky.csv"
    run_cli("trial", "simulate", str(f), "--n-per-arm", "20", "--seed", "1", "--format", "csv", "--out", str(csv))
    a = run_cli("trial", "analyze", str(csv), "--format", "json")
    assert a.returncode == 0, a.stderr
    # one arm emptied from week 4 on, the other still attending: reported per visit, the rest analysed
    d = simulate_trial("ssri-mdd-8wk", 20, seed=1).data
    d = d[~((d["arm"] == "sertraline") & d["visit"].isin(["week4", "week6", "week8"]))]
    one = tmp_path / "one_arm_gone.csv"
    d.to_csv(one, index=False)
    a = run_cli("trial", "analyze", str(one), "--visit", "week8", "--format", "json")
    assert a.returncode == 0, a.stderr
    assert "sertraline vs placebo at week8: no patients left in one arm, not estimable" in a.stderr
    res = json.loads(a.stdout)
    assert [c["visit"] for c in res["mmrm"]["contrasts"]] == ["week1", "week2"]
    assert res["responders"][0]["observed_cases"]["note"] == "an arm has no patients"


def test_bad_arguments_exit_2():
    r = run_cli("trial", "simulate", "ketamine-trd-iv", "--n-per-arm", "0")
    assert r.returncode == 2 and "n-per-arm" in r.stderr
    r = run_cli("trial", "simulate", "ketamine-trd-iv", "--format", "xml")
    assert r.returncode == 2 and "--format" in r.stderr


# ---- predicted rates beside published trials (checked separately from calibration) -------------------
N = 300


def _at(protocol, visit, seed=2026):
    s = simulate_trial(protocol, N, seed=seed).summary()
    return s[s["visit"] == visit].set_index("arm")


def test_weeks_scale_separation_for_imipramine_and_ssri_hours_for_ketamine():
    # conventional drugs separate in week 1 with a minority of their later effect (Taylor 2006: about a third
    # of the week-6 difference at week 1), ketamine by 24 h
    imi = simulate_trial("imipramine-chronic", N, seed=1).summary().set_index(["arm", "visit"])["madrs_mean"]
    imi_w1, imi_w6 = (imi["placebo", w] - imi["imipramine", w] for w in ("week1", "week6"))
    assert imi_w6 > 2 and 0 < imi_w1 < 0.6 * imi_w6
    ssri = simulate_trial("ssri-mdd-8wk", N, seed=1).summary().set_index(["arm", "visit"])["madrs_mean"]
    assert ssri["placebo", "week1"] - ssri["sertraline", "week1"] < 0.6 * (ssri["placebo", "week8"]
                                                                           - ssri["sertraline", "week8"])
    # SSRI against inert placebo at week 8: about 2-4 MADRS points (Wade 2002, a Linde 2015 trial: 2.7, SE 0.85)
    assert 0.5 < ssri["placebo", "week8"] - ssri["sertraline", "week8"] < 6
    # ketamine against saline or midazolam at 24 h: Lapidus 2014 7.6 (95 % CI 3.9-11.3), Murrough 2013 7.95
    ket = simulate_trial("ketamine-trd-iv", N, seed=1).summary().set_index(["arm", "visit"])["madrs_mean"]
    assert ket["placebo", "24h"] - ket["ketamine", "24h"] > 5


def test_ketamine_arm_change_at_24h_beside_murrough_2013():
    """Murrough et al. 2013 (Am J Psychiatry, PMID 23982301): ketamine -16.5 MADRS points at 24 h."""
    s = _at("ketamine-vs-midazolam", "24h")
    assert s.loc["ketamine", "change_mean"] == pytest.approx(-16.5, abs=6)


@functools.cache
def _trial_summaries(protocol, n_per_arm, trials):
    from adpharm.trials.simulate import simulate_trials
    return tuple(t.summary().set_index(["arm", "visit"])
                 for t in simulate_trials(protocol, n_per_arm, list(range(500, 500 + trials))))


def _predictive(protocol, n_per_arm, visit, arm, stat, trials=20):
    """Mean and SD over simulated trials of the published size: each trial draws its own trial effect
    (placebo_trial_logit_sd) and its own patients, so the SD is the spread a real trial would show."""
    vals = [s.loc[(arm, visit), stat] for s in _trial_summaries(protocol, n_per_arm, trials)]
    return float(np.mean(vals)), float(np.std(vals, ddof=1))


def test_ketamine_minus_midazolam_at_24h_beside_murrough_2013():
    """Murrough 2013 (PMID 23982301): ketamine -16.5 (t(46) = -10.31) and midazolam -8.8 (t(24) = -4.63) MADRS
    points at 24 h, a difference of 7.7 with SE 2.48 from the two arms' SEs (16.5/10.31, 8.8/4.63). The model's
    difference for trials of that size lies within 1.96 SE (both arms are calibration targets since model 2.3)."""
    ket, _ = _predictive("ketamine-vs-midazolam", 24, "24h", "ketamine", "change_mean")
    mdz, _ = _predictive("ketamine-vs-midazolam", 24, "24h", "midazolam", "change_mean")
    se = ((16.5 / 10.31) ** 2 + (8.8 / 4.63) ** 2) ** 0.5
    assert abs((mdz - ket) - 7.7) <= 1.96 * se


def test_midazolam_arm_change_at_24h_beside_murrough_2013():
    """Murrough 2013: midazolam -8.8 at 24 h (25 patients), inside the 95 % predictive range of trials of its size;
    the active placebo keeps the expectancy that an inert one loses beside ketamine. A calibration target since
    cascade model 2.3 (validation/mechanism/calibrate.py); the Cochrane pool below is not."""
    mean, sd = _predictive("ketamine-vs-midazolam", 24, "24h", "midazolam", "change_mean")
    assert abs(-8.8 - mean) <= 1.96 * sd


def test_midazolam_arm_response_lies_between_the_published_midazolam_arms():
    """Midazolam (active placebo) arms of ketamine trials: Su 2023 5/42 (11.9 %) at day 2-3 is a calibration target;
    Dean 2021 (Cochrane CD011612, summary of findings 2) pooled 25.9 % at 24 h is not. The simulated arms, averaged
    over trials, lie between the two and far above an inert spray beside esketamine (Daly 2018: 1/33 at 24 h);
    the model sits nearer Su (about 16 %), which the README reports as a partial miss of the Cochrane pool."""
    rates = [t.summary().set_index(["arm", "visit"]).loc[("midazolam", "24h"), "response_rate"]
             for t in simulate_trials("ketamine-vs-midazolam", 100, list(range(500, 510)))]
    assert 0.119 <= float(np.mean(rates)) <= 0.259


def test_esketamine_arm_response_at_day_28_beside_transform_1_and_2():
    """TRANSFORM-1+2 pooled day-28 response (observed cases) on esketamine + new antidepressant: 182/310, 58.7 %
    (transform_pooled2021; only TRANSFORM-1's placebo arm was a calibration target), inside the 95 % predictive
    range of trials of TRANSFORM-2's size."""
    mean, sd = _predictive("esketamine-trd-in", 110, "day28", "esketamine", "response_rate", trials=12)
    assert abs(182 / 310 - mean) <= 1.96 * sd


@pytest.mark.xfail(strict=True, reason="about 54 % against 69.3 %: TRANSFORM-2 was a high-responding trial in both "
                   "arms (placebo 52.0 % against the model's 41 %), beyond the between-trial spread the model "
                   "takes from Linde 2015's placebo arms; its drug-placebo difference is predicted (next test). "
                   "Known miss transform-2-arms")
def test_esketamine_arm_response_at_day_28_beside_transform_2():
    """TRANSFORM-2 day-28 response (observed cases) 69.3 % on esketamine + antidepressant (not a calibration
    target; its LSMD is)."""
    mean, sd = _predictive("esketamine-trd-in", 110, "day28", "esketamine", "response_rate", trials=12)
    assert abs(0.693 - mean) <= 1.96 * sd


def test_esketamine_minus_placebo_response_at_day_28_beside_transform_2():
    """TRANSFORM-2 day-28 response, esketamine + antidepressant minus antidepressant + placebo: 17.3 points
    (95 % CI 4.01-30.60; transform_pooled2021, Table 1); not a calibration target. The model's difference,
    averaged over trials of TRANSFORM-2's size, lies inside the published interval."""
    summaries = _trial_summaries("esketamine-trd-in", 110, 12)
    diff = np.mean([s.loc[("esketamine", "day28"), "response_rate"] - s.loc[("placebo", "day28"), "response_rate"]
                    for s in summaries])
    assert 0.0401 <= diff <= 0.3060


@pytest.mark.xfail(strict=True, reason="about 50 % against 17.3 %: the model gives the first 56 mg spray of TRANSFORM "
                   "the acute effect it has in Daly 2018 (24 h responders 36-42 % on 28-84 mg, a prediction it matches), "
                   "but the phase 3 patients, who had just switched to a new oral antidepressant, responded far less "
                   "the next day; the placebo arms' 9.4 % at day 2 is a calibration target and is matched")
def test_esketamine_arm_response_at_day_2_beside_transform_1_and_2():
    """TRANSFORM-1+2 pooled response at day 2 (24 h after the first spray): 17.3 % of 318 on esketamine +
    new antidepressant (transform_pooled2021), inside the 95 % predictive range of trials of TRANSFORM-2's size."""
    mean, sd = _predictive("esketamine-trd-in", 110, "day2", "esketamine", "response_rate", trials=12)
    assert abs(0.173 - mean) <= 1.96 * sd


def test_placebo_plus_antidepressant_response_beside_transform_2():
    """TRANSFORM-2 placebo spray + new antidepressant: 52/100 at day 28 (TRANSFORM-1, 42/108, was the calibration),
    inside the 95 % predictive range of trials of its size."""
    mean, sd = _predictive("esketamine-trd-in", 110, "day28", "placebo", "response_rate", trials=12)
    assert abs(0.52 - mean) <= 1.96 * sd


def test_esketamine_minus_placebo_at_day_28_beside_transform_2():
    """TRANSFORM-2 (Popova 2019) LSMD at day 28: -4.0 (SE 1.69), a calibration target since model 2.3; the
    difference of the arms' mean changes of simulated trials of its size (about 110 per arm), averaged over
    trials, lies within 1.96 SE."""
    mean_e, _ = _predictive("esketamine-trd-in", 110, "day28", "esketamine", "change_mean", trials=12)
    mean_p, _ = _predictive("esketamine-trd-in", 110, "day28", "placebo", "change_mean", trials=12)
    assert abs((mean_e - mean_p) - (-4.0)) <= 1.96 * 1.69


def test_ssri_arm_response_beside_linde_2015():
    """SSRI arms of the placebo-controlled primary-care trials of Linde 2015: 52.9 % responders."""
    s = _at("ssri-mdd-8wk", "week8")
    assert s.loc["sertraline", "response_rate"] == pytest.approx(0.529, abs=0.12)


def test_ssri_placebo_response_beside_linde_2015():
    """Placebo arms of Linde 2015, 39.7 % (calibration), read in the mdd-outpatient protocol (observed cases)."""
    s = _at("ssri-mdd-8wk", "week8")
    assert s.loc["placebo", "response_rate"] == pytest.approx(0.397, abs=0.12)


def test_imipramine_response_after_lead_in_beside_kocsis_and_stewart():
    s = _at("imipramine-chronic", "week6")
    assert s.loc["imipramine", "response_rate"] == pytest.approx(0.45, abs=0.1)


def test_ssri_trial_power_at_100_per_arm_is_far_from_one_like_registered_trials():
    """Turner 2008 (NEJM 358:252): 38 of 74 FDA-registered antidepressant trials (51 %) were positive. With each
    replicate's own trial effect, an 8-week SSRI trial of 100 per arm must fail often, not succeed always."""
    from adpharm.trials.power import PUBLISHED_SUCCESS, power
    r = power("ssri-mdd-8wk", 60, n_per_arm=100, seed=11, workers=0)
    assert r.ci_ub < 0.95 and 0.2 < r.power < 0.85
    d = r.to_dict()["provenance"]
    assert d["published_success_rate"] is PUBLISHED_SUCCESS and "turner2008" in PUBLISHED_SUCCESS["refs"]


def test_drug_benefit_shrinks_as_the_placebo_arm_responds_more_like_published_trials():
    """Iovieno & Papakostas 2012 (169 monotherapy trials): NNT for response about 4, 6 and 9 in trials whose
    placebo arms responded < 30 %, 30-40 % and >= 40 %. Simulated 8-week SSRI trials of 100 per arm, binned the
    same way by their own placebo arm, show the same gradient (not calibrated on: the overlap of drug and
    non-specific improvement is fitted on ASPIRE II)."""
    p, d = [], []
    for t in simulate_trials("ssri-mdd-8wk", 100, list(range(900, 980))):
        s = t.summary().set_index(["arm", "visit"])
        p.append(s.loc[("placebo", "week8"), "response_rate"])
        d.append(s.loc[("sertraline", "week8"), "response_rate"])
    p, d = np.array(p), np.array(d)
    nnt = [1 / float(np.mean(d[m] - p[m])) for m in (p < 0.3, (p >= 0.3) & (p < 0.4), p >= 0.4)]
    assert 3 <= nnt[0] <= 6 and 4.5 <= nnt[1] <= 9
    assert nnt[0] < nnt[1] < nnt[2]
