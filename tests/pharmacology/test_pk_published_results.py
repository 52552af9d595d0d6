"""The typical patient against published results that are NOT in the calibration file.

Each test names its source; the tolerance is the reported variability (a range, or a stated SD).
"""
import pytest

from adpharm.pharmacology.occupancy import occupancy
from adpharm.pharmacology.simulate import PatientCovariates, simulate


def nca(drug, regimen, **kw):
    return simulate(drug, regimen, **kw).summary().set_index(["analyte", "measure"])["value"]


def test_ketamine_antidepressant_infusion_peak_zarate2006():
    """0.5 mg/kg over 40 min: 185 ng/mL (Zarate 2006, Zanos 2018 Table 1); 100-250 ng/mL (Krystal 1994)."""
    cmax = nca("ketamine", "0.5 mg/kg iv over 40 min", hours=12, step_h=1 / 60)[("ketamine", "cmax_ng_per_ml")]
    assert 100 <= cmax <= 250
    assert cmax == pytest.approx(185, rel=0.15)


@pytest.mark.parametrize("dose_mg, auc", [(10, 19), (30, 46), (50, 64)])
def test_intranasal_ketamine_exposure_pharmacotherapy2022(dose_mg, auc):
    """Intranasal ketamine AUC (ug.h/L) of Table 6 (the study whose 13 % bioavailability the model uses):
    within a factor of 1.5 at every dose."""
    s = nca("ketamine", f"{dose_mg} mg intranasal", hours=24, step_h=1 / 60)
    assert auc / 1.5 <= s[("ketamine", "auc_ng_h_per_ml")] <= auc * 1.5


@pytest.mark.xfail(strict=True, reason="early peaks: the same study's 10 mg IV bolus peaks at 296 ng/mL at 2 min "
                   "against the model's 84 (central volume 119 L from the Kamp 2020 meta-analysis); with the study's "
                   "own 13 % bioavailability the intranasal peak is 34 ng/mL against 77.6, while the AUC matches")
def test_intranasal_ketamine_50mg_peak_pharmacotherapy2022():
    """50 mg intranasal ketamine: Cmax geometric mean 77.6 ng/mL, geometric SD 2.29 (Table 6)."""
    cmax = nca("ketamine", "50 mg intranasal", hours=12, step_h=1 / 60)[("ketamine", "cmax_ng_per_ml")]
    assert 77.6 / 2.29 <= cmax <= 77.6 * 2.29


def test_imipramine_steady_state_swiss_label():
    """50 mg three times daily for 10 days: imipramine 33-85 ng/mL (Swiss label, kinetics section)."""
    s = nca("imipramine", "50 mg po tid for 10 days", hours=240, step_h=0.25)
    assert 33 <= s[("imipramine", "cavg_ss_ng_per_ml")] <= 85


def test_clomipramine_steady_state_label():
    """75 mg daily: steady-state clomipramine about 20-175 ng/mL (SmPC text, RxReasoner)."""
    s = nca("clomipramine", "75 mg po daily", hours=24 * 21)
    assert 20 <= s[("clomipramine", "cavg_ss_ng_per_ml")] <= 175


def test_fluoxetine_chronic_levels_label():
    """40 mg/day for 30 days: fluoxetine 91-302 ng/mL (US label via droracle)."""
    s = nca("fluoxetine", "40 mg po daily", hours=24 * 30)
    assert 91 <= s[("fluoxetine", "cavg_ss_ng_per_ml")] <= 302


@pytest.mark.parametrize("drug, observed", [("citalopram", 0.77), ("paroxetine", 0.83)])
def test_sert_occupancy_at_20mg_meyer2001(drug, observed):
    """[11C]DASB PET after 4 weeks of 20 mg/day: citalopram 77 %, paroxetine 83 % (Meyer 2001)."""
    occ = occupancy(simulate(drug, "20 mg po daily", hours=24 * 28)).summary().set_index("target")
    assert occ.loc["SERT", "mean"] == pytest.approx(observed, abs=0.10)


def test_venlafaxine_cyp2d6_poor_metabolisers_invert_the_metabolite_ratio():
    """Poor metabolisers have more venlafaxine and less ODV (label, via N07's qualitative statement;
    the ODV/VEN ratio separates the phenotypes: Lobello 2010)."""
    nm = nca("venlafaxine", "75 mg po bid", hours=24 * 7)
    pm = nca("venlafaxine", "75 mg po bid", hours=24 * 7, covariates=PatientCovariates(phenotype="PM"))
    ratio = lambda s: s[("O-desmethylvenlafaxine", "cavg_ss_ng_per_ml")] / s[("venlafaxine", "cavg_ss_ng_per_ml")]
    assert ratio(nm) > 1 > ratio(pm)


