"""`adpharm pk tdm` and :func:`adpharm.pharmacology.tdm.tdm`: expected range, consensus range, a measured
level's place, bad input (exit 2, one line), and every bundled drug."""
import json

import numpy as np
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.knowledge.loader import bundled
from adpharm.pharmacology.simulate import PatientCovariates
from adpharm.pharmacology.tdm import tdm
from conftest import run_cli


def test_issue_example_60_ng_per_ml_is_below_the_expected_range():
    r = run_cli("pk", "tdm", "--drug", "imipramine", "--regimen", "150 mg po daily", "--measured", "60")
    assert r.returncode == 0, r.stderr
    assert "below the expected range" in r.stdout and "adherence" in r.stdout
    assert "175-300 ng/mL" in r.stdout and "below the therapeutic reference range of Mayo Clinic Laboratories" in r.stdout
    assert "Research use only" in r.stdout


def test_json_contract_and_provenance(tmp_path):
    fig = tmp_path / "tdm.svg"
    r = run_cli("pk", "tdm", "--drug", "imipramine", "--regimen", "150 mg po daily", "--measured", "60",
                "--format", "json", "--plot", str(fig))
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["quantity"] == "imipramine + desipramine"
    total = next(x for x in d["expected_ng_per_ml"] if x["quantity"] == d["quantity"])
    assert total["p5"] < total["p16"] < total["p50"] < total["p84"] < total["p95"]
    assert d["measured_percentile"] < 16
    assert d["consensus_range_ng_per_ml"]["low"] == 175 and "hiemke2018" in d["consensus_range_ng_per_ml"]["refs"]
    assert d["provenance"]["seed"] == 2026 and "adpharm.pharmacology" in d["provenance"]["model_version"]
    assert "NaN" not in r.stdout
    assert fig.read_text().lstrip().startswith(("<?xml", "<svg"))


@pytest.mark.parametrize("args, needle", [
    (["--drug", "nosuchdrug"], "nosuchdrug"),
    (["--drug", "imipramine", "--measured", "-5"], "measured"),
    (["--drug", "imipramine", "--sample-h", "30"], "sampling time"),
    (["--drug", "imipramine", "--phenotype", "XM"], "--phenotype"),
    (["--drug", "imipramine", "--cyp2d6-inhibitor", "mild"], "--cyp2d6-inhibitor"),
    (["--drug", "ssri"], "is a class"),
])
def test_bad_input_is_one_line_exit_2(args, needle):
    regimen = [] if "--regimen" in args else ["--regimen", "150 mg po daily"]
    r = run_cli("pk", "tdm", *args, *regimen)
    assert r.returncode == 2
    assert r.stderr.startswith("adpharm: error:") and needle in r.stderr
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr and r.stdout == ""


def test_single_dose_is_not_a_maintenance_regimen():
    with pytest.raises(AdpharmInputError, match="repeated at a constant interval"):
        tdm("imipramine", "150 mg po")


def test_dangerous_dose_is_simulated_with_a_warning():
    r = run_cli("pk", "tdm", "--drug", "imipramine", "--regimen", "900 mg po daily", "--n", "50")
    assert r.returncode == 0 and "above the labelled maximum" in r.stderr and "simulated anyway" in r.stderr


def test_strong_cyp2d6_inhibitor_and_poor_metabolisers_raise_the_expected_level():
    base = tdm("imipramine", "150 mg po daily", n=200).expected.set_index("quantity")
    inh = tdm("imipramine", "150 mg po daily", n=200, covariates=PatientCovariates(cyp2d6_inhibitor="strong")).expected.set_index("quantity")
    pm = tdm("imipramine", "150 mg po daily", n=200, covariates=PatientCovariates(phenotype="PM")).expected.set_index("quantity")
    q = "imipramine + desipramine"
    assert inh.loc[q, "typical"] > 1.5 * base.loc[q, "typical"]
    assert pm.loc[q, "typical"] > 1.5 * base.loc[q, "typical"]


def test_trough_is_the_lowest_point_of_the_interval():
    peak = tdm("venlafaxine", "75 mg po bid", sample_h=2, n=50).expected.set_index("quantity")
    trough = tdm("venlafaxine", "75 mg po bid", n=50).expected.set_index("quantity")
    q = "venlafaxine + O-desmethylvenlafaxine"
    assert trough.loc[q, "typical"] < peak.loc[q, "typical"]


@pytest.mark.parametrize("drug", sorted(bundled().tdm))
def test_every_bundled_drug_has_a_report(drug):
    rng = bundled().tdm[drug]
    mg = rng.usual_daily_mg.low
    res = tdm(drug, f"{mg:g} mg po daily", measured=50.0, n=100)
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert np.all(np.isfinite(res.expected["typical"]))
    assert res.verdict and res.text().count("\n") > 4
    assert (d["consensus_range_ng_per_ml"] is not None) == rng.has_range
    import matplotlib.pyplot as plt
    plt.close(res.plot().figure)


def test_position_against_the_consensus_range_includes_its_bounds():
    from adpharm.knowledge.loader import load
    tdm_ranges = load().tdm
    rng = next(r for r in tdm_ranges.values() if r.has_range)
    assert rng.position(rng.low_ng_per_ml) == "inside" and rng.position(rng.high_ng_per_ml) == "inside"
    assert rng.position(rng.low_ng_per_ml * 0.99) == "below" and rng.position(rng.high_ng_per_ml * 1.01) == "above"
    gap = next((r for r in tdm_ranges.values() if not r.has_range), None)
    assert gap is None or gap.position(100.0) is None


def _mean_level(res):
    """The typical patient's average level over the dosing interval (trapezoid over the profile): what a
    clearance factor sets exactly (C_avg = F dose / (CL tau)); a trough rises more, the half-life lengthening."""
    t, c = res.profile_h, res.profile_ng_per_ml[-1]
    return float(np.sum((c[1:] + c[:-1]) / 2 * np.diff(t)) / (t[-1] - t[0]))


def test_nortriptyline_follows_cyp2d6_as_matthaei_2021_gives_it():
    """Issue 36: a poor metaboliser or a strong inhibitor is expected at least 1.5x the normal metaboliser's level
    (Matthaei 2021 Table 3: nortriptyline half-life 92.0 h at activity score 0 against 29.9 h at 2, so with the
    volume unchanged the steady-state level rises 92.0/29.9 = 3.08-fold), alone and after amitriptyline."""
    def typical(drug, **kw):
        e = tdm(drug, "75 mg po daily", n=50, **kw).expected.set_index("quantity")
        return e.loc["nortriptyline", "typical"]
    nm, pm, inh = typical("nortriptyline"), typical("nortriptyline", covariates=PatientCovariates(phenotype="PM")), \
        typical("nortriptyline", covariates=PatientCovariates(cyp2d6_inhibitor="strong"))
    assert pm >= 1.5 * nm and inh >= 1.5 * nm
    mean = [_mean_level(tdm("nortriptyline", "75 mg po daily", n=20, covariates=PatientCovariates(phenotype=p))) for p in ("NM", "PM")]
    assert mean[1] / mean[0] == pytest.approx(92.0 / 29.9, rel=0.02)
    assert typical("amitriptyline", covariates=PatientCovariates(phenotype="PM")) >= 1.5 * typical("amitriptyline")
    res = tdm("nortriptyline", "75 mg po daily", n=50, covariates=PatientCovariates(phenotype="PM"))
    assert any("matthaei2021" in c for c in res.covariates_applied) and not res.warnings


@pytest.mark.parametrize("drug", sorted(bundled().tdm))
def test_every_covariate_given_acts_or_is_warned_not_modelled(drug):
    """Age 80 against 40, a poor metaboliser, a woman: each either changes the expected level through a sourced
    effect listed with its reference, or is warned 'not modelled for DRUG'; the population line echoes them."""
    mg = bundled().tdm[drug].usual_daily_mg.low
    base = tdm(drug, f"{mg:g} mg po daily", n=20)
    q = base.quantity
    for kw, label in (({"age_y": 80.0}, "age 80 y"), ({"phenotype": "PM"}, "CYP2D6 PM"), ({"sex": "female"}, "sex female")):
        res = tdm(drug, f"{mg:g} mg po daily", n=20, covariates=PatientCovariates(weight_kg=60.0, **kw))
        assert res.provenance()["population"].startswith("60 kg")
        moved = abs(res.expected.set_index("quantity").loc[q, "typical"]
                    - tdm(drug, f"{mg:g} mg po daily", n=20, covariates=PatientCovariates(weight_kg=60.0))
                    .expected.set_index("quantity").loc[q, "typical"])
        warned = any(w.startswith(label) and f"not modelled for {drug}" in w for w in res.warnings)
        acted = bool(res.covariates_applied)
        assert warned != acted, (kw, res.warnings, res.covariates_applied)
        assert (moved > 1e-9) == acted, (kw, moved)
    assert base.provenance()["covariates_applied"] == [] and not [w for w in base.warnings if "not modelled" in w]


def test_age_effects_are_the_sourced_ones():
    """Unterecker 2013: dose-corrected levels over 60 +67 % for sertraline, +40 % for citalopram, +21 % for
    amitriptyline + nortriptyline; 40-60 unchanged (Waade 2012: only minor differences between 40 and 65)."""
    for drug, mg, rise in (("sertraline", 100, 1.67), ("citalopram", 20, 1.40)):
        young, old, mid = (_mean_level(tdm(drug, f"{mg} mg po daily", n=20, covariates=PatientCovariates(age_y=a))) for a in (40, 80, 55))
        assert old / young == pytest.approx(rise, rel=0.02) and mid == young


def test_citalopram_dose_caps_warn_with_the_label():
    """Celexa label (NDA 020822, after the FDA Drug Safety Communication of March 2012): citalopram no longer above 40 mg/day (QT prolongation),
    and at most 20 mg/day for patients older than 60; simulated anyway, with the warning."""
    def warned(mg, age):
        return [w for w in tdm("citalopram", f"{mg} mg po daily", n=10, covariates=PatientCovariates(age_y=age)).warnings if "celexa_label" in w]
    assert not warned(40, 45) and not warned(20, 75) and not warned(40, 60)
    assert "20 mg/day for citalopram over age 60" in warned(40, 61)[0]
    assert "40 mg/day" in warned(60, 45)[0]


# --- issue 36 items 2 and 3: analytes measured separately, units, before steady state, the dose proposal ---

def test_issue_example_places_each_analyte_the_sum_the_ratio_and_proposes_a_dose():
    r = run_cli("pk", "tdm", "--drug", "imipramine", "--regimen", "150 mg po daily", "--measured",
                "imipramine=120,desipramine=95", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    placed = {p["quantity"]: p for p in d["measured"]}
    assert set(placed) == {"imipramine", "desipramine", "imipramine + desipramine"}
    assert placed["imipramine + desipramine"]["measured_ng_per_ml"] == 215.0
    assert all(0 <= p["percentile"] <= 100 for p in placed.values())
    assert d["ratio"]["value"] == pytest.approx(95 / 120) and d["ratio"]["fits_phenotypes"]
    p = d["dose_proposal"]
    assert p["dose_mg_per_day"] > 0 and p["expected_interval_ng_per_ml"]["p5"] < p["expected_ng_per_ml"] \
        < p["expected_interval_ng_per_ml"]["p95"]
    assert p["target_ng_per_ml"]["low"] == 175 and p["clearance_l_per_h"]["p5"] < p["clearance_l_per_h"]["map"] \
        < p["clearance_l_per_h"]["p95"]
    assert "assumption" in r.stderr     # the residual error is stated as one
    assert "NaN" not in r.stdout


def test_the_ratio_ranges_order_the_cyp2d6_phenotypes():
    """Desipramine is cleared by CYP2D6 2-hydroxylation (Brosen 1986), so its ratio to imipramine rises from
    ultrarapid to poor metabolisers; the ranges come from the model's own virtual patients."""
    r = tdm("imipramine", "150 mg po daily", measured="imipramine=120,desipramine=95", n=200, seed=3)
    med = {ph: v[2] for ph, v in r.ratio["by_phenotype"].items()}
    assert med["UM"] < med["NM"] < med["IM"] < med["PM"]


def test_nmol_per_l_converts_by_the_molar_mass():
    """1 nmol/L of nortriptyline (PubChem MW 263.38 g/mol) is 0.26338 ng/mL."""
    from adpharm.pharmacology.simulate import model_for
    mw = next(a.mw_g_per_mol.value for a in model_for("nortriptyline").analytes if a.name == "nortriptyline")
    ng = tdm("nortriptyline", "75 mg po daily", measured=300, unit="nmol/L", n=100, seed=1)
    mass = tdm("nortriptyline", "75 mg po daily", measured=300 * mw / 1000, n=100, seed=1)
    assert ng.measured_ng_per_ml == pytest.approx(300 * mw / 1000)
    assert ng.measured_percentile == pytest.approx(mass.measured_percentile)
    e_ng, e_nm = mass.expected.iloc[0], ng.expected.iloc[0]
    assert e_nm["typical"] == pytest.approx(e_ng["typical"] * 1000 / mw)


def test_a_level_before_steady_state_is_placed_against_that_time():
    """Day 2 of nortriptyline (half-life about 30 h in a normal metaboliser, Matthaei 2021) sits well below
    steady state; by day 40 the typical patient is at steady state."""
    early = tdm("nortriptyline", "75 mg po daily", since_start_h=48, n=100)
    late = tdm("nortriptyline", "75 mg po daily", since_start_h=40 * 24, n=100)
    ss = tdm("nortriptyline", "75 mg po daily", n=100)
    assert 0.2 < early.steady_state_fraction < 0.8 and late.steady_state_fraction == pytest.approx(1.0, abs=0.01)
    assert early.expected.iloc[0]["typical"] < 0.8 * ss.expected.iloc[0]["typical"]
    assert "before steady state" in early.text() and early.sample_h == pytest.approx(24.0)


def _prior(drug, regimen, n, seed, sample_h=24.0):
    from adpharm.pharmacology.regimen import parse_regimen
    from adpharm.pharmacology.simulate import draw_covariates, draw_etas, model_for, solve_chunk
    from adpharm.pharmacology.tdm import STEADY_STATE_H
    model = model_for(drug)
    events = [e for e in parse_regimen(regimen).events(STEADY_STATE_H + 1) if e.time_h <= STEADY_STATE_H]
    rng = np.random.default_rng(seed)
    cov = draw_covariates(n, rng)
    etas = draw_etas(model, n, rng)
    level = solve_chunk(model, events, np.array([events[-1].time_h + sample_h]), cov, etas, slice(0, n))[:, 0, 0]
    return model, cov, etas, level


@pytest.mark.parametrize("drug", ["sertraline", "nortriptyline"])
def test_the_clearance_interval_covers_the_true_clearance_at_its_nominal_rate(drug):
    """Simulated patients (seed 2) drawn from the population model, one trough level each with the stated
    residual error; the prior is a separate virtual population (seed 1). The 90 % posterior interval of each
    patient's clearance should contain the true clearance about 90 % of the time (binomial SE 1.7 % on 300)."""
    from adpharm.pharmacology.tdm_dose import individual_clearance_l_per_h, posterior_weights, weighted_quantiles
    model, cov, etas, level = _prior(drug, "75 mg po daily", 4000, 1)
    cl_prior = individual_clearance_l_per_h(model, cov, etas)
    _, tcov, tetas, tlevel = _prior(drug, "75 mg po daily", 300, 2)
    cl_true = individual_clearance_l_per_h(model, tcov, tetas)
    sigma = np.sqrt(np.log1p(0.2 ** 2))
    obs = tlevel * np.exp(np.random.default_rng(5).normal(0, sigma, tlevel.size))
    hits = 0
    for y, cl in zip(obs, cl_true):
        w, ess = posterior_weights(level[:, None], np.array([y]), 20.0)
        lo, hi = weighted_quantiles(cl_prior, w, (5, 95))
        hits += lo <= cl <= hi
    assert 0.85 <= hits / len(obs) <= 0.95


def test_the_proposed_dose_brings_simulated_patients_into_the_range():
    """End to end on 12 simulated sertraline patients (seed 7): the proposal from one trough on 50 mg/day,
    applied to the same (true) patient, puts the true steady-state trough in ARUP's 30-200 ng/mL far more
    often than keeping 50 mg/day does."""
    from adpharm.pharmacology.regimen import parse_regimen
    from adpharm.pharmacology.simulate import solve_chunk
    from adpharm.pharmacology.tdm import STEADY_STATE_H
    model, cov, etas, level = _prior("sertraline", "50 mg po daily", 12, 7)
    sigma = np.sqrt(np.log1p(0.2 ** 2))
    obs = level * np.exp(np.random.default_rng(8).normal(0, sigma, level.size))
    inside_before = inside_after = 0
    for i, y in enumerate(obs):
        p = tdm("sertraline", "50 mg po daily", measured=float(y), n=500, seed=11).dose_proposal
        reg = parse_regimen(p.proposed_regimen)
        events = [e for e in reg.events(STEADY_STATE_H + 1) if e.time_h <= STEADY_STATE_H]
        true = solve_chunk(model, events, np.array([events[-1].time_h + 24.0]), cov.subset(slice(i, i + 1)),
                           {k: v[i:i + 1] for k, v in etas.items()}, slice(0, 1))[0, 0, 0]
        inside_after += 30 <= true <= 200
        inside_before += 30 <= level[i] <= 200
        assert p.expected_interval_ng_per_ml[0] < p.expected_ng_per_ml < p.expected_interval_ng_per_ml[1]
    assert inside_after >= 10 and inside_after > inside_before


def test_the_map_estimate_recovers_a_precisely_measured_clearance():
    """With a 2 % residual error the posterior mode is where the model reproduces the level: the MAP clearance of
    a patient whose trough is twice the typical one, put back into the model, gives that trough again (within
    3 %); it lies between half the typical clearance (what the mean level alone would give) and the typical."""
    from adpharm.pharmacology.simulate import model_for
    typ = tdm("sertraline", "100 mg po daily", n=1, seed=1).expected.iloc[0]["typical"]
    p = tdm("sertraline", "100 mg po daily", measured=2 * typ, n=2000, seed=1, residual_cv_pct=2.0).dose_proposal
    assert p.clearance_typical_l_per_h / 2 < p.clearance_map_l_per_h < p.clearance_typical_l_per_h
    model, cov, _, _ = _prior("sertraline", "100 mg po daily", 1, 1)
    from adpharm.pharmacology.regimen import parse_regimen
    from adpharm.pharmacology.simulate import solve_chunk
    from adpharm.pharmacology.tdm import STEADY_STATE_H
    events = [e for e in parse_regimen("100 mg po daily").events(STEADY_STATE_H + 1) if e.time_h <= STEADY_STATE_H]
    eta = {"sertraline.cl_l_per_h": np.array([np.log(p.clearance_map_l_per_h / p.clearance_typical_l_per_h)])}
    level = solve_chunk(model_for("sertraline"), events, np.array([events[-1].time_h + 24.0]), cov, eta, slice(0, 1))
    assert level[0, 0, 0] == pytest.approx(2 * typ, rel=0.03)


@pytest.mark.parametrize("args, needle", [
    (["--measured", "nordoxepin=5"], "'nordoxepin' is not an analyte of imipramine"),
    (["--measured", "100", "--unit", "mg/L"], "--unit"),
    (["--measured", "imipramine=1,imipramine=2"], "given twice"),
    (["--measured", "x"], "not a number"),
    (["--since-start-h", "48", "--sample-h", "3"], "not both"),
    (["--measured", "100", "--target", "300-100"], "target"),
])
def test_bad_measured_input_is_one_line_exit_2(args, needle):
    r = run_cli("pk", "tdm", "--drug", "imipramine", "--regimen", "150 mg po daily", *args)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    assert r.stderr.count("\n") == 1 and r.stdout == ""


def test_a_dose_proposal_without_a_target_range_is_refused():
    r = run_cli("pk", "tdm", "--drug", "clomipramine", "--regimen", "100 mg po daily", "--measured", "80",
                "--propose-dose")
    assert r.returncode == 2 and "no therapeutic reference range" in r.stderr and r.stderr.count("\n") == 1
    quiet = tdm("clomipramine", "100 mg po daily", measured=80, n=20)
    assert quiet.dose_proposal is None and "no dose proposal" in quiet.text()


def test_a_metabolite_carries_its_own_sourced_variability():
    """Nortriptyline formed from amitriptyline spreads as nortriptyline does on its own (the Swiss label's SD/mean of
    its clearance, 22.5 %), not only as far as amitriptyline's clearance moves it; citalopram spreads with Akil
    2016's between-subject CV of apparent clearance."""
    e = tdm("amitriptyline", "150 mg po daily", n=2000, seed=1).expected.set_index("quantity").loc["nortriptyline"]
    assert e["p84"] / e["p16"] > 1.4
    c = tdm("citalopram", "20 mg po daily", n=2000, seed=1)
    assert c.variability and c.expected.iloc[0]["p84"] / c.expected.iloc[0]["p16"] > 1.6


def test_a_proportional_proposal_uses_every_measured_analyte():
    """A drug without sourced variability (venlafaxine) measured as parent and metabolite at twice the typical
    patient's levels: the monitored sum at the current dose is expected at twice the typical sum (linear kinetics),
    not at the population's level."""
    typ = tdm("venlafaxine", "75 mg po bid", n=1).expected.set_index("quantity")["typical"]
    measured = {"venlafaxine": 2 * typ["venlafaxine"], "O-desmethylvenlafaxine": 2 * typ["O-desmethylvenlafaxine"]}
    p = tdm("venlafaxine", "75 mg po bid", measured=measured, n=10).dose_proposal
    now = p.candidates.set_index("dose_mg_per_day").loc[150.0, "p50"]
    assert now == pytest.approx(2 * typ["venlafaxine + O-desmethylvenlafaxine"], rel=1e-6)


def test_tdm_is_about_one_patient():
    """The covariates object carries arrays for populations; a TDM request refuses one, naming the field."""
    with pytest.raises(AdpharmInputError, match="one patient") as exc:
        tdm("imipramine", "150 mg po daily", n=10, covariates=PatientCovariates(age_y=np.array([40.0, 80.0])))
    assert exc.value.field == "age_y"


def test_patient_covariates_are_one_object_across_the_engines():
    """pk.simulate, tdm and mechanism.simulate take the patient as one PatientCovariates, never as loose
    keywords, and its defaults are the reference patient's constants (one home)."""
    import inspect
    from adpharm.mechanism.simulate import simulate as mechanism_simulate
    from adpharm.pharmacology import model
    from adpharm.pharmacology.simulate import simulate as pk_simulate
    for fn in (pk_simulate, tdm, mechanism_simulate):
        params = inspect.signature(fn).parameters
        assert "covariates" in params
        assert not {"weight_kg", "age_y", "sex", "phenotype", "cyp2d6_inhibitor"} & set(params), fn.__module__
    c = PatientCovariates()
    assert (c.weight_kg, c.age_y, c.sex, c.phenotype, c.cyp2d6_inhibitor) == (
        model.REFERENCE_WEIGHT_KG, model.REFERENCE_AGE_Y, model.REFERENCE_SEX, model.REFERENCE_PHENOTYPE,
        model.NO_INHIBITOR)
