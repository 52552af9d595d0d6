"""Steps chosen from the dynamics (issue 21): every bundled oral drug's run on its own step control
agrees with a 0.1-hour reference grid of the same scheme to 1e-4 of each trajectory's range, and the
oral control takes fewer steps than the event-refined default."""
import numpy as np
import pytest

from adpharm.knowledge import query
from adpharm.mechanism.drive import DriveStepper, pk_component
from adpharm.mechanism.integrate import Grid, grid_for, integrate, step_grid
from adpharm.mechanism.model import load
from adpharm.pharmacology.simulate import draw_covariates

pytestmark = pytest.mark.slow

NAMES = ["occ_sert", "occ_net", "serotonin_fold", "autoreceptor_sensitivity", "creb_frac", "bdnf_transcription_frac",
         "new_neuron_frac", "plasticity"]
ORAL = {"imipramine": "50 mg po daily titrate to 300 mg over 3 weeks", "desipramine": "150 mg po daily",
        "amitriptyline": "150 mg po daily", "nortriptyline": "100 mg po daily", "clomipramine": "150 mg po daily",
        "fluoxetine": "20 mg po daily", "sertraline": "100 mg po daily", "paroxetine": "20 mg po daily",
        "citalopram": "20 mg po daily", "escitalopram": "10 mg po daily", "venlafaxine": "75 mg po twice daily",
        "duloxetine": "60 mg po daily"}


def test_every_bundled_oral_monoaminergic_drug_is_covered():
    drugs = query.list_drugs()
    mono = set(drugs[drugs["class"].isin(["tca", "ssri", "snri"])]["drug"])
    assert mono == set(ORAL)


@pytest.mark.parametrize("drug", sorted(ORAL))
def test_oral_step_control_agrees_with_a_fine_grid(drug):
    m = load()
    p = m.parameter_values()
    times = np.arange(0, 21 * 24 + 1, 4.0)
    rng = np.random.default_rng(5)
    comp = pk_component(drug, ORAL[drug], times[-1], draw_covariates(20, rng, phenotype="mixed"), rng)
    grid = grid_for([comp])
    assert grid.first_step_h > 0.01 and grid.max_step_h == 4.0       # the absorbed-dose control was chosen
    run = lambda g: integrate(m, p, DriveStepper([comp], 20, list(m.inputs)), times, NAMES, g)  # noqa: E731
    ours, ref = run(grid), run(Grid(first_step_h=0.001, growth=1.2, max_step_h=0.1))
    for k in NAMES:
        scale = np.max(np.abs(ref[k]))
        if scale > 0:
            assert np.max(np.abs(ours[k] - ref[k])) / scale < 1e-4, k
    events = DriveStepper([comp], 20, list(m.inputs)).event_times()
    assert len(step_grid(times, events, grid)) < len(step_grid(times, events, Grid(max_step_h=2.0)))


def test_iv_and_intranasal_doses_keep_the_refined_start():
    rng = np.random.default_rng(1)
    cov = draw_covariates(5, rng)
    iv = pk_component("ketamine", "0.5 mg/kg iv over 40 min", 48.0, cov, rng)
    assert grid_for([iv]).first_step_h == 0.01
    oral = pk_component("sertraline", "100 mg po daily", 48.0, cov, rng)
    assert grid_for([oral, iv]).first_step_h == 0.01     # an infusion beside an oral drug: its jumps rule
