"""Populations and the placebo model: data integrity, bad input, and what the moderators do."""
import json

import numpy as np
import pytest

from conftest import run_cli

from adpharm.errors import AdpharmInputError
from adpharm.knowledge.loader import load as load_kb
from adpharm.mechanism.population import load_populations
from adpharm.mechanism.simulate import simulate

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them

POPS = load_populations()


@pytest.mark.parametrize("name", list(POPS.populations))
def test_every_population_value_is_sourced_and_in_range(name):
    refs = load_kb().references
    p = POPS.get(name)
    for v in (p.madrs_baseline_mean, p.madrs_baseline_sd, p.contact_median_frac, p.expectancy_median_frac):
        assert v.basis in ("measured", "derived", "calibrated") and v.refs
        assert all(r in refs for r in v.refs)
    assert 0 < p.contact_median_frac.value < 1 and 0 < p.expectancy_median_frac.value < 1
    assert 0 <= p.madrs_min < p.madrs_baseline_mean.value < p.madrs_max <= 60


def test_unknown_population_lists_the_known_ones():
    with pytest.raises(AdpharmInputError, match="known: mdd-outpatient"):
        POPS.get("outpatients")
    r = run_cli("mechanism", "simulate", "--drug", "sertraline", "--regimen", "50 mg po daily", "--days", "2",
                "--population", "outpatients")
    assert r.returncode == 2 and "unknown 'outpatients'" in r.stderr and "trd" in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_cli_says_which_population_it_used():
    r = run_cli("mechanism", "simulate", "--drug", "sertraline", "--regimen", "50 mg po daily", "--days", "2",
                "--format", "json")
    d = json.loads(r.stdout)
    assert d["provenance"]["population"]["name"] == "mdd-outpatient"
    r = run_cli("mechanism", "simulate", "--drug", "ketamine", "--regimen", "0.5 mg/kg iv over 40 min", "--days", "2",
                "--population", "trd")
    assert r.returncode == 0 and "population: trd" in r.stdout


def test_oral_dosing_has_no_procedure_expectancy_and_an_infusion_has():
    oral = simulate(("sertraline", "50 mg po daily"), 2, n=1)
    iv = simulate(("ketamine", "0.5 mg/kg iv over 40 min"), 2, n=1, population="mdd-outpatient")
    assert oral.expectancy["drug_arm_factor"] == 0.0 and oral.expectancy["placebo_arm_factor"] == 0.0
    assert iv.expectancy["procedure"] and iv.expectancy["drug_arm_factor"] == 1.0


def test_an_active_placebo_keeps_the_expectancy_an_inert_one_loses_beside_ketamine():
    # Wilkinson 2019: midazolam arms improved more than saline arms; the ketamine arms did not differ
    kw = dict(n=400, seed=3, population="trd")
    inert = simulate(("ketamine", "0.5 mg/kg iv over 40 min"), 2, control="inert", **kw)
    active = simulate(("ketamine", "0.5 mg/kg iv over 40 min"), 2, control="active", **kw)
    assert np.array_equal(inert.madrs, active.madrs)
    assert active.madrs_placebo[:, 24].mean() < inert.madrs_placebo[:, 24].mean()
    frac = POPS.unblinding_frac.value
    assert inert.expectancy["placebo_arm_factor"] == pytest.approx(1 - frac)


def test_placebo_response_orders_the_populations_as_published():
    """Placebo + new antidepressant and suicidal inpatients with standard of care respond more than TRD
    patients on an inert spray (TRANSFORM-1 39 %, ASPIRE II -12.4 points at 24 h vs Daly 2018 -5.7)."""
    def day(pop, d):
        r = simulate(("esketamine", "56 mg intranasal"), d, n=2000, seed=5, population=pop)
        return r.summary().set_index("day").loc[d, "madrs_placebo_mean"] - r.baseline.mean()
    assert day("suicidal-inpatient", 1) < day("trd", 1) - 4


def test_between_trial_spread_reproduces_the_linde_2015_placebo_arms_tau():
    """placebo_trial_logit_sd shifts every patient's placebo logit per trial; it is derived so that simulated
    primary-care placebo arms (week 8) spread between trials as the 21 complete placebo arms of
    dat.linde2015 do (REML tau of their logit response rates). 400 virtual trials of 500 patients, with the
    same REML estimator on both."""
    from conftest import data
    from placebo_reference import linde_placebo_arms, logit_rates

    from adpharm.evidence.meta import tau2_estimate
    from adpharm.mechanism.model import load
    from adpharm.mechanism.symptoms import (draw_patients, nonspecific, population_values, rated_score,
                                            rating_sd_points, responders)
    x, n = linde_placebo_arms(data("linde2015_classes_primary_care"), "resp")
    assert len(x) == 21 and x.sum() == 628 and n.sum() == 1583          # 39.7 %, the calibration target
    tau_linde = np.sqrt(tau2_estimate(*logit_rates(x, n), "REML"))
    model = load()
    p = model.parameter_values(population_values(POPS.get("primary-care")))
    rng = np.random.default_rng(2015)
    trials, size = 400, 500
    u = np.repeat(rng.normal(0.0, float(p["placebo_trial_logit_sd"]), trials), size)
    pts = draw_patients(trials * size, 1, p, rng, trial_logit=u)
    frac = nonspecific(pts.expectancy_max, pts.contact_max, 0.0, 56.0, 56.0, p, onset_z=pts.contact_onset_z)
    score = rated_score(pts.baseline, frac, 0.0, float(rating_sd_points(p)), pts.rater_z[:, 0],
                        overlap=float(p["drug_placebo_overlap_frac"]))
    hits = responders(score[:, None], pts.baseline)[:, 0].reshape(trials, size).sum(axis=1)
    tau_sim = np.sqrt(tau2_estimate(*logit_rates(hits, np.full(trials, size)), "REML"))
    assert tau_sim == pytest.approx(tau_linde, abs=0.06)
    # the patients' own spread attenuates a shift of their logits: the patient-scale SD exceeds the arm-level tau
    assert float(p["placebo_trial_logit_sd"]) > 1.5 * tau_linde


def test_expectancy_rises_within_hours_and_falls_back_to_its_persistent_part():
    """Closed form of g(t) = (1 - exp(-t/tau_e)) (p + (1 - p) exp(-t/tau_d)): 0 before the procedure, p long after,
    and, as in the inert-spray arm of Daly 2018 (-9.7 at 2 h, -5.7 at 24 h, -4.9 at day 8), higher at 2 h than at
    24 h and at day 8."""
    from adpharm.mechanism.model import load
    from adpharm.mechanism.symptoms import expectancy_course
    p = load().parameter_values({})
    tau_e, tau_d, keep = (p[k] for k in ("placebo_tau_days", "placebo_expectancy_decay_days",
                                         "placebo_expectancy_persist_frac"))
    t = np.array([-1.0, 0.0, 2 / 24, 1.0, 8.0, 400.0])
    g = expectancy_course(t, p)
    assert g[0] == 0.0 and g[1] == 0.0 and g[-1] == pytest.approx(keep, rel=1e-9)
    assert g[2] == pytest.approx((1 - np.exp(-t[2] / tau_e)) * (keep + (1 - keep) * np.exp(-t[2] / tau_d)), rel=1e-12)
    assert g[2] > g[3] > g[4] >= keep
