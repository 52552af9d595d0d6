"""The GRISELDA registry (Cipriani et al. 2018) bundled, its drug-level networks and their certainty (issue 35).

Reference values: Cipriani A, et al. (2018) Lancet 391:1357-1366, doi:10.1016/S0140-6736(17)32802-7, abstract and
Figure 3: response OR against placebo amitriptyline 2.13 (1.89-2.41), reboxetine 1.37 (1.16-1.63); acceptability
(all-cause dropout) agomelatine 0.84 (0.72-0.97), fluoxetine 0.88 (0.80-0.96), clomipramine 1.30 (1.01-1.68).
The paper's model is Bayesian; adpharm's frequentist REML fit of the same arms gives clomipramine about 1.22.
"""
import hashlib
import math

import pandas as pd
import pytest

from adpharm.evidence import certainty as cert
from adpharm.evidence import registry
from conftest import data, run_cli, strict_json


def test_bundled_file_is_the_registry_byte_for_byte_with_its_attribution():
    """The CC BY file travels unchanged (the dataset's hash) with its citation and data record."""
    from adpharm import datasets
    assert hashlib.sha256(registry.FILE.read_bytes()).hexdigest() == datasets.get("cipriani2018_griselda_arms").sha256
    a = registry.attribution()
    assert a["licence"] == "CC-BY-4.0" and "10.1016/S0140-6736(17)32802-7" in a["citation"]
    assert a["sha256"] == datasets.get("cipriani2018_griselda_arms").sha256


def test_arms_have_the_papers_totals():
    """Cipriani 2018: 522 trials, 116,477 participants randomised; PROVENANCE.md: 1,199 arms, 304 placebo."""
    a = registry.arms()
    assert a["study"].nunique() == 522 and len(a) == 1199 and (a["drug"] == "placebo").sum() == 304
    assert a["n_randomised"].sum() == 116477
    assert sorted(set(a["drug"]) - {"placebo"}) == sorted(
        "agomelatine amitriptyline bupropion citalopram clomipramine desvenlafaxine duloxetine escitalopram fluoxetine "
        "fluvoxamine levomilnacipran milnacipran mirtazapine nefazodone paroxetine reboxetine sertraline trazodone "
        "venlafaxine vilazodone vortioxetine".split())
    assert not a.isin(["*"]).any().any()                          # '*' is missing, never a value


def test_labels_parse_into_drug_and_dose():
    a = registry.arms().set_index("label")
    assert a.loc["venlafaxine XR 75-150mg", ["drug", "dose_mg_low", "dose_mg_high"]].tolist() == ["venlafaxine", 75.0, 150.0]
    row = a.loc["citalopram 40mg"].iloc[0]
    assert row["drug"] == "citalopram" and row["dose_mg_low"] == row["dose_mg_high"] == 40.0
    assert math.isnan(a.loc["placebo"].iloc[0]["dose_mg_low"])


def test_unpublished_trials_and_eras_are_fields():
    a = registry.arms()
    unpub = a[~a["published"]]
    assert unpub["year"].isna().all() and len(unpub) > 0
    assert registry.era(1985, True) == "before 1991" and registry.era(1991, True) == "1991 on"
    assert registry.era(None, False) == "unpublished"


def test_network_data_merges_dose_arms_and_says_what_it_dropped():
    df, notes = registry.network_data("response")
    assert not df.duplicated(["study", "treatment"]).any()
    assert (df.groupby("study").size() >= 2).all()
    a = registry.arms().dropna(subset=["responders", "n_randomised"])
    multi = a[a.duplicated(["study", "drug"], keep=False)]
    assert len(multi) > 0
    for (study, drug), g in list(multi.groupby(["study", "drug"]))[:20]:
        row = df[(df["study"] == study) & (df["treatment"] == drug)]
        if len(row):
            assert row["xi"].item() == pytest.approx(g["responders"].sum()) and row["ni"].item() == g["n_randomised"].sum()
    assert any("dose arms merged into one arm per drug" in n for n in notes)
    assert any("trials without responders in at least two arms left out" in n for n in notes)
    assert notes[-1] == f"{df['study'].nunique()} trials, {len(df)} arms analysed for response"


@pytest.fixture(scope="module")
def response():
    r = run_cli("meta", "network", "--bundled", "cipriani2018", "--outcome", "response", "--format", "json")
    assert r.returncode == 0, r.stderr
    return strict_json(r.stdout)


@pytest.fixture(scope="module")
def dropout():
    r = run_cli("meta", "network", "--bundled", "cipriani2018", "--outcome", "dropout", "--format", "json")
    assert r.returncode == 0, r.stderr
    return strict_json(r.stdout)


@pytest.mark.parametrize("drug, paper", [("amitriptyline", 2.13), ("reboxetine", 1.37)])
def test_response_reproduces_cipriani_2018(response, drug, paper):
    assert response["estimates"][drug]["OR"] == pytest.approx(paper, abs=0.05)


@pytest.mark.parametrize("drug, paper", [("agomelatine", 0.84), ("fluoxetine", 0.88)])
def test_dropout_reproduces_cipriani_2018(dropout, drug, paper):
    assert dropout["estimates"][drug]["OR"] == pytest.approx(paper, abs=0.05)


def test_clomipramine_has_more_dropouts_than_placebo(dropout):
    """Paper 1.30 (Bayesian); the frequentist REML fit gives about 1.22: above 1 either way."""
    assert 1.1 < dropout["estimates"]["clomipramine"]["OR"] < 1.35


def test_every_estimate_keeps_its_keys_and_carries_certainty(response):
    assert len(response["estimates"]) == 21 and response["k"] == 473
    for drug, e in response["estimates"].items():
        assert {"OR", "OR_ci_lb", "OR_ci_ub", "certainty", "k_direct"} <= set(e), drug
        c = e["certainty"]
        assert c["rating"] in cert.RATINGS and set(c["domains"]) == set(cert.DOMAINS)
        assert all(d["judgement"] in cert.JUDGEMENTS and d["reason"] for d in c["domains"].values())
    assert "CC-BY-4.0" == response["provenance"]["licence"]


def test_dropout_pscores_rank_fewer_dropouts_first(dropout):
    ps = dropout["pscores"]
    assert ps["agomelatine"] > ps["clomipramine"] and not dropout["larger_is_better"]


@pytest.mark.parametrize("outcome", registry.OUTCOMES)
def test_every_outcome_fits_and_published_only_drops_the_unpublished(outcome):
    full = registry.registry_network(outcome)
    pub = registry.registry_network(outcome, published_only=True)
    assert pub.network.to_dict()["k"] < full.network.to_dict()["k"]
    assert pub.data["published"].all() and not full.data["published"].all()
    assert any("unpublished trials left out" in n for n in pub.data_notes)
    assert set(full.certainty) == set(full.network.others)


def test_published_only_is_the_registrys_view_of_publication_bias():
    """Turner 2008: journal-based effects exceed FDA-based ones (0.41 vs 0.31); the registry shows the same
    direction: published trials alone give larger response odds ratios for most drugs."""
    full = registry.registry_network("response").network.estimates()
    pub = registry.registry_network("response", published_only=True).network.estimates()
    larger = sum(pub[d]["OR"] > full[d]["OR"] for d in full if d in pub)
    assert larger >= len(full) / 2
    t = pd.read_csv(data("turner2008_fda_vs_journal_hedges_g"))
    assert t.shape[0] == 73


def test_text_output_names_its_source_and_notes():
    r = run_cli("meta", "network", "--bundled", "cipriani2018", "--outcome", "remission", "--published-only")
    assert r.returncode == 0, r.stderr
    assert "published trials only" in r.stdout and "doi:10.17632/83rthbp8ys.2" in r.stdout
    assert "certainty" in r.stdout and "NaN" not in r.stdout


@pytest.mark.parametrize("args, words", [
    (["--outcome", "smell"], "--outcome: 'smell' is not one of response"),
    (["--published-only", "--bundled", "linde2015"], "--published-only applies to --bundled cipriani2018"),
    (["--reference", "fluoxetine"], "fits the random-effects model against placebo"),
])
def test_bad_options_are_one_line_errors(args, words):
    base = ["meta", "network"] + ([] if "--bundled" in args else ["--bundled", "cipriani2018"])
    r = run_cli(*base, *args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and words in r.stderr, r.stderr


def test_a_network_file_with_non_integer_counts_runs_with_a_note(tmp_path):
    f = tmp_path / "net.csv"
    f.write_text("study,treatment,xi,ni\ns1,a,10.4,50\ns1,b,20,50\ns2,a,12,40\ns2,c,15.5,40\ns3,b,9,30\ns3,c,11,30\n")
    r = run_cli("meta", "network", str(f), "--reference", "a", "--format", "json")
    assert r.returncode == 0, r.stderr
    w = strict_json(r.stdout)["warnings"]
    assert any("non-whole counts in xi (2 rows" in x for x in w)


def test_a_disconnected_network_is_refused_naming_its_components(tmp_path):
    f = tmp_path / "net.csv"
    f.write_text("study,treatment,xi,ni\ns1,a,10,50\ns1,b,20,50\ns2,c,12,40\ns2,d,15,40\n")
    r = run_cli("meta", "network", str(f))
    assert r.returncode == 2 and "disconnected (a, b | c, d)" in r.stderr


# ---------------------------------------------------------------- the certainty rules, case by case
L = math.log


@pytest.mark.parametrize("or_, se, judgement", [
    (1.5, 0.05, "no concerns"),      # CI 1.36-1.65: wholly above 1.25
    (1.0, 0.05, "no concerns"),      # CI 0.91-1.10: wholly inside the range of equivalence
    (1.3, 0.1, "some concerns"),     # CI 1.07-1.58: crosses 1.25
    (1.1, 0.2, "major concerns"),    # CI 0.74-1.63: crosses 0.8 and 1.25
])
def test_imprecision_rule(or_, se, judgement):
    assert cert.imprecision(L(or_), se).judgement == judgement


def test_heterogeneity_rule_counts_boundaries_the_prediction_interval_adds():
    assert cert.heterogeneity(L(1.6), 0.05, 0.0).judgement == "no concerns"
    assert cert.heterogeneity(L(1.6), 0.05, 0.04).judgement == "some concerns"    # PI 1.08-2.37 crosses 1.25
    assert cert.heterogeneity(L(1.0), 0.05, 0.2).judgement == "major concerns"     # PI 0.41-2.4 crosses both


def test_incoherence_reporting_bias_indirectness_and_bias_rules():
    assert cert.incoherence(0.005).judgement == "major concerns"
    assert cert.incoherence(0.05).judgement == "some concerns"
    assert cert.incoherence(None, 0.01).judgement == "some concerns"
    assert cert.incoherence(pairwise=True).judgement == "no concerns"
    assert cert.reporting_bias(12, 0, 0.03).judgement == "major concerns"
    assert cert.reporting_bias(12, 3, 0.03).judgement == "some concerns"
    assert cert.reporting_bias(5, 0, None).judgement == "some concerns"
    assert cert.reporting_bias(5, 1, None).judgement == "no concerns"
    assert cert.indirectness(["24 h vs 8 weeks"]).judgement == "some concerns"
    assert cert.indirectness(["a", "b"]).judgement == "major concerns"
    assert cert.within_study_bias(None).judgement == "some concerns"
    assert cert.within_study_bias(["low", "low"]).judgement == "no concerns"
    assert cert.within_study_bias(["high", "high", "low"]).judgement == "major concerns"


def test_overall_rating_steps_down_one_per_some_and_two_per_major_concern():
    ok = cert.Domain("no concerns", "")
    some = cert.Domain("some concerns", "")
    major = cert.Domain("major concerns", "")
    doms = dict.fromkeys(cert.DOMAINS, ok)
    assert cert.rate(doms).rating == "high"
    assert cert.rate({**doms, "imprecision": some}).rating == "moderate"
    assert cert.rate({**doms, "imprecision": major}).rating == "low"
    assert cert.rate({**doms, "imprecision": major, "incoherence": major}).rating == "very low"
