"""The typical patient against the calibration facts it was built on (fact IDs from
../shared/reference/pkpd_calibration.md in each test name)."""
import numpy as np
import pytest

from adpharm.knowledge.loader import bundled
from adpharm.pharmacology.model import Covariates
from adpharm.pharmacology.occupancy import kp_uu
from adpharm.pharmacology.simulate import PatientCovariates, model_for, simulate


def nca(drug, regimen, **kw):
    return simulate(drug, regimen, **kw).summary().set_index(["analyte", "measure"])["value"]


def test_K07_K08_K09_K10_ketamine_disposition():
    model = model_for("ketamine")
    p = model.typical(Covariates.of(1))
    n = 2  # ketamine central + peripheral
    lam = np.sort(-np.linalg.eigvals(model.matrix(p)[0][:n, :n]).real)
    assert np.log(2) / lam[1] * 60 == pytest.approx(12.5, abs=0.1)   # K09 alpha 10-15 min
    assert np.log(2) / lam[0] == pytest.approx(2.5, abs=0.01)        # K10 beta 2.5 h
    a = model.parent
    assert a.v1_l.value + a.v2_l.value == pytest.approx(252, abs=0.5)  # K08 Vss
    assert a.cl_l_per_h.value == 79                                    # K07


def test_K10_terminal_half_life_by_nca():
    assert nca("ketamine", "0.5 mg/kg iv over 40 min", hours=24)[("ketamine", "half_life_h")] == pytest.approx(2.5, rel=0.02)


def test_K05_oral_ketamine_peak():
    assert nca("ketamine", "0.5 mg/kg po", step_h=0.01)[("ketamine", "cmax_ng_per_ml")] == pytest.approx(45, abs=10)


def test_K21_sublingual_tmax_and_K19_bioavailability():
    s = nca("ketamine", "25 mg sublingual", hours=48, step_h=0.01)
    assert s[("ketamine", "tmax_h")] == pytest.approx(0.75, abs=0.02)
    iv = nca("ketamine", "25 mg iv bolus", hours=48, step_h=0.01)
    assert s[("ketamine", "auc_ng_h_per_ml")] / iv[("ketamine", "auc_ng_h_per_ml")] == pytest.approx(0.29, abs=0.005)


@pytest.mark.parametrize("dose, expected", [(56, 0.54), (84, 0.51)])
def test_E15_esketamine_intranasal_absolute_bioavailability(dose, expected):
    """E15 is reproduced from E13/E14/E19: nasal fraction per device, 0.62 for later devices."""
    nasal = nca("esketamine", f"{dose} mg intranasal", hours=120, step_h=0.02)
    iv = nca("esketamine", f"{dose} mg iv bolus", hours=120, step_h=0.02)
    f = nasal[("esketamine", "auc_ng_h_per_ml")] / iv[("esketamine", "auc_ng_h_per_ml")]
    assert f == pytest.approx(expected, abs=0.02)


def test_E02_esketamine_tmax_after_last_spray():
    s = nca("esketamine", "56 mg intranasal", hours=6, step_h=1 / 60)
    after_last_spray_min = (s[("esketamine", "tmax_h")] - 5 / 60) * 60
    assert 20 <= after_last_spray_min <= 41


def test_T01_T02_T04_T06_imipramine_single_oral_dose():
    s = nca("imipramine", "50 mg po", hours=400, step_h=0.25)
    assert s[("imipramine", "auc_ng_h_per_ml")] == pytest.approx(306, rel=0.06)   # T06 AUC (T01 F x D / T02 CL)
    assert s[("imipramine", "half_life_h")] == pytest.approx(15.5, rel=0.03)     # T04


def test_T07_desipramine_auc_after_oral_imipramine():
    s = nca("imipramine", "50 mg po", hours=600, step_h=0.5)
    assert s[("desipramine", "auc_ng_h_per_ml")] == pytest.approx(152, rel=0.02)


def test_T18_desipramine_clearance_poor_vs_extensive_metabolisers():
    em = nca("desipramine", "100 mg po", hours=1500, step_h=1)[("desipramine", "auc_ng_h_per_ml")]
    pm = nca("desipramine", "100 mg po", hours=1500, step_h=1, covariates=PatientCovariates(phenotype="PM"))[("desipramine", "auc_ng_h_per_ml")]
    assert 100_000 / em == pytest.approx(102 + 9, rel=0.03)   # M07 CL/F 111 L/h for normal metabolisers
    assert em / pm == pytest.approx(15 / 102, rel=0.03)        # T18: 15 vs 102 L/h


def test_T31_amitriptyline_clearance_by_activity_score():
    """Calibrated on activity scores 0 and 2; the ultrarapid value (score 3) is predicted."""
    cl = {}
    for ph in ("PM", "NM", "UM"):
        auc = nca("amitriptyline", "25 mg po", hours=600, step_h=0.5, covariates=PatientCovariates(phenotype=ph))[("amitriptyline", "auc_ng_h_per_ml")]
        cl[ph] = 25_000 / auc / 60  # CL/F in L/min
    assert cl["PM"] == pytest.approx(1.45, rel=0.03)
    assert cl["NM"] == pytest.approx(2.25, rel=0.03)
    assert cl["UM"] == pytest.approx(2.92, rel=0.12)


def test_T38_T41_nortriptyline_tmax_and_half_life():
    s = nca("nortriptyline", "25 mg po", hours=400, step_h=0.05)
    assert s[("nortriptyline", "tmax_h")] == pytest.approx(5.5, abs=0.05)
    assert s[("nortriptyline", "half_life_h")] == pytest.approx(25.5, rel=0.03)


def test_O13_transporter_factor_reproduces_the_pet_ec50():
    kb = bundled()
    kp, src = kp_uu("NET", kb)
    assert "O13" in src
    a = model_for("nortriptyline").parent
    x = 59.8 * a.fu.value * kp / a.mw_g_per_mol.value * 1000 / kb.drugs["nortriptyline"].binding["NET"].value
    assert x / (1 + x) == pytest.approx(0.5, abs=1e-9)


@pytest.mark.parametrize("plasma, observed", [(23.7, 0.332), (50.5, 0.411)])
def test_O11_O12_nortriptyline_net_occupancy_at_the_scan_levels(plasma, observed):
    """Occupancy predicted from the plasma levels at the scan (O12) vs PET (O11), within 8 points."""
    kb = bundled()
    kp, _ = kp_uu("NET", kb)
    a = model_for("nortriptyline").parent
    x = plasma * a.fu.value * kp / a.mw_g_per_mol.value * 1000 / kb.drugs["nortriptyline"].binding["NET"].value
    assert x / (1 + x) == pytest.approx(observed, abs=0.08)


def test_S10_S11_sertraline_single_dose_peak():
    s = nca("sertraline", "50 mg po", hours=120, step_h=0.05)
    assert s[("sertraline", "cmax_ng_per_ml")] == pytest.approx(12, rel=0.02)   # S10
    assert s[("sertraline", "tmax_h")] == pytest.approx(6.45, abs=0.05)        # S11 (middle of 4.5-8.4 h)


@pytest.mark.parametrize("drug, metabolite", [("esketamine", "noresketamine"), ("ketamine", "norketamine")])
def test_E10_norketamine_reaches_the_brain_4_to_6_fold_less_than_its_parent(drug, metabolite):
    """E10 (label summary): noresketamine's brain:plasma ratio is 4-6 fold lower than esketamine's; enantiomers cross
    the blood-brain barrier alike, so racemic norketamine takes the same factor. The NMDA coefficient of the
    metabolite is its unbound plasma nM per ng/mL over Ki, times that factor (closed form)."""
    from adpharm.pharmacology.occupancy import occupancy_coefficients
    model = model_for(drug)
    a = next(x for x in model.analytes if x.name == metabolite)
    assert 1 / 6 <= a.brain_rel_to_parent.value <= 1 / 4 and a.brain_rel_to_parent.fact == "E10"
    coefs, basis, _ = occupancy_coefficients(drug)
    i = [x.name for x in model.analytes].index(metabolite)
    k = basis["NMDA"]["analytes"][metabolite]["k_nm"]
    expected = a.fu.value * a.brain_rel_to_parent.value / a.mw_g_per_mol.value * 1000 / k
    assert coefs["NMDA"][i] == pytest.approx(expected, rel=1e-12)
    assert basis["NMDA"]["analytes"][metabolite]["brain_rel_to_parent"] == a.brain_rel_to_parent.value


def test_a_brain_factor_on_a_parent_or_above_one_is_refused():
    from pydantic import ValidationError

    from adpharm.knowledge.schema import PKAnalyte
    base = {"name": "x", "mw_g_per_mol": {"value": 200, "refs": ["r"]}, "cl_l_per_h": {"value": 10, "refs": ["r"]},
            "v1_l": {"value": 50, "refs": ["r"]}, "fu": {"value": 0.5, "refs": ["r"]}}
    with pytest.raises(ValidationError, match="brain_rel_to_parent"):
        PKAnalyte(**base, brain_rel_to_parent={"value": 0.2, "refs": ["r"]})
    with pytest.raises(ValidationError, match="brain_rel_to_parent"):
        PKAnalyte(**base, parent="p", fm={"value": 1, "refs": ["r"]}, brain_rel_to_parent={"value": 2, "refs": ["r"]})
