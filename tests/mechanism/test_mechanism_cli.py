"""`adpharm mechanism simulate`: the JSON contract, SBML export, and bad input."""
import json

import pytest

from conftest import run_cli

KET = ["--drug", "ketamine", "--regimen", "0.5 mg/kg iv over 40 min"]


def test_json_contract(tmp_path):
    r = run_cli("mechanism", "simulate", *KET, "--days", "3", "--n", "50", "--seed", "4", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    for key in ("time_h", "states", "madrs", "onset_day", "response_rate", "remission_rate", "placebo", "provenance"):
        assert key in d
    assert set(d["response_rate"]) == {"0", "1", "2", "3"} == set(d["placebo"]["remission_rate"])
    assert len(d["states"]["mtorc1_frac"]) == len(d["time_h"]) == len(d["madrs"]["mean"])
    assert d["provenance"]["seed"] == 4 and "cascade model" in d["provenance"]["model"]
    assert d["provenance"]["parameters"]["tau_autoreceptor_h"]["refs"] == ["lepoul1995"]
    assert d["onset_day"] == 1


def test_sbml_export_and_plot(tmp_path):
    sbml, png = tmp_path / "k.xml", tmp_path / "k.png"
    r = run_cli("mechanism", "simulate", *KET, "--days", "2", "--export-sbml", str(sbml), "--plot", str(png))
    assert r.returncode == 0, r.stderr
    assert "<sbml" in sbml.read_text() and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_bad_input_exits_2_and_writes_nothing(tmp_path):
    out = tmp_path / "o.json"
    for args, msg in [(["--days", "0"], "days"), (["--days", "2", "--n", "0"], "n: 0"),
                      (["--days", "2", "--format", "xml"], "--format"),
                      (["--days", "2", "--export-sbml", str(tmp_path / "x.txt")], "--export-sbml")]:
        r = run_cli("mechanism", "simulate", *KET, *args, "--out", str(out))
        assert r.returncode == 2 and msg in r.stderr and r.stderr.count("\n") == 1, r.stderr
        assert not out.exists()
    r = run_cli("mechanism", "simulate", "--drug", "ketamine", "--regimen", "0.5 mg/kg rectal", "--days", "2")
    assert r.returncode == 2 and "rectal" in r.stderr


def test_dangerous_dose_is_simulated_with_a_warning():
    r = run_cli("mechanism", "simulate", "--drug", "ketamine", "--regimen", "20 mg/kg iv over 40 min", "--days", "1",
                "--format", "json")
    assert r.returncode == 0 and "above" in r.stderr
    assert json.loads(r.stdout)["warnings"]
