"""Combinations: same patients alone and together, Bliss and HSA, labelled flags."""
import json

import numpy as np
import pytest

from conftest import run_cli

from adpharm.errors import AdpharmInputError
from adpharm.mechanism.combination import combination

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them

KET = ("ketamine", "0.5 mg/kg iv over 40 min")
IMI = ("imipramine", "50 mg po daily titrate to 200 mg over 2 weeks")


@pytest.fixture(scope="module")
def ket_imi():
    return combination([KET, IMI], 42, n=300, seed=1)


def test_each_drug_dominates_its_own_time_scale(ket_imi):
    t = ket_imi.table.set_index("day")
    # on day 1 imipramine adds only the start of its affective-processing shift (cascade model 2.4)
    assert t.loc[1, "effect_combination"] == pytest.approx(t.loc[1, "effect_ketamine"], abs=5e-3)
    assert t.loc[42, "effect_combination"] == pytest.approx(t.loc[42, "effect_imipramine"], abs=1e-3)
    assert t.loc[14, "effect_combination"] > max(t.loc[14, "effect_ketamine"], t.loc[14, "effect_imipramine"])


def test_additive_plasticity_cannot_exceed_bliss(ket_imi):
    # the arms meet only in the plasticity sum and D = sP / (1 + sP), so 1 - D_AB >= (1 - D_A)(1 - D_B);
    # the combination and the single drugs are separate solves on their own step grids (ketamine's 15-min
    # steps only where it is given), so both bounds hold up to step error (of order 1e-8 on D), far below
    # the differences the model makes (the combination falls short of Bliss by up to 1e-2 in week 1 and
    # exceeds the larger single effect by about 1e-4 at day 14)
    assert np.all(ket_imi.table.excess_over_bliss <= 1e-7)
    assert np.all(ket_imi.table.excess_over_hsa >= -1e-6)


def test_needs_two_drugs():
    with pytest.raises(AdpharmInputError, match="at least two"):
        combination([KET], 3)


def test_cli_reports_the_combination_and_labelled_flags():
    r = run_cli("mechanism", "simulate", "--drug", "esketamine", "--regimen", "56 mg intranasal",
                "--drug", "sertraline", "--regimen", "50 mg po daily", "--days", "3", "--n", "40", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["combination"]["drugs"] == ["esketamine", "sertraline"] and len(d["combination"]["days"]) == 4



@pytest.mark.parametrize("other, regimen, words", [
    ("ketamine", KET[1], "blood pressure"),
    ("imipramine", "50 mg po daily", "contraindicated"),
    ("sertraline", "50 mg po daily", "serotonin syndrome"),
])
@pytest.mark.parametrize("maoi, maoi_regimen", [("phenelzine", "15 mg po tid"), ("tranylcypromine", "10 mg po bid")])
def test_a_combination_with_an_maoi_runs_and_carries_its_labelled_warning(other, regimen, words, maoi, maoi_regimen):
    """Issue 22: MAOI combinations simulate, with the knowledge base's labelled interaction, marked as
    labelled and not modelled (no state of the model carries the pressor or serotonergic effect)."""
    r = run_cli("mechanism", "simulate", "--drug", other, "--regimen", regimen, "--drug", maoi,
                "--regimen", maoi_regimen, "--days", "2", "--n", "20", "--seed", "1", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    flags = d["flags"]
    assert flags and all(f["modelled"] == "labelled, not modelled" for f in flags)
    assert any(words in f["effect"] or words in f["severity"] for f in flags)
    assert "adpharm: flag:" in r.stderr and "labelled, not modelled" in r.stderr
    assert d["combination"]["drugs"] == [other, maoi]
