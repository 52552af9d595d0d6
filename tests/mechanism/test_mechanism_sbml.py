"""SBML round trip: the exported document, simulated by libroadrunner, reproduces adpharm to 1e-4."""
import numpy as np
import pytest

from adpharm.mechanism.drive import DriveStepper, pk_component
from adpharm.mechanism.integrate import integrate
from adpharm.mechanism.model import load
from adpharm.pharmacology.simulate import draw_covariates

libsbml = pytest.importorskip("libsbml", reason="python-libsbml not installed (pip install 'adpharm[mechanism]')")
roadrunner = pytest.importorskip("roadrunner", reason="libroadrunner not installed (pip install 'adpharm[mechanism]')")
from adpharm.mechanism.sbml import RoadRunnerPopulation, patient_values, roadrunner_trajectories, to_sbml  # noqa: E402

NAMES = ["occ_nmda", "occ_sert", "occ_net", "glutamate_frac", "bdnf_release_frac", "mtorc1_frac",
         "synaptic_protein_frac", "spine_density_frac", "serotonin_fold", "autoreceptor_sensitivity", "creb_frac",
         "bdnf_transcription_frac", "new_neuron_frac", "plasticity", "dissociation_frac", "mao_inhibition"]


@pytest.mark.parametrize("drug, regimen, days", [
    ("ketamine", "0.5 mg/kg iv over 40 min twice weekly for 2 weeks", 14),
    ("imipramine", "50 mg po daily titrate to 300 mg over 3 weeks", 42),
    ("esketamine", "84 mg intranasal twice weekly", 7),
    ("phenelzine", "15 mg po every 8 h titrate to 20 mg over 1 week", 21),
    ("tranylcypromine", "15 mg po every 12 h", 21),
])
def test_roadrunner_reproduces_adpharm(drug, regimen, days):
    m = load()
    p = m.parameter_values()
    rng = np.random.default_rng(5)
    cov = draw_covariates(3, rng)
    comp = pk_component(drug, regimen, days * 24.0, cov, rng)
    times = np.arange(0, days * 24 + 1, 2.0)
    ours = integrate(m, p, DriveStepper([comp], 3, list(m.inputs)), times, NAMES)
    doc = to_sbml(m, p, [comp], patient=2)
    assert libsbml.readSBMLFromString(doc).getNumErrors() == 0
    theirs = roadrunner_trajectories(doc, times, NAMES)
    for name in NAMES:
        scale = np.max(np.abs(theirs[name]))
        if scale == 0:
            assert np.max(np.abs(ours[name][2])) < 1e-12
            continue
        rel = np.max(np.abs(ours[name][2] - theirs[name])) / scale
        assert rel < 1e-4, (name, rel)


@pytest.mark.parametrize("drug, regimen, days", [
    ("imipramine", "50 mg po daily titrate to 300 mg over 3 weeks", 21),   # CYP2D6 autoinhibition, mixed phenotypes
    ("ketamine", "0.5 mg/kg iv over 40 min twice weekly for 2 weeks", 7),  # infusions, weight-based doses
    ("phenelzine", "15 mg po every 8 h", 7),                               # irreversible MAO-A inactivation
])
def test_one_compiled_document_serves_every_patient(drug, regimen, days):
    """Issue 21: per-patient values are constant parameters. The document of patient 0, compiled once,
    with patient i's values set, reproduces adpharm's patient i (and the document written for patient i)."""
    m = load()
    p = m.parameter_values()
    rng = np.random.default_rng(7)
    cov = draw_covariates(4, rng, phenotype="mixed", weight_kg=np.array([55.0, 70.0, 90.0, 120.0]))
    comp = pk_component(drug, regimen, days * 24.0, cov, rng)
    times = np.arange(0, days * 24 + 1, 2.0)
    ours = integrate(m, p, DriveStepper([comp], 4, list(m.inputs)), times, NAMES)
    doc = to_sbml(m, p, [comp], patient=0)
    runner = RoadRunnerPopulation(doc, NAMES, rtol=1e-10, atol=1e-14)
    for i in range(4):
        vals = patient_values(m, p, [comp], i)
        assert set(vals) == set(patient_values(m, p, [comp], 0))
        theirs = runner.simulate(vals, times)
        for name in NAMES:
            scale = np.max(np.abs(theirs[name]))
            if scale > 0:
                assert np.max(np.abs(ours[name][i] - theirs[name])) / scale < 1e-4, (i, name)

