"""`adpharm pk tdm` and :func:`adpharm.pharmacology.tdm.tdm`: expected range, consensus range, a measured
level's place, bad input (exit 2, one line), and every bundled drug."""
import json

import numpy as np
import pytest

from adpharm.errors import AdpharmInputError
from adpharm.knowledge.loader import bundled
from adpharm.pharmacology.tdm import tdm
from conftest import run_cli


def test_issue_example_60_ng_per_ml_is_below_the_expected_range():
    r = run_cli("pk", "tdm", "--drug", "imipramine", "--regimen", "150 mg po daily", "--measured", "60")
    assert r.returncode == 0, r.stderr
    assert "below the expected range" in r.stdout and "adherence" in r.stdout
    assert "175-300 ng/mL" in r.stdout and "below the consensus therapeutic range" in r.stdout
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
    inh = tdm("imipramine", "150 mg po daily", n=200, cyp2d6_inhibitor="strong").expected.set_index("quantity")
    pm = tdm("imipramine", "150 mg po daily", n=200, phenotype="PM").expected.set_index("quantity")
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
    res = tdm(drug, f"{mg:g} mg po daily", measured_ng_per_ml=50.0, n=100)
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
