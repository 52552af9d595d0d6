"""Steady state against multiple-dose data and therapeutic drug monitoring.

Fitted (validation/pk/calibrate.py): imipramine's CYP2D6 share and the CYP2D6 saturation constant,
to the mean steady state of 28 extensive metabolisers on imipramine 100 mg/day (Brøsen 1986, Eur J
Clin Pharmacol 30:679, doi:10.1007/BF00608215). Everything else here is held out: the two poor
metabolisers of the same study, the titrated level (T16), desipramine given alone, dose
proportionality (Nelson & Jatlow 1987), and the consensus ranges of knowledge/data/tdm.yaml.
"""
import numpy as np
import pytest

from adpharm.knowledge.loader import bundled
from adpharm.pharmacology.simulate import PatientCovariates, model_for, simulate

MW = {"imipramine": 280.4, "desipramine": 266.4}


def mean_ss(drug, mg, phenotype="NM", days=70):
    """Typical adult's mean concentration (ng/mL) over the last dosing day of ``mg`` once daily."""
    res = simulate(drug, f"{mg:g} mg po daily", hours=24.0 * days, step_h=0.5, covariates=PatientCovariates(phenotype=phenotype))
    last = res.times_h > res.times_h[-1] - 24
    return dict(zip(res.analytes, res.conc_ng_per_ml[0][last].mean(axis=0)))


def nmol(c):
    return {a: v * 1000 / MW[a] for a, v in c.items()}


def test_fitted_brosen1986_extensive_metabolisers_on_100_mg():
    """The fitted facts (listed as such): imipramine 169 and desipramine 212 nmol/L."""
    c = nmol(mean_ss("imipramine", 100))
    assert c["imipramine"] == pytest.approx(169, rel=0.02)
    assert c["desipramine"] == pytest.approx(212, rel=0.02)


def test_imipramine_150_mg_is_in_the_consensus_range():
    """Held out: imipramine + desipramine 175-300 ng/mL (AGNP, as Mayo reproduces it) at 150 mg/day."""
    c = mean_ss("imipramine", 150)
    assert 175 <= c["imipramine"] + c["desipramine"] <= 300


@pytest.mark.parametrize("mg", [100, 150])
def test_desipramine_at_least_equals_imipramine_in_normal_metabolisers(mg):
    c = mean_ss("imipramine", mg)
    assert c["desipramine"] / c["imipramine"] >= 1.0


def test_poor_metabolisers_brosen1986():
    """Held out: the two poor metabolisers on 100 mg/day had desipramine/imipramine 2.5 and 5.7
    (nmol/L ratios 1148/455 and 1721/302) and desipramine 5.4-8.1 times the extensive mean."""
    pm, em = nmol(mean_ss("imipramine", 100, "PM")), nmol(mean_ss("imipramine", 100))
    ratio_pm = pm["desipramine"] / pm["imipramine"]
    assert 1148 / 455 <= ratio_pm <= 1721 / 302
    assert ratio_pm >= 2 * em["desipramine"] / em["imipramine"]
    assert pm["desipramine"] >= 3 * em["desipramine"]
    # the poor metabolisers' own levels: within a factor 1.5 below the lower of the two patients
    assert pm["imipramine"] >= 302 / 1.5 and pm["desipramine"] >= 1148 / 1.5


def test_T16_therapeutic_level_reached_within_the_doses_patients_needed():
    """Held out (T16): 713 nmol/L imipramine + desipramine was reached at 50-400 mg/day in extensive
    metabolisers; the typical one reaches it inside that span."""
    total = {mg: sum(nmol(mean_ss("imipramine", mg)).values()) for mg in (50, 400)}
    assert total[50] < 713 < total[400]


def test_desipramine_alone_reaches_its_range_with_the_constant_fitted_on_imipramine():
    """Held out: desipramine 100-300 ng/mL at 150 mg/day of desipramine itself."""
    assert 100 <= mean_ss("desipramine", 150)["desipramine"] <= 300


def test_desipramine_rises_more_than_dose_and_amitriptyline_does_not():
    """Nelson & Jatlow 1987: desipramine rose more than the dose at two steady states (42 inpatients);
    amitriptyline and nortriptyline are modelled as linear."""
    dmi = mean_ss("desipramine", 200)["desipramine"] / mean_ss("desipramine", 100)["desipramine"]
    assert dmi > 2.2
    lo, hi = mean_ss("amitriptyline", 75), mean_ss("amitriptyline", 150)
    for a in lo:
        assert hi[a] / lo[a] == pytest.approx(2.0, rel=1e-6)


def test_cyp2d6_activity_left_at_100_mg_against_the_doubled_metabolic_ratio():
    """Brøsen 1986: imipramine about doubled the sparteine/debrisoquine metabolic ratio (activity near
    one half). The fitted saturation leaves less (about 0.3): within a factor of two, at the strong end."""
    model = model_for("imipramine")
    c = mean_ss("imipramine", 100)
    act = float(model.cyp2d6_activity(np.array([c["imipramine"], c["desipramine"]])))
    assert 0.25 <= act <= 0.5


@pytest.mark.parametrize("drug", sorted(bundled().tdm))
def test_usual_dose_against_the_consensus_range(drug):
    """Every drug with a bundled range: the typical adult at the middle of the usual daily dose is
    inside the range, or outside in the direction its sourced `gap` documents."""
    rng = bundled().tdm[drug]
    if not rng.has_range:
        assert rng.note and rng.refs   # the reason no range is compared
        return
    mg = (rng.usual_daily_mg.low + rng.usual_daily_mg.high) / 2
    c = mean_ss(drug, mg)
    total = sum(c[a] for a in rng.analytes)
    inside = rng.position(total) == "inside"
    if rng.gap is None:
        assert inside, f"{drug} {mg:g} mg/day: {total:.0f} ng/mL outside {rng.low_ng_per_ml:g}-{rng.high_ng_per_ml:g}"
    else:
        assert not inside and (total < rng.low_ng_per_ml) == (rng.gap.direction == "below")
