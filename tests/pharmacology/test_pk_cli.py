"""`adpharm pk simulate|occupancy`: the JSON contract, CSV streaming and bad input (exit 2, one line)."""
import json
import re

import pytest

from conftest import run_cli

TARGETS = ["SERT", "NET", "DAT", "NMDA", "H1", "M1", "ALPHA1", "MAO-A"]


def test_simulate_json_contract():
    r = run_cli("pk", "simulate", "--drug", "imipramine", "--regimen", "150 mg po daily", "--hours", "240",
                "--n", "40", "--seed", "5", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d["summary"]) == {"imipramine", "desipramine"}
    for key in ("cmax_ng_per_ml", "tmax_h", "auc_ng_h_per_ml", "half_life_h"):
        assert set(d["summary"]["imipramine"][key]) == {"p5", "p50", "p95"}
    prov = d["provenance"]
    assert prov["seed"] == 5 and "adpharm.pharmacology" in prov["model_version"]
    assert any("T02" in s for s in prov["parameter_sources"]["imipramine"])


def test_a_half_life_the_window_cannot_estimate_is_said_in_words_not_nan():
    r = run_cli("pk", "simulate", "--drug", "esketamine", "--regimen", "84 mg intranasal", "--hours", "24")
    assert r.returncode == 0, r.stderr
    assert not re.search(r"\bnan\b", r.stdout, re.IGNORECASE)
    assert "n/a: not estimable from the simulated window" in r.stdout


def test_occupancy_json_contract_for_ketamine():
    r = run_cli("pk", "occupancy", "--drug", "ketamine", "--regimen", "0.5 mg/kg iv over 40 min", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert list(d["occupancy"]) == TARGETS
    nmda = d["occupancy"]["NMDA"]
    assert 0 < nmda["mean"] < nmda["peak"] < 1
    assert d["occupancy"]["SERT"] is None and "SERT" in d["provenance"]["occupancy"]["not_available"]
    assert set(d["summary"]) == {"ketamine", "norketamine"}


def test_csv_is_the_tidy_table(tmp_path):
    out = tmp_path / "conc.csv"
    r = run_cli("pk", "simulate", "--drug", "esketamine", "--regimen", "56 mg intranasal", "--hours", "2",
                "--n", "3", "--seed", "1", "--format", "csv", "--out", str(out))
    assert r.returncode == 0, r.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "subject,time_h,analyte,conc_ng_per_ml"
    assert len(lines) == 1 + 3 * 25 * 2


def test_dose_above_label_simulates_with_a_warning():
    r = run_cli("pk", "simulate", "--drug", "esketamine", "--regimen", "168 mg intranasal", "--format", "json")
    assert r.returncode == 0
    assert "above the labelled maximum single dose of 84 mg" in r.stderr
    assert json.loads(r.stdout)["warnings"]


@pytest.mark.parametrize("args, part", [
    (["--regimen", "-5 mg po daily"], "dose '-5 mg' is negative"),
    (["--regimen", "50 mg rectal"], "unknown route 'rectal'"),
    (["--regimen", "50 mg po", "--weight", "0"], "weight: 0 kg"),
    (["--regimen", "50 mg po", "--phenotype", "XM"], "--phenotype"),
    (["--regimen", "50 mg po", "--format", "xml"], "--format"),
    (["--regimen", "50 mg sublingual"], "route 'sublingual' has no absorption model for imipramine"),
])
def test_bad_input_exits_2_with_one_line(args, part, tmp_path):
    out = tmp_path / "x.json"
    r = run_cli("pk", "simulate", "--drug", "imipramine", *args, "--out", str(out))
    assert r.returncode == 2
    assert part in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_drug_without_parameter_set_and_class_name():
    """Every bundled drug has a parameter set now (the MAOIs since issue 22); a knowledge base without
    one gets the one-line error, and a class name is refused."""
    import copy

    from adpharm.errors import AdpharmInputError
    from adpharm.knowledge.loader import load
    from adpharm.pharmacology.simulate import model_for
    kb = copy.deepcopy(load())
    del kb.pk_models["phenelzine"]
    with pytest.raises(AdpharmInputError, match="no sourced PK parameter set"):
        model_for("phenelzine", kb)
    r = run_cli("pk", "occupancy", "--drug", "ssri", "--regimen", "20 mg po")
    assert r.returncode == 2 and "is a class" in r.stderr
