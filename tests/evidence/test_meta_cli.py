"""`adpharm meta run|network|indirect` as users run them: JSON contracts, plots, and bad input
(exit 2, one line on stderr naming the file, column or value, nothing written)."""
import json
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_cli

pytestmark = pytest.mark.slow   # population simulations / CLI round trips: `make test-fast` skips them

DATA = Path(__file__).resolve().parents[1] / "data"
LINDE = DATA / "metafor_inputs_linde_tca_placebo_OR.csv"
REF = json.loads((DATA / "metafor_reference.json").read_text())


def test_meta_run_json_uses_metafor_names_and_numbers(tmp_path):
    forest = tmp_path / "forest.svg"
    res = run_cli("meta", "run", str(LINDE), "--measure", "OR", "--method", "REML", "--knha", "--forest", str(forest),
                  "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    ref = REF["linde_tca_placebo_OR"]["fits"]["REML_knha"]
    for key in ("beta", "se", "ci_lb", "ci_ub", "tau2", "I2", "Q", "QEp", "k"):
        assert out[key] == pytest.approx(ref[key], rel=1e-6), key
    assert out["exp"]["estimate"] == pytest.approx(2.718281828 ** ref["beta"], rel=1e-6)
    svg = forest.read_text()
    assert svg.lstrip().startswith("<svg") or "<svg" in svg[:400]
    assert "Blashki 1971" in svg  # study labels are drawn as text


def test_meta_run_extras_in_one_call(tmp_path):
    bcg = DATA / "metafor_inputs_bcg_moderators.csv"
    res = run_cli("meta", "run", str(bcg), "--measure", "RR", "--subgroup", "alloc", "--mods", "ablat",
                  "--leave1out", "--cumul", "year", "--egger", "--funnel", str(tmp_path / "f.png"), "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out["subgroups"]["subgroups"]) == {"random", "alternate", "systematic"}
    assert "ablat" in out["meta_regression"]["coefficients"]
    assert len(out["leave1out"]) == 13 and len(out["cumul"]) == 13
    assert out["regtest"]["model"] == "rma"
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"


def test_meta_network_bundled_json_contract(tmp_path):
    res = run_cli("meta", "network", "--bundled", "linde2015", "--model", "random", "--graph", str(tmp_path / "g.svg"),
                  "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["reference"] == "Placebo" and out["model"] == "random"
    assert set(out["estimates"]["TCA"]) >= {"beta", "se", "ci_lb", "ci_ub"}
    assert out["tau2"] > 0 and "league" in out and "pscores" in out and out["nodesplit"]
    assert "Placebo" not in out["estimates"]
    assert (tmp_path / "g.svg").exists()


def test_meta_network_user_file_with_reference(tmp_path):
    arms = pd.DataFrame({"study": ["s1", "s1", "s2", "s2", "s3", "s3", "s3"],
                         "treatment": ["A", "P", "B", "P", "A", "B", "P"],
                         "xi": [12, 6, 15, 7, 11, 13, 5], "ni": [30, 30, 30, 30, 30, 30, 30]})
    f = tmp_path / "arms.csv"
    arms.to_csv(f, index=False)
    res = run_cli("meta", "network", str(f), "--reference", "P", "--model", "common", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert set(out["estimates"]) == {"A", "B"} and out["tau2"] == 0


def test_meta_indirect_bundled_ketamine_vs_imipramine_is_not_estimable():
    """Issue 35: the legs differ in time window and population class, so no number is printed."""
    res = run_cli("meta", "indirect", "ketamine", "imipramine", "--via", "placebo", "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["method"] == "Bucher 1997 (not computed)" and out["estimable"] is False and "exp" not in out
    assert len(out["reasons"]) == 2
    text = run_cli("meta", "indirect", "ketamine", "tca")
    assert "not estimable" in text.stdout and "time window: ketamine at 24 h" in text.stdout
    assert "OR" not in text.stdout


def _bad(tmp_path, rows, *args):
    f = tmp_path / "bad.csv"
    pd.DataFrame(rows).to_csv(f, index=False)
    forest = tmp_path / "forest.svg"
    res = run_cli("meta", "run", str(f), *args, "--forest", str(forest))
    assert res.returncode == 2
    assert len(res.stderr.strip().splitlines()) == 1 and res.stderr.startswith("adpharm: error:")
    assert not forest.exists()
    return res.stderr


def test_missing_column(tmp_path):
    err = _bad(tmp_path, {"study": ["a", "b"], "ai": [1, 2], "n1i": [10, 10], "ci": [1, 2]}, "--measure", "OR")
    assert "bad.csv" in err and "n2i" in err or "missing" in err


def test_negative_count(tmp_path):
    err = _bad(tmp_path, {"ai": [1, -2], "n1i": [10, 10], "ci": [1, 2], "n2i": [10, 10]}, "--measure", "OR")
    assert "negative count -2" in err and "row 2" in err


def test_events_above_total(tmp_path):
    err = _bad(tmp_path, {"ai": [1, 12], "n1i": [10, 10], "ci": [1, 2], "n2i": [10, 10]}, "--measure", "RR")
    assert "exceed the total" in err


def test_single_study(tmp_path):
    err = _bad(tmp_path, {"ai": [1], "n1i": [10], "ci": [1], "n2i": [10]}, "--measure", "OR")
    assert "at least 2 studies" in err


def test_unknown_method_and_measure(tmp_path):
    assert "--method" in _bad(tmp_path, {"ai": [1, 2], "n1i": [10, 10], "ci": [1, 2], "n2i": [10, 10]},
                              "--measure", "OR", "--method", "XX")
    assert "--measure" in _bad(tmp_path, {"ai": [1, 2], "n1i": [10, 10], "ci": [1, 2], "n2i": [10, 10]},
                               "--measure", "HR")


def test_missing_file_and_empty_file(tmp_path):
    res = run_cli("meta", "run", str(tmp_path / "nope.csv"), "--measure", "OR")
    assert res.returncode == 2 and "nope.csv: no such file" in res.stderr
    (tmp_path / "empty.csv").write_text("")
    res = run_cli("meta", "run", str(tmp_path / "empty.csv"), "--measure", "OR")
    assert res.returncode == 2 and "empty" in res.stderr


def test_network_bad_inputs(tmp_path):
    f = tmp_path / "net.csv"
    pd.DataFrame({"study": ["s1", "s1", "s2", "s2"], "treatment": ["A", "B", "C", "D"],
                  "xi": [1, 2, 3, 4], "ni": [10, 10, 10, 10]}).to_csv(f, index=False)
    res = run_cli("meta", "network", str(f))
    assert res.returncode == 2 and "disconnected" in res.stderr
    pd.DataFrame({"study": ["s1", "s1"], "treatment": ["A", "B"], "xi": [1, 2], "ni": [10, 10]}).to_csv(f, index=False)
    res = run_cli("meta", "network", str(f))
    assert res.returncode == 2 and "at least 2 studies" in res.stderr
    pd.DataFrame({"study": ["s1", "s1", "s2", "s2"], "treatment": ["A", "B", "A", "B"],
                  "xi": [1, 12, 3, 4], "ni": [10, 10, 10, 10]}).to_csv(f, index=False)
    res = run_cli("meta", "network", str(f))
    assert res.returncode == 2 and "row 2" in res.stderr and "exceed" in res.stderr
    res = run_cli("meta", "network", str(f), "--reference", "Z")
    assert res.returncode == 2 and "--reference" in res.stderr
    pd.DataFrame({"study": ["s1", "s1", "s1"], "treat1": ["A", "A", "B"], "treat2": ["B", "C", "C"],
                  "yi": [0.1, 0.2, 0.1], "sei": [0.3, 0.3, 0.3]}).iloc[:2].to_csv(f, index=False)
    res = run_cli("meta", "network", str(f))
    assert res.returncode == 2 and "pairwise comparisons" in res.stderr


def test_indirect_unknown_treatment():
    res = run_cli("meta", "indirect", "nonesuch", "tca")
    assert res.returncode == 2 and "no trial compares nonesuch with placebo" in res.stderr


def test_meta_indirect_user_data(tmp_path):
    f = tmp_path / "arms.csv"
    pd.DataFrame({"study": ["s1", "s1", "s2", "s2", "s3", "s3"], "treatment": ["A", "P", "A", "P", "B", "P"],
                  "xi": [12, 6, 14, 7, 15, 5], "ni": [30, 30, 30, 30, 30, 30],
                  "timepoint": ["24 h", "24 h", "24 h", "24 h", "6 weeks", "6 weeks"]}).to_csv(f, index=False)
    res = run_cli("meta", "indirect", "A", "B", "--via", "P", "--data", str(f), "--format", "json")
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["legs"]["a"]["k"] == 2 and out["legs"]["b"]["k"] == 1
    assert "time point" in {t["attribute"] for t in out["transitivity"]}
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"study": ["s1"], "treatment": ["A"], "xi": [40], "ni": [30]}).to_csv(bad, index=False)
    res = run_cli("meta", "indirect", "A", "B", "--via", "P", "--data", str(bad))
    assert res.returncode == 2 and "exceed" in res.stderr


@pytest.mark.parametrize("column", ["vi", "sei"])
def test_meta_run_on_precomputed_yi_matches_metafor_pinned(tmp_path, column):
    """metafor: rma(yi, vi, method = "REML") and rma(yi, sei = sqrt(vi), method = "REML") on the BCG log risk
    ratios (escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)), values pinned in
    tests/data/metafor_reference.json by validation/metafor/run_metafor.R. No --measure: the generic outcome."""
    import numpy as np
    ref = json.loads((Path(__file__).parents[1] / "data" / "metafor_reference.json").read_text())["bcg_RR"]
    yi, vi = np.array(ref["yi"]), np.array(ref["vi"])
    f = tmp_path / "bcg.csv"
    pd.DataFrame({"study": [f"s{i}" for i in range(len(yi))], "yi": yi,
                  column: vi if column == "vi" else np.sqrt(vi)}).to_csv(f, index=False)
    r = run_cli("meta", "run", str(f), "--method", "REML", "--format", "json")
    assert r.returncode == 0, r.stderr
    d, want = json.loads(r.stdout), ref["fits"]["REML_z"]
    for k in ("beta", "se", "tau2", "ci_lb", "ci_ub", "Q"):
        assert d[k] == pytest.approx(want[k], rel=1e-6, abs=1e-9), k


def test_meta_run_face_a_reviewer_reads(tmp_path):
    """Issue 35 item 7: t and df under Knapp-Hartung (metafor's tval, df), the prediction interval for every input
    kind, small-k warnings, double-zero studies kept and reported as metafor's escalc keeps them (drop00 = FALSE),
    non-whole counts taken with a note; certainty beside the estimate."""
    f = tmp_path / "or.csv"
    f.write_text("study,ai,n1i,ci,n2i\na,0,20,0,20\nb,5,30,2,30\nc,8,40,3,38\nd,6,25,4.5,25\n")
    r = run_cli("meta", "run", str(f), "--measure", "OR", "--knha", "--egger")
    assert r.returncode == 0, r.stderr
    assert "test (Knapp-Hartung): t = " in r.stdout and ", df = 3, p = " in r.stdout
    assert "prediction interval [" in r.stdout and "certainty: " in r.stdout
    err = r.stderr
    assert "1 double-zero study" in err and "drop00 = FALSE" in err
    assert "non-whole counts in ci (1 row" in err
    assert "Egger's test with 4 studies (fewer than 10)" in err
    j = json.loads(run_cli("meta", "run", str(f), "--measure", "OR", "--knha", "--format", "json").stdout)
    assert j["df"] == 3 and j["tval"] == j["zval"] and j["certainty"]["rating"]
    g = tmp_path / "gen.csv"
    g.write_text("study,yi,vi,grp\na,-1.2,0.3,x\nb,-0.5,0.2,x\nc,-2.0,0.5,y\nd,0.1,0.4,y\ne,-0.9,0.3,y\n")
    r = run_cli("meta", "run", str(g), "--subgroup", "grp", "--mods", "grp")
    assert r.returncode == 0 and "estimate: " in r.stdout and "prediction interval [" in r.stdout
    assert "subgroup x: tau^2 estimated from 2 studies" in r.stderr
    assert "fewer than 10 studies per moderator" in r.stderr
