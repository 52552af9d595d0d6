"""The guide's evidence as a reviewer reads it (issue 35): drug by drug from the registry, class-level evidence
labelled, single trials called single trials, honest indirect comparisons, published anchors, protocols that
concern the two sides."""
import json

import pytest

from conftest import run_cli, strict_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sertraline_phenelzine():
    r = run_cli("compare", "sertraline", "phenelzine", "--format", "json")
    assert r.returncode == 0, r.stderr
    return strict_json(r.stdout)


def test_sertraline_shows_its_own_network_estimates(sertraline_phenelzine):
    reg = sertraline_phenelzine["efficacy"]["registry"]["a"]
    assert reg["drugs"] == ["sertraline"]
    outcomes = {r["outcome"]: r for r in reg["rows"]}
    assert set(outcomes) == {"Response", "Remission", "All-cause dropout (acceptability)"}
    resp = outcomes["Response"]
    assert resp["estimate"]["value"].startswith("RR ") and 1.0 < resp["odds_ratio"]["estimate"] < 2.5
    assert "cipriani2018" in resp["estimate"]["refs"] and resp["certainty"]["rating"]
    glance = next(r for r in sertraline_phenelzine["at_a_glance"] if r["attribute"] == "Efficacy at the primary endpoint")
    assert "registry network" in glance["a"]["value"] and "sertraline: RR" in glance["a"]["value"]


def test_linde_rows_are_labelled_ssri_class_in_primary_care(sertraline_phenelzine):
    pooled = sertraline_phenelzine["efficacy"]["pooled"]["a"]
    assert pooled and all(r["evidence_level"].startswith("Selective serotonin reuptake inhibitor (SSRI): class-level "
                                                          "arms of primary-care trials (Linde 2015)") for r in pooled)


def test_phenelzine_shows_its_trial_as_one_trial(sertraline_phenelzine):
    e = sertraline_phenelzine["efficacy"]
    assert "not among the 21 drugs" in e["registry"]["b"]["note"]
    (row,) = [r for r in e["pooled"]["b"] if r["outcome"] == "Response"]
    assert row["k"] == 1 and row["estimate"]["value"].endswith("one trial") and "pooled" not in row["estimate"]["value"]
    glance = next(r for r in sertraline_phenelzine["at_a_glance"] if r["attribute"] == "Efficacy at the primary endpoint")
    assert "(one trial: Stewart 1993" in glance["b"]["value"]


def test_guide_carries_the_protocols_of_its_sides_only(sertraline_phenelzine):
    ids = [p["id"] for p in sertraline_phenelzine["protocols"]]
    assert "ketamine-trd-iv" not in ids and "imipramine-chronic" not in ids and "forced-swim-test" in ids
    assert all("ketamine" not in tp["id"] for tp in sertraline_phenelzine["trial_protocols"])


def test_esketamine_vs_ssri_has_no_indirect_number_across_windows():
    r = run_cli("compare", "esketamine", "ssri", "--format", "json")
    assert r.returncode == 0, r.stderr
    ind = strict_json(r.stdout)["efficacy"]["indirect"]
    assert ind["estimable"] is False and ind["reasons"] and "exp" not in ind and "beta" not in ind
    assert any("no trial compares esketamine with placebo" in x for x in ind["reasons"])


def test_ketamine_guide_shows_cochrane_and_the_subset_banner():
    from adpharm.report.comparison import compare
    d = compare("ketamine", "imipramine", simulate=False).to_dict()
    c = d["efficacy"]["anchors"]["cochrane"]
    first = c["rows"][0]
    assert (first["estimate"], first["ci"], first["certainty"]) == (3.94, [1.54, 10.10], "very low")   # Dean 2021, D01
    assert "illustrative subset" in c["banner"] and "pooled 7 and 4" in c["banner"]
    ind = d["efficacy"]["indirect"]
    assert ind["estimable"] is False
    assert any(x.startswith("time window: ketamine at 24 h") for x in ind["reasons"])


def test_esketamine_guide_shows_the_programme_met_and_missed():
    from adpharm.report.comparison import compare
    from adpharm.report.render import render
    md = render(compare("esketamine", "imipramine", simulate=False), "md")
    assert "TRANSFORM-1" in md and "**missed**" in md and "TRANSFORM-3" in md and "SUSTAIN-1" in md


@pytest.mark.parametrize("a, b", [("ssri", "ssri"), ("sertraline", "Zoloft"), ("ketamine", "KETAMINE")])
def test_comparing_a_side_with_itself_is_refused(a, b):
    r = run_cli("compare", a, b)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "name two different drugs or classes" in r.stderr


def test_meta_indirect_not_estimable_json_and_explicit_legs():
    r = run_cli("meta", "indirect", "ketamine", "imipramine", "--format", "json")
    assert r.returncode == 0, r.stderr
    d = strict_json(r.stdout)
    assert d["estimable"] is False and len(d["reasons"]) == 2
    ok = run_cli("meta", "indirect", "ssri", "tca", "--window", "acute-end", "--population", "primary care",
                 "--format", "json")
    assert ok.returncode == 0, ok.stderr
    d = json.loads(ok.stdout)
    assert d["estimable"] is True and d["certainty"]["rating"] and d["windows"] == {"a": "acute-end", "b": "acute-end"}
    bad = run_cli("meta", "indirect", "ssri", "tca", "--population", "mars")
    assert bad.returncode == 2 and "--population: 'mars'" in bad.stderr
