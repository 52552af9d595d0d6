"""Virtual forced swim and sucrose preference: acute versus chronic, and the real FST file."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from conftest import data, run_cli

from adpharm.errors import AdpharmInputError
from adpharm.mechanism.preclinical import CONTROL_IMMOBILITY, preclinical

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them



def _by(result, schedule):
    return next(r for r in result.rows if r["schedule"] == schedule)


def test_ketamine_acts_after_one_dose_and_imipramine_mostly_after_three_weeks():
    ket = preclinical("ketamine", 10)           # 10 mg/kg i.p., the dose of Li 2010
    imi = preclinical("imipramine", 15)
    ket_acute = _by(ket, "acute")["immobility_reduction_pct"]
    imi_acute = _by(imi, "acute")["immobility_reduction_pct"]
    # cascade model 2.4: one dose of imipramine starts the affective-processing shift, a small acute effect
    assert ket_acute > 1 and ket_acute > 10 * imi_acute
    # the monoaminergic weights are set by the clinical calibration (Linde 2015, Wagner 2017, Taylor 2006)
    assert _by(imi, "chronic")["immobility_reduction_pct"] > max(1.0, 2 * imi_acute)
    assert _by(ket, "acute")["test_time_h"] == 24 and _by(imi, "chronic")["test_time_h"] == 20 * 24 + 24


def _detectable_reduction_pct() -> float:
    """The reduction a study of 14 mice per group detects with 80 % power (two-sided 5 %), from the spread
    of the real control mice (behaviopy, minutes 2-6): 2.8 SD sqrt(2/14), as % of the control mean."""
    df = pd.read_csv(data("behaviopy_forcedswim_bins"))
    c = df[(df["Interval [minutes]"] == "2 to 6") & (df.Treatment == "Control")]["Immobility Ratio"]
    return 100 * 2.8 * c.std(ddof=1) * np.sqrt(2 / c.size) / c.mean()


@pytest.mark.xfail(strict=True, reason="the virtual forced swim gives about 17 % less immobility 24 h after 10 mg/kg "
                   "ketamine, below the 29.5 % a study of 14 mice per group could detect, while rodent studies detect it "
                   "(Li 2010): the rodent readout inherits the clinical glutamatergic weight (cascade model 2.3 raised "
                   "it from about 10 %)")
def test_acute_ketamine_fst_effect_is_large_enough_to_detect():
    ket = preclinical("ketamine", 10)
    assert _by(ket, "acute")["immobility_reduction_pct"] >= _detectable_reduction_pct()


def test_control_immobility_is_the_real_control_group():
    df = pd.read_csv(data("behaviopy_forcedswim_bins"))
    ctrl = df[(df["Interval [minutes]"] == "2 to 6") & (df.Treatment == "Control")]["Immobility Ratio"]
    assert ctrl.mean() == pytest.approx(CONTROL_IMMOBILITY, abs=0.005)


@pytest.mark.parametrize("dose", [5, 10, 20])
def test_chronic_fluoxetine_prediction_lies_in_the_observed_confidence_interval(dose):
    # behaviopy (../shared/data/fst): mice on fluoxetine in drinking water, minutes 2-6 immobility, n = 18.
    # The drinking-water dose is not in the file, so the check spans 5-20 mg/kg/day. Not used in calibration.
    df = pd.read_csv(data("behaviopy_forcedswim_bins"))
    flx = df[(df["Interval [minutes]"] == "2 to 6") & (df.Treatment == "Fluoxetine")]["Immobility Ratio"].to_numpy()
    half = stats.t.ppf(0.975, flx.size - 1) * flx.std(ddof=1) / np.sqrt(flx.size)
    pred = _by(preclinical("fluoxetine", dose), "chronic")["immobility"]
    assert flx.mean() - half <= pred <= flx.mean() + half


def test_sucrose_preference_restoration_and_absolute_preference():
    r = preclinical("ketamine", 10, spt_control=0.67, spt_stressed=0.52)
    a = _by(r, "acute")
    assert a["sucrose_preference"] == pytest.approx(0.52 + 0.15 * a["spt_deficit_restored_frac"])
    assert 0.52 < a["sucrose_preference"] < 0.67
    d = r.to_dict()
    assert "cascade model" in d["provenance"]["model"] and d["provenance"]["research_use_only"]


@pytest.mark.parametrize("kw, match", [({"species": "hamster"}, "species"), ({"spt_control": 0.7}, "both"),
                                       ({"spt_control": 0.5, "spt_stressed": 0.6}, "below"),
                                       ({"chronic_days": 0}, "chronic"), ({"control_immobility": 1.5}, "immobility")])
def test_bad_arguments(kw, match):
    with pytest.raises(AdpharmInputError, match=match):
        preclinical("ketamine", 10, **kw)


def test_cli(tmp_path):
    out = tmp_path / "p.json"
    r = run_cli("mechanism", "preclinical", "--drug", "imipramine", "--dose-mg-per-kg", "15", "--species", "rat",
                "--format", "json", "--out", str(out), "--plot", str(tmp_path / "p.svg"))
    assert r.returncode == 0, r.stderr
    d = json.loads(out.read_text())
    assert [x["schedule"] for x in d["results"]] == ["acute", "chronic"] and d["species"] == "rat"
    assert (tmp_path / "p.svg").read_text().lstrip().startswith("<?xml")
    r = run_cli("mechanism", "preclinical", "--drug", "ketamine", "--dose-mg-per-kg", "0", "--out", str(tmp_path / "x"))
    assert r.returncode == 2 and "dose" in r.stderr and not (tmp_path / "x").exists()
